//! The rendered YAML, parsed back: what the config says is what the template does. Runs over
//! every config variation and both examples.

use replatform::core::config::{Config, Trigger};
use serde_yaml_ng::Value;

use crate::common::{examples, parse, props, render_config, render_text, stack, variations};
use replatform::core::render::Image;
use replatform::core::side::Side;

/// Every variation of one queue (those of several have their own tests, in `several_queues`).
fn all_configs() -> Vec<(String, Config)> {
    let mut out: Vec<(String, Config)> = variations()
        .into_iter()
        .map(|(n, t)| (n.to_string(), parse(&t)))
        .filter(|(_, c)| c.queues.is_empty())
        .collect();
    for (name, path) in examples() {
        out.push((name, parse(&std::fs::read_to_string(path).unwrap())));
    }
    out
}

fn get_att(id: &str, attr: &str) -> Value {
    serde_yaml_ng::from_str(&format!("{{Fn::GetAtt: [{id}, {attr}]}}")).unwrap()
}

fn reference(id: &str) -> Value {
    serde_yaml_ng::from_str(&format!("{{Ref: {id}}}")).unwrap()
}

fn int(v: &Value) -> i64 {
    v.as_i64()
        .unwrap_or_else(|| panic!("not an integer: {v:?}"))
}

#[test]
fn scale_out_steps_follow_the_config_without_gaps_or_overlaps() {
    for (name, c) in all_configs() {
        let ecs = stack(&render_config(&c, &Image::Placeholder), "ecs");
        let cfg = &props(&ecs, "ScaleOutPolicy")["StepScalingPolicyConfiguration"];
        assert_eq!(cfg["AdjustmentType"], "ChangeInCapacity", "{name}");
        assert_eq!(
            int(&cfg["Cooldown"]),
            c.ecs.scaling.scale_out_cooldown.0 as i64,
            "{name}"
        );
        let steps = cfg["StepAdjustments"].as_sequence().unwrap();
        let threshold = c.ecs.scaling.scale_out[0].from as i64;
        assert_eq!(steps.len(), c.ecs.scaling.scale_out.len(), "{name}");
        for (i, (step, want)) in steps.iter().zip(&c.ecs.scaling.scale_out).enumerate() {
            assert_eq!(
                int(&step["MetricIntervalLowerBound"]),
                want.from as i64 - threshold,
                "{name} step {i}"
            );
            assert_eq!(
                int(&step["ScalingAdjustment"]),
                want.add as i64,
                "{name} step {i}"
            );
            match steps.get(i + 1) {
                Some(next) => assert_eq!(
                    step["MetricIntervalUpperBound"], next["MetricIntervalLowerBound"],
                    "{name} step {i}"
                ),
                None => assert!(
                    step.get("MetricIntervalUpperBound").is_none(),
                    "{name}: the last step is open above"
                ),
            }
        }
        let alarm = props(&ecs, "ScaleOutAlarm");
        assert_eq!(int(&alarm["Threshold"]), threshold, "{name}");
        assert_eq!(
            (
                &alarm["MetricName"],
                &alarm["Statistic"],
                int(&alarm["Period"]),
                int(&alarm["EvaluationPeriods"])
            ),
            (
                &Value::from("ApproximateNumberOfMessagesVisible"),
                &Value::from("Maximum"),
                60,
                1
            ),
            "{name}"
        );
        assert_eq!(
            alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold",
            "{name}"
        );
        assert_eq!(alarm["TreatMissingData"], "notBreaching", "{name}");
        assert_eq!(
            alarm["AlarmActions"][0],
            reference("ScaleOutPolicy"),
            "{name}"
        );
        assert_eq!(
            alarm["Dimensions"][0]["Value"],
            get_att("Queue", "QueueName"),
            "{name}"
        );
    }
}

#[test]
fn scale_in_waits_for_an_empty_queue_with_nothing_in_flight() {
    for (name, c) in all_configs() {
        let ecs = stack(&render_config(&c, &Image::Placeholder), "ecs");
        let cfg = &props(&ecs, "ScaleInPolicy")["StepScalingPolicyConfiguration"];
        assert_eq!(cfg["AdjustmentType"], "ExactCapacity", "{name}");
        assert!(
            cfg["Cooldown"].is_i64(),
            "{name}: cooldown must be explicit"
        );
        let steps = cfg["StepAdjustments"].as_sequence().unwrap();
        assert_eq!(steps.len(), 1, "{name}");
        assert_eq!(
            (
                int(&steps[0]["MetricIntervalUpperBound"]),
                int(&steps[0]["ScalingAdjustment"])
            ),
            (0, 0),
            "{name}"
        );
        assert!(steps[0].get("MetricIntervalLowerBound").is_none(), "{name}");

        let alarm = props(&ecs, "ScaleInAlarm");
        let periods = (c.ecs.scaling.scale_in_after.0 / 60) as i64;
        assert_eq!(
            (
                int(&alarm["EvaluationPeriods"]),
                int(&alarm["DatapointsToAlarm"])
            ),
            (periods, periods),
            "{name}"
        );
        assert_eq!(
            (int(&alarm["Threshold"]), &alarm["ComparisonOperator"]),
            (0, &Value::from("LessThanOrEqualToThreshold")),
            "{name}"
        );
        assert_eq!(
            alarm["TreatMissingData"], "breaching",
            "{name}: idle queues publish no metrics"
        );
        let metrics = alarm["Metrics"].as_sequence().unwrap();
        let names: Vec<&str> = metrics
            .iter()
            .filter_map(|m| m["MetricStat"]["Metric"]["MetricName"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "ApproximateNumberOfMessagesVisible",
                "ApproximateNumberOfMessagesNotVisible"
            ],
            "{name}"
        );
        for m in metrics.iter().filter(|m| m.get("MetricStat").is_some()) {
            assert_eq!(
                (int(&m["MetricStat"]["Period"]), &m["MetricStat"]["Stat"]),
                (60, &Value::from("Maximum")),
                "{name}"
            );
        }
        let sum = metrics.iter().find(|m| m["ReturnData"] == true).unwrap();
        assert_eq!(sum["Expression"], "visible + inflight", "{name}");
        assert_eq!(
            alarm["AlarmActions"][0],
            reference("ScaleInPolicy"),
            "{name}"
        );

        let target = props(&ecs, "ScalableTarget");
        assert_eq!(
            (int(&target["MinCapacity"]), int(&target["MaxCapacity"])),
            (c.ecs.scaling.min as i64, c.ecs.scaling.max as i64),
            "{name}"
        );
        let policies: Vec<&str> = ecs["Resources"]
            .as_mapping()
            .unwrap()
            .values()
            .filter(|r| r["Type"] == "AWS::ApplicationAutoScaling::ScalingPolicy")
            .map(|r| r["Properties"]["PolicyType"].as_str().unwrap())
            .collect();
        assert_eq!(
            policies,
            ["StepScaling", "StepScaling"],
            "{name}: no CPU target tracking beside the queue policies"
        );
    }
}

#[test]
fn ecs_service_and_task_match_the_config() {
    for (name, c) in all_configs() {
        let ecs = stack(&render_config(&c, &Image::Placeholder), "ecs");
        let service = props(&ecs, "Service");
        assert!(
            service.get("DesiredCount").is_none(),
            "{name}: a deploy must not reset the task count"
        );
        assert_eq!(
            service["DeploymentConfiguration"]["DeploymentCircuitBreaker"],
            serde_yaml_ng::from_str::<Value>("{Enable: true, Rollback: true}").unwrap()
        );
        let net = &service["NetworkConfiguration"]["AwsvpcConfiguration"];
        assert_eq!(
            net["Subnets"],
            serde_yaml_ng::to_value(&c.ecs.subnets).unwrap(),
            "{name}"
        );
        assert_eq!(
            net["AssignPublicIp"],
            if c.ecs.assign_public_ip {
                "ENABLED"
            } else {
                "DISABLED"
            },
            "{name}"
        );
        match &c.ecs.cluster {
            Some(cluster) => {
                assert_eq!(service["Cluster"], Value::from(cluster.as_str()), "{name}");
                assert!(
                    ecs["Resources"].get("Cluster").is_none(),
                    "{name}: a named cluster is not created"
                );
            }
            None => {
                assert_eq!(service["Cluster"], reference("Cluster"), "{name}");
                assert_eq!(
                    ecs["Resources"]["Cluster"]["Type"], "AWS::ECS::Cluster",
                    "{name}"
                );
            }
        }
        let task = props(&ecs, "TaskDefinition");
        assert_eq!(
            (task["Cpu"].as_str(), task["Memory"].as_str()),
            (
                Some(c.ecs.cpu.to_string().as_str()),
                Some(c.ecs.memory.to_string().as_str())
            ),
            "{name}"
        );
        assert_eq!(
            task["RuntimePlatform"]["CpuArchitecture"],
            c.image.platform.ecs_cpu_architecture(),
            "{name}"
        );
        let container = &task["ContainerDefinitions"][0];
        match &c.ecs.command {
            Some(cmd) => assert_eq!(
                container["Command"],
                serde_yaml_ng::to_value(cmd).unwrap(),
                "{name}"
            ),
            None => assert!(
                container.get("Command").is_none(),
                "{name}: the image's own CMD runs"
            ),
        }
        let env = container["Environment"].as_sequence().unwrap();
        assert_eq!(env.len(), c.environment.len() + 1, "{name}");
        let url = env
            .iter()
            .find(|e| e["Name"] == c.queues()[0].queue.finders()[0].var())
            .unwrap();
        assert_eq!(url["Value"], reference("Queue"), "{name}");
        for (k, v) in &c.environment {
            assert!(
                env.iter()
                    .any(|e| e["Name"] == k.as_str() && e["Value"] == v.0.as_str()),
                "{name}: {k}"
            );
        }
        assert_eq!(
            container["LogConfiguration"]["Options"]["awslogs-group"],
            reference("LogGroup"),
            "{name}"
        );
    }
}

#[test]
fn lambda_function_and_trigger_match_the_config() {
    for (name, c) in all_configs() {
        let lambda = stack(&render_config(&c, &Image::Placeholder), "lambda");
        let f = props(&lambda, "Function");
        assert_eq!(f["PackageType"], "Image", "{name}");
        let ic = &f["ImageConfig"];
        // The bridge starts the supervisor, the worker's own parts after its flags.
        let want = if c.lambda.trigger.is_bridge() {
            replatform::core::bridge::image_config(&c)
        } else {
            replatform::core::bridge::ImageConfig {
                entry_point: c.lambda.entry_point.clone(),
                command: c.lambda.command.clone(),
                working_directory: c.lambda.working_directory.clone(),
            }
        };
        assert_eq!(
            ic["EntryPoint"],
            serde_yaml_ng::to_value(&want.entry_point).unwrap(),
            "{name}"
        );
        assert_eq!(
            ic["Command"],
            serde_yaml_ng::to_value(&want.command).unwrap(),
            "{name}"
        );
        assert_eq!(
            ic["WorkingDirectory"],
            Value::from(want.working_directory.as_str()),
            "{name}"
        );
        // Every part of ImageConfig is said, never left to what Lambda kept (docs/pitfalls.md#p5).
        assert!(
            !want.command.is_empty() && want.working_directory.starts_with('/'),
            "{name}"
        );
        if c.lambda.trigger.is_bridge() {
            assert_eq!(want.entry_point, [replatform::core::bridge::BIN], "{name}");
            for st in render_config(&c, &Image::Placeholder) {
                assert!(!st.template.contains("awslambdaric"), "{name}");
            }
            let queues = &f["Environment"]["Variables"][replatform::core::bridge::QUEUES_VAR];
            let sub = queues["Fn::Sub"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: {queues:?}"));
            for e in c.consumed_queues() {
                assert!(
                    sub.contains(&format!(
                        "\"${{{}Queue}}\": [\"${{{}Queue.Arn}}\"",
                        e.id(),
                        e.id()
                    )),
                    "{name}: {sub}"
                );
            }
        }
        assert_eq!(
            f["Architectures"][0],
            c.image.platform.lambda_architecture(),
            "{name}"
        );
        assert_eq!(
            (int(&f["MemorySize"]), int(&f["Timeout"])),
            (c.lambda.memory as i64, c.lambda.timeout.0 as i64),
            "{name}"
        );
        match c.lambda.reserved_concurrency {
            Some(r) => assert_eq!(int(&f["ReservedConcurrentExecutions"]), r as i64, "{name}"),
            None => assert!(f.get("ReservedConcurrentExecutions").is_none(), "{name}"),
        }
        assert_eq!(
            f["Environment"]["Variables"][c.queues()[0].queue.finders()[0].var()],
            reference("Queue"),
            "{name}"
        );
        assert_eq!(f.get("VpcConfig").is_some(), c.lambda.vpc, "{name}");
        if c.lambda.vpc {
            assert_eq!(
                f["VpcConfig"]["SubnetIds"],
                serde_yaml_ng::to_value(&c.ecs.subnets).unwrap(),
                "{name}"
            );
        }
        let resources = lambda["Resources"].as_mapping().unwrap();
        match &c.lambda.trigger {
            Trigger::Sqs(t) | Trigger::Bridge(t) => {
                let esm = props(&lambda, "EventSourceMapping");
                assert_eq!(esm["EventSourceArn"], get_att("Queue", "Arn"), "{name}");
                assert_eq!(int(&esm["BatchSize"]), t.batch_size as i64, "{name}");
                // A FIFO queue's mapping takes no batching window at all.
                match c.queues()[0].queue.fifo {
                    false => assert_eq!(
                        int(&esm["MaximumBatchingWindowInSeconds"]),
                        t.max_batching_window.0 as i64,
                        "{name}"
                    ),
                    true => assert!(
                        esm.get("MaximumBatchingWindowInSeconds").is_none(),
                        "{name}"
                    ),
                }
                match t.provisioned_pollers {
                    Some(p) => assert_eq!(
                        (
                            int(&esm["ProvisionedPollerConfig"]["MinimumPollers"]),
                            int(&esm["ProvisionedPollerConfig"]["MaximumPollers"])
                        ),
                        (p.min as i64, p.max as i64),
                        "{name}"
                    ),
                    None => assert!(esm.get("ProvisionedPollerConfig").is_none(), "{name}"),
                }
                assert_eq!(
                    esm["FunctionResponseTypes"][0], "ReportBatchItemFailures",
                    "{name}"
                );
                match t.max_concurrency {
                    Some(m) => assert_eq!(
                        int(&esm["ScalingConfig"]["MaximumConcurrency"]),
                        m as i64,
                        "{name}"
                    ),
                    None => assert!(esm.get("ScalingConfig").is_none(), "{name}"),
                }
                assert!(resources.get("Schedule").is_none(), "{name}");
            }
            Trigger::Schedule(t) => {
                let rule = props(&lambda, "Schedule");
                let minutes = t.rate.0 / 60;
                let want = if minutes == 1 {
                    "rate(1 minute)".to_string()
                } else {
                    format!("rate({minutes} minutes)")
                };
                assert_eq!(rule["ScheduleExpression"], Value::from(want), "{name}");
                assert_eq!(
                    rule["Targets"][0]["Arn"],
                    get_att("Function", "Arn"),
                    "{name}"
                );
                assert_eq!(
                    props(&lambda, "SchedulePermission")["SourceArn"],
                    get_att("Schedule", "Arn"),
                    "{name}"
                );
                assert!(resources.get("EventSourceMapping").is_none(), "{name}");
            }
        }
    }
}

/// Every IAM statement: SQS only on the stack's own queue, logs only on its own log group, and
/// `*` only for the actions AWS cannot scope.
#[test]
fn roles_are_scoped_to_their_own_queue_and_logs() {
    const UNSCOPABLE: [&str; 7] = [
        "ecr:GetAuthorizationToken",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ];
    for (name, c) in all_configs() {
        for s in render_config(&c, &Image::Placeholder) {
            let doc: Value = serde_yaml_ng::from_str(&s.template).unwrap();
            let mut statements = 0;
            for (id, r) in doc["Resources"].as_mapping().unwrap() {
                if r["Type"] != "AWS::IAM::Role" {
                    continue;
                }
                // `permissions`: the worker's roles take its managed policies, every role its
                // boundary; its statements are checked in
                // `permissions_are_the_same_on_both_platforms`.
                let worker_role = id != "ExecutionRole";
                let managed = r["Properties"].get("ManagedPolicyArns").cloned();
                match worker_role && !c.permissions.managed_policies.is_empty() {
                    true => assert_eq!(
                        managed,
                        Some(serde_yaml_ng::to_value(&c.permissions.managed_policies).unwrap()),
                        "{name} {id:?}"
                    ),
                    false => assert!(managed.is_none(), "{name} {id:?}: no managed policies"),
                }
                assert_eq!(
                    r["Properties"]
                        .get("PermissionsBoundary")
                        .and_then(Value::as_str),
                    c.permissions.boundary.as_deref(),
                    "{name} {id:?}"
                );
                for policy in r["Properties"]["Policies"].as_sequence().unwrap() {
                    if policy["PolicyName"] == "permissions" {
                        continue;
                    }
                    for st in policy["PolicyDocument"]["Statement"].as_sequence().unwrap() {
                        statements += 1;
                        let actions: Vec<&str> = match &st["Action"] {
                            Value::String(a) => vec![a.as_str()],
                            Value::Sequence(a) => a.iter().map(|x| x.as_str().unwrap()).collect(),
                            other => panic!("{other:?}"),
                        };
                        assert!(
                            actions.iter().all(|a| !a.contains('*')),
                            "{name} {id:?}: wildcard action {actions:?}"
                        );
                        let resource = &st["Resource"];
                        if policy["PolicyName"] == "read-secrets" {
                            // Exactly the secrets' ARNs.
                            let arns: Vec<&str> = resource
                                .as_sequence()
                                .unwrap()
                                .iter()
                                .map(|x| x.as_str().unwrap())
                                .collect();
                            assert!(
                                !arns.is_empty()
                                    && arns
                                        .iter()
                                        .all(|a| c.secrets.values().any(|v| v.starts_with(a))),
                                "{name} {id:?}: {arns:?}"
                            );
                        } else if actions.iter().any(|a| a.starts_with("sqs:")) {
                            // Its own queue, or the production queue's ARN, checked in
                            // `the_production_queue_is_ready_but_not_consumed`.
                            let production = c.production.is_some()
                                && resource.get("Fn::Sub").is_some_and(|v| {
                                    v.as_str().is_some_and(|a| a.contains(":sqs:"))
                                });
                            assert!(
                                *resource == get_att("Queue", "Arn") || production,
                                "{name} {id:?}: {resource:?}"
                            );
                        } else if actions.iter().any(|a| a.starts_with("logs:")) {
                            assert_eq!(*resource, get_att("LogGroup", "Arn"), "{name} {id:?}");
                        } else if *resource == "*" {
                            assert!(
                                actions.iter().all(|a| UNSCOPABLE.contains(a)),
                                "{name} {id:?}: `*` for {actions:?}"
                            );
                        }
                    }
                }
            }
            assert!(statements >= 2, "{name} {}: roles found", s.name);
            let has_ec2 = s.template.contains("ec2:CreateNetworkInterface");
            assert_eq!(
                has_ec2,
                s.side() == Some(Side::Lambda) && c.lambda.vpc,
                "{name} {}",
                s.name
            );
        }
    }
}

#[test]
fn queues_are_encrypted_kept_and_redriven() {
    for (name, c) in all_configs() {
        for s in render_config(&c, &Image::Placeholder) {
            let doc: Value = serde_yaml_ng::from_str(&s.template).unwrap();
            let queue = &doc["Resources"]["Queue"];
            for q in [Some(queue), doc["Resources"].get("DeadLetterQueue")]
                .into_iter()
                .flatten()
            {
                assert_eq!(
                    (&q["DeletionPolicy"], &q["UpdateReplacePolicy"]),
                    (&Value::from("RetainExceptOnCreate"), &Value::from("Retain")),
                    "{name}"
                );
                assert_eq!(q["Properties"]["SqsManagedSseEnabled"], true, "{name}");
            }
            let p = &queue["Properties"];
            assert_eq!(
                (
                    int(&p["VisibilityTimeout"]),
                    int(&p["MessageRetentionPeriod"])
                ),
                (
                    c.queues()[0].queue.visibility_timeout.0 as i64,
                    c.queues()[0].queue.retention.0 as i64
                ),
                "{name}"
            );
            match c.queues()[0].queue.dead_letter.max_receive_count {
                Some(n) => {
                    assert_eq!(
                        p["RedrivePolicy"]["deadLetterTargetArn"],
                        get_att("DeadLetterQueue", "Arn"),
                        "{name}"
                    );
                    assert_eq!(
                        int(&p["RedrivePolicy"]["maxReceiveCount"]),
                        n as i64,
                        "{name}"
                    );
                    assert!(doc["Outputs"].get("DeadLetterQueueUrl").is_some(), "{name}");
                }
                None => {
                    assert!(
                        p.get("RedrivePolicy").is_none()
                            && doc["Resources"].get("DeadLetterQueue").is_none(),
                        "{name}"
                    );
                    assert!(doc["Outputs"].get("DeadLetterQueueUrl").is_none(), "{name}");
                }
            }
        }
    }
}

#[test]
fn outputs_name_what_the_other_commands_need() {
    let stacks = render_text(crate::common::BASE);
    let keys = |kind: &str| -> Vec<String> {
        stack(&stacks, kind)["Outputs"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        keys("ecs"),
        [
            "QueueUrl",
            "QueueArn",
            "DeadLetterQueueUrl",
            "DeadLetterQueueArn",
            "ClusterName",
            "ServiceName",
            "LogGroupName"
        ]
    );
    assert_eq!(
        keys("lambda"),
        [
            "QueueUrl",
            "QueueArn",
            "DeadLetterQueueUrl",
            "DeadLetterQueueArn",
            "FunctionName",
            "FunctionArn",
            "LogGroupName"
        ]
    );
    assert_eq!(
        stacks.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["orders-worker-ecs", "orders-worker-lambda"]
    );
}

/// Every `Ref` and `Fn::GetAtt` names a resource of the same template (or a pseudo parameter).
#[test]
fn references_resolve_within_each_template() {
    fn walk(v: &Value, found: &mut Vec<String>) {
        match v {
            Value::Mapping(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        (Some("Ref"), Value::String(id)) => found.push(id.clone()),
                        (Some("Fn::GetAtt"), Value::Sequence(s)) => {
                            found.push(s[0].as_str().unwrap().to_string())
                        }
                        _ => walk(v, found),
                    }
                }
            }
            Value::Sequence(s) => s.iter().for_each(|x| walk(x, found)),
            _ => {}
        }
    }
    for (name, c) in all_configs() {
        for s in render_config(&c, &Image::Placeholder) {
            let doc: Value = serde_yaml_ng::from_str(&s.template).unwrap();
            let mut refs = Vec::new();
            walk(&doc, &mut refs);
            let resources = doc["Resources"].as_mapping().unwrap();
            for r in refs.iter().filter(|r| !r.starts_with("AWS::")) {
                assert!(
                    resources.contains_key(r.as_str()),
                    "{name} {}: `{r}` is not a resource",
                    s.name
                );
            }
        }
    }
}

/// The policy `permissions` renders, by stack: the ECS task role's and the Lambda role's.
fn permissions_policy(doc: &Value, role: &str) -> Option<Value> {
    props(doc, role)["Policies"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|p| p["PolicyName"] == "permissions")
        .map(|p| p["PolicyDocument"].clone())
}

/// Both platforms' worker roles carry exactly the config's statements, the execution
/// role none of them.
#[test]
fn permissions_are_the_same_on_both_platforms() {
    for (name, c) in all_configs() {
        let stacks = render_config(&c, &Image::Placeholder);
        let (ecs, lambda) = (stack(&stacks, "ecs"), stack(&stacks, "lambda"));
        let (task, function) = (
            permissions_policy(&ecs, "TaskRole"),
            permissions_policy(&lambda, "Role"),
        );
        assert_eq!(task, function, "{name}");
        assert!(
            permissions_policy(&ecs, "ExecutionRole").is_none(),
            "{name}"
        );
        match c.permissions.statements.len() {
            0 => assert!(task.is_none(), "{name}"),
            n => {
                let statements = task.unwrap()["Statement"].as_sequence().unwrap().clone();
                assert_eq!(statements.len(), n, "{name}");
                for (st, want) in statements.iter().zip(&c.permissions.statements) {
                    assert_eq!(st["Effect"].as_str(), want.effect.as_deref(), "{name}");
                    assert_eq!(
                        st["Action"],
                        serde_yaml_ng::to_value(&want.action.as_ref().unwrap().0).unwrap(),
                        "{name}"
                    );
                    assert_eq!(
                        st["Resource"],
                        serde_yaml_ng::to_value(&want.resource.as_ref().unwrap().0).unwrap(),
                        "{name}"
                    );
                }
            }
        }
    }
}

/// ECS takes each secret by ARN in the container's `Secrets`; the function gets each
/// ARN in `<NAME>_SECRET_ARN`; neither template holds a value, only ARNs.
#[test]
fn secrets_go_by_arn_to_both_platforms() {
    let mut seen = 0;
    for (name, c) in all_configs() {
        let stacks = render_config(&c, &Image::Placeholder);
        let (ecs, lambda) = (stack(&stacks, "ecs"), stack(&stacks, "lambda"));
        let container = &props(&ecs, "TaskDefinition")["ContainerDefinitions"][0];
        let variables = &props(&lambda, "Function")["Environment"]["Variables"];
        if c.secrets.is_empty() {
            assert!(container.get("Secrets").is_none(), "{name}");
            continue;
        }
        seen += 1;
        let secrets = container["Secrets"].as_sequence().unwrap();
        assert_eq!(secrets.len(), c.secrets.len(), "{name}");
        for (s, (var, arn)) in secrets.iter().zip(&c.secrets) {
            assert_eq!(
                (s["Name"].as_str(), s["ValueFrom"].as_str()),
                (Some(var.as_str()), Some(arn.as_str())),
                "{name}"
            );
            assert_eq!(
                variables[format!("{var}_SECRET_ARN").as_str()].as_str(),
                Some(arn.as_str()),
                "{name}"
            );
            assert!(
                variables.get(var.as_str()).is_none(),
                "{name}: {var} is not set on Lambda"
            );
            assert!(
                container["Environment"]
                    .as_sequence()
                    .unwrap()
                    .iter()
                    .all(|e| e["Name"] != var.as_str()),
                "{name}"
            );
        }
    }
    assert!(seen >= 2, "no variation uses secrets");
}

/// `queue.fifo` makes both queues and both dead-letter queues FIFO.
#[test]
fn fifo_queues_are_fifo_with_their_dead_letter_queues() {
    let mut seen = 0;
    for (name, c) in all_configs() {
        for s in render_config(&c, &Image::Placeholder) {
            let doc: Value = serde_yaml_ng::from_str(&s.template).unwrap();
            for (id, r) in doc["Resources"].as_mapping().unwrap() {
                if r["Type"] != "AWS::SQS::Queue" {
                    continue;
                }
                let fifo = r["Properties"]
                    .get("FifoQueue")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                assert_eq!(fifo, c.queues()[0].queue.fifo, "{name} {} {id:?}", s.name);
                seen += usize::from(fifo);
            }
        }
    }
    assert!(seen >= 4, "no variation renders FIFO queues");
}

/// With `production`, the `sqs` trigger's mapping on the production queue is
/// disabled, batches as the Lambda queue's mapping does, leaves MaximumConcurrency to cutover; the
/// role may consume exactly that queue, under both triggers; without `production`, none of it.
#[test]
fn the_production_queue_is_ready_but_not_consumed() {
    let mut seen = 0;
    for (name, c) in all_configs() {
        let lambda = stack(&render_config(&c, &Image::Placeholder), "lambda");
        let mapping = &lambda["Resources"]["ProductionEventSourceMapping"];
        let statements = props(&lambda, "Role")["Policies"][0]["PolicyDocument"]["Statement"]
            .as_sequence()
            .unwrap()
            .clone();
        let Some(p) = &c.production else {
            assert!(
                mapping.is_null() && lambda["Outputs"]["ProductionEventSourceMappingId"].is_null(),
                "{name}"
            );
            continue;
        };
        seen += 1;
        let queue = p.queue.as_deref().unwrap().rsplit('/').next().unwrap();
        let arn: Value = serde_yaml_ng::from_str(&format!(
            "{{Fn::Sub: 'arn:${{AWS::Partition}}:sqs:eu-west-1:123456789012:{queue}'}}"
        ))
        .unwrap();
        let on_prod: Vec<&Value> = statements.iter().filter(|s| s["Resource"] == arn).collect();
        assert_eq!(on_prod.len(), 1, "{name}: {statements:?}");
        let actions: Vec<&str> = on_prod[0]["Action"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes"
            ],
            "{name}"
        );
        if c.lambda.trigger.mapping().is_none() {
            assert!(mapping.is_null(), "{name}: a schedule has no mapping");
            continue;
        }
        let (m, own) = (&mapping["Properties"], props(&lambda, "EventSourceMapping"));
        assert_eq!(m["Enabled"], Value::from(false), "{name}");
        assert_eq!(m["EventSourceArn"], arn, "{name}");
        for key in [
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "FunctionResponseTypes",
            "FunctionName",
        ] {
            assert_eq!(m[key], own[key], "{name}: {key}");
        }
        assert!(
            m["ScalingConfig"].is_null() && m["ProvisionedPollerConfig"].is_null(),
            "{name}"
        );
        assert_eq!(
            lambda["Outputs"]["ProductionEventSourceMappingId"]["Value"],
            reference("ProductionEventSourceMapping"),
            "{name}"
        );
    }
    assert!(seen >= 4, "variations with production: {seen}");
}
