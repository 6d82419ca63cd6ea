//! `replatform init --from-k8s PATH...`: reads Kubernetes manifests (files or folders), picks the
//! worker a KEDA ScaledObject scales on an SQS queue, reads its role's policies from IAM and its
//! queue from SQS as `init --from-ecs` does, and writes the `replatform.yaml` `core::adopt` and
//! `core::adopt_k8s` make of them, with the readiness report. No Kubernetes API is called, and a
//! Secret's value is never read. Refuses to replace a file without `force` before any AWS call.
//! Not pure: reads files, calls AWS, writes files.

use std::path::{Path, PathBuf};

use crate::app::adopt::{role_policies, Adopted};
use crate::app::init::{folder_of, read_facts, refuse_existing, write_config};
use crate::app::workspace::{connect, Workspace};
use crate::core::adopt::{self, Candidate, Finding, How, Queue, Running, Service, TaskDefinition};
use crate::core::adopt_k8s::{self as k8s, Object};
use crate::core::config::Platform;
use crate::error::Failure;
use crate::ui::printer::Printer;

/// The report fields of `translate` that describe an ECS task (its size and network, its
/// `runtimePlatform`): said of the pods by `core::adopt_k8s` instead.
const ECS_ONLY: [&str; 2] = ["ecs", "image.platform"];

/// The manifest files under `path`: the file itself, or a folder's `.yaml`, `.yml` and `.json`
/// files, recursively, in name order.
fn files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), Failure> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Failure::new(format!("cannot read `{}`: {e}", path.display()))
            .hint("give manifest files or folders that hold them (`kubectl get deploy,scaledobject,sa,cm -o yaml > all.yaml`, `helm template`)")
    })?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Failure::new(format!("cannot read `{}`: {e}", path.display())))?
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            files(&p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Every object of the manifests under `paths`.
pub fn read_manifests(paths: &[PathBuf]) -> Result<Vec<Object>, Failure> {
    let mut all = Vec::new();
    for p in paths {
        files(p, &mut all)?;
    }
    let mut objs = Vec::new();
    for f in &all {
        let text = std::fs::read_to_string(f)
            .map_err(|e| Failure::new(format!("cannot read `{}`: {e}", f.display())))?;
        objs.extend(
            k8s::parse(&text, &f.display().to_string())
                .map_err(|e| Failure::new(e).hint("give Kubernetes manifests in YAML (or JSON)"))?,
        );
    }
    Ok(objs)
}

/// The variables of the worker's environment `env` that name the queue `url` (`arn`), in any
/// form `init --from-ecs` finds: its URL, ARN, name (in a variable whose name says queue or
/// SQS), or a key of a JSON value.
fn findings(env: &[(String, String)], url: &str, arn: &str) -> Vec<Finding> {
    let id = |u: &str| {
        let mut p = u.rsplit('/');
        (p.next().map(str::to_string), p.next().map(str::to_string))
    };
    let name = url.rsplit('/').next().unwrap_or_default();
    let mut found = Vec::new();
    for (var, value) in env {
        let how = match adopt::candidate(value) {
            Some(Candidate::Url(u)) if id(&u) == id(url) => Some(How::Url),
            Some(Candidate::Arn(a)) if a == arn => Some(How::Arn),
            Some(Candidate::Name(n))
                if n == name
                    && ["QUEUE", "SQS"]
                        .iter()
                        .any(|w| var.to_ascii_uppercase().contains(w)) =>
            {
                Some(How::Name)
            }
            Some(Candidate::Json(urls)) => urls
                .into_iter()
                .find(|(_, u)| id(u) == id(url))
                .map(|(k, _)| How::Json(k)),
            _ => None,
        };
        if let Some(how) = how {
            found.push(Finding {
                var: var.clone(),
                how,
                parameter: None,
            });
        }
    }
    found
}

/// `replatform init --from-k8s PATH... [--workload NAMESPACE/NAME]`.
pub async fn adopt(
    ws: &Workspace,
    paths: &[PathBuf],
    workload: Option<&str>,
    force: bool,
    printer: &Printer,
) -> Result<Adopted, Failure> {
    refuse_existing(&ws.file, force)?;
    let dir = folder_of(&ws.file);
    let objs = read_manifests(paths)?;
    let picked = k8s::pick(&objs, workload).map_err(|e| {
        Failure::new(e).hint("pass the files that hold the Deployment (or StatefulSet) and its KEDA ScaledObject; --workload NAMESPACE/NAME chooses among several")
    })?;
    let w = k8s::read(&objs, &picked).map_err(Failure::new)?;
    let worker = &w.containers[0];
    // Each trigger's queue: `queueURL`, else the variable `queueURLFromEnv` names.
    let mut urls: Vec<String> = Vec::new();
    for t in &w.keda.triggers {
        let url = t.url(&worker.environment).ok_or_else(|| {
            Failure::new(format!("the ScaledObject `{}` names no queue: neither `queueURL` nor a `queueURLFromEnv` the worker's environment sets", w.keda.scaled_object))
                .hint("give the trigger `queueURL: https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`")
        })?;
        if !urls.contains(&url) {
            urls.push(url);
        }
    }
    let region = w
        .keda
        .first()
        .aws_region
        .clone()
        .or_else(|| k8s::url_region(&urls[0]));
    let aws = connect(ws, region.as_deref(), printer).await?;
    let mut queues = Vec::new();
    for url in &urls {
        let Some(q) = aws.sqs().queue(url).await? else {
            return Err(Failure::new(format!(
                "the queue `{url}` the ScaledObject `{}` scales on does not exist (region {})",
                w.keda.scaled_object,
                aws.region()
            ))
            .hint("check the queue URL and the region (awsRegion, --region or AWS_REGION)"));
        };
        queues.push(Queue {
            redrive: q.redrive()?,
            found: findings(&worker.environment, &q.url, &q.arn),
            arn: q.arn,
            url: q.url,
            visibility_timeout_s: q.visibility_timeout_s,
            retention_s: q.retention_s,
            fifo: q.fifo,
        });
    }
    let account = queues[0].account().to_string();
    // KEDA scales on each of them: `consumption` says so through a stand-in alarm per queue,
    // named for the ScaledObject (its words are replaced below).
    let alarms = queues
        .iter()
        .map(|q| adopt::Alarm {
            name: w.keda.scaled_object.clone(),
            queues: vec![q.name().to_string()],
            ..Default::default()
        })
        .collect();
    let role = match &w.role {
        // A role IAM does not know fails as `--from-ecs`'s task role does (IAM's
        // `NoSuchEntity`, nothing written), with where the manifests name it.
        Some((arn, from)) => Some(role_policies(&aws.iam(), arn).await.map_err(|e| {
            let missing = e.code == "NoSuchEntity";
            let f = Failure::from(e);
            if missing {
                f.hint(format!("the role is {from}: check its ARN, and that the credentials used are in its account"))
            } else {
                f
            }
        })?),
        None => None,
    };
    let platform = if w.arm64 {
        Platform::Arm64
    } else {
        Platform::Amd64
    };
    let facts = read_facts(&dir, platform).ok();
    let running = Running {
        service: Service {
            cluster: picked.namespace.clone(),
            name: picked.name.clone(),
            // Where `core::adopt` finds a bare name's region and account.
            task_definition: String::new(),
            subnets: Vec::new(),
            security_groups: Vec::new(),
            assign_public_ip: false,
            desired: w.replicas,
        },
        task: TaskDefinition {
            arn: format!(
                "arn:aws:ecs:{}:{account}:task-definition/{}",
                aws.region(),
                picked.name
            ),
            cpu: Some(w.cpu.to_string()),
            memory: Some(w.memory.to_string()),
            architecture: Some(if w.arm64 { "ARM64" } else { "X86_64" }.into()),
            // The sidecars are not essential here: `translate` then takes none of them for the
            // app a consumer feeds; `core::adopt_k8s` says what each one is.
            containers: w
                .containers
                .iter()
                .enumerate()
                .map(|(k, c)| adopt::Container {
                    essential: k == 0,
                    ..c.clone()
                })
                .collect(),
            task_role: w.role.as_ref().map(|r| r.0.clone()),
            ..Default::default()
        },
        task_role: role,
        execution_role: None,
        scaling: adopt::Scaling {
            min: Some(w.keda.min),
            max: Some(w.keda.max),
            alarms,
            ..Default::default()
        },
        queues,
        worker: 0,
        secret_arns: Vec::new(),
    };
    let (text, mut report) = adopt::translate(&running, facts.as_ref());
    let several = running.queues.len() > 1;
    let written: Vec<k8s::Written> = running
        .queues
        .iter()
        .zip(adopt::queue_keys(&running.queues))
        .map(|(q, key)| k8s::Written {
            at: if several {
                format!("queues.{key}")
            } else {
                "queue".into()
            },
            url: q.url.clone(),
            named: !q.found.is_empty(),
        })
        .collect();
    let vt_s = running
        .queues
        .iter()
        .map(|q| q.visibility_timeout_s.max(1))
        .min()
        .unwrap_or(30);
    let (text, said) = k8s::rewrite(&text, &w, region.as_deref(), &written, vt_s);
    // `translate` speaks of an ECS service and its task: its items that do not apply here go,
    // the others are said in Kubernetes's words.
    // Each Kubernetes secret reference is said once, by `core::adopt_k8s::items`.
    let k8s_secret = |i: &adopt::Item| i.field.starts_with("secrets.") && i.what.contains("`/k8s/");
    report.items.retain(|i| {
        !(ECS_ONLY.contains(&i.field.as_str())
            || i.field.starts_with("containerDefinitions")
            || k8s_secret(i))
    });
    for i in &mut report.items {
        i.what = i
            .what
            .replace("the ECS service's name", "the workload's name")
            .replace("the service runs", "the pods run")
            .replace("the task role", "the pods' role")
            .replace(
                &format!("the scaling alarm `{}` watches it", w.keda.scaled_object),
                &format!("the ScaledObject `{}` scales on it", w.keda.scaled_object),
            );
        if let Some(r) = &mut i.resolve {
            *r = r.replace("init --from-ecs", "init --from-k8s");
        }
    }
    // What rewriting said (the grace period, the Lambda timeout) before the manifests' own
    // items, which end with what is left to fill.
    report.items.extend(said);
    report.items.extend(k8s::items(&w, &written));
    report.items.push(adopt::Item {
        kind: adopt::Kind::Unchanged,
        field: "image.platform".into(),
        what: format!("architecture {}", if w.arm64 { "arm64" } else { "x86_64" }),
        resolve: None,
    });
    report.production = format!("{} {}", picked.kind, picked.id());
    let written = write_config(&ws.file, &dir, &text)?;
    Ok(Adopted {
        file: ws.file.clone(),
        written,
        report,
    })
}
