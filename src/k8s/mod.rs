//! The Kubernetes API, for `cutover`, `rollback` and `status` on a worker that runs on Kubernetes
//! scaled by KEDA (`production.k8s`, docs/config.md#production): its ScaledObject read and
//! merge-patched, its Deployment (or StatefulSet) read, through the user's kubeconfig as kube
//! loads it (`KUBECONFIG`, else `~/.kube/config`; exec credential plugins such as
//! `aws eks get-token` included). Nothing is run as a command.
//!
//! Both kinds are dynamic objects (kube's `DynamicObject`): a ScaledObject is KEDA's custom
//! resource, which k8s-openapi has no type for, and of a Deployment only a few fields are read.
//! This module keeps kube's types inside, as `aws` keeps the SDK's.

use std::collections::BTreeMap;

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value;

/// KEDA's annotation that holds a ScaledObject's workload at a number of replicas and stops
/// scaling it (KEDA's documentation, "Pause autoscaling"; docs/pitfalls.md#p53).
pub const PAUSED_REPLICAS: &str = "autoscaling.keda.sh/paused-replicas";
/// KEDA's annotation that stops scaling and leaves the replicas as they are.
pub const PAUSED: &str = "autoscaling.keda.sh/paused";

/// KEDA's defaults when a ScaledObject does not write them (KEDA's ScaledObject specification:
/// `minReplicaCount` 0, `maxReplicaCount` 100).
pub const DEFAULT_MIN_REPLICAS: u32 = 0;
pub const DEFAULT_MAX_REPLICAS: u32 = 100;

/// A failed Kubernetes call: what was being done, the API's status code and reason, its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct K8sError {
    pub operation: String,
    /// `403 Forbidden`, `404 NotFound`, `422 Invalid`; `Connection` or `Kubeconfig` when no
    /// answer came.
    pub code: String,
    pub message: String,
    /// The RBAC rule a denied call needs: `patch` on `scaledobjects.keda.sh`.
    pub needs: Option<String>,
}

impl K8sError {
    /// The API's message, with the RBAC rule to grant when the call was denied.
    pub fn explained(&self) -> String {
        match (&self.needs, self.code.starts_with("403")) {
            (Some(rule), true) => format!(
                "{} (grant the kubeconfig's user {rule}, with a Role and a RoleBinding)",
                self.message
            ),
            _ => self.message.clone(),
        }
    }
}

impl std::fmt::Display for K8sError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.operation, self.code, self.explained())
    }
}

impl std::error::Error for K8sError {}

/// A ScaledObject, as much of it as cutover reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaledObject {
    pub namespace: String,
    pub name: String,
    /// `spec.minReplicaCount` and `spec.maxReplicaCount` as written; KEDA's defaults apply when
    /// absent ([`ScaledObject::min_replicas`]).
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub annotations: BTreeMap<String, String>,
    /// `spec.scaleTargetRef`: its kind (`Deployment` when not written) and name.
    pub target_kind: String,
    pub target_name: String,
}

impl ScaledObject {
    pub fn min_replicas(&self) -> u32 {
        self.min.unwrap_or(DEFAULT_MIN_REPLICAS)
    }

    pub fn max_replicas(&self) -> u32 {
        self.max.unwrap_or(DEFAULT_MAX_REPLICAS)
    }

    /// KEDA's pause annotation, when one is set: `paused-replicas=0`, `paused=true`.
    pub fn paused(&self) -> Option<String> {
        [PAUSED_REPLICAS, PAUSED].iter().find_map(|key| {
            self.annotations.get(*key).map(|v| {
                let short = key.rsplit('/').next().unwrap_or(key);
                format!("{short}={v}")
            })
        })
    }

    fn of(o: &DynamicObject) -> Self {
        let spec = &o.data["spec"];
        let count = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
        let target = &spec["scaleTargetRef"];
        ScaledObject {
            namespace: o.metadata.namespace.clone().unwrap_or_default(),
            name: o.metadata.name.clone().unwrap_or_default(),
            min: count(&spec["minReplicaCount"]),
            max: count(&spec["maxReplicaCount"]),
            annotations: o.metadata.annotations.clone().unwrap_or_default(),
            target_kind: target["kind"].as_str().unwrap_or("Deployment").to_string(),
            target_name: target["name"].as_str().unwrap_or_default().to_string(),
        }
    }
}

/// A workload's replicas: what it asks for and how many are ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replicas {
    pub desired: u32,
    pub ready: u32,
}

/// The Kubernetes API of one kubeconfig context.
#[derive(Clone)]
pub struct Keda {
    client: kube::Client,
}

impl std::fmt::Debug for Keda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keda")
    }
}

fn scaled_objects() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("keda.sh", "v1alpha1", "ScaledObject"),
        "scaledobjects",
    )
}

/// A Deployment's or StatefulSet's resource (`deployments`, `statefulsets` in `apps/v1`).
fn workloads(kind: &str) -> ApiResource {
    let plural = format!("{}s", kind.to_lowercase());
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("apps", "v1", kind), &plural)
}

impl Keda {
    /// Over a client made elsewhere (a test's recorded exchanges).
    pub fn new(client: kube::Client) -> Self {
        Keda { client }
    }

    /// From the user's kubeconfig: `context`, else its current context.
    pub async fn connect(context: Option<&str>) -> Result<Self, K8sError> {
        let failed = |code: &str, message: String| K8sError {
            operation: match context {
                Some(c) => format!("reading the kubeconfig's context `{c}`"),
                None => "reading the kubeconfig".into(),
            },
            code: code.into(),
            message,
            needs: None,
        };
        // Read first, so that a missing file says so rather than kube's in-cluster fallback.
        Kubeconfig::read().map_err(|e| failed("Kubeconfig", format!("{e}; set KUBECONFIG, or write ~/.kube/config (`aws eks update-kubeconfig --name CLUSTER` does)")))?;
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..Default::default()
        };
        let config = kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| failed("Kubeconfig", e.to_string()))?;
        let client =
            kube::Client::try_from(config).map_err(|e| failed("Kubeconfig", e.to_string()))?;
        Ok(Keda { client })
    }

    fn api(&self, namespace: &str, resource: &ApiResource) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, resource)
    }

    /// The ScaledObject, `None` when the namespace has none of that name.
    pub async fn scaled_object(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<ScaledObject>, K8sError> {
        let resource = scaled_objects();
        self.api(namespace, &resource)
            .get_opt(name)
            .await
            .map(|o| o.as_ref().map(ScaledObject::of))
            .map_err(|e| {
                error(
                    format!("reading ScaledObject `{namespace}/{name}`"),
                    "get",
                    &resource,
                    namespace,
                    e,
                )
            })
    }

    /// A JSON merge patch (RFC 7386) of the ScaledObject: `null` removes a field or annotation.
    /// Returns the object as the API server has it after the patch.
    pub async fn patch_scaled_object(
        &self,
        namespace: &str,
        name: &str,
        patch: &Value,
    ) -> Result<ScaledObject, K8sError> {
        let resource = scaled_objects();
        self.api(namespace, &resource)
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map(|o| ScaledObject::of(&o))
            .map_err(|e| {
                error(
                    format!("patching ScaledObject `{namespace}/{name}`"),
                    "patch",
                    &resource,
                    namespace,
                    e,
                )
            })
    }

    /// The replicas of the workload a ScaledObject scales (`Deployment` or `StatefulSet`),
    /// `None` when it is not there.
    pub async fn replicas(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> Result<Option<Replicas>, K8sError> {
        let resource = workloads(kind);
        let o = self
            .api(namespace, &resource)
            .get_opt(name)
            .await
            .map_err(|e| {
                error(
                    format!("reading {kind} `{namespace}/{name}`"),
                    "get",
                    &resource,
                    namespace,
                    e,
                )
            })?;
        let count = |v: &Value| {
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or_default()
        };
        Ok(o.map(|o| Replicas {
            desired: count(&o.data["spec"]["replicas"]),
            ready: count(&o.data["status"]["readyReplicas"]),
        }))
    }
}

/// kube's error as a [`K8sError`]: the API's status when it answered, else why it did not;
/// a denial names the RBAC rule, `verb` on `resource` (as `scaledobjects.keda.sh`).
fn error(
    operation: String,
    verb: &str,
    resource: &ApiResource,
    namespace: &str,
    e: kube::Error,
) -> K8sError {
    let needs = Some(format!(
        "`{verb}` on `{}.{}` in namespace `{namespace}`",
        resource.plural, resource.group
    ));
    match e {
        kube::Error::Api(status) => K8sError {
            operation,
            code: format!("{} {}", status.code, status.reason),
            message: status.message.clone(),
            needs,
        },
        other => K8sError {
            operation,
            code: "Connection".into(),
            message: other.to_string(),
            needs: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(json: Value) -> DynamicObject {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_scaled_object_reads_keda_defaults_and_its_pause() {
        let o = ScaledObject::of(&object(serde_json::json!({
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": "orders", "namespace": "shop",
                         "annotations": {"autoscaling.keda.sh/paused-replicas": "0"}},
            "spec": {"scaleTargetRef": {"name": "orders-worker"}, "maxReplicaCount": 12}
        })));
        assert_eq!(
            (o.min_replicas(), o.max_replicas(), o.target_kind.as_str()),
            (0, 12, "Deployment")
        );
        assert_eq!(o.paused().as_deref(), Some("paused-replicas=0"));
        let bare = ScaledObject::of(&object(serde_json::json!({
            "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": "x"}, "spec": {"scaleTargetRef": {"name": "x", "kind": "StatefulSet"}}
        })));
        assert_eq!((bare.max_replicas(), bare.paused()), (100, None));
        assert_eq!(bare.target_kind, "StatefulSet");
    }

    #[test]
    fn a_denial_names_the_resource_it_was_made_on() {
        let status: kube::core::Status = serde_json::from_value(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403,
            "reason": "Forbidden", "message": "statefulsets.apps \"orders\" is forbidden"
        }))
        .unwrap();
        let e = error(
            "reading StatefulSet `shop/orders`".into(),
            "get",
            &workloads("StatefulSet"),
            "shop",
            kube::Error::Api(Box::new(status)),
        );
        assert_eq!(e.code, "403 Forbidden");
        assert_eq!(
            e.needs.as_deref(),
            Some("`get` on `statefulsets.apps` in namespace `shop`")
        );
        let so = scaled_objects();
        assert_eq!(
            (so.plural.as_str(), so.group.as_str()),
            ("scaledobjects", "keda.sh")
        );
    }

    #[test]
    fn a_denied_call_names_the_rbac_rule_to_grant() {
        let e = K8sError {
            operation: "patching ScaledObject `shop/orders`".into(),
            code: "403 Forbidden".into(),
            message: "scaledobjects.keda.sh \"orders\" is forbidden".into(),
            needs: Some("`patch` on `scaledobjects.keda.sh` in namespace `shop`".into()),
        };
        assert!(e.to_string().ends_with("(grant the kubeconfig's user `patch` on `scaledobjects.keda.sh` in namespace `shop`, with a Role and a RoleBinding)"), "{e}");
    }
}
