//! Bad input (docs/safety.md): every malformed or hostile `replatform.yaml` or `--templates`
//! folder ends with exit 1, a message that names where (the file, with line and column when there
//! is one) and a hint, and no request to AWS.
//!
//! Each case runs the real binary in a folder of its own with `AWS_ENDPOINT_URL` pointing at a
//! listener of the test's own that counts connections: "no request" is zero connections, which
//! is stricter than asking an emulator what it received. `recorder_sees_a_real_request` is the
//! control: the same listener, forwarding to moto, counts the requests of a valid `status`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_yaml_ng::Value as V;

use crate::common::{self, repo, variant, yaml, BASE, IMAGE};
#[cfg(feature = "full-tests")]
use crate::emulator::Moto;

/// Counts the connections made to it; forwards each to `upstream` when there is one.
struct Recorder {
    endpoint: String,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Recorder {
    fn start(upstream: Option<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stopped) = (connections.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        count.fetch_add(1, Ordering::SeqCst);
                        if let Some(up) = &upstream {
                            forward(client, up);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Recorder {
            endpoint,
            connections,
            stop,
        }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies bytes both ways between a client and `upstream` (`host:port`).
fn forward(client: TcpStream, upstream: &str) {
    client.set_nonblocking(false).unwrap();
    let Ok(server) = TcpStream::connect(upstream) else {
        return;
    };
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(std::net::Shutdown::Write);
        });
    };
    pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
    pipe(server, client);
}

/// The binary in `dir`, every AWS call pointed at `endpoint`; killed if it runs past a minute.
fn run(dir: &Path, args: &[String], endpoint: &str) -> Output {
    let mut child = common::replatform(endpoint, dir, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`replatform {}` hung", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// One case: what it writes in its folder, the arguments, and what the message must name.
struct Case {
    args: Vec<String>,
    /// Text the message must hold to say where: `file:line:column`, or the file's path.
    at: String,
}

/// The arguments of a command with the image given (no build), the config and templates named.
fn cmd(command: &str, file: &str, templates: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = vec![];
    args.extend(["-f".to_string(), file.to_string()]);
    if let Some(t) = templates {
        args.extend(["--templates".to_string(), t.to_string()]);
    }
    match command {
        "up" => args.extend(["up", "--image-uri", IMAGE, "--yes"].map(String::from)),
        "diff" => args.extend(["diff", "--image-uri", IMAGE].map(String::from)),
        "down" => args.extend(["down", "--yes"].map(String::from)),
        "load" => args.extend(["load", "--count", "1"].map(String::from)),
        other => args.push(other.to_string()),
    }
    args
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn fifo(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A config case: `text` as `replatform.yaml`, run with `command`; the message names `at`.
fn config(dir: &Path, command: &str, text: impl AsRef<[u8]>, at: &str) -> Case {
    write(dir, "replatform.yaml", text);
    Case {
        args: cmd(command, "replatform.yaml", None),
        at: at.into(),
    }
}

/// A templates case: a valid config and the files in `tpl/`; the message names `at`.
fn templates(dir: &Path, command: &str, files: &[(&str, String)], at: &str) -> Case {
    write(dir, "replatform.yaml", BASE);
    for (name, text) in files {
        write(dir, &format!("tpl/{name}"), text);
    }
    Case {
        args: cmd(command, "replatform.yaml", Some("tpl")),
        at: at.into(),
    }
}

/// A built-in stack file with one more template in its list.
fn stack_with(stack: &str, template: &str) -> String {
    let text = std::fs::read_to_string(repo().join("stacks").join(stack)).unwrap();
    text.replacen(
        "  - queue.yaml.hbs\n",
        &format!("  - queue.yaml.hbs\n  - {template}\n"),
        1,
    )
}

/// A template that adds one resource to the lambda stack, with these lines under it.
fn extra_resource(body: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "stacks/lambda.yaml",
            stack_with("lambda.yaml", "extra.yaml.hbs"),
        ),
        (
            "templates/extra.yaml.hbs",
            format!("Resources:\n  Extra:\n    Type: AWS::SQS::Queue\n{body}"),
        ),
    ]
}

fn builtin(name: &str) -> String {
    std::fs::read_to_string(repo().join(name)).unwrap()
}

/// Runs a case: exit 1, a message that names where and gives a hint, no connection at all;
/// the message as a snapshot.
fn check(name: &str, setup: impl FnOnce(&Path) -> Case) {
    let dir = tempfile::tempdir().unwrap();
    let case = setup(dir.path());
    let recorder = Recorder::start(None);
    let started = Instant::now();
    let out = run(dir.path(), &case.args, &recorder.endpoint);
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{name}: `replatform {}`\n{err}",
        case.args.join(" ")
    );
    assert!(
        err.contains(&case.at),
        "{name}: the message does not name `{}`:\n{err}",
        case.at
    );
    assert!(err.contains("hint: "), "{name}: no hint:\n{err}");
    assert!(
        err.len() < 4_000,
        "{name}: a message of {} bytes:\n{}",
        err.len(),
        &err[..4_000]
    );
    assert!(
        !err.chars().any(|c| c.is_control() && c != '\n'),
        "{name}: control characters in the message:\n{err:?}"
    );
    assert!(took < Duration::from_secs(20), "{name}: took {took:?}");
    assert_eq!(recorder.connections(), 0, "{name}: AWS was called:\n{err}");
    let dir_text = dir.path().display().to_string();
    insta::with_settings!({ filters => vec![(regex_escape(&dir_text).as_str(), "[DIR]")], prepend_module_to_snapshot => true }, {
        insta::assert_snapshot!(name, format!("$ replatform {}\n{err}", case.args.join(" ")));
    });
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

macro_rules! bad {
    ($name:ident, $setup:expr) => {
        #[test]
        fn $name() {
            check(stringify!($name), $setup);
        }
    };
}

/// Ten levels of nine: a billion `lol`s once expanded.
fn billion_laughs() -> String {
    let mut text = String::from("lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*l{}", i - 1); 9].join(", ");
        text.push_str(&format!("lol{i}: &l{i} [{refs}]\n"));
    }
    text
}

// The file itself.
bad!(config_empty, |d| config(d, "up", "", "replatform.yaml"));
bad!(config_whitespace_only, |d| config(
    d,
    "diff",
    "  \n\t\n   \n",
    "replatform.yaml"
));
bad!(config_comments_only, |d| config(
    d,
    "status",
    "# service: later\n# ecs: {}\n",
    "replatform.yaml"
));
bad!(config_ten_megabytes, |d| config(
    d,
    "up",
    vec![b'#'; 10 * 1024 * 1024],
    "replatform.yaml"
));
bad!(config_one_byte_over_the_limit, |d| config(
    d,
    "validate",
    [BASE.as_bytes(), &vec![b'#'; 1024 * 1024 + 1 - BASE.len()]].concat(),
    "replatform.yaml"
));
bad!(config_not_utf8, |d| config(
    d,
    "up",
    BASE.replace("info", "caf\u{1}")
        .bytes()
        .map(|b| if b == 1 { 0xe9 } else { b })
        .collect::<Vec<u8>>(),
    "replatform.yaml:4:17"
));
bad!(config_utf16, |d| {
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(BASE.encode_utf16().flat_map(u16::to_le_bytes));
    config(d, "status", bytes, "replatform.yaml:1:1")
});
bad!(config_bom_then_unknown_key, |d| config(
    d,
    "up",
    format!("\u{feff}{}", BASE.replace("service:", "servce:")),
    "replatform.yaml:1:1"
));
bad!(config_nul_byte, |d| config(
    d,
    "up",
    BASE.replace("info", "in\u{0}fo"),
    "replatform.yaml:4:16"
));
bad!(config_a_folder, |d| {
    std::fs::create_dir_all(d.join("svc")).unwrap();
    Case {
        args: cmd("up", "svc", None),
        at: "`svc`".into(),
    }
});
bad!(config_missing, |_| Case {
    args: cmd("up", "nope.yaml", None),
    at: "`nope.yaml`".into()
});
bad!(config_a_fifo, |d| {
    // Opening a FIFO waits for a writer: the file is refused before it is opened.
    fifo(&d.join("replatform.yaml"));
    Case {
        args: cmd("up", "replatform.yaml", None),
        at: "`replatform.yaml`".into(),
    }
});
// Unreadable by permissions cannot be shown as root (the tests run as root here): a read that
// fails is shown with /proc/self/mem, which opens and then fails with EIO.
bad!(config_read_fails, |_| Case {
    args: cmd("up", "/proc/self/mem", None),
    at: "`/proc/self/mem`".into()
});
bad!(config_a_device, |_| Case {
    args: cmd("load", "/dev/zero", None),
    at: "`/dev/zero`".into()
});

// YAML that is hostile or malformed.
bad!(config_billion_laughs, |d| config(
    d,
    "up",
    format!(
        "{BASE}x-bomb:\n  {}",
        billion_laughs().replace('\n', "\n  ")
    ),
    "replatform.yaml:"
));
bad!(config_alias_bomb_in_a_value, |d| {
    let laughs: String = billion_laughs()
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    config(
        d,
        "down",
        format!(
            "{}environment:\n{laughs}",
            BASE.replace("environment:\n  LOG_LEVEL: info\n", "")
        ),
        "replatform.yaml:",
    )
});
bad!(config_unknown_anchor, |d| config(
    d,
    "up",
    BASE.replace(
        "subnets: [subnet-0a1b2c3d, subnet-0123456789abcdef0]",
        "subnets: *nets"
    ),
    "replatform.yaml:8:"
));
bad!(config_ten_thousand_brackets, |d| config(
    d,
    "up",
    format!("{BASE}x: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
    "replatform.yaml:19:"
));
bad!(config_deep_block_nesting, |d| {
    let deep: String = (0..100)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i + 1)))
        .collect();
    config(
        d,
        "down",
        format!("{BASE}environment_extra:\n{deep}"),
        "replatform.yaml:",
    )
});
bad!(config_duplicate_top_level_key, |d| config(
    d,
    "up",
    format!("{BASE}service: other-worker\n"),
    "replatform.yaml:19:1"
));
bad!(config_duplicate_nested_key, |d| config(
    d,
    "diff",
    BASE.replace(
        "  timeout: 30s\n",
        "  timeout: 30s\n  memory: 512\n  timeout: 60s\n"
    ),
    "replatform.yaml:13:3"
));
bad!(config_duplicate_environment_variable, |d| config(
    d,
    "up",
    BASE.replace(
        "  LOG_LEVEL: info\n",
        "  LOG_LEVEL: info\n  LOG_LEVEL: debug\n"
    ),
    "replatform.yaml:5:3"
));
bad!(config_duplicate_key_in_flow_mapping, |d| config(
    d,
    "status",
    BASE.replace(
        "  trigger:\n    type: sqs\n    max_concurrency: 5\n",
        "  trigger: {type: sqs, type: schedule}\n"
    ),
    "replatform.yaml:16:"
));
bad!(config_tab_indentation, |d| config(
    d,
    "up",
    BASE.replace("  visibility_timeout: 180s", "\tvisibility_timeout: 180s"),
    "replatform.yaml:6:1"
));
bad!(config_two_documents, |d| config(
    d,
    "up",
    format!("{BASE}---\n{BASE}"),
    "replatform.yaml:19:1"
));
bad!(config_unclosed_quote, |d| config(
    d,
    "render",
    BASE.replace("working_directory: /app", "working_directory: \"/app"),
    "replatform.yaml:"
));
bad!(config_unclosed_bracket, |d| config(
    d,
    "up",
    BASE.replace(
        "security_groups: [sg-0a1b2c3d]",
        "security_groups: [sg-0a1b2c3d"
    ),
    "replatform.yaml:9:"
));

// Found by the fuzzer (fuzz/seeds/crash-long-message.yaml): a key of backticks and carriage
// returns made a message of 2 KiB with the control characters in it.
bad!(config_fuzz_key_of_backticks_and_carriage_returns, |d| {
    config(
        d,
        "up",
        include_bytes!("../../fuzz/seeds/crash-long-message.yaml"),
        "replatform.yaml:1:",
    )
});
bad!(config_terminal_escape_in_a_key, |d| config(
    d,
    "up",
    format!("\"\\e[2J\\e[31mservice\": x\n{BASE}"),
    "replatform.yaml:1:1"
));

// The wrong shape or values.
bad!(config_a_scalar, |d| config(
    d,
    "up",
    "just some words\n",
    "replatform.yaml:1:1"
));
bad!(config_a_list, |d| config(
    d,
    "up",
    "- service: a\n- service: b\n",
    "replatform.yaml:1:1"
));
bad!(config_list_where_a_map_is_expected, |d| config(
    d,
    "up",
    variant(BASE, &[("queue", yaml("[visibility_timeout, 180s]"))]),
    "replatform.yaml:"
));
bad!(config_map_where_a_list_is_expected, |d| config(
    d,
    "up",
    variant(BASE, &[("ecs.subnets", yaml("{a: subnet-0a1b2c3d}"))]),
    "replatform.yaml:"
));
bad!(config_wrong_type, |d| config(
    d,
    "up",
    variant(BASE, &[("lambda.memory", V::from("lots"))]),
    "replatform.yaml:"
));
bad!(config_unknown_field, |d| config(
    d,
    "up",
    variant(BASE, &[("lambda.timout", V::from("30s"))]),
    "replatform.yaml:"
));
bad!(config_negative_number, |d| config(
    d,
    "up",
    variant(BASE, &[("ecs.cpu", V::from(-256))]),
    "replatform.yaml:"
));
bad!(config_number_too_large, |d| config(
    d,
    "up",
    BASE.replace("timeout: 30s", "timeout: 99999999999999999999999"),
    "replatform.yaml:11:"
));
bad!(config_out_of_range, |d| config(
    d,
    "diff",
    variant(BASE, &[("lambda.memory", V::from(99_999))]),
    "replatform.yaml:"
));
bad!(config_seventeen_subnets, |d| {
    let subnets: Vec<String> = (0..17).map(|i| format!("subnet-{i:08x}")).collect();
    config(
        d,
        "up",
        BASE.replace(
            "[subnet-0a1b2c3d, subnet-0123456789abcdef0]",
            &format!("[{}]", subnets.join(", ")),
        ),
        "replatform.yaml:8:",
    )
});
bad!(config_half_megabyte_service_name, |d| config(
    d,
    "up",
    BASE.replace("orders-worker", &"Orders".repeat(90_000)),
    "replatform.yaml:1:10"
));
bad!(config_lint_error, |d| config(
    d,
    "up",
    variant(BASE, &[("queue.visibility_timeout", V::from("10s"))]),
    "replatform.yaml:"
));

// `--templates` folders.
bad!(templates_missing_folder, |d| {
    write(d, "replatform.yaml", BASE);
    Case {
        args: cmd("up", "replatform.yaml", Some("nowhere")),
        at: "`nowhere`".into(),
    }
});
bad!(templates_a_file, |d| {
    write(d, "replatform.yaml", BASE);
    Case {
        args: cmd("up", "replatform.yaml", Some("replatform.yaml")),
        at: "`replatform.yaml`".into(),
    }
});
bad!(templates_empty_folder, |d| {
    std::fs::create_dir_all(d.join("tpl")).unwrap();
    templates(d, "up", &[], "`tpl`")
});
bad!(templates_subfolder_is_a_file, |d| templates(
    d,
    "up",
    &[("templates", "x".into())],
    "tpl/templates"
));
bad!(templates_ten_megabytes, |d| templates(
    d,
    "up",
    &[("templates/queue.yaml.hbs", "#".repeat(10 * 1024 * 1024))],
    "tpl/templates/queue.yaml.hbs"
));
bad!(templates_too_much_in_all, |d| {
    let files: Vec<(String, String)> = (0..5)
        .map(|i| (format!("templates/pad{i}.yaml.hbs"), "#".repeat(250 * 1024)))
        .collect();
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    templates(d, "up", &files, "`tpl`")
});
bad!(templates_not_utf8, |d| {
    write(
        d,
        "tpl/templates/queue.yaml.hbs",
        b"Resources:\n  Queue: \xff\n",
    );
    templates(d, "up", &[], "tpl/templates/queue.yaml.hbs:2:10")
});
bad!(templates_a_fifo, |d| {
    fifo(&d.join("tpl/templates/queue.yaml.hbs"));
    templates(d, "up", &[], "tpl/templates/queue.yaml.hbs")
});
bad!(templates_stack_names_a_parent_path, |d| templates(
    d,
    "up",
    &[(
        "stacks/lambda.yaml",
        stack_with("lambda.yaml", "../../replatform.yaml")
    )],
    "tpl/stacks/lambda.yaml:7:5"
));
bad!(templates_stack_names_an_absolute_path, |d| templates(
    d,
    "diff",
    &[(
        "stacks/lambda.yaml",
        stack_with("lambda.yaml", "/etc/passwd")
    )],
    "tpl/stacks/lambda.yaml:7:5"
));
bad!(templates_stack_names_a_missing_template, |d| templates(
    d,
    "up",
    &[(
        "stacks/lambda.yaml",
        stack_with("lambda.yaml", "nowhere.yaml.hbs")
    )],
    "tpl/stacks/lambda.yaml:7:5"
));
bad!(templates_invalid_stack_name, |d| templates(
    d,
    "status",
    &[(
        "stacks/lambda.yaml",
        builtin("stacks/lambda.yaml")
            .replace("name: \"{{service}}-lambda\"", "name: \"../{{service}}\"")
    )],
    "tpl/stacks/lambda.yaml"
));
bad!(templates_two_stacks_one_name, |d| templates(
    d,
    "up",
    &[("stacks/copy.yaml", builtin("stacks/ecs.yaml"))],
    "tpl/stacks/copy.yaml"
));
bad!(templates_invalid_yaml, |d| templates(
    d,
    "up",
    &[(
        "templates/queue.yaml.hbs",
        builtin("templates/queue.yaml.hbs").replacen("Properties:", "Properties: {a: [}", 1)
    )],
    "tpl/templates/queue.yaml.hbs"
));
bad!(templates_tab_indentation, |d| templates(
    d,
    "up",
    &[
        (
            "templates/extra.yaml.hbs",
            "Resources:\n\tExtra:\n\t\tType: AWS::SQS::Queue\n".into()
        ),
        (
            "stacks/lambda.yaml",
            stack_with("lambda.yaml", "extra.yaml.hbs")
        )
    ],
    "tpl/templates/extra.yaml.hbs"
));
bad!(templates_duplicate_key, |d| templates(
    d,
    "up",
    &extra_resource("    Type: AWS::SNS::Topic\n"),
    "tpl/templates/extra.yaml.hbs"
));
bad!(templates_resource_in_two_templates, |d| templates(
    d,
    "up",
    &extra_resource("")
        .into_iter()
        .map(|(n, t)| (n, t.replace("Extra:", "Queue:")))
        .collect::<Vec<_>>(),
    "tpl/templates/extra.yaml.hbs"
));
bad!(templates_alias_bomb, |d| templates(
    d,
    "up",
    &[(
        "templates/queue.yaml.hbs",
        format!(
            "{}{}",
            builtin("templates/queue.yaml.hbs"),
            billion_laughs().replace("lol0:", "Conditions:\n  X: {}\nlol0:")
        )
    )],
    "tpl/templates/queue.yaml.hbs"
));
bad!(templates_unexpected_section, |d| templates(
    d,
    "up",
    &[
        (
            "templates/extra.yaml.hbs",
            "Parameters:\n  Size: {Type: Number}\n".into()
        ),
        (
            "stacks/lambda.yaml",
            stack_with("lambda.yaml", "extra.yaml.hbs")
        )
    ],
    "tpl/templates/extra.yaml.hbs"
));
bad!(templates_unknown_ref, |d| templates(
    d,
    "up",
    &extra_resource("    Properties:\n      QueueName: !Ref Nope\n"),
    "tpl/templates/extra.yaml.hbs:5:23"
));
bad!(templates_unknown_getatt, |d| {
    templates(d, "up", &extra_resource("    Properties:\n      RedrivePolicy:\n        deadLetterTargetArn: {\"Fn::GetAtt\": [Gone, Arn]}\n        maxReceiveCount: 5\n"), "tpl/templates/extra.yaml.hbs:6:")
});
bad!(templates_unknown_sub_variable, |d| templates(
    d,
    "down",
    &extra_resource("    Properties:\n      QueueName: !Sub \"${AWS::StackName}-${Missing}\"\n"),
    "tpl/templates/extra.yaml.hbs:5:"
));
bad!(templates_unknown_depends_on, |d| templates(
    d,
    "status",
    &extra_resource("    DependsOn: [Queue, Later]\n"),
    "tpl/templates/extra.yaml.hbs:4:"
));
bad!(templates_unknown_output_ref, |d| templates(
    d,
    "up",
    &[(
        "stacks/ecs.yaml",
        builtin("stacks/ecs.yaml").replacen("{ Ref: {{id}}Queue }", "{ Ref: {{id}}Queues }", 1)
    )],
    "tpl/stacks/ecs.yaml:"
));
bad!(templates_unknown_condition, |d| templates(
    d,
    "up",
    &extra_resource("    Condition: Sometimes\n"),
    "tpl/templates/extra.yaml.hbs:4:16"
));
bad!(templates_logical_id_not_alphanumeric, |d| templates(
    d,
    "up",
    &extra_resource("")
        .into_iter()
        .map(|(n, t)| (n, t.replace("Extra:", "extra-queue:")))
        .collect::<Vec<_>>(),
    "tpl/templates/extra.yaml.hbs:2:3"
));
bad!(templates_resource_without_type, |d| templates(
    d,
    "up",
    &extra_resource("")
        .into_iter()
        .map(|(n, t)| (
            n,
            t.replace("    Type: AWS::SQS::Queue\n", "    Properties: {}\n")
        ))
        .collect::<Vec<_>>(),
    "tpl/templates/extra.yaml.hbs:2:3"
));
bad!(templates_no_resources, |d| templates(
    d,
    "up",
    &[(
        "stacks/lambda.yaml",
        "name: \"{{service}}-lambda\"\ndescription: nothing\ntemplates: []\n".into()
    )],
    "tpl/stacks/lambda.yaml"
));
bad!(templates_invalid_handlebars, |d| templates(
    d,
    "up",
    &[(
        "templates/queue.yaml.hbs",
        builtin("templates/queue.yaml.hbs").replacen("{{/if}}", "", 1)
    )],
    "tpl/templates/queue.yaml.hbs"
));
bad!(templates_unknown_field, |d| templates(
    d,
    "up",
    &[(
        "templates/queue.yaml.hbs",
        builtin("templates/queue.yaml.hbs").replacen("{{retention}}", "{{retension}}", 1)
    )],
    "tpl/templates/queue.yaml.hbs:57:"
));
bad!(templates_partials_include_each_other, |d| templates(
    d,
    "up",
    &[
        ("templates/a.yaml.hbs", "{{> templates/b.yaml.hbs}}".into()),
        (
            "templates/b.yaml.hbs",
            "{{#if service}}{{> templates/a.yaml.hbs}}{{/if}}".into()
        ),
    ],
    "tpl/templates/"
));
bad!(templates_partial_includes_itself, |d| templates(
    d,
    "up",
    &[(
        "templates/queue.yaml.hbs",
        "{{#if service}}{{> templates/queue.yaml.hbs}}{{/if}}".into()
    )],
    "tpl/templates/queue.yaml.hbs:1:16"
));
bad!(templates_inline_partial, |d| templates(
    d,
    "up",
    &[(
        "templates/queue.yaml.hbs",
        "{{#*inline \"again\"}}{{> again}}{{/inline}}{{> again}}".into()
    )],
    "tpl/templates/queue.yaml.hbs:1:1"
));
bad!(templates_ten_thousand_blocks, |d| templates(
    d,
    "up",
    &[(
        "templates/queue.yaml.hbs",
        format!(
            "{}{}",
            "{{#if service}}".repeat(10_000),
            "{{/if}}".repeat(10_000)
        )
    )],
    "tpl/templates/queue.yaml.hbs:1:481"
));
bad!(templates_deep_subexpressions, |d| templates(
    d,
    "up",
    &[(
        "templates/queue.yaml.hbs",
        format!(
            "{{{{json {}service{}}}}}",
            "(json ".repeat(10_000),
            ")".repeat(10_000)
        )
    )],
    "tpl/templates/queue.yaml.hbs:1:"
));
bad!(templates_too_many_expressions, |d| templates(
    d,
    "up",
    &[("templates/queue.yaml.hbs", "# {{service}}\n".repeat(2_000))],
    "tpl/templates/queue.yaml.hbs:501:3"
));
bad!(templates_loops_over_long_lists, |d| {
    let command = vec!["x"; 1_100].join(", ");
    write(
        d,
        "replatform.yaml",
        BASE.replace(
            "command: [\"app.handler\"]",
            &format!("command: [{command}]"),
        ),
    );
    write(d, "tpl/templates/queue.yaml.hbs", format!("{{{{#each lambda.command}}}}{{{{#each ../lambda.command}}}}{{{{/each}}}}{{{{/each}}}}\n{}", builtin("templates/queue.yaml.hbs")));
    Case {
        args: cmd("up", "replatform.yaml", Some("tpl")),
        at: "tpl/templates/queue.yaml.hbs".into(),
    }
});
bad!(templates_renders_megabytes, |d| {
    let command = vec!["x"; 1_000].join(", ");
    write(
        d,
        "replatform.yaml",
        BASE.replace(
            "command: [\"app.handler\"]",
            &format!("command: [{command}]"),
        ),
    );
    write(
        d,
        "tpl/templates/queue.yaml.hbs",
        format!(
            "{{{{#each lambda.command}}}}# {}\n{{{{/each}}}}{}",
            "-".repeat(2_000),
            builtin("templates/queue.yaml.hbs")
        ),
    );
    Case {
        args: cmd("up", "replatform.yaml", Some("tpl")),
        at: "tpl/templates/queue.yaml.hbs".into(),
    }
});
bad!(templates_stack_too_large_for_cloudformation, |d| templates(
    d,
    "up",
    &extra_resource(&format!(
        "    Metadata:\n      Notes: \"{}\"\n",
        "x".repeat(60_000)
    )),
    "tpl/stacks/lambda.yaml"
));

/// A leading byte-order mark is no error: editors on Windows write one.
#[test]
fn a_byte_order_mark_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "replatform.yaml", format!("\u{feff}{BASE}"));
    let recorder = Recorder::start(None);
    let out = run(dir.path(), &["validate".to_string()], &recorder.endpoint);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The control: the listener does see what a valid command sends, forwarded to moto.
#[cfg(feature = "full-tests")]
#[test]
fn recorder_sees_a_real_request() {
    let moto = Moto::start();
    let recorder = Recorder::start(Some(
        moto.endpoint.trim_start_matches("http://").to_string(),
    ));
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "replatform.yaml", BASE);
    let out = run(dir.path(), &["status".to_string()], &recorder.endpoint);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        recorder.connections() >= 1,
        "status made no request:\n{err}"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "status through the recorder to moto:\n{err}"
    );
}
