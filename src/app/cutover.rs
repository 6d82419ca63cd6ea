//! `cutover` and `rollback`: move the consumption of `production.queue` from
//! `production.ecs_service` to the function in stages, watching health between them, and put it
//! back. The plan, checks and verdicts are `core::cutover`'s; the calls are `aws`'s, by service.
//!
//! The order inside a stage keeps the queue consumed: the function's share grows first (the mapping
//! enabled with its `MaximumConcurrency`, and settled), then ECS's falls. `rollback` runs the other
//! way: ECS gets its recorded bounds and desired count back first, and only then does the function
//! stop consuming; while ECS cannot be restored the mapping stays as it is. Nothing is deleted: a
//! disabled mapping loses nothing (docs/pitfalls.md#p33), and the batches a stopped task or a
//! disabled mapping held return to the queue after its visibility timeout (docs/pitfalls.md#p35).
//!
//! Every step is idempotent and the state is recorded on the production service before the first
//! change and after every stage (`core::cutover::STATE_TAG`), so an interrupt or a crash at any
//! point leaves a state that `cutover` continues from and `rollback` undoes.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::keda;
use super::pipeline::image_ref;
use super::workspace::{connect, names_only, Named, Workspace};
use super::Only;
use crate::aws::autoscaling::AutoScaling;
use crate::aws::cloudformation::Cfn;
use crate::aws::cloudwatch::CloudWatch;
use crate::aws::ecs::{Ecs, EcsService};
use crate::aws::lambda::{Lambda, Mapping, MappingState};
use crate::aws::sqs::Sqs;
use crate::aws::{Aws, AwsError, OrMissing};
use crate::core::changes;
use crate::core::config::{Config, K8sWorkload, Workload};
use crate::core::cutover::{
    self, Bounds, Event, Outcome, Preflight, Recorded, Refusal, Sample, Stage, StageOutcome,
    StepOutcome, Thresholds, RECORD_ANNOTATION, STATE_TAG,
};
use crate::core::render::{self, Data, Image, Sources};
use crate::error::Failure;
use crate::k8s::{Keda, ScaledObject};
use crate::signal::Stop;
use crate::ui::cutover::{Printed, Progress};
use crate::ui::printer::Printer;
use crate::ui::prompt::Ask;

/// The services cutover and rollback read and change: the production ECS service and its
/// scalable target (or, for a worker on Kubernetes, its ScaledObject through `keda`), the
/// function's mapping, the queues, the bake's CloudWatch figures.
#[derive(Clone, Debug)]
pub struct Production {
    pub ecs: Ecs,
    pub scaling: AutoScaling,
    pub lambda: Lambda,
    pub sqs: Sqs,
    pub cloudwatch: CloudWatch,
    /// The Kubernetes API of `production.k8s.context`; `None` for a worker on ECS.
    pub keda: Option<Keda>,
}

impl Production {
    pub fn of(aws: &Aws) -> Self {
        Production {
            ecs: aws.ecs(),
            scaling: aws.autoscaling(),
            lambda: aws.lambda(),
            sqs: aws.sqs(),
            cloudwatch: aws.cloudwatch(),
            keda: None,
        }
    }

    /// [`Production::of`], with the Kubernetes API of the context `k8s` names, when it names
    /// one; `Err` says why Kubernetes cannot be reached.
    async fn of_target(aws: &Aws, k8s: Option<&K8sWorkload>) -> Result<Self, Refusal> {
        let mut prod = Production::of(aws);
        if let Some(k) = k8s {
            let keda = Keda::connect(k.context.as_deref()).await.map_err(|e| {
                refusal(
                    "production-workload",
                    format!("cannot reach Kubernetes for `production.k8s`: {e}"),
                    "point KUBECONFIG (or ~/.kube/config) at the cluster, with `production.k8s.context` naming its context; `kubectl get scaledobjects -n NAMESPACE` must work",
                )
            })?;
            prod.keda = Some(keda);
        }
        Ok(prod)
    }

    fn keda(&self) -> Result<&Keda, AwsError> {
        self.keda.as_ref().ok_or_else(|| AwsError {
            operation: "reaching Kubernetes".into(),
            needs: None,
            code: "NoClient".into(),
            message: "the production workload is on Kubernetes and no client was made for it"
                .into(),
        })
    }

    /// The production service, `None` when its cluster has no such active service. Read once
    /// per run: by the checks of `cutover` (then handed to [`drive`]) or by [`undo`].
    pub async fn service(
        &self,
        cluster: &str,
        service: &str,
    ) -> Result<Option<EcsService>, AwsError> {
        Ok(self
            .ecs
            .service(cluster, service)
            .await
            .or_none_if(AwsError::is_missing_cluster)?
            .flatten()
            .filter(|s| s.active))
    }
}

/// What runs production today, as the checks read it (then handed to [`drive`]): the ECS service,
/// or the KEDA ScaledObject of a worker on Kubernetes.
#[derive(Clone, Debug)]
pub enum Runner {
    Ecs(EcsService),
    Keda(ScaledObject),
}

impl Runner {
    /// The cutover recorded on it: the service's tag, the ScaledObject's annotation.
    pub fn record(&self) -> Option<&String> {
        match self {
            Runner::Ecs(s) => s.tags.get(STATE_TAG),
            Runner::Keda(o) => o.annotations.get(RECORD_ANNOTATION),
        }
    }

    /// Where the record is kept, in words.
    fn record_place(&self) -> String {
        match self {
            Runner::Ecs(_) => format!("its tag `{STATE_TAG}`"),
            Runner::Keda(o) => format!(
                "the annotation `{RECORD_ANNOTATION}` of ScaledObject `{}/{}`",
                o.namespace, o.name
            ),
        }
    }
}

/// Writes the record on the runner (`Some`), or removes it.
async fn write_record(
    prod: &Production,
    runner: &Runner,
    text: Option<&str>,
) -> Result<(), AwsError> {
    match (runner, text) {
        (Runner::Ecs(s), Some(t)) => prod.ecs.tag(&s.arn, STATE_TAG, t).await,
        (Runner::Ecs(s), None) => prod.ecs.untag(&s.arn, STATE_TAG).await,
        (Runner::Keda(o), _) => {
            keda::patch(
                prod.keda()?,
                &o.namespace,
                &o.name,
                &keda::record_patch(text),
            )
            .await
        }
    }
}

/// What `cutover` was asked for.
#[derive(Clone, Debug)]
pub struct Options {
    /// Percentages of capacity, increasing, ending at 100 (`core::cutover::parse_stages`).
    pub stages: Vec<u32>,
    /// How long each stage is watched before the next.
    pub bake: Duration,
    /// How often a bake samples (CloudWatch's figures are per minute).
    pub sample_every: Duration,
    pub thresholds: Thresholds,
    /// `--yes`: no question before a stage.
    pub yes: bool,
}

/// Where cutover acts: the production service, one of its queues, the function and its mapping
/// on that queue. A worker of several queues (`queues:` in docs/config.md) has one site per
/// consumed queue, all naming the same service and function; a stage moves every one of them.
/// For a worker on Kubernetes, `cluster` is its namespace and `service` its Deployment, and `k8s`
/// names the context and the ScaledObject.
#[derive(Clone, Debug, Serialize)]
pub struct Site {
    pub cluster: String,
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k8s: Option<K8sWorkload>,
    pub queue_url: String,
    pub queue_name: String,
    pub dead_letter_url: Option<String>,
    pub function: String,
    /// The UUID of the function's event source mapping on the production queue.
    pub mapping: String,
    /// Lambda's ceiling for the mapping: the trigger's `max_concurrency`, else the reserved
    /// concurrency; `None` for AWS's 1000.
    pub ceiling: Option<u32>,
}

/// One stage as it went.
#[derive(Clone, Debug, Serialize)]
pub struct StageReport {
    #[serde(flatten)]
    pub stage: Stage,
    pub outcome: StageOutcome,
    pub bake: Option<BakeReport>,
}

/// A stage's watch: how long, how many samples, and the breach that ended it, if one did.
#[derive(Clone, Debug, Serialize)]
pub struct BakeReport {
    pub seconds: u64,
    pub samples: Vec<SampleReport>,
    pub breach: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SampleReport {
    /// Seconds into the bake.
    pub at_s: u64,
    pub errors: u64,
    pub throttles: u64,
    pub dead_letter_depth: u64,
    pub oldest_age_s: u64,
    pub depth: u64,
}

/// `cutover`'s answer, in every outcome: `cut-over`, `refused` (nothing changed), `declined`
/// (a question answered no), `interrupted`, `rolled-back` (a breach or a failed step), or
/// `rollback-failed`.
#[derive(Clone, Debug, Serialize)]
pub struct Cutover {
    pub outcome: Outcome,
    /// Why it did not end cut over.
    pub reason: Option<String>,
    pub hint: Option<String>,
    pub refusals: Vec<Refusal>,
    pub site: Option<Site>,
    /// The production service as recorded before the first stage.
    pub recorded: Option<Bounds>,
    /// The stage an earlier run had reached, when this run continued it.
    pub continued_from: Option<u32>,
    pub stages: Vec<StageReport>,
    pub rollback: Option<Rollback>,
    /// With several queues, every site a stage moves (`site` is the first); absent for one queue,
    /// so that its document is as it always was.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queues: Vec<Site>,
}

/// The sites `--output json` lists under `queues`: all of them when there are several, else none.
fn listed(sites: &[Site]) -> Vec<Site> {
    if sites.len() > 1 {
        sites.to_vec()
    } else {
        Vec::new()
    }
}

impl Cutover {
    fn refused(refusals: Vec<Refusal>, site: Option<Site>) -> Self {
        let n = refusals.len();
        Cutover {
            outcome: Outcome::Refused,
            reason: Some(format!(
                "cutover refused: {n} check{} failed; production was not changed",
                if n == 1 { "" } else { "s" }
            )),
            hint: Some("fix what each check names, then run `replatform cutover` again".into()),
            refusals,
            site,
            recorded: None,
            continued_from: None,
            stages: vec![],
            rollback: None,
            queues: vec![],
        }
    }
}

/// One step of a rollback and how it went.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub what: String,
    pub outcome: StepOutcome,
    pub error: Option<String>,
}

/// `rollback`'s answer.
#[derive(Clone, Debug, Serialize)]
pub struct Rollback {
    /// The bounds restored; `None` when no cutover was recorded.
    pub recorded: Option<Bounds>,
    /// The stage the cutover had reached.
    pub from_stage: Option<u32>,
    pub steps: Vec<Step>,
    /// Every step succeeded: ECS is as recorded, the function does not consume the production
    /// queue, and the record is removed.
    pub complete: bool,
}

fn refusal(check: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Refusal {
    Refusal {
        check,
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// The stacks cutover and rollback act on, by name: the Lambda stack, and the ECS stack that a
/// config without `production:` may mean.
struct Stacks {
    lambda: String,
    ecs: Option<String>,
}

/// The config, the template sources and the stacks' names, from the stack files alone: nothing
/// is rendered until the image the function runs is known ([`lambda_stack_current`]).
fn stacks(ws: &Workspace) -> Result<(Config, Sources, Stacks), Failure> {
    let Named {
        config,
        sources,
        names,
    } = names_only(ws)?;
    let named = |only: Only| {
        names
            .iter()
            .find(|(kind, _)| kind == only.as_str())
            .map(|(_, name)| name.clone())
    };
    let lambda =
        named(Only::Lambda).ok_or_else(|| Failure::new("the stacks name no Lambda stack"))?;
    let ecs = named(Only::Ecs);
    Ok((config, sources, Stacks { lambda, ecs }))
}

/// One production queue a cutover moves: what a person calls it (the key under `queues:`, or
/// `queue`) and its URL.
type ProductionQueue = (String, String);

/// What `production:` names: the ECS service (`cluster`/`service`), or on Kubernetes the
/// namespace and Deployment with `k8s`; and every consumed queue's production URL.
struct Target {
    cluster: String,
    service: String,
    k8s: Option<K8sWorkload>,
    queues: Vec<ProductionQueue>,
}

/// The production section's parts, every consumed queue's production URL among them, or the
/// refusal that says what to add: without `production:` the tool's own ECS stack (`ecs_stack`)
/// can be the source, named by its outputs.
async fn production_of(
    config: &Config,
    aws: &Aws,
    ecs_stack: Option<&str>,
) -> Result<Target, Refusal> {
    if let Some(p) = &config.production {
        let (cluster, service, k8s) = match p.workload() {
            Some(Workload::Ecs { cluster, service }) => {
                (cluster.to_string(), service.to_string(), None)
            }
            Some(Workload::K8s(k)) => (k.namespace.clone(), k.deployment.clone(), Some(k.clone())),
            None => {
                return Err(refusal(
                    "production",
                    match &p.ecs_service {
                        Some(s) if p.k8s.is_none() => format!("`production.ecs_service` is `{s}`"),
                        Some(_) => "`production` names both `ecs_service` and `k8s`".into(),
                        None => "`production` names neither `ecs_service` nor `k8s`".into(),
                    },
                    "write `ecs_service: CLUSTER/SERVICE` for a service on ECS, or `k8s: {namespace, deployment, scaled_object}` for a worker on Kubernetes (docs/config.md#production)",
                ))
            }
        };
        let mut queues = Vec::new();
        for e in config.consumed_queues() {
            let Some(url) = config.production_queue(&e) else {
                return Err(refusal(
                    "production",
                    format!("`production:` names no production queue for `{}`", e.path()),
                    format!("add `production.queues.{}: URL`, the queue the service consumes for it (docs/config.md)", e.label()),
                ));
            };
            queues.push((e.label().to_string(), url.to_string()));
        }
        return Ok(Target {
            cluster,
            service,
            k8s,
            queues,
        });
    }
    // The ECS stack's service and queue, when it is deployed: the section to add, filled in.
    let mut fix = "add a `production:` section (ecs_service: CLUSTER/SERVICE, queue: URL) naming the service that consumes the queue today, then run `replatform up`, which creates the Lambda stack's disabled mapping on that queue".to_string();
    if let Some(name) = ecs_stack {
        let cfn = aws.cfn();
        if let Ok(Some(stack)) = cfn.describe_stack(name).await {
            if let Ok(f) = super::deployed::facts(&cfn, name, &stack.outputs).await {
                if let (Some(cluster), Some(service), Some(queue)) = (
                    f.get("ClusterName").or(config.ecs.cluster.as_ref()),
                    f.get("ServiceName"),
                    f.get("QueueUrl"),
                ) {
                    fix = format!(
                        "to move this tool's own ECS stack `{name}` to Lambda, add to the config:\n  production:\n    ecs_service: {cluster}/{service}\n    queue: {queue}\nthen run `replatform up` (it creates the Lambda stack's disabled mapping on that queue) and `replatform cutover`"
                    );
                }
            }
        }
    }
    Err(refusal(
        "production",
        "the config has no `production:` section: there is no production queue to move",
        fix,
    ))
}

/// `cutover` from the workspace: the checks before the first stage, then [`drive_all`].
pub async fn cutover(
    ws: &Workspace,
    options: &Options,
    printer: &Printer,
) -> Result<Cutover, Failure> {
    let stop = Stop::on_signals();
    let (config, sources, stacks) = stacks(ws)?;
    let aws = connect(ws, config.region.as_deref(), printer).await?;
    let progress = Printed::new(printer);
    let target = match production_of(&config, &aws, stacks.ecs.as_deref()).await {
        Ok(t) => t,
        Err(r) => return Ok(Cutover::refused(vec![r], None)),
    };
    let prod = match Production::of_target(&aws, target.k8s.as_ref()).await {
        Ok(p) => p,
        Err(r) => return Ok(Cutover::refused(vec![r], None)),
    };
    let (sites, preflights, runner) =
        match locate(&config, &sources, &stacks, &aws, &prod, target, &progress).await? {
            Ok(found) => found,
            Err(refusals) => return Ok(Cutover::refused(refusals, None)),
        };
    let refusals = refusals_of(&sites, &preflights);
    if !refusals.is_empty() {
        let mut refused = Cutover::refused(refusals, sites.first().cloned());
        refused.queues = listed(&sites);
        return Ok(refused);
    }
    drive_all(
        &prod,
        &sites,
        &runner,
        options,
        &crate::ui::prompt::terminal,
        &stop,
        &progress,
    )
    .await
}

/// The checks before the first stage, for every production queue: the function's checks once
/// (from the first), each queue's own (its visibility timeout, its dead-letter queue) for each,
/// named by the queue when there are several.
fn refusals_of(sites: &[Site], preflights: &[Preflight]) -> Vec<Refusal> {
    let mut out = Vec::new();
    for (i, (site, p)) in sites.iter().zip(preflights).enumerate() {
        for mut r in cutover::preflight(p) {
            let own = matches!(r.check, "visibility-timeout" | "dead-letter");
            if i > 0 && !own {
                continue;
            }
            if own && sites.len() > 1 {
                r.problem = format!("`{}`: {}", site.queue_name, r.problem);
            }
            out.push(r);
        }
    }
    out
}

/// Finds the sites (one per production queue) and reads what the checks need, the production
/// service among them (read here only, and handed to [`drive_all`]); `Err(refusals)` when
/// something to act on is missing.
#[allow(clippy::too_many_arguments)]
async fn locate(
    config: &Config,
    sources: &Sources,
    stacks: &Stacks,
    aws: &Aws,
    prod: &Production,
    target: Target,
    progress: &dyn Progress,
) -> Result<Result<(Vec<Site>, Vec<Preflight>, Runner), Vec<Refusal>>, Failure> {
    let lambda_stack = stacks.lambda.as_str();
    let Target {
        cluster,
        service,
        k8s,
        queues,
    } = target;
    let Some(sqs) = config.lambda.trigger.mapping() else {
        return Ok(Err(vec![refusal(
            "trigger",
            "`lambda.trigger.type` is `schedule`: cutover moves consumption by an event source mapping's MaximumConcurrency, which a schedule does not have",
            "use `lambda.trigger.type: sqs` for the cutover (the handler then takes the batch from the event), run `replatform up`, then `replatform cutover`",
        )]));
    };
    let cfn = aws.cfn();
    let stack = cfn.describe_stack(lambda_stack).await?;
    let lambda_status = stack.as_ref().map(|s| s.status.clone());
    let facts = match &stack {
        Some(s) => super::deployed::facts(&cfn, lambda_stack, &s.outputs).await?,
        None => Default::default(),
    };
    // Each production queue, as SQS has it.
    let mut found = Vec::new();
    for (label, queue_url) in &queues {
        let Some(queue) = prod.sqs.queue(queue_url).await? else {
            let field = if config.queues.is_empty() {
                "production.queue".to_string()
            } else {
                format!("production.queues.{label}")
            };
            return Ok(Err(vec![refusal(
                "production-queue",
                format!("the production queue `{queue_url}` does not exist"),
                format!("correct `{field}` to the URL of the queue the service consumes"),
            )]));
        };
        found.push((queue_url.clone(), queue));
    }
    let runner = match &k8s {
        None => match prod.service(&cluster, &service).await? {
            Some(s) => Runner::Ecs(s),
            None => {
                return Ok(Err(vec![refusal(
                    "production-service",
                    format!("the production service `{cluster}/{service}` is not found"),
                    "correct `production.ecs_service` to the CLUSTER/SERVICE that runs today (`aws ecs list-services --cluster CLUSTER`)",
                )]))
            }
        },
        Some(k) => match scaled_object(prod, k).await? {
            Ok(o) => Runner::Keda(o),
            Err(r) => return Ok(Err(vec![r])),
        },
    };
    let function = facts
        .get("FunctionName")
        .cloned()
        .unwrap_or_else(|| config.service.clone());
    let mut mappings = Vec::new();
    for (_, queue) in &found {
        mappings.push(match stack {
            Some(_) => prod
                .lambda
                .mappings(&function, Some(&queue.arn))
                .await
                .or_none_if(AwsError::is_missing_function)?
                .and_then(|m| m.into_iter().next()),
            None => None,
        });
    }
    let mut current = false;
    if stack.is_some() && mappings.iter().all(Option::is_some) {
        let image = prod.lambda.function_image(&function).await.ok().flatten();
        match lambda_stack_current(config, sources, &cfn, lambda_stack, aws.region(), image).await?
        {
            Ok(c) => current = c,
            Err(why) => progress.report(Event::NotCompared { why }),
        }
    }
    let deployed_reservation = prod
        .lambda
        .reserved_concurrency(&function)
        .await
        .ok()
        .flatten()
        .and_then(|n| u32::try_from(n).ok());
    let unreserved = match prod.lambda.account_concurrency().await {
        Ok(a) => u32::try_from(a.unreserved).unwrap_or(0),
        Err(e) => {
            progress.report(Event::PoolUnread {
                endpoint: aws.foreign_endpoint().map(|u| u.to_string()),
                error: e.to_string(),
            });
            u32::MAX / 2
        }
    };
    // Each mapping's ceiling: the trigger's `max_concurrency` (every mapping scales to it), else
    // its share of the reserved concurrency, at least 2, so that the mappings together stay
    // within the reservation (docs/pitfalls.md#p8).
    let n = u32::try_from(found.len()).unwrap_or(1).max(1);
    let ceiling = sqs
        .max_concurrency
        .or(config
            .lambda
            .reserved_concurrency
            .map(|r| if n > 1 { (r / n).max(2) } else { r }));
    let (mut sites, mut preflights) = (Vec::new(), Vec::new());
    for ((queue_url, queue), mapping) in found.into_iter().zip(mappings) {
        let dead_letter_arn = queue.dead_letter_arn()?;
        let dead_letter_url = match &dead_letter_arn {
            Some(arn) => prod.sqs.queue_url_of(arn).await?,
            None => None,
        };
        preflights.push(Preflight {
            sqs_trigger: true,
            lambda_timeout_s: config.lambda.timeout.0,
            batching_window_s: sqs.max_batching_window.0,
            queue_visibility_timeout_s: queue.visibility_timeout_s,
            queue_has_dead_letter: dead_letter_arn.is_some(),
            reserved_concurrency: config.lambda.reserved_concurrency,
            deployed_reservation,
            unreserved,
            lambda_stack: lambda_status.clone(),
            lambda_stack_current: current,
        });
        let queue_name = queue_url.rsplit('/').next().unwrap_or_default().to_string();
        sites.push(Site {
            cluster: cluster.clone(),
            service: service.clone(),
            k8s: k8s.clone(),
            queue_url,
            queue_name,
            dead_letter_url,
            function: function.clone(),
            mapping: mapping.map(|m| m.uuid).unwrap_or_default(),
            ceiling,
        });
    }
    Ok(Ok((sites, preflights, runner)))
}

/// The ScaledObject `production.k8s` names, checked: it scales the Deployment named beside it,
/// and nobody else has paused it (a paused ScaledObject runs no replicas of the worker, or a
/// fixed number, and its recorded bounds would not be what ran). A pause by an earlier cutover
/// is its own: the record says so.
async fn scaled_object(
    prod: &Production,
    k: &K8sWorkload,
) -> Result<Result<ScaledObject, Refusal>, AwsError> {
    let so = format!("{}/{}", k.namespace, k.scaled_object);
    let found = prod
        .keda()?
        .scaled_object(&k.namespace, &k.scaled_object)
        .await
        .map_err(keda::failed)?;
    Ok(match found {
        None => Err(refusal(
            "production-service",
            format!("the ScaledObject `{so}` is not found"),
            format!("correct `production.k8s.scaled_object` (and `namespace`) to the ScaledObject that scales the worker (`kubectl get scaledobjects -n {}`)", k.namespace),
        )),
        Some(o) if o.target_name != k.deployment => Err(refusal(
            "production-service",
            format!("the ScaledObject `{so}` scales the {} `{}`, not `{}`", o.target_kind, o.target_name, k.deployment),
            "correct `production.k8s.deployment` to the workload its `scaleTargetRef` names, or `scaled_object` to the one that scales the worker",
        )),
        Some(o) => match o.paused() {
            Some(pause) if !o.annotations.contains_key(RECORD_ANNOTATION) => Err(refusal(
                "production-paused",
                format!("the ScaledObject `{so}` is paused ({pause}) and no cutover recorded it: KEDA does not scale the worker now"),
                format!("remove the pause so that the worker runs as it does in production (`kubectl annotate scaledobject -n {} {} {}-`), then run `replatform cutover`", k.namespace, k.scaled_object, pause.split('=').next().map(|a| format!("autoscaling.keda.sh/{a}")).unwrap_or_default()),
            )),
            _ => Ok(o),
        },
    })
}

/// Whether the deployed Lambda stack is the one `up` would deploy now, with the image the
/// function runs (the image is not what cutover is about): the template rendered from the config
/// against the deployed one, compared as `up` decides "no changes"
/// (`core::changes::template_diff`). Nothing is created in CloudFormation to learn it, and this
/// is the run's one render: the names came from the stack files alone. `Ok(Err)` says why it
/// could not be compared; a template that does not render stops the command, as it does `up`.
async fn lambda_stack_current(
    config: &Config,
    sources: &Sources,
    cfn: &Cfn,
    stack: &str,
    region: &str,
    image: Option<String>,
) -> Result<Result<bool, String>, Failure> {
    let uri = match image.map(|u| image_ref(&u, Some(region))).transpose() {
        Ok(uri) => uri,
        Err(f) => return Ok(Err(f.message)),
    };
    let img = uri.as_ref().map_or(Image::Placeholder, Image::Digest);
    let rendered = render::render(sources, &Data::new(config, &img))?;
    let Some(ours) = rendered.into_iter().find(|s| s.name == stack) else {
        return Ok(Err(format!("the config renders no stack `{stack}`")));
    };
    Ok(match cfn.template(stack).await {
        Ok(deployed) => {
            Ok(deployed
                .is_some_and(|d| changes::template_diff(&d, &ours.template, stack).is_none()))
        }
        Err(e) => Err(e.to_string()),
    })
}

/// What a stage changes in production, in words, for the question before it and the log.
pub fn describe(stage: &Stage, site: &Site, bounds: &Bounds) -> String {
    describe_all(stage, std::slice::from_ref(site), bounds)
}

/// [`describe`] for every site a stage moves: one mapping per production queue.
pub fn describe_all(stage: &Stage, sites: &[Site], bounds: &Bounds) -> String {
    let site = &sites[0];
    let lambda = if sites.len() == 1 {
        format!(
            "enable the mapping on `{}` with MaximumConcurrency {}",
            site.queue_name, stage.max_concurrency
        )
    } else {
        let names: Vec<String> = sites
            .iter()
            .map(|s| format!("`{}`", s.queue_name))
            .collect();
        format!(
            "enable the mappings on {} with MaximumConcurrency {} each",
            names.join(", "),
            stage.max_concurrency
        )
    };
    let ecs = match (&site.k8s, bounds.scaled, stage.ecs_desired) {
        (Some(k), _, _) => keda::describe(stage, k, bounds),
        (None, true, Some(d)) => format!("hold `{}/{}` at min {} max {} and set its desired count to {d} (its tasks get SIGTERM and their stopTimeout to finish their batches)", site.cluster, site.service, stage.ecs_min, stage.ecs_max),
        (None, true, None) => format!("set the scalable target of `{}/{}` to min {} max {} (recorded: {}..{})", site.cluster, site.service, stage.ecs_min, stage.ecs_max, bounds.min, bounds.max),
        (None, false, d) => format!("set the desired count of `{}/{}` to {} (recorded: {})", site.cluster, site.service, d.unwrap_or(0), bounds.desired),
    };
    format!("stage {}%: {lambda}, then {ecs}", stage.percent)
}

/// Runs the stages from where the record says, each confirmed (unless `--yes`), applied, recorded
/// and baked; a breach or a failed step rolls back. `runner` is the production service (or
/// ScaledObject) as the checks read it ([`Production::service`]): its record and bounds are not
/// read again. `Err` only for what stops before anything changed in production.
pub async fn drive(
    prod: &Production,
    site: &Site,
    runner: &Runner,
    options: &Options,
    ask: Ask<'_>,
    stop: &Stop,
    progress: &dyn Progress,
) -> Result<Cutover, Failure> {
    drive_all(
        prod,
        std::slice::from_ref(site),
        runner,
        options,
        ask,
        stop,
        progress,
    )
    .await
}

/// [`drive`] for a worker of several queues: every site (one per production queue, the same
/// service and function) moves together, stage by stage, and a rollback restores them all.
pub async fn drive_all(
    prod: &Production,
    sites: &[Site],
    runner: &Runner,
    options: &Options,
    ask: Ask<'_>,
    stop: &Stop,
    progress: &dyn Progress,
) -> Result<Cutover, Failure> {
    let Some(site) = sites.first() else {
        return Err(Failure::new(
            "the config names no consumed queue: there is nothing to cut over",
        ));
    };
    let mut report = Cutover {
        outcome: Outcome::CutOver,
        reason: None,
        hint: None,
        refusals: vec![],
        site: Some(site.clone()),
        recorded: None,
        continued_from: None,
        stages: vec![],
        rollback: None,
        queues: listed(sites),
    };
    let tag = runner.record();
    let mut record = match tag {
        Some(text) => {
            let r = Recorded::parse(text).map_err(Failure::new)?;
            report.continued_from = Some(r.stage);
            progress.report(Event::Continuing {
                cluster: site.cluster.clone(),
                service: site.service.clone(),
                record: r,
            });
            r
        }
        None => {
            let bounds = match runner {
                Runner::Ecs(service) => {
                    match prod.scaling.target(&site.cluster, &site.service).await? {
                        Some(t) => Bounds {
                            min: count(t.min),
                            max: count(t.max),
                            desired: service.desired(),
                            scaled: true,
                        },
                        None => Bounds {
                            min: service.desired(),
                            max: service.desired(),
                            desired: service.desired(),
                            scaled: false,
                        },
                    }
                }
                Runner::Keda(so) => keda::bounds(prod.keda()?, so).await?,
            };
            Recorded { bounds, stage: 0 }
        }
    };
    // Written just before the first change (after the first question): a run that stops before
    // it leaves nothing behind, and the bounds are read fresh by the next.
    let mut unrecorded = tag.is_none();
    // What the service's tag holds now, as this run last wrote or found it: the automatic
    // rollback restores from it without reading the service again.
    let mut tagged = (!unrecorded).then_some(record);
    report.recorded = Some(record.bounds);
    let plan = cutover::plan(&options.stages, record.bounds, site.ceiling).map_err(Failure::new)?;
    report.stages = plan
        .iter()
        .map(|s| StageReport {
            stage: *s,
            outcome: if s.percent <= record.stage {
                StageOutcome::AlreadyApplied
            } else {
                StageOutcome::NotReached
            },
            bake: None,
        })
        .collect();
    let next_steps = "`replatform cutover` continues from the last stage applied; `replatform rollback` puts ECS back";

    for (i, stage) in plan.iter().enumerate() {
        if stage.percent <= record.stage {
            continue;
        }
        if let Some(signal) = stop.signal() {
            return Ok(interrupted(report, signal, record.stage, next_steps));
        }
        let what = describe_all(stage, sites, &record.bounds);
        if !options.yes {
            let answer = ask(format!("{what}. Go on?")).await;
            match answer {
                Ok(Some(true)) => {}
                Ok(Some(false)) | Ok(None) => {
                    report.outcome = Outcome::Declined;
                    let at = if unrecorded {
                        "production was not changed".to_string()
                    } else {
                        format!("production is at stage {}%", record.stage)
                    };
                    report.reason = Some(format!(
                        "stopped before stage {}%{}; {at}",
                        stage.percent,
                        if answer == Ok(None) {
                            " (there is no terminal to ask on)"
                        } else {
                            ""
                        }
                    ));
                    report.hint = Some(format!(
                        "run again with --yes to go on without questions; {next_steps}"
                    ));
                    return Ok(report);
                }
                Err(signal) => return Ok(interrupted(report, signal, record.stage, next_steps)),
            }
        }
        if options.yes {
            progress.report(Event::Stage { what: what.clone() });
        }
        if unrecorded {
            // Recorded before anything changes, on the service (or ScaledObject) itself.
            write_record(prod, runner, Some(&record.to_string())).await?;
            unrecorded = false;
            tagged = Some(record);
            progress.report(Event::Recorded {
                cluster: site.cluster.clone(),
                service: site.service.clone(),
                at: runner.record_place(),
                bounds: record.bounds,
            });
        }
        let applied = match stop
            .run(apply(prod, sites, runner, stage, &record.bounds))
            .await
        {
            Ok(r) => r,
            Err(signal) => return Ok(interrupted(report, signal, record.stage, next_steps)),
        };
        if let Err(e) = applied {
            report.stages[i].outcome = StageOutcome::Failed;
            let hint = what_to_do(&e);
            return Ok(roll_back(
                prod,
                sites,
                runner,
                tagged,
                report,
                format!("stage {}% failed: {e}", stage.percent),
                hint,
                progress,
            )
            .await);
        }
        record.stage = stage.percent;
        if let Err(e) = write_record(prod, runner, Some(&record.to_string())).await {
            report.stages[i].outcome = StageOutcome::Failed;
            let hint = what_to_do(&e);
            return Ok(roll_back(
                prod,
                sites,
                runner,
                tagged,
                report,
                format!("recording stage {}% failed: {e}", stage.percent),
                hint,
                progress,
            )
            .await);
        }
        tagged = Some(record);
        report.stages[i].outcome = StageOutcome::Applied;
        progress.report(Event::Applied {
            percent: stage.percent,
        });
        if options.bake.is_zero() {
            continue;
        }
        let bake = match stop
            .run(bake(prod, sites, stage.percent, options, progress))
            .await
        {
            Ok(b) => b,
            Err(signal) => return Ok(interrupted(report, signal, record.stage, next_steps)),
        };
        let bake = match bake {
            Ok(b) => b,
            Err(e) => {
                let hint = what_to_do(&e);
                return Ok(roll_back(
                    prod,
                    sites,
                    runner,
                    tagged,
                    report,
                    format!(
                        "the bake of stage {}% could not read its figures: {e}",
                        stage.percent
                    ),
                    hint,
                    progress,
                )
                .await);
            }
        };
        let breach = bake.breach.clone();
        report.stages[i].bake = Some(bake);
        if let Some(why) = breach {
            return Ok(roll_back(
                prod,
                sites,
                runner,
                tagged,
                report,
                format!("the bake of stage {}% breached: {why}", stage.percent),
                None,
                progress,
            )
            .await);
        }
    }
    Ok(report)
}

/// What to do about a failed step in the middle of a cutover: the permission to grant when AWS
/// denied it, else the error's own hint. (`AwsError::hint` says "nothing was changed", which is
/// not so once a stage has begun.)
fn what_to_do(e: &AwsError) -> Option<String> {
    match e.needs() {
        Some(action) if e.code.contains("AccessDenied") || e.code == "HTTP 403" => Some(format!(
            "grant the caller `{action}` (an IAM policy statement allowing it)"
        )),
        _ => e.hint(),
    }
}

fn interrupted(mut report: Cutover, signal: &str, stage: u32, next_steps: &str) -> Cutover {
    report.outcome = Outcome::Interrupted;
    report.reason = Some(format!("interrupted ({signal}); production is at stage {stage}% as recorded, or partway into the next stage"));
    report.hint = Some(next_steps.to_string());
    report
}

/// The automatic rollback after a breach or a failed step: from what this run last recorded on
/// the service (`arn`), which it knows without reading the service again.
#[allow(clippy::too_many_arguments)]
async fn roll_back(
    prod: &Production,
    sites: &[Site],
    runner: &Runner,
    tagged: Option<Recorded>,
    mut report: Cutover,
    reason: String,
    hint: Option<String>,
    progress: &dyn Progress,
) -> Cutover {
    progress.report(Event::RollingBack {
        reason: reason.clone(),
    });
    let r = restore_all(prod, sites, runner, tagged, progress).await;
    report.outcome = if r.complete {
        Outcome::RolledBack
    } else {
        Outcome::RollbackFailed
    };
    report.hint = match (r.complete, hint) {
        (true, Some(h)) => Some(h),
        (true, None) => Some("production is as recorded before the cutover; find the cause (the function's logs, the dead-letter queue), then run `replatform cutover` again".into()),
        (false, h) => Some(format!("{}run `replatform rollback` again once the step that failed can succeed", h.map(|h| format!("{h}; ")).unwrap_or_default())),
    };
    report.reason = Some(reason);
    report.rollback = Some(r);
    report
}

/// One stage's changes: the function's share first (every production queue's mapping), settled,
/// then ECS's (or the ScaledObject's).
async fn apply(
    prod: &Production,
    sites: &[Site],
    runner: &Runner,
    stage: &Stage,
    bounds: &Bounds,
) -> Result<(), AwsError> {
    for site in sites {
        prod.lambda
            .set_mapping(&site.mapping, true, Some(stage.max_concurrency))
            .await?;
    }
    for site in sites {
        settle(prod, &site.mapping).await?;
    }
    let site = &sites[0];
    if let Runner::Keda(o) = runner {
        return keda::patch(
            prod.keda()?,
            &o.namespace,
            &o.name,
            &keda::stage_patch(stage),
        )
        .await;
    }
    if bounds.scaled {
        prod.scaling
            .set_bounds(&site.cluster, &site.service, stage.ecs_min, stage.ecs_max)
            .await?;
    }
    if let Some(d) = stage.ecs_desired {
        prod.ecs
            .set_desired(&site.cluster, &site.service, d)
            .await?;
    }
    Ok(())
}

/// Waits for the mapping to leave `Enabling`, `Updating`... (up to five minutes).
async fn settle(prod: &Production, uuid: &str) -> Result<Mapping, AwsError> {
    let mut waited = Duration::ZERO;
    loop {
        let m = prod.lambda.mapping(uuid).await?;
        if !m.state.settling() {
            return Ok(m);
        }
        if waited >= Duration::from_secs(300) {
            return Err(AwsError {
                operation: format!("waiting for event source mapping `{uuid}`"),
                needs: None,
                code: "Timeout".into(),
                message: format!("still {} after 5 minutes", m.state),
            });
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        waited += Duration::from_secs(5);
    }
}

/// Watches a stage for `options.bake`, a sample every `options.sample_every`; stops at the first
/// breach. With several production queues a sample sums their depths and their dead-letter
/// queues' depths and takes the oldest message of any; the function's errors and throttles are
/// the function's, counted once.
async fn bake(
    prod: &Production,
    sites: &[Site],
    percent: u32,
    options: &Options,
    progress: &dyn Progress,
) -> Result<BakeReport, AwsError> {
    let every = options
        .sample_every
        .max(Duration::from_secs(1))
        .min(options.bake);
    let started = tokio::time::Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let mut shown: Vec<SampleReport> = Vec::new();
    let mut breach = None;
    progress.report(Event::Watching {
        percent,
        bake: options.bake,
        every,
    });
    // CloudWatch's figures arrive a minute or two late: each sample reads the whole bake so far
    // and counts what is new since the last, so that a late datapoint is counted once, when it
    // comes.
    let since = SystemTime::now();
    let mut counted = (0u64, 0u64);
    while started.elapsed() < options.bake {
        let wait = every.min(options.bake - started.elapsed());
        tokio::time::sleep(wait).await;
        let to = SystemTime::now();
        let mut health = None;
        let mut oldest_age_s = None;
        let (mut depth, mut dlq) = (0, 0);
        for site in sites {
            let h = prod
                .cloudwatch
                .health(
                    &site.function,
                    &site.queue_name,
                    since.min(to - Duration::from_secs(60)),
                    to,
                )
                .await?;
            oldest_age_s = oldest_age_s.max(h.oldest_age_s);
            health.get_or_insert(h);
            depth += prod
                .sqs
                .queue(&site.queue_url)
                .await?
                .map_or(0, |q| q.depth.visible);
            dlq += match &site.dead_letter_url {
                Some(url) => prod.sqs.queue(url).await?.map_or(0, |q| q.depth.visible),
                None => 0,
            };
        }
        let Some(health) = health else { break };
        let (errors, throttles) = (health.errors.unwrap_or(0), health.throttles.unwrap_or(0));
        let new = (
            errors.saturating_sub(counted.0),
            throttles.saturating_sub(counted.1),
        );
        counted = (counted.0.max(errors), counted.1.max(throttles));
        let s = Sample {
            errors: new.0,
            throttles: new.1,
            dlq_depth: dlq,
            oldest_age_s: oldest_age_s.unwrap_or(0),
            depth,
        };
        samples.push(s);
        let at_s = started.elapsed().as_secs();
        progress.report(Event::Sampled { at_s, sample: s });
        shown.push(SampleReport {
            at_s,
            errors: s.errors,
            throttles: s.throttles,
            dead_letter_depth: s.dlq_depth,
            oldest_age_s: s.oldest_age_s,
            depth: s.depth,
        });
        if let Some(why) = cutover::verdict(&samples, &options.thresholds) {
            breach = Some(why);
            break;
        }
    }
    Ok(BakeReport {
        seconds: options.bake.as_secs(),
        samples: shown,
        breach,
    })
}

/// `rollback` from the workspace: every production queue's mapping, with the service.
pub async fn rollback(ws: &Workspace, yes: bool, printer: &Printer) -> Result<Rollback, Failure> {
    // Nothing is rendered: a template that would not render does not stand in a rollback's way.
    let (config, _, stacks) = stacks(ws)?;
    let lambda_stack = stacks.lambda;
    let aws = connect(ws, config.region.as_deref(), printer).await?;
    let refused = |r: Refusal| Failure::new(r.problem).hint(r.fix);
    let Target {
        cluster,
        service,
        k8s,
        queues,
    } = production_of(&config, &aws, stacks.ecs.as_deref())
        .await
        .map_err(refused)?;
    let prod = Production::of_target(&aws, k8s.as_ref())
        .await
        .map_err(refused)?;
    let cfn = aws.cfn();
    let facts = match cfn.describe_stack(&lambda_stack).await? {
        Some(s) => super::deployed::facts(&cfn, &lambda_stack, &s.outputs).await?,
        None => Default::default(),
    };
    let function = facts.get("FunctionName").cloned();
    let mut sites = Vec::new();
    for (_, queue_url) in queues {
        let queue = prod.sqs.queue(&queue_url).await?;
        let mapping = match (&function, &queue) {
            (Some(f), Some(q)) => prod
                .lambda
                .mappings(f, Some(&q.arn))
                .await?
                .into_iter()
                .next()
                .map(|m| m.uuid),
            _ => None,
        };
        let queue_name = queue_url.rsplit('/').next().unwrap_or_default().to_string();
        sites.push(Site {
            cluster: cluster.clone(),
            service: service.clone(),
            k8s: k8s.clone(),
            queue_url,
            queue_name,
            dead_letter_url: None,
            function: function.clone().unwrap_or_default(),
            mapping: mapping.unwrap_or_default(),
            ceiling: None,
        });
    }
    if !config.queues.is_empty() {
        if let (Some(f), Some(first)) = (&function, sites.first().cloned()) {
            sites.extend(unnamed(&prod, f, &facts, &sites, &first).await?);
        }
    }
    let Some(site) = sites.first() else {
        return Err(Failure::new(
            "the config names no consumed queue: there is no production mapping to stop",
        ));
    };
    if !yes {
        let names: Vec<String> = sites
            .iter()
            .map(|s| format!("`{}`", s.queue_name))
            .collect();
        let question = format!(
            "Put `{}/{}` back as recorded and stop the function consuming {}?",
            site.cluster,
            site.service,
            names.join(", ")
        );
        match crate::ui::prompt::ask(question).await {
            Ok(Some(true)) => {}
            Ok(Some(false)) => return Err(Failure::new("nothing was changed").hint("run again and answer `y`, or pass --yes")),
            Ok(None) => return Err(Failure::new("rollback needs confirmation, and there is no terminal to ask on: nothing was changed").hint("run again with --yes")),
            Err(signal) => return Err(Failure::interrupted(format!("interrupted ({signal}) at the question: nothing was changed"))),
        }
    }
    undo_all(&prod, &sites, &Printed::new(printer)).await
}

/// The function's consuming mappings on queues that are neither its stack's own nor a production
/// queue the config names (a queue taken out of `queues:` since the cutover, before `up` removed
/// its mapping): a rollback stops them too, so that no production queue stays consumed by the
/// function unasked. Each as a site like `like`'s.
async fn unnamed(
    prod: &Production,
    function: &str,
    facts: &std::collections::BTreeMap<String, String>,
    sites: &[Site],
    like: &Site,
) -> Result<Vec<Site>, AwsError> {
    let last = |s: &str, sep: char| s.rsplit(sep).next().unwrap_or_default().to_string();
    let mut known: Vec<String> = facts
        .iter()
        .filter(|(k, _)| k.ends_with("QueueUrl"))
        .map(|(_, url)| last(url, '/'))
        .collect();
    known.extend(sites.iter().map(|s| s.queue_name.clone()));
    Ok(prod
        .lambda
        .mappings(function, None)
        .await?
        .into_iter()
        .filter(|m| m.state.consuming() && !known.contains(&last(&m.source, ':')))
        .map(|m| Site {
            queue_url: String::new(),
            queue_name: last(&m.source, ':'),
            mapping: m.uuid,
            ..like.clone()
        })
        .collect())
}

/// `rollback`: reads the production service once, for its record, then [`restore`]s it.
pub async fn undo(
    prod: &Production,
    site: &Site,
    progress: &dyn Progress,
) -> Result<Rollback, Failure> {
    undo_all(prod, std::slice::from_ref(site), progress).await
}

/// [`undo`] for every production queue's site (the same service): ECS back as recorded, then
/// every mapping stopped.
pub async fn undo_all(
    prod: &Production,
    sites: &[Site],
    progress: &dyn Progress,
) -> Result<Rollback, Failure> {
    let Some(site) = sites.first() else {
        return Err(Failure::new(
            "the config names no consumed queue: there is no production mapping to stop",
        ));
    };
    let runner = match &site.k8s {
        None => prod
            .service(&site.cluster, &site.service)
            .await?
            .map(Runner::Ecs),
        Some(k) => prod
            .keda()?
            .scaled_object(&k.namespace, &k.scaled_object)
            .await
            .map_err(keda::failed)?
            .map(Runner::Keda),
    };
    let Some(runner) = runner else {
        return Err(Failure::new(match &site.k8s {
            None => format!(
                "the production service `{}/{}` is not found",
                site.cluster, site.service
            ),
            Some(k) => format!(
                "the ScaledObject `{}/{}` is not found",
                k.namespace, k.scaled_object
            ),
        }));
    };
    let recorded = runner
        .record()
        .map(|t| Recorded::parse(t))
        .transpose()
        .map_err(Failure::new)?;
    Ok(restore_all(prod, sites, &runner, recorded, progress).await)
}

/// Puts the production service (`arn`) back as `recorded`, then stops the function consuming the
/// queue, then removes the record. A step that fails leaves the record, so that `rollback` can
/// run again; while ECS is not restored the mapping is left consuming, so that the queue is never
/// left without a consumer. `None`: no cutover is recorded, ECS is left as it is.
pub async fn restore(
    prod: &Production,
    site: &Site,
    runner: &Runner,
    recorded: Option<Recorded>,
    progress: &dyn Progress,
) -> Rollback {
    restore_all(prod, std::slice::from_ref(site), runner, recorded, progress).await
}

/// [`restore`] for every production queue: ECS first (the same service for all), then each
/// queue's mapping, then the record, removed only when every step succeeded.
pub async fn restore_all(
    prod: &Production,
    sites: &[Site],
    runner: &Runner,
    recorded: Option<Recorded>,
    progress: &dyn Progress,
) -> Rollback {
    let site = &sites[0];
    let mut steps = Vec::new();
    let mut ecs_ok = true;
    let step = |what: String, result: Result<StepOutcome, AwsError>, steps: &mut Vec<Step>| {
        let (outcome, error) = match result {
            Ok(o) => (o, None),
            Err(e) => (
                StepOutcome::Failed,
                Some(match what_to_do(&e) {
                    Some(h) => format!("{e} ({h})"),
                    None => e.to_string(),
                }),
            ),
        };
        progress.report(Event::Step {
            what: what.clone(),
            outcome,
            error: error.clone(),
        });
        steps.push(Step {
            what,
            outcome,
            error,
        });
        outcome != StepOutcome::Failed
    };
    match (recorded, runner) {
        (Some(r), Runner::Keda(o)) => {
            let b = r.bounds;
            let result = async {
                keda::patch(
                    prod.keda()?,
                    &o.namespace,
                    &o.name,
                    &keda::restore_patch(&b),
                )
                .await
            }
            .await
            .map(|()| StepOutcome::Done);
            ecs_ok &= step(
                format!(
                    "ScaledObject `{}/{}` back to minReplicaCount {} maxReplicaCount {}, not paused (KEDA scales `{}` again)",
                    o.namespace, o.name, b.min, b.max, site.service
                ),
                result,
                &mut steps,
            );
        }
        (Some(r), Runner::Ecs(_)) => {
            let b = r.bounds;
            if b.scaled {
                let result = prod
                    .scaling
                    .set_bounds(&site.cluster, &site.service, b.min, b.max)
                    .await
                    .map(|()| StepOutcome::Done);
                ecs_ok &= step(
                    format!(
                        "scalable target of `{}/{}` back to min {} max {}",
                        site.cluster, site.service, b.min, b.max
                    ),
                    result,
                    &mut steps,
                );
            }
            if ecs_ok {
                let result = prod
                    .ecs
                    .set_desired(&site.cluster, &site.service, b.desired)
                    .await
                    .map(|()| StepOutcome::Done);
                ecs_ok &= step(
                    format!(
                        "desired count of `{}/{}` back to {}",
                        site.cluster, site.service, b.desired
                    ),
                    result,
                    &mut steps,
                );
            }
        }
        (None, _) => progress.report(Event::NothingRecorded {
            cluster: site.cluster.clone(),
            service: site.service.clone(),
        }),
    }
    let mut lambda_ok = true;
    for site in sites {
        if site.mapping.is_empty() {
            progress.report(Event::NoMapping);
        } else if !ecs_ok {
            steps.push(Step {
                what: format!(
                    "mapping on `{}` left consuming: ECS is not restored",
                    site.queue_name
                ),
                outcome: StepOutcome::Skipped,
                error: None,
            });
            lambda_ok = false;
        } else {
            let result = async {
                let m = prod.lambda.mapping(&site.mapping).await?;
                if m.state == MappingState::Disabled {
                    return Ok(StepOutcome::Unchanged);
                }
                prod.lambda.set_mapping(&site.mapping, false, None).await?;
                settle(prod, &site.mapping).await?;
                Ok(StepOutcome::Done)
            }
            .await;
            lambda_ok &= step(format!("mapping on `{}` disabled (its batches in flight return to the queue after its visibility timeout)", site.queue_name), result, &mut steps);
        }
    }
    if recorded.is_some() && ecs_ok && lambda_ok {
        let result = write_record(prod, runner, None)
            .await
            .map(|()| StepOutcome::Done);
        let what = match runner {
            Runner::Ecs(_) => format!(
                "the record `{STATE_TAG}` removed from `{}/{}`",
                site.cluster, site.service
            ),
            Runner::Keda(o) => format!(
                "the record `{RECORD_ANNOTATION}` removed from ScaledObject `{}/{}`",
                o.namespace, o.name
            ),
        };
        lambda_ok &= step(what, result, &mut steps);
    }
    Rollback {
        recorded: recorded.map(|r| r.bounds),
        from_stage: recorded.map(|r| r.stage),
        steps,
        complete: ecs_ok && lambda_ok,
    }
}

/// A count AWS gives as a signed number.
fn count(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(queue: &str) -> Site {
        Site {
            cluster: "prod".into(),
            service: "orders".into(),
            k8s: None,
            queue_url: format!("https://sqs.eu-west-1.amazonaws.com/123456789012/{queue}"),
            queue_name: queue.into(),
            dead_letter_url: None,
            function: "orders-worker".into(),
            mapping: format!("uuid-{queue}"),
            ceiling: Some(2),
        }
    }

    fn preflight(visibility: u64, dead_letter: bool) -> Preflight {
        Preflight {
            sqs_trigger: true,
            lambda_timeout_s: 30,
            batching_window_s: 0,
            queue_visibility_timeout_s: visibility,
            queue_has_dead_letter: dead_letter,
            reserved_concurrency: Some(6),
            deployed_reservation: Some(6),
            unreserved: 100,
            lambda_stack: None,
            lambda_stack_current: false,
        }
    }

    #[test]
    fn a_stage_names_every_production_queue_and_one_queue_reads_as_before() {
        let bounds = Bounds {
            min: 0,
            max: 8,
            desired: 1,
            scaled: true,
        };
        let stage = cutover::plan(&[50], bounds, Some(2)).unwrap()[0];
        assert_eq!(
            describe(&stage, &site("orders"), &bounds),
            "stage 50%: enable the mapping on `orders` with MaximumConcurrency 2, then set the scalable target of `prod/orders` to min 0 max 4 (recorded: 0..8)"
        );
        let all = [site("orders"), site("events"), site("payments.fifo")];
        assert_eq!(
            describe_all(&stage, &all, &bounds),
            "stage 50%: enable the mappings on `orders`, `events`, `payments.fifo` with MaximumConcurrency 2 each, then set the scalable target of `prod/orders` to min 0 max 4 (recorded: 0..8)"
        );
        assert!(
            listed(&all[..1]).is_empty(),
            "one queue's document is unchanged"
        );
        assert_eq!(listed(&all).len(), 3);
    }

    #[test]
    fn the_functions_checks_count_once_and_each_queues_own_are_named_by_it() {
        let sites = [site("orders"), site("events")];
        let refusals = refusals_of(&sites, &[preflight(180, true), preflight(60, false)]);
        let said: Vec<(&str, &str)> = refusals
            .iter()
            .map(|r| (r.check, r.problem.as_str()))
            .collect();
        assert_eq!(
            said,
            vec![
                ("lambda-stack", "the Lambda stack is not deployed"),
                ("visibility-timeout", "`events`: the production queue's visibility timeout is 60 s, below 6 x the function timeout 30 s + batching window 0 s = 180 s"),
                ("dead-letter", "`events`: the production queue has no dead-letter queue: a message that fails on Lambda would be retried for ever"),
            ]
        );
        // One queue: its refusals as they always were, unnamed.
        let one = refusals_of(&sites[..1], &[preflight(60, true)]);
        assert!(
            one[1].problem.starts_with("the production queue's"),
            "{one:?}"
        );
    }
}
