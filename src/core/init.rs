//! `replatform init`'s pure part: what was read of the folder (its name, the
//! Dockerfile's facts, the Python modules' handlers) in, the starting `replatform.yaml` text out,
//! with a `#` comment on every value guessed and on every field still to fill. Pure.

use super::dockerfile::ImageFacts;

/// What the folder shows.
#[derive(Clone, Debug)]
pub struct Facts {
    /// The folder's name, before sanitising.
    pub folder: String,
    pub image: ImageFacts,
    /// The Python module the CMD runs (`python app.py` -> `app`), when it is one.
    pub cmd_module: Option<String>,
    /// The handler found in the build context, if any.
    pub handler: Option<Handler>,
    /// The environment variable the code reads its queue URL from, when the code names one.
    pub queue_env: Option<String>,
}

/// A `def handler(event, context)` found in a module of the build context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handler {
    /// The module, dotted (`app`, `worker.main`).
    pub module: String,
    /// The function reads its event's `Records`: it takes the messages Lambda hands it. A handler
    /// that ignores its event polls the queue itself (the seed article's (docs/seed-article.md)):
    /// an `sqs` trigger would delete the event's messages unprocessed
    /// (docs/config.md#which-trigger).
    pub reads_records: bool,
}

/// `[a-z][a-z0-9-]{0,31}` from a folder's name: lower case, other characters as `-`, no leading
/// digit or dash, no trailing dash; `worker` when nothing is left.
pub fn service_name(folder: &str) -> String {
    let mut out = String::new();
    for c in folder.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() {
            c
        } else {
            '-'
        };
        if (out.is_empty() && !c.is_ascii_lowercase()) || (c == '-' && out.ends_with('-')) {
            continue;
        }
        out.push(c);
    }
    out.truncate(32);
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "worker".into()
    } else {
        out
    }
}

/// A readable `service:` name from an ECS service's name, within the 32-character rule. ECS names
/// are up to 255 characters and, made by CloudFormation or the CDK, read like
/// `OrdersStack-OrdersWorkerServiceECBA5E0E-Lm4xYqZ9vT2k`: the stack, the construct's id in
/// CamelCase with an 8-character hash, and a random suffix (AWS CloudFormation User Guide,
/// "Name type": generated names; AWS CDK Developer Guide, "Identifiers"). The generated parts
/// go, the CamelCase words are split, and when the words still run past 32 the first ones go
/// (the stack's, the least particular), whole words kept.
pub fn service_name_from_ecs(ecs: &str) -> String {
    // The words of each meaningful segment, in order.
    let mut segments: Vec<Vec<String>> = Vec::new();
    for segment in ecs.split(|c: char| !c.is_ascii_alphanumeric()) {
        let segment = strip_cdk_hash(segment);
        if !segment.is_empty() && !is_generated(segment) {
            segments.push(camel_words(segment));
        }
    }
    let joined = |segments: &[Vec<String>]| {
        let mut words: Vec<&String> = Vec::new();
        for w in segments.iter().flatten() {
            if words.last() != Some(&w) {
                words.push(w);
            }
        }
        words
            .iter()
            .map(|w| w.as_str())
            .collect::<Vec<_>>()
            .join("-")
    };
    // Too long: the first segments go first (a stack's name, the least particular), then the
    // first words of what is left.
    while segments.len() > 1 && joined(&segments).len() > 32 {
        segments.remove(0);
    }
    let mut words: Vec<String> = segments.into_iter().flatten().collect();
    while words.len() > 1 && words.join("-").len() > 32 {
        words.remove(0);
    }
    service_name(&words.join("-"))
}

/// A construct id's 8-character upper-case hex hash, as the CDK appends it: `ServiceECBA5E0E`.
fn strip_cdk_hash(segment: &str) -> &str {
    let n = segment.len();
    if n > 8 {
        let (head, tail) = segment.split_at(n - 8);
        if tail
            .chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
            && tail.chars().any(|c| c.is_ascii_digit())
        {
            return head;
        }
    }
    segment
}

/// A random suffix CloudFormation generates (`Lm4xYqZ9vT2k`, `1A2B3C4D5E6F`): 10 characters or
/// more, letters and digits mixed, no word.
fn is_generated(segment: &str) -> bool {
    segment.len() >= 10
        && segment.chars().any(|c| c.is_ascii_digit())
        && segment.chars().any(|c| c.is_ascii_alphabetic())
        && segment.chars().filter(|c| c.is_ascii_digit()).count() * 5 >= segment.len()
}

/// `QueueProcessingService` -> queue, processing, service; `SQSWorker2` -> sqs, worker2.
fn camel_words(segment: &str) -> Vec<String> {
    let chars: Vec<char> = segment.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let boundary = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase() || p.is_ascii_digit() || next_lower && p.is_ascii_uppercase()
            });
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.push(c.to_ascii_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The Python module a command runs: `python app.py` -> `app`, `python3 -m pkg.main` ->
/// `pkg.main`, `/usr/local/bin/python -u src/w.py` -> `src.w`.
pub fn cmd_module(argv: &[String]) -> Option<String> {
    let (first, rest) = argv.split_first()?;
    let prog = first.rsplit('/').next().unwrap_or(first);
    if !prog.starts_with("python") {
        return None;
    }
    let mut args = rest.iter();
    while let Some(a) = args.next() {
        if a == "-m" {
            return args.next().cloned();
        }
        if a.starts_with('-') {
            continue;
        }
        return module_of_path(a);
    }
    None
}

/// `worker/main.py` -> `worker.main`; `None` for what is no Python file.
pub fn module_of_path(path: &str) -> Option<String> {
    let p = path.trim_start_matches("./").strip_suffix(".py")?;
    if p.is_empty() || p.starts_with('/') || p.split('/').any(|s| s.is_empty() || s == "..") {
        return None;
    }
    Some(p.replace('/', "."))
}

/// Whether this Python source defines `handler(event, context)` at module level, and whether that
/// function reads its event's `Records`.
pub fn python_handler(source: &str) -> Option<bool> {
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line
            .strip_prefix("def handler(")
            .or_else(|| line.strip_prefix("async def handler("))
        else {
            continue;
        };
        let params: Vec<&str> = rest
            .split(')')
            .next()
            .unwrap_or("")
            .split(',')
            .map(|p| p.split(':').next().unwrap_or("").trim())
            .filter(|p| !p.is_empty())
            .collect();
        if params.len() != 2 {
            continue;
        }
        let event = params[0];
        let body: Vec<&str> = lines
            .by_ref()
            .take_while(|l| l.trim().is_empty() || l.starts_with(' ') || l.starts_with('\t'))
            .collect();
        let reads = body.iter().any(|l| {
            let l = l.replace(' ', "");
            l.contains(&format!("{event}[\"Records\"]"))
                || l.contains(&format!("{event}['Records']"))
                || l.contains(&format!("{event}.get(\"Records\""))
                || l.contains(&format!("{event}.get('Records'"))
        });
        return Some(reads);
    }
    None
}

/// The environment variable a Python source reads an SQS queue URL from: the first
/// `os.environ[...]`, `os.environ.get(...)` or `os.getenv(...)` whose name has `QUEUE` in it.
pub fn queue_env(source: &str) -> Option<String> {
    for opener in ["os.environ.get(", "os.getenv(", "os.environ["] {
        for (at, _) in source.match_indices(opener) {
            let rest = &source[at + opener.len()..];
            let rest = rest.trim_start();
            let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let name: String = rest[1..].chars().take_while(|c| *c != q).collect();
            if name.to_ascii_uppercase().contains("QUEUE")
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Some(name);
            }
        }
    }
    None
}

/// What `init` writes as `.dockerignore` when the folder has none: what the image does not need,
/// and what `replatform` leaves out of the image's hash.
pub const DOCKERIGNORE: &str = "# What the image does not need (written by `replatform init`). replatform hashes every file of\n# the build context not listed here to name the image's tag: listing replatform.yaml means a\n# config edit does not rebuild the image.\nreplatform.yaml\n.replatform\n.git\n__pycache__\n*.pyc\n.venv\n";

/// The Python the entry point runs, for a base image (guessed from its name).
fn python_for(facts: &ImageFacts) -> &'static str {
    match facts.base.as_deref() {
        Some(b)
            if b.starts_with("python:")
                || b.starts_with("docker.io/library/python:")
                || b.contains("/python:") =>
        {
            "/usr/local/bin/python"
        }
        _ => "python3",
    }
}

fn is_lambda_base(facts: &ImageFacts) -> bool {
    facts.base.as_deref().is_some_and(|b| {
        b.starts_with("public.ecr.aws/lambda/") || b.starts_with("amazon/aws-lambda-")
    })
}

fn flow(argv: &[String]) -> String {
    let items: Vec<String> = argv
        .iter()
        .map(|a| serde_json::to_string(a).unwrap_or_default())
        .collect();
    format!("[{}]", items.join(", "))
}

/// Pads `line` to the comment column, then the comment.
fn commented(out: &mut String, line: &str, comment: &str) {
    let mut first = true;
    for c in comment.lines() {
        let head = if first { line } else { "" };
        let gap = if head.len() >= 32 { "  " } else { "" };
        out.push_str(&format!("{head:<32}{gap}# {c}\n"));
        first = false;
    }
}

/// The `replatform.yaml` text for these facts. `validate` accepts it once `ecs.subnets` and
/// `ecs.security_groups` are filled; it reports exactly those as errors until then.
pub fn config_text(f: &Facts) -> String {
    let service = service_name(&f.folder);
    let mut o = String::new();
    o.push_str("# Written by `replatform init`. Every `guessed` value was inferred from this folder: check it.\n");
    o.push_str("# `replatform validate` says what is left to fill.\n");
    let why = if service == f.folder {
        "guessed: this folder's name"
    } else {
        "guessed: this folder's name, made [a-z][a-z0-9-]{0,31}"
    };
    commented(&mut o, &format!("service: {service}"), why);
    o.push('\n');
    o.push_str("image:\n");
    commented(&mut o, "  context: .", "the folder this file is in");
    commented(&mut o, "  dockerfile: Dockerfile", "found here");
    o.push('\n');
    let url_env = f
        .queue_env
        .clone()
        .unwrap_or_else(|| "SQS_QUEUE_URL".into());
    let sqs = f.handler.as_ref().is_some_and(|h| h.reads_records);
    o.push_str("queue:\n");
    match &f.queue_env {
        Some(name) => commented(
            &mut o,
            &format!("  url_env: {name}"),
            "guessed: the variable the code reads its queue URL from",
        ),
        None => commented(
            &mut o,
            &format!("  url_env: {url_env}"),
            "guessed (the default): the code names no queue variable; set the one it reads",
        ),
    }
    if sqs {
        commented(
            &mut o,
            "  visibility_timeout: 180s",
            "6 x lambda.timeout, AWS's rule for SQS triggers (docs/pitfalls.md#p7)",
        );
    } else {
        commented(
            &mut o,
            "  visibility_timeout: 60s",
            ">= lambda.timeout, so a message is not redelivered while handled",
        );
    }
    o.push_str("  dead_letter:\n");
    commented(
        &mut o,
        "    max_receive_count: 5",
        "a message that failed 5 times is parked",
    );
    o.push('\n');
    o.push_str("ecs:\n");
    if let Some(cmd) = &f.image.cmd {
        commented(
            &mut o,
            &format!("  command: {}", flow(cmd)),
            "the Dockerfile's CMD, stated because Lambda replaces it",
        );
    }
    commented(
        &mut o,
        "  cpu: 256",
        "guessed: the smallest Fargate size; 256/512 is a valid pair",
    );
    commented(&mut o, "  memory: 512", "guessed: MiB, the pair of cpu 256");
    commented(&mut o, "  subnets: []", "TO FILL: the subnets the tasks run in, e.g. [subnet-0123456789abcdef0];\nprivate subnets need a route to SQS and ECR (NAT or VPC endpoints)");
    commented(
        &mut o,
        "  security_groups: []",
        "TO FILL: the tasks' security groups, e.g. [sg-0123456789abcdef0]",
    );
    o.push_str("  scaling:\n");
    commented(&mut o, "    min: 0", "no tasks while the queue is empty");
    commented(&mut o, "    max: 10", "guessed");
    o.push('\n');
    o.push_str("lambda:\n");
    commented(
        &mut o,
        "  memory: 512",
        "the ECS task's size, for a like-for-like comparison",
    );
    let workdir = f.image.workdir.clone();
    let lambda_base = is_lambda_base(&f.image);
    if lambda_base {
        commented(
            &mut o,
            "  entry_point: [\"/lambda-entrypoint.sh\"]",
            "guessed: the AWS Lambda base image's own entry point",
        );
    } else {
        let py = python_for(&f.image);
        commented(
            &mut o,
            &format!("  entry_point: [\"{py}\", \"-m\", \"awslambdaric\"]"),
            "guessed: the runtime interface client; the image must install awslambdaric",
        );
    }
    let module = f
        .handler
        .as_ref()
        .map(|h| h.module.clone())
        .or_else(|| f.cmd_module.clone())
        .unwrap_or_else(|| "app".into());
    match &f.handler {
        Some(h) => commented(&mut o, &format!("  command: [\"{}.handler\"]", h.module), &format!("guessed: `handler(event, context)` in {}", h.module)),
        None => commented(&mut o, &format!("  command: [\"{module}.handler\"]"), &format!("TO WRITE: no `handler(event, context)` found; add one to {module} that polls the queue once")),
    }
    match &workdir {
        Some(w) => commented(
            &mut o,
            &format!("  working_directory: {w}"),
            "the Dockerfile's WORKDIR: the handler's module is imported from here",
        ),
        None if lambda_base => commented(
            &mut o,
            "  working_directory: /var/task",
            "the AWS Lambda base image's LAMBDA_TASK_ROOT",
        ),
        None => commented(
            &mut o,
            "  working_directory: /",
            "guessed: the Dockerfile sets no WORKDIR, so the base image's (`/` unless it sets one)",
        ),
    }
    if sqs {
        commented(
            &mut o,
            "  timeout: 30s",
            "guessed: one batch; see queue.visibility_timeout",
        );
        commented(
            &mut o,
            "  reserved_concurrency: 2",
            ">= trigger.max_concurrency, or throttled pollers dead-letter messages (docs/pitfalls.md#p8)",
        );
        o.push_str("  trigger:\n");
        commented(
            &mut o,
            "    type: sqs",
            "guessed: the handler reads its event's Records",
        );
        commented(
            &mut o,
            "    batch_size: 10",
            "ReceiveMessage's maximum, as on ECS",
        );
        commented(&mut o, "    max_concurrency: 2", "the least AWS accepts");
    } else {
        commented(
            &mut o,
            "  timeout: 60s",
            "guessed: must exceed one poll (wait time + processing)",
        );
        commented(
            &mut o,
            "  reserved_concurrency: 1",
            "keeps a late scheduled invocation from overlapping the previous one",
        );
        o.push_str("  trigger:\n");
        let why = if f.handler.is_some() {
            "guessed: the handler ignores its event and polls the queue itself;\nan sqs trigger would delete messages it never reads"
        } else {
            "guessed: the unchanged polling code, invoked on a timer"
        };
        commented(&mut o, "    type: schedule", why);
        commented(&mut o, "    rate: 1m", "how often it polls");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn service_names_from_ecs_read_as_words_within_32() {
        for (ecs, want) in [
            ("orders-worker", "orders-worker"),
            ("OrdersWorker", "orders-worker"),
            (
                "OrdersStack-OrdersWorkerServiceECBA5E0E-Lm4xYqZ9vT2k",
                "orders-worker-service",
            ),
            (
                "PaymentsPipelineStack-QueueProcessingFargateService1A2B3C4D-9f8E7d6C5b4A",
                "queue-processing-fargate-service",
            ),
            ("SQSWorker2", "sqs-worker2"),
            ("sz_sqs_consumer", "sz-sqs-consumer"),
        ] {
            let got = service_name_from_ecs(ecs);
            assert_eq!(got, want, "{ecs}");
            assert!(got.len() <= 32);
        }
        let long = "A".repeat(90);
        assert_eq!(service_name_from_ecs(&long).len(), 32);
    }

    #[test]
    fn service_names_are_sanitised() {
        assert_eq!(service_name("sqs-worker"), "sqs-worker");
        assert_eq!(service_name("My_Worker 2"), "my-worker-2");
        assert_eq!(service_name("2fast--Queue."), "fast-queue");
        assert_eq!(service_name("..."), "worker");
        assert_eq!(service_name(&"a".repeat(40)).len(), 32);
        assert_eq!(
            service_name("abcdefghijklmnopqrstuvwxyzabcde-x"),
            "abcdefghijklmnopqrstuvwxyzabcde"
        );
    }

    #[test]
    fn modules_of_commands() {
        assert_eq!(cmd_module(&s(&["python", "app.py"])), Some("app".into()));
        assert_eq!(
            cmd_module(&s(&["/usr/local/bin/python3", "-u", "src/w.py"])),
            Some("src.w".into())
        );
        assert_eq!(
            cmd_module(&s(&["python", "-m", "pkg.main"])),
            Some("pkg.main".into())
        );
        assert_eq!(cmd_module(&s(&["node", "app.js"])), None);
        assert_eq!(cmd_module(&s(&["python", ""])), None);
        assert_eq!(module_of_path("../x.py"), None);
    }

    #[test]
    fn handlers_and_what_they_read() {
        assert_eq!(python_handler("def handler(event, context):\n    for r in event.get(\"Records\", []):\n        pass\n"), Some(true));
        assert_eq!(
            python_handler("def handler(ev, ctx):\n    return [x for x in ev['Records']]\n"),
            Some(true)
        );
        let article = "def handler(event, context):\n    get_response = sqs_client.receive_message(QueueUrl=QUEUE_URL)\n\ndef other(event):\n    event['Records']\n";
        assert_eq!(python_handler(article), Some(false));
        assert_eq!(
            python_handler("def handle(event, context):\n    pass\n"),
            None
        );
        assert_eq!(
            python_handler("    def handler(event, context):\n        pass\n"),
            None
        );
        assert_eq!(python_handler("def handler(event):\n    pass\n"), None);
    }

    #[test]
    fn queue_variables_in_code() {
        assert_eq!(
            queue_env("QUEUE_URL = os.environ.get(\"SQS_QUEUE_URL\", \"\")"),
            Some("SQS_QUEUE_URL".into())
        );
        assert_eq!(
            queue_env("x = os.getenv('JOBS_QUEUE')"),
            Some("JOBS_QUEUE".into())
        );
        assert_eq!(queue_env("x = os.environ['REGION']"), None);
    }

    fn facts(handler: Option<Handler>) -> Facts {
        Facts {
            folder: "Orders Worker".into(),
            image: ImageFacts {
                base: Some("python:3.12-slim".into()),
                workdir: Some("/srv".into()),
                cmd: Some(s(&["python", "app.py"])),
                entrypoint: None,
                build_bases: Vec::new(),
            },
            cmd_module: Some("app".into()),
            handler,
            queue_env: Some("JOBS_URL_QUEUE".into()),
        }
    }

    fn yaml(text: &str) -> serde_yaml_ng::Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn an_event_handler_gets_the_sqs_trigger() {
        let text = config_text(&facts(Some(Handler {
            module: "app".into(),
            reads_records: true,
        })));
        let v = yaml(&text);
        assert_eq!(v["service"], "orders-worker");
        assert_eq!(v["lambda"]["trigger"]["type"], "sqs");
        assert_eq!(v["lambda"]["command"][0], "app.handler");
        assert_eq!(v["lambda"]["working_directory"], "/srv");
        assert_eq!(v["lambda"]["entry_point"][0], "/usr/local/bin/python");
        assert_eq!(v["queue"]["url_env"], "JOBS_URL_QUEUE");
        assert_eq!(v["ecs"]["command"][1], "app.py");
        assert!(
            text.lines()
                .any(|l| l.contains("subnets: []") && l.contains("TO FILL")),
            "{text}"
        );
    }

    #[test]
    fn a_polling_handler_or_none_gets_the_schedule_trigger() {
        for h in [
            Some(Handler {
                module: "app".into(),
                reads_records: false,
            }),
            None,
        ] {
            let text = config_text(&facts(h.clone()));
            let v = yaml(&text);
            assert_eq!(v["lambda"]["trigger"]["type"], "schedule", "{h:?}");
            assert_eq!(v["lambda"]["command"][0], "app.handler");
            let command = text
                .lines()
                .find(|l| l.contains("command: [\"app.handler\"]"))
                .unwrap();
            assert_eq!(command.contains("TO WRITE"), h.is_none(), "{command}");
        }
    }

    #[test]
    fn every_value_line_has_a_comment_or_is_a_section() {
        let text = config_text(&facts(None));
        for l in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        {
            assert!(
                l.contains('#') || l.trim_end().ends_with(':'),
                "no comment: {l}"
            );
        }
    }
}
