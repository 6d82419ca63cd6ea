//! The binary as a user runs it: exit codes, where output goes, files written.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{examples, variant, BASE};
use serde_yaml_ng::Value as V;

fn replatform(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_replatform"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("REPLATFORM_TEMPLATES")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn with_config(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("replatform.yaml"), yaml).unwrap();
    dir
}

#[test]
fn validate_passes_a_good_file_and_fails_a_bad_one_with_exit_code_1() {
    let good = with_config(BASE);
    let out = replatform(good.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("replatform.yaml is valid"));

    let bad = with_config(&BASE.replace(
        "service: orders-worker",
        "service: orders-worker\nservce: x",
    ));
    let out = replatform(bad.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown key `servce`")
            && err.contains("replatform.yaml:2:1")
            && err.contains("hint: did you mean `service`?"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn warnings_pass_unless_strict() {
    let dir = with_config(&variant(BASE, &[("queue.dead_letter", V::from(false))]));
    let out = replatform(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("warning: without a dead-letter queue"),
        "{}",
        text(&out.stderr)
    );
    let strict = replatform(dir.path(), &["validate", "--strict"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(text(&strict.stderr).contains("1 warning with --strict"));
}

#[test]
fn validate_json_is_one_document_on_stdout() {
    let dir = with_config(&variant(
        BASE,
        &[
            ("queue.visibility_timeout", V::from("10s")),
            ("queue.dead_letter", V::from(false)),
        ],
    ));
    let out = replatform(dir.path(), &["validate", "--output", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["valid"], false);
    assert_eq!(
        (doc["errors"].as_u64(), doc["warnings"].as_u64()),
        (Some(1), Some(1))
    );
    let first = &doc["diagnostics"][0];
    assert_eq!(
        (
            first["severity"].as_str(),
            first["code"].as_str(),
            first["path"].as_str()
        ),
        (
            Some("error"),
            Some("visibility-timeout"),
            Some("queue.visibility_timeout")
        )
    );
    assert!(first["location"][0].as_u64().is_some());
    assert!(
        text(&out.stderr).trim().is_empty(),
        "json mode keeps diagnostics in the document: {}",
        text(&out.stderr)
    );
}

#[test]
fn missing_file_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = replatform(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("error: cannot read `replatform.yaml`")
            && err.contains("hint: run in the service's folder, or name the file with `-f PATH`"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        replatform(dir.path(), &["frobnicate"]).status.code(),
        Some(2)
    );
    assert_eq!(
        replatform(dir.path(), &["render", "--output", "xml"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(replatform(dir.path(), &["--help"]).status.code(), Some(0));
}

#[test]
fn render_writes_both_stacks_and_the_same_bytes_twice() {
    for (name, path) in examples() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = path.display().to_string();
        let out = replatform(dir.path(), &["render", "-f", &cfg, "--out", "first"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("no --image-uri given"),
            "{name}: the placeholder is said"
        );
        replatform(dir.path(), &["render", "-f", &cfg, "--out", "second"]);
        let files: Vec<String> = {
            let mut f: Vec<String> = std::fs::read_dir(dir.path().join("first"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            f.sort();
            f
        };
        assert_eq!(
            files,
            [format!("{name}-ecs.yaml"), format!("{name}-lambda.yaml")]
        );
        for f in &files {
            assert_eq!(
                std::fs::read(dir.path().join("first").join(f)).unwrap(),
                std::fs::read(dir.path().join("second").join(f)).unwrap(),
                "{f}"
            );
        }
    }
}

#[test]
fn render_defaults_to_dot_replatform_and_reports_json() {
    let dir = with_config(BASE);
    let out = replatform(dir.path(), &["render", "--output", "json", "--image-uri", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-worker@sha256:3333333333333333333333333333333333333333333333333333333333333333"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["placeholder_image"], false);
    assert_eq!(doc["stacks"][0]["name"], "orders-worker-ecs");
    let ecs =
        std::fs::read_to_string(dir.path().join(".replatform/orders-worker-ecs.yaml")).unwrap();
    assert!(ecs.contains("orders-worker@sha256:3333"));
}

#[test]
fn render_refuses_a_tag_another_registry_and_another_region() {
    let dir = with_config(BASE);
    let cases = [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-worker:latest", "has no digest"),
        ("ghcr.io/acme/worker@sha256:3333333333333333333333333333333333333333333333333333333333333333", "not in Amazon ECR"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders-worker@sha256:3333333333333333333333333333333333333333333333333333333333333333", "only from its own region"),
    ];
    for (uri, says) in cases {
        let out = replatform(dir.path(), &["render", "--image-uri", uri]);
        assert_eq!(out.status.code(), Some(1), "{uri}");
        assert!(
            text(&out.stderr).contains(says) && text(&out.stderr).contains("hint:"),
            "{uri}: {}",
            text(&out.stderr)
        );
        assert!(
            !dir.path().join(".replatform").exists(),
            "{uri}: nothing is written"
        );
    }
}

#[test]
fn render_stops_on_lint_errors_without_writing() {
    let dir = with_config(&variant(
        BASE,
        &[("lambda.trigger.max_concurrency", V::from(50))],
    ));
    let out = replatform(dir.path(), &["render"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("max_concurrency 50 is above reserved_concurrency 5"));
    assert!(!dir.path().join(".replatform").exists());
}

#[test]
fn exported_templates_round_trip_and_overrides_take_effect() {
    let dir = with_config(BASE);
    let out = replatform(dir.path(), &["templates", "--out", "mine"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        dir.path()
            .join("mine/templates/ecs-service.yaml.hbs")
            .is_file()
            && dir.path().join("mine/stacks/lambda.yaml").is_file()
    );
    assert_eq!(
        replatform(dir.path(), &["templates", "--out", "mine"])
            .status
            .code(),
        Some(1),
        "existing files are not replaced without --force"
    );

    replatform(dir.path(), &["render", "--out", "builtin"]);
    replatform(
        dir.path(),
        &["render", "--templates", "mine", "--out", "copy"],
    );
    for f in ["orders-worker-ecs.yaml", "orders-worker-lambda.yaml"] {
        assert_eq!(
            std::fs::read(dir.path().join("builtin").join(f)).unwrap(),
            std::fs::read(dir.path().join("copy").join(f)).unwrap()
        );
    }

    // A team's change to one template: only that file in their folder.
    let custom = dir.path().join("custom/templates");
    std::fs::create_dir_all(&custom).unwrap();
    let svc =
        std::fs::read_to_string(dir.path().join("mine/templates/ecs-service.yaml.hbs")).unwrap();
    std::fs::write(
        custom.join("ecs-service.yaml.hbs"),
        svc.replace("PropagateTags: SERVICE", "PropagateTags: TASK_DEFINITION"),
    )
    .unwrap();
    let out = replatform(
        dir.path(),
        &["render", "--templates", "custom", "--out", "custom-out"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let ecs =
        std::fs::read_to_string(dir.path().join("custom-out/orders-worker-ecs.yaml")).unwrap();
    assert!(ecs.contains("PropagateTags: TASK_DEFINITION"));

    // A broken template is an error that names it.
    std::fs::write(
        custom.join("ecs-service.yaml.hbs"),
        "Resources:\n  X: {{nope.missing}}\n",
    )
    .unwrap();
    let out = replatform(
        dir.path(),
        &["render", "--templates", "custom", "--out", "broken-out"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("templates/ecs-service.yaml.hbs"),
        "{}",
        text(&out.stderr)
    );
}

fn help(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_replatform"))
        .current_dir(dir.path())
        .args(args)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .env_remove("REPLATFORM_TEMPLATES")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The sections of a `--help`: each heading (`Options:`) with the long flags under it (an
/// option's line starts at column 2, or 6 when it has no short form; wrapped text is deeper).
fn sections(help: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in help.lines() {
        if let Some(heading) = line
            .strip_suffix(':')
            .filter(|h| !h.starts_with(' ') && !h.is_empty())
        {
            out.push((heading.to_string(), vec![]));
        } else if let (Some((_, flags)), Some(long)) = (
            out.last_mut(),
            Some(line.trim_start())
                .filter(|l| l.starts_with('-') && [2, 6].contains(&(line.len() - l.len())))
                .and_then(|l| l.split([' ', ',']).find(|w| w.starts_with("--"))),
        ) {
            flags.push(long.trim_end_matches("...").to_string());
        }
    }
    out
}

/// In every `--help`, the options every command takes come last, under a heading of
/// their own, and the command's own options before them.
#[test]
fn every_help_lists_the_global_options_last_under_their_own_heading() {
    use clap::CommandFactory;
    let cli = replatform::cli::Cli::command();
    let long = |a: &clap::Arg| a.get_long().map(|l| format!("--{l}"));
    let global: Vec<String> = cli
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(long)
        .collect();
    assert!(
        [
            "--file",
            "--templates",
            "--output",
            "--quiet",
            "--verbose",
            "--profile",
            "--region",
            "--help",
            "--version"
        ]
        .iter()
        .all(|f| global.contains(&f.to_string())),
        "{global:?}"
    );

    let mut commands: Vec<(Vec<&str>, Vec<String>)> = vec![(vec![], vec![])];
    for sub in cli.get_subcommands() {
        let own: Vec<String> = sub
            .get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set())
            .filter_map(long)
            .collect();
        commands.push((vec![sub.get_name()], own));
    }
    assert!(
        commands.len() > 10,
        "every subcommand: {:?}",
        commands.iter().map(|c| &c.0).collect::<Vec<_>>()
    );
    for (path, own) in commands {
        for flag in ["--help", "-h"] {
            let args: Vec<&str> = path.iter().copied().chain([flag]).collect();
            let sections = sections(&help(&args));
            let (last, flags) = sections
                .last()
                .unwrap_or_else(|| panic!("{args:?}: no sections"));
            assert_eq!(
                last, "Global options",
                "{args:?}: the global options come last: {sections:?}"
            );
            assert_eq!(flags, &global, "{args:?}: all of them, in their order");
            let before: Vec<&String> = sections[..sections.len() - 1]
                .iter()
                .flat_map(|(_, f)| f)
                .collect();
            assert!(
                global.iter().all(|g| !before.contains(&g)),
                "{args:?}: a global option only under its heading: {sections:?}"
            );
            for o in &own {
                assert!(
                    before.contains(&o),
                    "{args:?}: `{o}` is the command's own, before the global options: {sections:?}"
                );
            }
            if !own.is_empty() {
                assert_eq!(
                    sections[sections.len() - 2].0,
                    "Options",
                    "{args:?}: {sections:?}"
                );
            }
        }
    }
}

#[test]
fn help_of_the_tool_and_of_up() {
    insta::assert_snapshot!("help", help(&["--help"]));
    insta::assert_snapshot!("help_up", help(&["up", "--help"]));
}

fn completions(shell: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = replatform(dir.path(), &["completions", shell]);
    assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
    assert!(
        out.stderr.is_empty(),
        "{shell}: only the script, on stdout: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Checks a script's syntax with the shell's own `-n` (read, do not run).
fn parses_in(shell: &str, script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("replatform.completion");
    std::fs::write(&file, script).unwrap();
    let out = Command::new(shell)
        .arg("-n")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{shell}` ({e}): `source scripts/test-tools.sh` installs it")
        });
    assert!(
        out.status.success(),
        "{shell} -n: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn completions_for_each_shell_name_every_subcommand() {
    use clap::CommandFactory;
    let cli = replatform::cli::Cli::command();
    let names: Vec<&str> = cli.get_subcommands().map(|s| s.get_name()).collect();
    assert!(
        names.contains(&"completions") && names.contains(&"up"),
        "{names:?}"
    );
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = completions(shell);
        for name in &names {
            assert!(script.contains(name), "{shell}: `{name}` is completed");
        }
        let option = |o: &str| {
            if shell == "fish" {
                format!("-l {o}")
            } else {
                format!("--{o}")
            }
        };
        assert!(
            script.contains(&option("only")) && script.contains(&option("file")),
            "{shell}: options too"
        );
    }
    parses_in("bash", &completions("bash"));
    let dir = tempfile::tempdir().unwrap();
    let out = replatform(dir.path(), &["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    assert!(
        text(&out.stderr).contains("possible values: bash"),
        "{}",
        text(&out.stderr)
    );
}

/// zsh and fish read their scripts as they would load them (`scripts/test-tools.sh` installs both).
#[cfg(feature = "full-tests")]
#[test]
fn completions_parse_in_zsh_and_fish() {
    parses_in("zsh", &completions("zsh"));
    parses_in("fish", &completions("fish"));
}

/// What bash completes when `replatform` is typed: the script run, the completion function
/// called as bash calls it.
#[test]
fn bash_completes_subcommands_and_shells() {
    let script = completions("bash");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("replatform.bash");
    std::fs::write(&file, script).unwrap();
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE='{line}'; COMP_POINT={}; _replatform replatform '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display(),
            words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
            words.len() - 1,
            line.len(),
            words[words.len() - 1],
            words.get(words.len().wrapping_sub(2)).copied().unwrap_or_default()
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(program)
            .output()
            .unwrap();
        assert!(out.status.success(), "{line}: {}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect::<Vec<String>>()
    };
    let subcommands = complete("replatform ");
    assert!(
        ["up", "down", "diff", "completions"]
            .iter()
            .all(|s| subcommands.contains(&s.to_string())),
        "{subcommands:?}"
    );
    let shells = complete("replatform completions ");
    assert_eq!(
        shells
            .iter()
            .filter(|s| ["bash", "zsh", "fish"].contains(&s.as_str()))
            .count(),
        3,
        "{shells:?}"
    );
    assert_eq!(complete("replatform up --on"), ["--only"]);
}

/// `diff --help` gives `--exit-code`'s codes as src/error.rs maps them.
#[test]
fn diff_help_names_the_exit_code_of_changes() {
    use replatform::error::Exit;
    let h = help(&["diff", "--help"]);
    let said = format!("{} when something would", Exit::Changes.code());
    assert!(h.contains(&said), "{h}");
}

/// Against an emulator (`AWS_ENDPOINT_URL` not AWS's), its own queue URLs are queue URLs: a
/// production queue at `ENDPOINT/ACCOUNT/NAME` validates, and is still refused in
/// `environment`; without the endpoint the same URL is not an SQS queue URL.
#[test]
fn an_emulators_queue_urls_are_taken_where_it_is_the_endpoint() {
    let endpoint = "http://127.0.0.1:4566";
    let config = format!(
        "{BASE}production:\n  ecs_service: prod/orders-worker\n  queue: {endpoint}/123456789012/orders\n"
    );
    let dir = with_config(&config);
    let validate = |env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_replatform"));
        cmd.current_dir(dir.path())
            .args(["validate"])
            .env("NO_COLOR", "1")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ENDPOINT_URL_SQS")
            .env("AWS_REGION", "eu-west-1");
        if let Some(e) = env {
            cmd.env("AWS_ENDPOINT_URL", e);
        }
        cmd.output().unwrap()
    };
    let out = validate(Some(endpoint));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = validate(None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not an SQS queue URL"),
        "{}",
        text(&out.stderr)
    );
    let handed = config.replace(
        "  LOG_LEVEL: info\n",
        &format!("  LOG_LEVEL: info\n  ORDERS: {endpoint}/123456789012/orders\n"),
    );
    std::fs::write(dir.path().join("replatform.yaml"), handed).unwrap();
    let out = validate(Some(endpoint));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("`environment.ORDERS` holds the production queue `orders`"),
        "{}",
        text(&out.stderr)
    );
}
