//! `cutover`, `rollback` and `status` on a worker that runs on Kubernetes scaled by KEDA
//! (`production.k8s`, docs/config.md#production): the ScaledObject is the dial, as the scalable
//! target is on ECS. A stage below 100 lowers its `minReplicaCount`/`maxReplicaCount` by the
//! function's share; at 100 it is paused at zero replicas with KEDA's
//! `autoscaling.keda.sh/paused-replicas` annotation, so that KEDA scales the workload to zero and
//! stops; `rollback` writes the recorded bounds back and removes the pause
//! (docs/pitfalls.md#p53). The record is an annotation on the ScaledObject
//! (`core::cutover::RECORD_ANNOTATION`), written before the first change and after each stage,
//! as the ECS path tags the service.

use serde_json::{json, Value};

use crate::aws::ecs::ServiceCounts;
use crate::aws::AwsError;
use crate::core::config::K8sWorkload;
use crate::core::cutover::{Bounds, Recorded, Stage, RECORD_ANNOTATION};
use crate::k8s::{K8sError, Keda, ScaledObject, PAUSED_REPLICAS};

/// The workload's replicas (as ECS's counts: desired, ready as running) and the cutover recorded
/// on its ScaledObject, for `status`; `None` for what is not there.
pub async fn status(
    k: &K8sWorkload,
) -> Result<(Option<ServiceCounts>, Option<Recorded>), K8sError> {
    let keda = Keda::connect(k.context.as_deref()).await?;
    let Some(so) = keda.scaled_object(&k.namespace, &k.scaled_object).await? else {
        return Ok((None, None));
    };
    let record = so
        .annotations
        .get(RECORD_ANNOTATION)
        .and_then(|t| Recorded::parse(t).ok());
    let counts = keda
        .replicas(&k.namespace, &so.target_kind, &k.deployment)
        .await?
        .map(|r| ServiceCounts {
            desired: i32::try_from(r.desired).unwrap_or(i32::MAX),
            running: i32::try_from(r.ready).unwrap_or(i32::MAX),
            pending: i32::try_from(r.desired.saturating_sub(r.ready)).unwrap_or(i32::MAX),
        });
    Ok((counts, record))
}

/// A Kubernetes failure in the terms cutover's steps report (`AwsError`'s fields): the call, the
/// API's status, its message with the RBAC rule a denied call needs.
pub fn failed(e: K8sError) -> AwsError {
    AwsError {
        operation: format!("{} (Kubernetes)", e.operation),
        needs: None,
        message: e.explained(),
        code: e.code,
    }
}

/// The recorded bounds of a ScaledObject before the first stage: its min and max replica counts
/// (KEDA's defaults where not written) and the workload's replicas now.
pub async fn bounds(keda: &Keda, so: &ScaledObject) -> Result<Bounds, AwsError> {
    let desired = keda
        .replicas(&so.namespace, &so.target_kind, &so.target_name)
        .await
        .map_err(failed)?
        .map_or(0, |r| r.desired);
    Ok(Bounds {
        min: so.min_replicas(),
        max: so.max_replicas(),
        desired,
        scaled: true,
    })
}

/// The patch one stage makes: below 100 the bounds, at 100 the pause at zero replicas (the
/// bounds stay as the stage before left them).
pub fn stage_patch(stage: &Stage) -> Value {
    if stage.ecs_desired == Some(0) && stage.percent >= 100 {
        json!({"metadata": {"annotations": {PAUSED_REPLICAS: "0"}}})
    } else {
        json!({"spec": {"minReplicaCount": stage.ecs_min, "maxReplicaCount": stage.ecs_max}})
    }
}

/// The patch that puts the ScaledObject back as recorded: its bounds, and no pause.
pub fn restore_patch(b: &Bounds) -> Value {
    json!({
        "metadata": {"annotations": {PAUSED_REPLICAS: null}},
        "spec": {"minReplicaCount": b.min, "maxReplicaCount": b.max}
    })
}

/// The patch that writes the record (`Some`) or removes it.
pub fn record_patch(text: Option<&str>) -> Value {
    json!({"metadata": {"annotations": {RECORD_ANNOTATION: text}}})
}

/// Patches the ScaledObject `namespace/name`.
pub async fn patch(
    keda: &Keda,
    namespace: &str,
    name: &str,
    patch: &Value,
) -> Result<(), AwsError> {
    keda.patch_scaled_object(namespace, name, patch)
        .await
        .map(|_| ())
        .map_err(failed)
}

/// What a stage does to the ScaledObject, in words.
pub fn describe(stage: &Stage, k: &K8sWorkload, b: &Bounds) -> String {
    let so = format!("{}/{}", k.namespace, k.scaled_object);
    if stage.ecs_desired == Some(0) && stage.percent >= 100 {
        format!("pause the ScaledObject `{so}` at 0 replicas (`{PAUSED_REPLICAS}: \"0\"`; KEDA scales `{}` to zero and its pods get SIGTERM and their terminationGracePeriodSeconds to finish their batches)", k.deployment)
    } else {
        format!(
            "set the ScaledObject `{so}` to minReplicaCount {} maxReplicaCount {} (recorded: {}..{})",
            stage.ecs_min, stage.ecs_max, b.min, b.max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::cutover::plan;

    #[test]
    fn stages_lower_the_bounds_and_the_last_pauses_at_zero() {
        let b = Bounds {
            min: 1,
            max: 10,
            desired: 4,
            scaled: true,
        };
        let stages = plan(&[10, 50, 100], b, Some(20)).unwrap();
        let patches: Vec<Value> = stages.iter().map(stage_patch).collect();
        assert_eq!(
            patches,
            vec![
                json!({"spec": {"minReplicaCount": 1, "maxReplicaCount": 9}}),
                json!({"spec": {"minReplicaCount": 1, "maxReplicaCount": 5}}),
                json!({"metadata": {"annotations": {"autoscaling.keda.sh/paused-replicas": "0"}}}),
            ]
        );
        assert_eq!(
            restore_patch(&b),
            json!({"metadata": {"annotations": {"autoscaling.keda.sh/paused-replicas": null}},
                   "spec": {"minReplicaCount": 1, "maxReplicaCount": 10}})
        );
        let k = K8sWorkload {
            context: None,
            namespace: "shop".into(),
            deployment: "orders-worker".into(),
            scaled_object: "orders".into(),
        };
        assert_eq!(
            describe(&stages[1], &k, &b),
            "set the ScaledObject `shop/orders` to minReplicaCount 1 maxReplicaCount 5 (recorded: 1..10)"
        );
        assert!(describe(&stages[2], &k, &b)
            .starts_with("pause the ScaledObject `shop/orders` at 0 replicas"));
    }
}
