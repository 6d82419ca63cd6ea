//! `replatform init` with the real binary, no AWS: in copies of the two examples' folders, of a
//! folder holding the seed article's (docs/seed-article.md) worker, and of folders holding
//! real-world Dockerfile shapes (Node.js, Go built in a `golang` stage and run from `scratch`, a
//! Python script entry point, a hyphenated script name with `ARG` before `FROM`, a numeric `USER`
//! and no `WORKDIR`, Java, .NET, Ruby, and a worker whose language nothing names), it writes a
//! config that `validate` accepts once the subnets and security groups are filled, and names
//! exactly those until then, with the language's runtime interface client and a handler that
//! language loads (docs/config.md#languages); it never replaces a file without `--force`.

use std::path::Path;
use std::process::Command;

use serde_yaml_ng::Value;

use crate::common::{replatform, repo};

/// No endpoint: `init` and `validate` make no AWS call.
const NOWHERE: &str = "http://127.0.0.1:9";

/// The seed article's (docs/seed-article.md) worker: a `handler(event, context)` that ignores its
/// event and polls the queue itself, and its Dockerfile, which sets no WORKDIR and adds the runtime
/// client.
const ARTICLE_APP: &str = r#"import os
import boto3

QUEUE_URL = os.environ.get("SQS_QUEUE_URL", "")
MAX_NUM_MSGS = int(os.environ.get("SQS_MAX_NUM_MSGS", 10))
VISIBILITY_TO = int(os.environ.get("SQS_VISIBILITY_TO", 15))
WAIT_SECONDS = int(os.environ.get("SQS_WAIT_SECONDS", 10))

sqs_client = boto3.client("sqs")

def handler(event, context):
    get_response = sqs_client.receive_message(
        QueueUrl=QUEUE_URL, MaxNumberOfMessages=MAX_NUM_MSGS,
        VisibilityTimeout=VISIBILITY_TO, WaitTimeSeconds=WAIT_SECONDS)
    messages = get_response.get("Messages", [])
    for msg in messages:
        print(f"Message body: {msg['Body']}")
        sqs_client.delete_message(QueueUrl=QUEUE_URL, ReceiptHandle=msg["ReceiptHandle"])

if __name__ == "__main__":
    handler("", "")
"#;
const ARTICLE_DOCKERFILE: &str = "FROM python:3.10\n\nCOPY requirements.txt  .\nRUN pip install -r requirements.txt\n\nRUN pip install awslambdaric\n\nCOPY app.py .\n\nCMD [\"python\", \"app.py\"]\n";

fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    replatform(NOWHERE, dir, args).output().unwrap()
}

/// A folder named `name` holding the example's files but not its config.
fn copy_example(root: &Path, name: &str) -> std::path::PathBuf {
    let dir = root.join(name);
    std::fs::create_dir(&dir).unwrap();
    for f in ["Dockerfile", "app.py", "requirements.txt"] {
        std::fs::copy(repo().join("examples").join(name).join(f), dir.join(f)).unwrap();
    }
    dir
}

fn article(root: &Path) -> std::path::PathBuf {
    let dir = root.join("Article_Worker");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("app.py"), ARTICLE_APP).unwrap();
    std::fs::write(dir.join("Dockerfile"), ARTICLE_DOCKERFILE).unwrap();
    std::fs::write(dir.join("requirements.txt"), "boto3\n").unwrap();
    dir
}

fn validate_json(dir: &Path) -> (i32, serde_json::Value) {
    let out = run(dir, &["validate", "--output", "json"]);
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout))),
    )
}

fn fill(dir: &Path) {
    let path = dir.join("replatform.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replacen("subnets: []", "subnets: [subnet-0123456789abcdef0]", 1)
        .replacen(
            "security_groups: []",
            "security_groups: [sg-0123456789abcdef0]",
            1,
        );
    std::fs::write(&path, text).unwrap();
}

/// init, then validate: exactly the subnets and security groups are left, as errors with hints;
/// filled, the config is valid. Returns the written config.
fn init_then_validate(dir: &Path) -> Value {
    init_then_validate_leaving(dir, &[])
}

/// `init_then_validate`, where `validate` also names `placeholders` (fields `init` could not
/// guess) until they are filled with real values.
fn init_then_validate_leaving(dir: &Path, placeholders: &[(&str, &str, &str)]) -> Value {
    let out = run(dir, &["init"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("left to fill: ecs.subnets, ecs.security_groups"),
        "{stderr}"
    );
    assert!(dir.join(".dockerignore").is_file());
    let (code, doc) = validate_json(dir);
    assert_eq!(code, 1, "{doc}");
    let errors: Vec<(&str, &str)> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| (d["path"].as_str().unwrap(), d["hint"].as_str().unwrap()))
        .collect();
    let mut want = vec!["ecs.subnets", "ecs.security_groups"];
    want.extend(placeholders.iter().map(|p| p.0));
    assert_eq!(
        errors.iter().map(|e| e.0).collect::<Vec<_>>(),
        want,
        "{doc}"
    );
    assert!(errors.iter().all(|e| !e.1.is_empty()));
    let config: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(dir.join("replatform.yaml")).unwrap())
            .unwrap();
    fill(dir);
    let path = dir.join("replatform.yaml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    for (_, placeholder, value) in placeholders {
        text = text.replace(placeholder, value);
    }
    std::fs::write(&path, text).unwrap();
    let (code, doc) = validate_json(dir);
    assert_eq!(
        (code, doc["valid"].as_bool(), doc["errors"].as_u64()),
        (0, Some(true), Some(0)),
        "{doc}"
    );
    config
}

#[test]
fn the_examples_folders_get_configs_that_validate_accepts() {
    let root = tempfile::tempdir().unwrap();
    let polling = init_then_validate(&copy_example(root.path(), "sqs-worker"));
    assert_eq!(polling["service"], "sqs-worker");
    assert_eq!(
        polling["lambda"]["trigger"]["type"], "schedule",
        "its handler polls the queue itself"
    );
    assert_eq!(polling["lambda"]["command"][0], "app.handler");
    assert_eq!(polling["lambda"]["working_directory"], "/app");
    assert_eq!(
        polling["ecs"]["command"],
        serde_yaml_ng::from_str::<Value>("[python, app.py]").unwrap()
    );
    let event = init_then_validate(&copy_example(root.path(), "sqs-event-worker"));
    assert_eq!(
        event["lambda"]["trigger"]["type"], "sqs",
        "its handler reads the event's Records"
    );
    assert_eq!(event["lambda"]["command"][0], "app.handler");
    // The example's own settings for its trigger.
    assert_eq!(event["queue"]["visibility_timeout"], "180s");
}

#[test]
fn the_articles_worker_gets_the_schedule_trigger_in_its_base_images_folder() {
    let root = tempfile::tempdir().unwrap();
    let dir = article(root.path());
    let config = init_then_validate(&dir);
    assert_eq!(config["service"], "article-worker");
    assert_eq!(config["lambda"]["trigger"]["type"], "schedule");
    assert_eq!(config["lambda"]["command"][0], "app.handler");
    assert_eq!(
        config["lambda"]["working_directory"], "/",
        "no WORKDIR: the base image's"
    );
    assert_eq!(config["queue"]["url_env"], "SQS_QUEUE_URL");
    let text = std::fs::read_to_string(dir.join("replatform.yaml")).unwrap();
    for key in [
        "service:",
        "working_directory:",
        "type: schedule",
        "subnets:",
        "security_groups:",
    ] {
        let line = text.lines().find(|l| l.contains(key)).unwrap();
        assert!(line.contains("# "), "no comment on `{line}`");
    }
}

#[test]
fn a_second_init_refuses_without_force_and_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = copy_example(root.path(), "sqs-event-worker");
    std::fs::write(dir.join(".dockerignore"), "mine\n").unwrap();
    assert_eq!(run(&dir, &["init"]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join(".dockerignore")).unwrap(),
        "mine\n",
        "an existing .dockerignore is kept"
    );
    std::fs::write(dir.join("replatform.yaml"), "service: edited\n").unwrap();
    let out = run(&dir, &["init"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`replatform.yaml` already exists")
            && stderr.contains("hint: pass --force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("replatform.yaml")).unwrap(),
        "service: edited\n"
    );
    let out = run(&dir, &["init", "--force"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(dir.join("replatform.yaml"))
        .unwrap()
        .contains("service: sqs-event-worker"));
}

#[test]
fn a_folder_without_a_dockerfile_is_refused_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_replatform"))
        .current_dir(root.path())
        .args(["init"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no `Dockerfile` in `.`") && stderr.contains("hint:"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn json_names_what_was_written_and_what_is_left() {
    let root = tempfile::tempdir().unwrap();
    let dir = copy_example(root.path(), "sqs-worker");
    let out = run(&dir, &["init", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["service"], "sqs-worker");
    assert_eq!(doc["trigger"], "schedule");
    assert_eq!(doc["handler"], "app.handler");
    assert_eq!(
        doc["written"],
        serde_json::json!(["replatform.yaml", ".dockerignore"])
    );
    assert_eq!(
        doc["left"],
        serde_json::json!(["ecs.subnets", "ecs.security_groups"])
    );
}

// Real-world Dockerfile shapes of other languages and other Python layouts: each folder's
// config names the language's runtime interface client and a handler that language loads, says
// on a comment which language and why, and validates once the network is filled.

/// A folder named `name` holding these files.
fn folder(root: &Path, name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = root.join(name);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn config_text(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("replatform.yaml")).unwrap()
}

fn strings(v: &Value) -> Vec<String> {
    serde_yaml_ng::from_value(v.clone()).unwrap()
}

/// The line of the written config holding `key` in the `lambda:` section, with the comment lines
/// that continue it.
/// A worker with no handler runs unchanged under the bridge: `init` writes none of the
/// handler's fields, and what a handler would take commented out, `  #   KEY: VALUE`.
fn handler_alternative(text: &str, key: &str) -> serde_yaml_ng::Value {
    let prefix = format!("  #   {key}: ");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no commented {key}:\n{text}"));
    serde_yaml_ng::from_str(line).unwrap()
}

fn assert_bridged(config: &Value, text: &str) {
    assert_eq!(config["lambda"]["trigger"]["type"], "bridge", "{text}");
    for key in ["entry_point", "command", "working_directory"] {
        assert!(config["lambda"][key].is_null(), "{key}: {text}");
    }
    assert!(
        text.contains("no handler found: the worker runs unchanged"),
        "{text}"
    );
}

fn lambda_line(text: &str, key: &str) -> String {
    let section = &text[text.find("\nlambda:\n").expect("a lambda section")..];
    let mut lines = section.lines().skip_while(|l| !l.contains(key));
    let mut out = lines
        .next()
        .unwrap_or_else(|| panic!("no {key}:\n{text}"))
        .to_string();
    for l in lines.take_while(|l| l.starts_with(&format!("{:32}#", ""))) {
        out.push('\n');
        out.push_str(l);
    }
    out
}

fn init_stderr(dir: &Path) -> String {
    let out = run(dir, &["init", "--force"]);
    assert_eq!(out.status.code(), Some(0));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const NODE_DOCKERFILE: &str = "FROM node:20-slim\nWORKDIR /usr/src/app\nCOPY package*.json ./\nRUN npm ci --omit=dev\nCOPY . .\nUSER node\nCMD [\"node\", \"worker.js\"]\n";

#[test]
fn a_node_worker_gets_the_node_runtime_interface_client_and_its_exported_handler() {
    let root = tempfile::tempdir().unwrap();
    let dir = folder(
        root.path(),
        "orders-node",
        &[
            ("Dockerfile", NODE_DOCKERFILE),
            (
                "package.json",
                r#"{"name": "orders", "main": "worker.js", "dependencies": {"@aws-sdk/client-sqs": "^3.600.0", "aws-lambda-ric": "^3.2.0"}}"#,
            ),
            (
                "worker.js",
                "const { SQSClient } = require(\"@aws-sdk/client-sqs\");\nconst queueUrl = process.env.ORDERS_QUEUE_URL;\n\nexports.handler = async (event) => {\n  for (const record of event.Records) {\n    console.log(record.body);\n  }\n};\n",
            ),
        ],
    );
    let config = init_then_validate(&dir);
    let lambda = &config["lambda"];
    assert_eq!(
        strings(&lambda["entry_point"]),
        ["/usr/local/bin/npx", "aws-lambda-ric"]
    );
    assert_eq!(lambda["command"][0], "worker.handler");
    assert_eq!(lambda["working_directory"], "/usr/src/app");
    assert_eq!(
        lambda["trigger"]["type"], "sqs",
        "the exported handler reads the event's Records"
    );
    assert_eq!(config["queue"]["url_env"], "ORDERS_QUEUE_URL");
    let text = config_text(&dir);
    assert!(
        text.contains("# language: Node.js, guessed: the image starts `node worker.js`"),
        "{text}"
    );
    assert!(lambda_line(&text, "entry_point:").contains("aws-lambda-ric"));
    assert!(
        !text.contains("awslambdaric"),
        "never Python's client:\n{text}"
    );

    // Without a handler yet: the one to write is named, from package.json's main.
    std::fs::write(
        dir.join("worker.js"),
        "const queueUrl = process.env.ORDERS_QUEUE_URL;\nasync function poll() {}\npoll();\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        NODE_DOCKERFILE.replace("[\"node\", \"worker.js\"]", "[\"npm\", \"start\"]"),
    )
    .unwrap();
    let stderr = init_stderr(&dir);
    assert!(
        stderr.contains("left to fill: ecs.subnets, ecs.security_groups;"),
        "{stderr}"
    );
    let text = config_text(&dir);
    let config: Value = serde_yaml_ng::from_str(&text).unwrap();
    assert_bridged(&config, &text);
    assert_eq!(handler_alternative(&text, "command")[0], "worker.handler");
    let out = run(&dir, &["init", "--force", "--output", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["language"], "node");
    assert_eq!(doc["language_reason"], "the image starts `npm start`");
}

#[test]
fn a_go_binary_built_in_a_golang_stage_and_run_from_scratch_is_its_own_entry_point() {
    let root = tempfile::tempdir().unwrap();
    let dir = folder(
        root.path(),
        "go-worker",
        &[
            (
                "Dockerfile",
                "# syntax=docker/dockerfile:1\nFROM golang:1.22-alpine AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN CGO_ENABLED=0 go build -ldflags=\"-s -w\" -o /out/worker ./cmd/worker\n\nFROM scratch\nCOPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/\nCOPY --from=build /out/worker /worker\nUSER 65532:65532\nENTRYPOINT [\"/worker\"]\n",
            ),
            ("go.mod", "module example.com/worker\n\ngo 1.22\n"),
            ("go.sum", ""),
            (
                "main.go",
                "package main\n\nimport \"os\"\n\nfunc main() {\n\tqueue := os.Getenv(\"JOBS_QUEUE_URL\")\n\t_ = queue\n}\n",
            ),
        ],
    );
    let config = init_then_validate(&dir);
    let text = config_text(&dir);
    assert_bridged(&config, &text);
    assert_eq!(
        strings(&handler_alternative(&text, "entry_point")),
        ["/worker"]
    );
    assert_eq!(handler_alternative(&text, "command")[0], "lambda");
    assert_eq!(handler_alternative(&text, "working_directory"), "/");
    assert_eq!(config["queue"]["url_env"], "JOBS_QUEUE_URL");
    assert!(text.contains("# language: Go, guessed: the final image, on `scratch`, runs what a `golang:1.22-alpine` stage builds"), "{text}");
    assert!(!text.contains("awslambdaric"), "{text}");
    // Nothing to write: the binary runs as it is.
    assert!(init_stderr(&dir).contains("left to fill: ecs.subnets, ecs.security_groups;"));
}

#[test]
fn a_python_script_entry_point_gives_its_module_and_its_folder() {
    let root = tempfile::tempdir().unwrap();
    // The script is copied from a subfolder of the context: its handler is found where the
    // Dockerfile took it from.
    let dir = folder(
        root.path(),
        "sz",
        &[
            (
                "Dockerfile",
                "FROM python:3.11-slim\nRUN pip install boto3 awslambdaric\nCOPY consumer/ /app/\nENTRYPOINT [\"python\", \"/app/sz_sqs_consumer.py\"]\n",
            ),
            (
                "consumer/sz_sqs_consumer.py",
                "import os\nimport boto3\n\nQUEUE = os.environ[\"SZ_SQS_QUEUE_URL\"]\n\ndef handler(event, context):\n    boto3.client(\"sqs\").receive_message(QueueUrl=QUEUE)\n\nif __name__ == \"__main__\":\n    while True:\n        handler(None, None)\n",
            ),
        ],
    );
    let config = init_then_validate(&dir);
    let lambda = &config["lambda"];
    assert_eq!(lambda["command"][0], "sz_sqs_consumer.handler");
    assert_eq!(lambda["working_directory"], "/app");
    assert_eq!(lambda["entry_point"][0], "/usr/local/bin/python");
    assert_eq!(lambda["entry_point"][2], "awslambdaric");
    assert_eq!(lambda["trigger"]["type"], "schedule");
    assert_eq!(config["queue"]["url_env"], "SZ_SQS_QUEUE_URL");
    let text = config_text(&dir);
    assert!(
        lambda_line(&text, "command:")
            .contains("guessed: `handler(event, context)` in sz_sqs_consumer"),
        "{text}"
    );
    assert!(
        lambda_line(&text, "working_directory:").contains("/app/sz_sqs_consumer.py"),
        "{text}"
    );
    assert!(text.contains(
        "# language: Python, guessed: the image starts `python /app/sz_sqs_consumer.py`"
    ));
}

#[test]
fn a_hyphenated_script_with_arg_before_from_a_numeric_user_and_no_workdir() {
    let root = tempfile::tempdir().unwrap();
    let dir = folder(
        root.path(),
        "sqs-reader",
        &[
            (
                "Dockerfile",
                "ARG PY=3.12\nFROM python:${PY}-slim\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY sqs-reader.py .\nUSER 1000\nCMD [\"python\", \"sqs-reader.py\"]\n",
            ),
            ("requirements.txt", "boto3\nawslambdaric\n"),
            (
                "sqs-reader.py",
                "import os\nimport boto3\n\nURL = os.getenv(\"READER_QUEUE_URL\")\n\ndef handler(event, context):\n    boto3.client(\"sqs\").receive_message(QueueUrl=URL)\n",
            ),
        ],
    );
    let config = init_then_validate(&dir);
    let lambda = &config["lambda"];
    assert_eq!(
        lambda["command"][0], "sqs_reader.handler",
        "`sqs-reader` cannot be imported"
    );
    assert_eq!(
        lambda["working_directory"], "/",
        "no WORKDIR: the base image's"
    );
    assert_eq!(
        lambda["entry_point"][0], "/usr/local/bin/python",
        "ARG before FROM resolved: python:3.12-slim"
    );
    let text = config_text(&dir);
    let command = lambda_line(&text, "command:");
    assert!(
        command.contains("TO WRITE: Python cannot import `sqs-reader.py`")
            && command.contains("rename it `sqs_reader.py`"),
        "{command}"
    );
    assert!(text.contains("# language: Python, guessed: the image starts `python sqs-reader.py`"));
    let stderr = init_stderr(&dir);
    assert!(
        stderr.contains(
            "lambda.command (`sqs-reader.py` is not importable: rename it `sqs_reader.py`)"
        ),
        "{stderr}"
    );
    let out = run(&dir, &["init", "--force", "--output", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["handler"],
        serde_json::Value::Null,
        "no importable handler yet"
    );
}

#[test]
fn java_dotnet_and_ruby_workers_get_their_runtime_interface_clients() {
    let root = tempfile::tempdir().unwrap();
    let java = folder(
        root.path(),
        "java-worker",
        &[
            (
                "Dockerfile",
                "FROM maven:3.9-eclipse-temurin-21 AS build\nWORKDIR /src\nCOPY pom.xml .\nCOPY src ./src\nRUN mvn -q -DskipTests package\n\nFROM eclipse-temurin:21-jre\nWORKDIR /app\nCOPY --from=build /src/target/worker-1.0.jar app.jar\nENTRYPOINT [\"java\", \"-XX:MaxRAMPercentage=75\", \"-jar\", \"app.jar\"]\n",
            ),
            ("pom.xml", "<project></project>\n"),
        ],
    );
    let config = init_then_validate(&java);
    let text = config_text(&java);
    assert_bridged(&config, &text);
    assert_eq!(
        strings(&handler_alternative(&text, "entry_point")),
        [
            "/opt/java/openjdk/bin/java",
            "-cp",
            "/app/app.jar",
            "com.amazonaws.services.lambda.runtime.api.client.AWSLambda"
        ]
    );
    assert_eq!(
        handler_alternative(&text, "command")[0],
        "com.example.Handler::handleRequest"
    );
    assert!(text.contains("# language: Java, guessed: the image starts `java -XX:MaxRAMPercentage=75 -jar app.jar`"), "{text}");

    let dotnet = folder(
        root.path(),
        "dotnet-worker",
        &[
            (
                "Dockerfile",
                "FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build\nWORKDIR /src\nCOPY . .\nRUN dotnet publish OrdersWorker.csproj -c Release -o /out\n\nFROM mcr.microsoft.com/dotnet/runtime:8.0\nWORKDIR /app\nCOPY --from=build /out .\nENTRYPOINT [\"dotnet\", \"OrdersWorker.dll\"]\n",
            ),
            ("OrdersWorker.csproj", "<Project Sdk=\"Microsoft.NET.Sdk.Worker\"></Project>\n"),
        ],
    );
    let config = init_then_validate(&dotnet);
    let text = config_text(&dotnet);
    assert_bridged(&config, &text);
    let entry = strings(&handler_alternative(&text, "entry_point"));
    assert_eq!(entry[..2], ["dotnet", "exec"]);
    assert!(entry.contains(&"/app/OrdersWorker.deps.json".to_string()));
    assert!(entry.contains(&"/app/OrdersWorker.runtimeconfig.json".to_string()));
    assert_eq!(
        entry.last().unwrap(),
        "/app/Amazon.Lambda.RuntimeSupport.dll"
    );
    assert_eq!(
        handler_alternative(&text, "command")[0],
        "OrdersWorker::OrdersWorker.Function::FunctionHandler"
    );
    assert!(text.contains("# language: .NET, guessed: the image starts `dotnet OrdersWorker.dll`"));

    let ruby = folder(
        root.path(),
        "ruby-worker",
        &[
            (
                "Dockerfile",
                "FROM ruby:3.3-slim\nWORKDIR /app\nCOPY Gemfile Gemfile.lock ./\nRUN bundle install\nCOPY . .\nCMD [\"bundle\", \"exec\", \"ruby\", \"worker.rb\"]\n",
            ),
            ("Gemfile", "source 'https://rubygems.org'\ngem 'aws-sdk-sqs'\ngem 'aws_lambda_ric'\n"),
            ("Gemfile.lock", ""),
            (
                "worker.rb",
                "require 'aws-sdk-sqs'\n\nQUEUE_URL = ENV.fetch('WORK_QUEUE_URL')\n\ndef handler(event:, context:)\n  event['Records'].each { |r| puts r['body'] }\nend\n",
            ),
        ],
    );
    let config = init_then_validate(&ruby);
    assert_eq!(
        strings(&config["lambda"]["entry_point"]),
        ["/usr/local/bundle/bin/aws_lambda_ric"]
    );
    assert_eq!(config["lambda"]["command"][0], "worker.handler");
    assert_eq!(config["lambda"]["trigger"]["type"], "sqs");
    assert_eq!(config["queue"]["url_env"], "WORK_QUEUE_URL");
    let text = config_text(&ruby);
    assert!(
        text.contains("# language: Ruby, guessed: the image starts `bundle exec ruby worker.rb`")
    );
    for t in [config_text(&java), config_text(&dotnet), text] {
        assert!(!t.contains("awslambdaric"), "never Python's client:\n{t}");
    }
}

#[test]
fn an_unknown_language_is_never_guessed_python() {
    let root = tempfile::tempdir().unwrap();
    let dir = folder(
        root.path(),
        "mystery",
        &[(
            "Dockerfile",
            "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y --no-install-recommends ca-certificates\nCOPY worker /usr/local/bin/worker\nCMD [\"/usr/local/bin/worker\", \"--poll\"]\n",
        )],
    );
    // Nothing left to fill but the network: the unchanged binary runs under the bridge.
    let config = init_then_validate(&dir);
    let text = config_text(&dir);
    assert_bridged(&config, &text);
    assert!(
        !text.contains("awslambdaric") && !text.contains("python"),
        "{text}"
    );
    assert!(
        text.contains("# language: unknown: nothing names a language"),
        "{text}"
    );
    assert_eq!(
        handler_alternative(&text, "entry_point")[0],
        "/TO-FILL/runtime-interface-client"
    );
    assert!(lambda_line(&text, "type: bridge").contains("docs/bridge.md"));
    assert!(init_stderr(&dir).contains("left to fill: ecs.subnets, ecs.security_groups;"));
}
