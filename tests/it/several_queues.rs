//! A worker of several queues (docs/config.md#several-queues), rendered and parsed back: one
//! queue and dead-letter queue per entry on each platform, the worker given each of its own
//! queues in the form it reads, one Lambda mapping per consumed queue, ECS scaling on the sum
//! of their depths, and no production queue anywhere but the disabled production mappings and
//! the Lambda role's access to them.

use replatform::core::config::{self, Config, Finder};
use replatform::core::render::Image;
use serde_yaml_ng::Value;

use crate::common::{parse, render_config, several_queues, six_queues, stack};

fn resources(t: &Value) -> &serde_yaml_ng::Mapping {
    t["Resources"].as_mapping().unwrap()
}

fn of_type<'a>(t: &'a Value, ty: &str) -> Vec<(&'a str, &'a Value)> {
    resources(t)
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .map(|(k, r)| (k.as_str().unwrap(), r))
        .collect()
}

fn stacks(c: &Config) -> (Value, Value) {
    let s = render_config(c, &Image::Placeholder);
    (stack(&s, "ecs"), stack(&s, "lambda"))
}

#[test]
fn each_entry_is_a_queue_and_dead_letter_queue_on_both_platforms() {
    let c = parse(&several_queues());
    let (ecs, lambda) = stacks(&c);
    for t in [&ecs, &lambda] {
        let queues: Vec<&str> = of_type(t, "AWS::SQS::Queue")
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(queues.len(), 2 * c.queues.len(), "{queues:?}");
        for e in c.queues() {
            let q = &resources(t)[e.queue_id().as_str()]["Properties"];
            assert_eq!(q["FifoQueue"].as_bool().unwrap_or(false), e.queue.fifo);
            assert_eq!(
                q["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0],
                e.dead_letter_id().as_str()
            );
            let outputs = &t["Outputs"];
            assert!(
                outputs.get(format!("{}QueueUrl", e.id())).is_some(),
                "{}",
                e.label()
            );
        }
    }
}

#[test]
fn the_worker_gets_each_of_its_own_queues_in_the_form_it_reads() {
    let c = parse(&several_queues());
    let (ecs, lambda) = stacks(&c);
    let (_, task) = of_type(&ecs, "AWS::ECS::TaskDefinition")[0];
    let ecs_env: Vec<(String, Value)> = task["Properties"]["ContainerDefinitions"][0]
        ["Environment"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| (e["Name"].as_str().unwrap().to_string(), e["Value"].clone()))
        .collect();
    let (_, function) = of_type(&lambda, "AWS::Lambda::Function")[0];
    let lambda_env = function["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap();
    for e in c.queues() {
        for f in e.queue.finders() {
            let on_ecs = &ecs_env.iter().find(|(n, _)| n == f.var()).unwrap().1;
            let on_lambda = &lambda_env[f.var()];
            assert_eq!(on_ecs, on_lambda, "{}", f.var());
            let id = e.queue_id();
            match f {
                Finder::Url(_) => assert_eq!(on_ecs["Ref"], id.as_str()),
                Finder::Name(_) => {
                    assert_eq!(on_ecs["Fn::GetAtt"][0], id.as_str());
                    assert_eq!(on_ecs["Fn::GetAtt"][1], "QueueName");
                }
                Finder::Arn(_) => assert_eq!(on_ecs["Fn::GetAtt"][1], "Arn"),
                Finder::Json { key, .. } => {
                    let text = on_ecs["Fn::Sub"].as_str().unwrap();
                    // The text is JSON once each `${Id}` is a URL.
                    let filled = text.replace(&format!("${{{id}}}"), "https://q/1/x");
                    let filled = filled
                        .split("${")
                        .enumerate()
                        .map(|(i, p)| {
                            if i == 0 {
                                p.to_string()
                            } else {
                                format!("https://q/1/y{}", &p[p.find('}').unwrap() + 1..])
                            }
                        })
                        .collect::<String>();
                    let v: serde_json::Value = serde_json::from_str(&filled).unwrap();
                    assert_eq!(v[key], "https://q/1/x", "{text}");
                }
            }
        }
    }
    // One variable per name: the JSON value of two queues is set once.
    let mut names: Vec<&String> = ecs_env.iter().map(|(n, _)| n).collect();
    let all = names.len();
    names.dedup();
    assert_eq!(names.len(), all);
}

#[test]
fn lambda_maps_each_consumed_queue_and_each_production_queue_disabled() {
    let c = parse(&several_queues());
    let (_, lambda) = stacks(&c);
    let mappings = of_type(&lambda, "AWS::Lambda::EventSourceMapping");
    let consumed = c.consumed_queues();
    assert_eq!(mappings.len(), 2 * consumed.len());
    for e in &consumed {
        let own =
            &resources(&lambda)[format!("{}EventSourceMapping", e.id()).as_str()]["Properties"];
        assert_eq!(own["Enabled"], true);
        assert_eq!(
            own["EventSourceArn"]["Fn::GetAtt"][0],
            e.queue_id().as_str()
        );
        // A FIFO queue's mapping takes no batching window.
        assert_eq!(
            own.get("MaximumBatchingWindowInSeconds").is_none(),
            e.queue.fifo
        );
        let prod = &resources(&lambda)[format!("Production{}EventSourceMapping", e.id()).as_str()]
            ["Properties"];
        assert_eq!(prod["Enabled"], false);
        let (_, _, name) = config::queue_url(c.production_queue(e).unwrap()).unwrap();
        assert!(prod["EventSourceArn"]["Fn::Sub"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{name}")));
    }
    // The queue the worker only sends to: no mapping, no scaling, but its own stand-in.
    assert!(resources(&lambda)
        .get("ResultsEventSourceMapping")
        .is_none());
    assert!(resources(&lambda).get("ResultsQueue").is_some());
}

#[test]
fn ecs_scales_on_the_sum_of_the_consumed_queues() {
    for (text, in_flight) in [(several_queues(), true), (six_queues(), false)] {
        let c = parse(&text);
        let (ecs, _) = stacks(&c);
        let consumed = c.consumed_queues();
        let alarm = |id: &str| resources(&ecs)[id]["Properties"].clone();
        let out = alarm("ScaleOutAlarm");
        let metrics = out["Metrics"].as_sequence().unwrap();
        let watched: Vec<&str> = metrics
            .iter()
            .filter_map(|m| {
                m["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0].as_str()
            })
            .collect();
        let want: Vec<String> = consumed.iter().map(|e| e.queue_id()).collect();
        assert_eq!(watched, want);
        assert!(metrics.len() <= 20 && watched.len() <= 10);
        let back = alarm("ScaleInAlarm");
        let metrics = back["Metrics"].as_sequence().unwrap();
        let stats = metrics
            .iter()
            .filter(|m| m.get("MetricStat").is_some())
            .count();
        assert!(stats <= 10, "CloudWatch takes 10 metrics in an alarm");
        let inflight = metrics
            .iter()
            .filter(|m| {
                m["MetricStat"]["Metric"]["MetricName"] == "ApproximateNumberOfMessagesNotVisible"
            })
            .count();
        assert_eq!(inflight, if in_flight { consumed.len() } else { 0 });
        let returned: Vec<&Value> = metrics.iter().filter(|m| m["ReturnData"] == true).collect();
        assert_eq!(returned.len(), 1);
        assert!(returned[0]["Expression"]
            .as_str()
            .unwrap()
            .starts_with("SUM(["));
    }
}

/// A data-safety rule (docs/safety.md): neither stack names a production queue, by URL, name or
/// ARN, anywhere but the disabled production mappings and the Lambda role's access to exactly
/// those queues.
#[test]
fn no_production_queue_reaches_the_experiment() {
    let c = parse(&several_queues());
    let (ecs, lambda) = stacks(&c);
    let production: Vec<&str> = c
        .queues()
        .iter()
        .filter_map(|e| c.production_queue(e))
        .map(|u| u.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(production.len(), 5);
    // A queue named in a value: alone, at the end of a URL or an ARN.
    let names = |text: &str, name: &str| {
        [
            format!("\"{name}\""),
            format!("/{name}\""),
            format!(":{name}\""),
        ]
        .iter()
        .any(|p| text.contains(p.as_str()))
    };
    let ecs_text = serde_json::to_string(&ecs).unwrap();
    for name in &production {
        assert!(!names(&ecs_text, name), "the ECS stack names `{name}`");
    }
    let mut lambda = lambda.clone();
    let res = lambda["Resources"].as_mapping_mut().unwrap();
    res.retain(|k, _| !k.as_str().unwrap().starts_with("Production"));
    let role = res.get_mut("Role").unwrap();
    let policies = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .unwrap();
    let before = policies.len();
    policies.retain(|st| {
        !serde_json::to_string(st)
            .unwrap()
            .contains(":sqs:eu-west-1:123456789012:")
    });
    assert_eq!(
        before - policies.len(),
        1,
        "one statement reads the production queues"
    );
    let text = serde_json::to_string(&lambda).unwrap();
    let full = serde_json::to_string(&stacks(&c).1).unwrap();
    assert!(
        names(&full, "prod-orders-payments.fifo"),
        "the check finds a name where one is"
    );
    for name in &production {
        assert!(
            !names(&text, name),
            "the Lambda stack names `{name}` outside the production mappings"
        );
    }
}

#[test]
fn queues_beside_queue_and_production_that_does_not_match_are_refused() {
    let both = format!("{}queue:\n  visibility_timeout: 180s\n", several_queues());
    let errors = config::parse(&both).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|d| d.path == "queues" && d.message.contains("both written")),
        "{errors:#?}"
    );
    let missing = several_queues().replace(
        "    audit: https://sqs.eu-west-1.amazonaws.com/123456789012/orders-audit\n",
        "",
    );
    let errors = config::parse(&missing).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|d| d.message.contains("no production queue for `audit`")),
        "{errors:#?}"
    );
    let twice = several_queues().replace("name_env: AUDIT_QUEUE_NAME", "url_env: ORDERS_QUEUE_URL");
    let errors = config::parse(&twice).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|d| d.message.contains("`ORDERS_QUEUE_URL` is also")),
        "{errors:#?}"
    );
    let kind = several_queues().replace("prod-orders-payments.fifo", "prod-orders-payments");
    let errors = config::parse(&kind).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|d| d.path == "production.queues.topic-payments"),
        "{errors:#?}"
    );
}

/// The README's and the config reference's examples of several queues are configs `validate`
/// takes, beside the rest of a worker's fields.
#[test]
fn the_documented_examples_of_several_queues_validate() {
    let base = crate::common::variant(
        crate::common::BASE,
        &[
            ("queue", Value::Null),
            ("lambda.reserved_concurrency", Value::from(20)),
        ],
    );
    for doc in ["README.md", "docs/config.md"] {
        let text = std::fs::read_to_string(crate::common::repo().join(doc)).unwrap();
        let block = text
            .split("```yaml\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .find(|b| b.starts_with("queues:"))
            .unwrap_or_else(|| panic!("{doc} shows no `queues:` example"));
        let c = parse(&format!("{base}{block}"));
        assert!(c.queues.len() >= 4, "{doc}");
        assert!(c.queues.values().any(|q| !q.consumed), "{doc}");
        render_config(&c, &Image::Placeholder);
    }
}
