//! The `bridge` trigger's contract between the function, the image and the supervisor
//! (docs/bridge.md): where `up` puts the supervisor, how the function starts it, and which
//! queues it serves. Pure: `render`, `local` and the image step read the same answers.

use serde::Serialize;

use super::config::Config;

/// The folder of the layer `up` adds to the image: the supervisor and `worker.json`.
pub const DIR: &str = "/opt/replatform-bridge";
/// The supervisor, the function's entry point.
pub const BIN: &str = "/opt/replatform-bridge/replatform-bridge";
/// The image's own ENTRYPOINT, CMD and WORKDIR, as the build left them, read by the supervisor
/// for `--image-entrypoint`, `--image-cmd` and `--image-workdir`: the function's entry point
/// replaces the image's, and a template cannot know them before the build.
pub const WORKER_FILE: &str = "/opt/replatform-bridge/worker.json";
/// The supervisor's variable of the queues it serves: a JSON object of the queue URL the worker
/// polls to the ARNs whose records are that queue's batch (its own, and from `cutover` on the
/// production queue's).
pub const QUEUES_VAR: &str = "REPLATFORM_BRIDGE_QUEUES";

/// The function's `ImageConfig` under the bridge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImageConfig {
    pub entry_point: Vec<String>,
    pub command: Vec<String>,
    pub working_directory: String,
}

/// The supervisor as the function's entry point, and the worker as ECS starts it after it: the
/// image's ENTRYPOINT (or `lambda.entry_point`), then `lambda.command`, `ecs.command` or the
/// image's CMD, in the image's WORKDIR (or `lambda.working_directory`). All three fields are
/// always given (docs/pitfalls.md#p5): the worker's own parts travel in `Command`, after the
/// supervisor's flags.
pub fn image_config(c: &Config) -> ImageConfig {
    let l = &c.lambda;
    let command: Vec<String> = if !l.command.is_empty() {
        l.command.clone()
    } else {
        c.ecs.command.clone().unwrap_or_default()
    };
    let mut args: Vec<String> = Vec::new();
    if l.entry_point.is_empty() {
        args.push("--image-entrypoint".into());
        if command.is_empty() {
            args.push("--image-cmd".into());
        }
    }
    let working_directory = if l.working_directory.is_empty() {
        args.push("--image-workdir".into());
        "/".to_string()
    } else {
        l.working_directory.clone()
    };
    let explicit: Vec<String> = l.entry_point.iter().chain(&command).cloned().collect();
    if !explicit.is_empty() {
        args.push("--".into());
        args.extend(explicit);
    }
    ImageConfig {
        entry_point: vec![BIN.to_string()],
        command: args,
        working_directory,
    }
}

/// The worker's argv as a person reads it, for `validate` and `init`.
pub fn worker_command(c: &Config) -> String {
    let l = &c.lambda;
    let entry = if l.entry_point.is_empty() {
        "the image's ENTRYPOINT".to_string()
    } else {
        format!("`{}`", l.entry_point.join(" "))
    };
    let command = if !l.command.is_empty() {
        format!("`{}`", l.command.join(" "))
    } else if let Some(cmd) = c.ecs.command.as_ref().filter(|c| !c.is_empty()) {
        format!("`{}` (ecs.command)", cmd.join(" "))
    } else if l.entry_point.is_empty() {
        "the image's CMD".to_string()
    } else {
        String::new()
    };
    if command.is_empty() {
        entry
    } else {
        format!("{entry} with {command}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(lambda_extra: &str, ecs_command: &str) -> Config {
        let text = format!(
            "service: w\nqueue: {{}}\necs:\n  subnets: [subnet-0123456789abcdef0]\n  security_groups: [sg-0123456789abcdef0]\n{ecs_command}lambda:\n{lambda_extra}  trigger: {{ type: bridge }}\n"
        );
        crate::core::config::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"))
    }

    #[test]
    fn nothing_given_runs_the_image_as_it_is() {
        let ic = image_config(&config("", ""));
        assert_eq!(ic.entry_point, vec![BIN.to_string()]);
        assert_eq!(
            ic.command,
            ["--image-entrypoint", "--image-cmd", "--image-workdir"]
        );
        assert_eq!(ic.working_directory, "/");
    }

    #[test]
    fn the_task_command_replaces_the_image_cmd_as_on_ecs() {
        let ic = image_config(&config("", "  command: [python, worker.py]\n"));
        assert_eq!(
            ic.command,
            [
                "--image-entrypoint",
                "--image-workdir",
                "--",
                "python",
                "worker.py"
            ]
        );
    }

    #[test]
    fn a_given_entry_point_and_folder_are_the_workers() {
        let ic = image_config(&config(
            "  entry_point: [/usr/bin/node]\n  command: [worker.js]\n  working_directory: /srv\n",
            "",
        ));
        assert_eq!(ic.command, ["--", "/usr/bin/node", "worker.js"]);
        assert_eq!(ic.working_directory, "/srv");
    }
}
