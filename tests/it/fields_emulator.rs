//! The fields a real worker needs against moto: `up`, `diff` and `down` of a config that uses every
//! one (permissions, secrets, tags, FIFO queues, provisioned pollers, production), checked through
//! the emulator's CloudFormation, SQS, Lambda, ECS and IAM APIs. IAM is read over its Query API
//! (moto does not check signatures), with no SDK of its own in the tests.

use std::io::{Read, Write};

use crate::common;
use crate::emulator::{block, json, service_dir, stderr, Moto, IMAGE};

/// An IAM Query API call to moto: the answer's XML text.
fn iam(moto: &Moto, params: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let body = std::iter::once(("Version", "2010-05-08"))
        .chain(params.iter().copied())
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let host = moto.endpoint.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    let request = format!(
        "POST / HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nAuthorization: AWS4-HMAC-SHA256 Credential={}/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\n\r\n{body}",
        common::FAKE_KEY,
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, xml) = out.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{params:?}: {out}"
    );
    xml.to_string()
}

/// The texts of every element named `tag` in an XML answer.
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap();
    doc.descendants()
        .filter(|n| n.tag_name().name() == tag)
        .filter_map(|n| n.text().map(str::to_string))
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(if b[i] == b'+' { b' ' } else { b[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn up_diff_down_with_every_worker_field() {
    let moto = Moto::start();
    let sdk = moto.sdk();
    let (cfn, sqs, lambda, ecs) = (
        aws_sdk_cloudformation::Client::new(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
        aws_sdk_lambda::Client::new(&sdk),
        aws_sdk_ecs::Client::new(&sdk),
    );
    // The policies the config names, made first: IAM attaches only policies that exist.
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::orders/*"}]}"#;
    let read = texts(
        &iam(
            &moto,
            &[
                ("Action", "CreatePolicy"),
                ("PolicyName", "orders-read"),
                ("PolicyDocument", doc),
            ],
        ),
        "Arn",
    )
    .remove(0);
    let boundary = texts(
        &iam(
            &moto,
            &[
                ("Action", "CreatePolicy"),
                ("PolicyName", "team-boundary"),
                ("PolicyDocument", doc),
            ],
        ),
        "Arn",
    )
    .remove(0);

    let fields = common::WORKER_FIELDS
        .replace("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", &read)
        .replace("arn:aws:iam::123456789012:policy/team-boundary", &boundary);
    let dir = service_dir("sqs-event-worker", "it-fields", |t| {
        let t = t
            .replace(
                "max_concurrency: 2 ",
                "provisioned_pollers: { min: 2, max: 5 } ",
            )
            .replace("    max_batching_window: 0s", "")
            .replace("  retention: 4d\n", "  retention: 4d\n  fifo: true\n");
        format!("region: eu-west-1\n{t}{fields}")
    });
    // The production queue exists before `up`: the stack's disabled mapping names it.
    block(
        sqs.create_queue()
            .queue_name("orders.fifo")
            .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
            .send(),
    )
    .unwrap();
    let out = moto.replatform(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("DB_PASSWORD_SECRET_ARN")
            && stderr(&out).contains("prod/orders-worker"),
        "validate says both: {}",
        stderr(&out)
    );

    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let resource = |stack: &str, id: &str| {
        let out = block(cfn.list_stack_resources().stack_name(stack).send()).unwrap();
        out.stack_resource_summaries()
            .iter()
            .find(|r| r.logical_resource_id() == Some(id))
            .and_then(|r| r.physical_resource_id().map(str::to_string))
            .unwrap_or_else(|| panic!("{stack}: no {id}"))
    };
    for stack in ["it-fields-ecs", "it-fields-lambda"] {
        // Tags: replatform's own and the config's, on the stack.
        let described = block(cfn.describe_stacks().stack_name(stack).send()).unwrap();
        let s = &described.stacks()[0];
        assert_eq!(
            s.stack_status().map(|x| x.as_str()),
            Some("CREATE_COMPLETE")
        );
        let mut tags: Vec<(String, String)> = s
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        tags.sort();
        assert_eq!(
            tags,
            [
                ("cost-center", "4711"),
                ("replatform:service", "it-fields"),
                ("team", "orders")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
            "{stack}"
        );
        // Both queues FIFO, each with a FIFO dead-letter queue.
        for id in ["Queue", "DeadLetterQueue"] {
            let url = resource(stack, id);
            assert!(url.ends_with(".fifo"), "{stack} {id}: {url}");
            // Named as CloudFormation names its own queues, so `down` finds a kept one.
            let name = url.rsplit('/').next().unwrap();
            let suffix = name
                .strip_prefix(&format!("{stack}-{id}-"))
                .and_then(|n| n.strip_suffix(".fifo"))
                .unwrap_or_else(|| panic!("{stack} {id}: {name}"));
            assert!(
                suffix.len() == 12 && suffix.chars().all(|c| c.is_ascii_hexdigit()),
                "{name}"
            );
            let attrs = block(
                sqs.get_queue_attributes()
                    .queue_url(&url)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                    .send(),
            )
            .unwrap();
            let fifo = attrs
                .attributes()
                .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::FifoQueue))
                .cloned();
            assert_eq!(fifo.as_deref(), Some("true"), "{stack} {id}");
        }
    }

    // The worker's roles on both platforms: the same managed policy, the same statements, the
    // boundary; the boundary on the execution role too, which alone reads the secrets on ECS.
    let role_of = |stack: &str, id: &str| resource(stack, id);
    let (task_role, function_role, execution_role) = (
        role_of("it-fields-ecs", "TaskRole"),
        role_of("it-fields-lambda", "Role"),
        role_of("it-fields-ecs", "ExecutionRole"),
    );
    let mut documents = Vec::new();
    for role in [&task_role, &function_role, &execution_role] {
        let got = iam(&moto, &[("Action", "GetRole"), ("RoleName", role)]);
        assert_eq!(
            texts(&got, "PermissionsBoundaryArn"),
            std::slice::from_ref(&boundary),
            "{role}: {got}"
        );
        let attached = texts(
            &iam(
                &moto,
                &[("Action", "ListAttachedRolePolicies"), ("RoleName", role)],
            ),
            "PolicyArn",
        );
        let inline = texts(
            &iam(&moto, &[("Action", "ListRolePolicies"), ("RoleName", role)]),
            "member",
        );
        if *role == execution_role {
            assert!(
                attached.is_empty() && !inline.contains(&"permissions".to_string()),
                "{role}: {attached:?} {inline:?}"
            );
            assert!(inline.contains(&"read-secrets".to_string()), "{inline:?}");
            continue;
        }
        // moto's CloudFormation creates the role without attaching `ManagedPolicyArns`: nothing
        // is attached here, and the deployed templates are checked for them below.
        assert!(
            attached.is_empty() || attached == [read.clone()],
            "{role}: {attached:?}"
        );
        assert!(
            inline.contains(&"permissions".to_string()),
            "{role}: {inline:?}"
        );
        let policy = texts(
            &iam(
                &moto,
                &[
                    ("Action", "GetRolePolicy"),
                    ("RoleName", role),
                    ("PolicyName", "permissions"),
                ],
            ),
            "PolicyDocument",
        )
        .remove(0);
        // moto answers with the document as it holds it (not always JSON): compared as text.
        documents.push(decode(&policy));
    }
    assert_eq!(
        documents[0], documents[1],
        "both platforms get exactly the same statements"
    );
    for (stack, id) in [("it-fields-ecs", "TaskRole"), ("it-fields-lambda", "Role")] {
        let body = block(cfn.get_template().stack_name(stack).send())
            .unwrap()
            .template_body()
            .unwrap()
            .to_string();
        let deployed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&body).unwrap();
        let managed = &deployed["Resources"][id]["Properties"]["ManagedPolicyArns"];
        assert_eq!(
            managed,
            &serde_yaml_ng::Value::Sequence(vec![read.clone().into()]),
            "{stack} {id}"
        );
    }
    for want in [
        "WriteOrders",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
        "sqs:SendMessage",
        "aws:ResourceAccount",
    ] {
        assert!(documents[0].contains(want), "{want}: {}", documents[0]);
    }

    // Secrets by ARN: the task definition's `Secrets`, the function's `_SECRET_ARN` variables.
    let task_definition = resource("it-fields-ecs", "TaskDefinition");
    let td = block(
        ecs.describe_task_definition()
            .task_definition(&task_definition)
            .send(),
    )
    .unwrap();
    let container = &td.task_definition().unwrap().container_definitions()[0];
    let secrets: Vec<(&str, &str)> = container
        .secrets()
        .iter()
        .map(|s| (s.name(), s.value_from()))
        .collect();
    let sm = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:orders/db-AbCdEf";
    assert_eq!(
        secrets,
        [
            (
                "API_KEY",
                "arn:aws:ssm:eu-west-1:123456789012:parameter/orders/api-key"
            ),
            ("DB_PASSWORD", format!("{sm}:password::").as_str()),
            ("DB_USER", format!("{sm}:username::").as_str())
        ]
    );
    let function = block(lambda.get_function().function_name("it-fields").send()).unwrap();
    let env = function
        .configuration()
        .and_then(|c| c.environment())
        .and_then(|e| e.variables())
        .unwrap();
    assert_eq!(
        env.get("DB_PASSWORD_SECRET_ARN").map(String::as_str),
        Some(format!("{sm}:password::").as_str())
    );
    assert!(!env.contains_key("DB_PASSWORD"), "{env:?}");
    let mappings = block(
        lambda
            .list_event_source_mappings()
            .function_name("it-fields")
            .send(),
    )
    .unwrap();
    assert_eq!(mappings.event_source_mappings()[0].batch_size(), Some(10));

    // `load` sends to a FIFO queue: every message arrives, equal bodies included (the Lambda
    // queue is left out: moto runs its event source mapping on every send).
    let body = dir.path().join("body.json");
    std::fs::write(&body, r#"{"order": 1}"#).unwrap();
    let out = moto.replatform(
        dir.path(),
        &[
            "load",
            "--count",
            "7",
            "--only",
            "ecs",
            "--body-file",
            body.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let attrs = block(
        sqs.get_queue_attributes()
            .queue_url(resource("it-fields-ecs", "Queue"))
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send(),
    )
    .unwrap();
    assert_eq!(
        attrs
            .attributes()
            .and_then(
                |a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            )
            .map(String::as_str),
        Some("7")
    );

    // Nothing to change on a second look; `down` removes both stacks (`--force`: the ECS queue
    // holds the messages just sent).
    let out = moto.replatform(
        dir.path(),
        &[
            "diff",
            "--image-uri",
            IMAGE,
            "--exit-code",
            "--output",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["changed"], false);
    // A FIFO queue an earlier stack of the same name left behind (kept by its deletion policy),
    // holding a message: `down` finds it by its name, and `--force` deletes it too.
    let attributes = [
        (
            aws_sdk_sqs::types::QueueAttributeName::FifoQueue,
            "true".to_string(),
        ),
        (
            aws_sdk_sqs::types::QueueAttributeName::ContentBasedDeduplication,
            "true".to_string(),
        ),
    ];
    let kept = block(
        sqs.create_queue()
            .queue_name("it-fields-ecs-Queue-0a1b2c3d4e5f.fifo")
            .set_attributes(Some(attributes.into_iter().collect()))
            .send(),
    )
    .unwrap()
    .queue_url()
    .unwrap()
    .to_string();
    block(
        sqs.send_message()
            .queue_url(&kept)
            .message_body("left")
            .message_group_id("g")
            .send(),
    )
    .unwrap();
    let out = moto.replatform(
        dir.path(),
        &["down", "--yes", "--force", "--output", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for stack in ["it-fields-ecs", "it-fields-lambda"] {
        assert!(
            block(cfn.describe_stacks().stack_name(stack).send()).is_err(),
            "{stack} is gone"
        );
    }
    let report = json(&out);
    let found = report["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["queues"].as_array().unwrap().iter())
        .find(|q| q["url"] == kept.as_str())
        .unwrap_or_else(|| panic!("down finds the kept FIFO queue: {report}"));
    assert_eq!(found["outcome"], "deleted", "{found}");
    assert!(
        block(sqs.get_queue_attributes().queue_url(&kept).send()).is_err(),
        "the kept FIFO queue is deleted with --force"
    );
}

/// The production queue's visible messages.
fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = block(
        sqs.get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .send(),
    )
    .unwrap();
    attrs
        .attributes()
        .and_then(|a| a.get(&A::ApproximateNumberOfMessages))
        .cloned()
        .unwrap_or_default()
}

/// With `production:`, `up` creates the Lambda stack's mapping on the
/// production queue disabled, names its UUID in an output, and leaves the queue's messages alone
/// (a message sent after `up` stays too: a disabled mapping consumes nothing).
#[test]
fn up_with_production_creates_the_mapping_disabled_and_leaves_the_queue_alone() {
    let moto = Moto::start();
    let sdk = moto.sdk();
    let (cfn, sqs, lambda) = (
        aws_sdk_cloudformation::Client::new(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
        aws_sdk_lambda::Client::new(&sdk),
    );
    let url = block(sqs.create_queue().queue_name("orders-prod").send())
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    for i in 0..3 {
        block(
            sqs.send_message()
                .queue_url(&url)
                .message_body(format!("{{\"order\": {i}}}"))
                .send(),
        )
        .unwrap();
    }
    let dir = service_dir("sqs-event-worker", "it-prod", |t| {
        format!("region: eu-west-1\n{t}production:\n  ecs_service: prod/orders-worker\n  queue: https://sqs.eu-west-1.amazonaws.com/123456789012/orders-prod\n")
    });
    // `diff` and `up` say before the change that the mapping comes disabled.
    let out = moto.replatform(dir.path(), &["diff", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`ProductionEventSourceMapping` is created disabled"),
        "{}",
        stderr(&out)
    );
    let out = moto.replatform(dir.path(), &["up", "--image-uri", IMAGE]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`ProductionEventSourceMapping` is created disabled"),
        "{}",
        stderr(&out)
    );

    let arn = "arn:aws:sqs:eu-west-1:123456789012:orders-prod";
    let mappings = block(
        lambda
            .list_event_source_mappings()
            .function_name("it-prod")
            .send(),
    )
    .unwrap();
    let on_prod: Vec<_> = mappings
        .event_source_mappings()
        .iter()
        .filter(|m| m.event_source_arn() == Some(arn))
        .collect();
    assert_eq!(on_prod.len(), 1, "{mappings:?}");
    assert_eq!(on_prod[0].state(), Some("Disabled"), "{:?}", on_prod[0]);
    assert!(
        on_prod[0]
            .scaling_config()
            .and_then(|c| c.maximum_concurrency())
            .is_none(),
        "cutover sets MaximumConcurrency: {:?}",
        on_prod[0]
    );
    // The `ProductionEventSourceMappingId` output is not checked here: moto 5.2.5's
    // CloudFormation answers this stack with no outputs at all; tests/it/structure.rs checks it
    // in the rendered template.

    assert_eq!(
        depth(&sqs, &url),
        "3",
        "the production queue keeps its messages"
    );
    block(
        sqs.send_message()
            .queue_url(&url)
            .message_body("{\"order\": 3}")
            .send(),
    )
    .unwrap();
    assert_eq!(
        depth(&sqs, &url),
        "4",
        "a disabled mapping consumes nothing"
    );
    // Neither stack holds the production queue or service.
    for stack in ["it-prod-ecs", "it-prod-lambda"] {
        let listed = block(cfn.list_stack_resources().stack_name(stack).send()).unwrap();
        assert!(
            listed
                .stack_resource_summaries()
                .iter()
                .all(|r| r.physical_resource_id() != Some(url.as_str())),
            "{stack}"
        );
        let body = block(cfn.get_template().stack_name(stack).send())
            .unwrap()
            .template_body()
            .unwrap()
            .to_string();
        assert!(!body.contains("prod/orders-worker"), "{stack}");
    }
    let out = moto.replatform(dir.path(), &["diff", "--image-uri", IMAGE, "--exit-code"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // `status` says who consumes the production queue now: nobody here (no production service
    // runs in moto, the mapping is disabled), with the queue's depth and the mapping's state.
    let out = moto.replatform(dir.path(), &["status", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p = &json(&out)["production"];
    assert_eq!(p["ecs_service"], "prod/orders-worker", "{p}");
    assert_eq!(p["queue"]["depth"]["visible"], 4, "{p}");
    assert_eq!(p["mapping"]["state"], "Disabled", "{p}");
    assert!(p["service"].is_null(), "{p}");
    assert_eq!(p["consumers"], "none", "{p}");
    let out = moto.replatform(dir.path(), &["status"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("production") && text.contains("consumed by") && text.contains("Disabled"),
        "{text}"
    );
}
