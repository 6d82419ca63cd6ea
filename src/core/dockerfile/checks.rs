//! The checks of the Dockerfile, one function each, in the order of the module's list (pitfalls
//! 3, 5 and 6): `pip install --user`, no awslambdaric, files Lambda's user cannot read, start-up
//! writes outside `/tmp`, a base of the other architecture. Pure.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Range;

use super::installs::{install, Install};
use super::lexer::{exec_form, flag, flags, plain_words, Word};
use super::model::{
    arch_name, assignments, copy_operands, expand, image_parts, is_lambda_base, pinned_arch,
    resolve, under, Arch, Model, UNKNOWN_DIR,
};
use super::shell::{
    basename, command_start, commands, nested_commands, shell_script, Command, Map,
};
use super::{needs_ric, Finding, Settings};
use crate::core::config::Platform;

/// 1. `pip install --user`, or `ENV PIP_USER=1`, in the final image (or in a stage whose
///    `~/.local` it copies).
pub(super) fn pip_user(m: &Model, settings: &Settings, out: &mut Vec<Finding>) {
    let mut stages = m.chain();
    for (_, i) in m.in_stages(&m.chain()) {
        if !matches!(i.keyword.as_str(), "COPY" | "ADD") {
            continue;
        }
        let (fl, at) = flags(&i.args.text);
        let Some(from) = flag(&fl, "from") else {
            continue;
        };
        let copies_local = copy_operands(&i.args.text[at..], at)
            .is_some_and(|(srcs, _)| srcs.iter().any(|s| s.text.contains(".local")));
        let from_stage = from
            .value
            .parse::<usize>()
            .ok()
            .filter(|n| *n < m.stages.len())
            .or_else(|| {
                m.stages.iter().position(|s| {
                    s.name.as_deref() == Some(from.value.to_ascii_lowercase().as_str())
                })
            });
        if let (true, Some(s)) = (copies_local, from_stage) {
            stages.push(s);
        }
    }
    let wd = &settings.working_directory;
    let hint = format!("install system-wide (leave out `--user`), or into a virtual environment or a `--target` folder under {wd} on PYTHONPATH");
    let message = "`pip install --user` puts the packages in the build user's home (~/.local): Lambda runs the image as another user, with no HOME, and Python will not find them".to_string();
    // `PYTHONUSERBASE` outside /root names where --user installs go, and Python looks there
    // whatever the user and HOME.
    let user_base_set = |vars: &HashMap<String, String>| {
        vars.get("PYTHONUSERBASE").is_some_and(|b| {
            b.starts_with('/')
                && !under(&resolve("/", b), "/root")
                && !under(&resolve("/", b), "/home")
        })
    };
    for (k, i) in m.in_stages(&stages) {
        let stage_end = m.state[k].stage.and_then(|s| m.end.get(s));
        if user_base_set(&m.state[k].vars) || stage_end.is_some_and(|e| user_base_set(&e.vars)) {
            continue;
        }
        match i.keyword.as_str() {
            "RUN" => {
                for (c, text) in m.run_commands(k) {
                    let words = &c.words[command_start(&c.words)..];
                    let Some(Install::Pip { args, .. }) = install(words) else {
                        continue;
                    };
                    if let Some(u) = args.iter().find(|w| w.text == "--user") {
                        out.push(m.finding(
                            "pip-user",
                            "image.dockerfile",
                            text.source_span(&u.span),
                            "installs into the build user's ~/.local",
                            message.clone(),
                            hint.clone(),
                        ));
                    }
                }
            }
            "ENV" => {
                for (name, value, span) in assignments(&i.args.text, true) {
                    if name == "PIP_USER"
                        && value.is_some_and(|v| {
                            matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
                        })
                    {
                        out.push(m.finding("pip-user", "image.dockerfile", i.args.source_span(&span),
                            "every pip install is --user",
                            "`PIP_USER` makes every `pip install` a `--user` install, into the build user's home (~/.local): Lambda runs the image as another user, with no HOME, and Python will not find the packages".into(),
                            format!("remove `PIP_USER`, and install system-wide, or into a virtual environment or a `--target` folder under {wd} on PYTHONPATH"),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

/// 2. `lambda.entry_point` runs awslambdaric, which nothing installs, on a base that is not an
///    AWS Lambda base image.
pub(super) fn runtime_client(
    m: &Model,
    settings: &Settings,
    files: &BTreeMap<String, String>,
    out: &mut Vec<Finding>,
) {
    if !needs_ric(settings) {
        return;
    }
    let chain = m.chain();
    let Some(&root) = chain.last() else { return };
    let stage = &m.stages[root];
    let Some(image) = &stage.image else { return };
    if is_lambda_base(image) {
        return;
    }
    let installs = m.installs(files);
    if installs.names_ric || installs.unknown {
        return;
    }
    let message = format!("`lambda.entry_point` runs awslambdaric, but this image does not install it: neither the Dockerfile nor the requirements it installs name `awslambdaric`, and `{image}` is not an AWS Lambda base image");
    let hint = "add `awslambdaric` to the requirements the image installs (or `RUN pip install awslambdaric`), or set `lambda.entry_point` to the runtime interface client the image has".to_string();
    let f = match installs
        .last_requirements_in_final
        .or(installs.last_in_final)
    {
        Some((k, span, text_index)) => {
            let i = &m.ins[k];
            let text = if text_index == 0 {
                &i.args
            } else {
                &i.heredocs[text_index - 1]
            };
            m.finding(
                "runtime-client",
                "lambda.entry_point",
                text.source_span(&span),
                "installs no `awslambdaric`",
                message,
                hint,
            )
        }
        None => m.finding(
            "runtime-client",
            "lambda.entry_point",
            m.ins[stage.from].args.source_span(&stage.image_span),
            "no runtime interface client in this image",
            message,
            hint,
        ),
    };
    out.push(f);
}

/// A mode that leaves others without read access: `700`, `0640`, `go-r`, `o=`...
fn restrictive(mode: &str) -> bool {
    if !mode.is_empty() && mode.chars().all(|c| c.is_ascii_digit()) {
        return mode.len() >= 3
            && mode.len() <= 4
            && mode.chars().all(|c| c < '8')
            && mode.bytes().last().is_some_and(|d| (d - b'0') & 4 == 0);
    }
    mode.split(',').any(|clause| {
        let who_len = clause
            .find(|c: char| !matches!(c, 'u' | 'g' | 'o' | 'a'))
            .unwrap_or(clause.len());
        let (who, ops) = clause.split_at(who_len);
        let others = who.is_empty() || who.contains(['o', 'a']);
        if !others || ops.is_empty() {
            return false;
        }
        // Each operator with its permissions: `-r`, `=rx`...
        let mut restrict = false;
        let mut rest = ops;
        while let Some(op) = rest.chars().next() {
            if !matches!(op, '-' | '+' | '=') {
                return false;
            }
            let perms_len = rest[1..]
                .find(['-', '+', '='])
                .map_or(rest.len() - 1, |n| n);
            let perms = &rest[1..1 + perms_len];
            if !perms.chars().all(|c| "rwxXstugo".contains(c)) {
                return false;
            }
            restrict |= (op == '-' && perms.contains('r'))
                || (op == '=' && !perms.contains('r') && !perms.contains(['u', 'g', 'o']));
            rest = &rest[1 + perms_len..];
        }
        restrict
    })
}

/// A chmod's mode and targets.
pub(super) fn chmod(words: &[Word]) -> Option<(&Word, Vec<&Word>)> {
    if basename(&words.first()?.text) != "chmod" {
        return None;
    }
    let options = [
        "-R",
        "-c",
        "-f",
        "-v",
        "-H",
        "-L",
        "-P",
        "--recursive",
        "--changes",
        "--silent",
        "--quiet",
        "--verbose",
        "--no-preserve-root",
        "--preserve-root",
    ];
    let mut mode = None;
    let mut targets = Vec::new();
    for w in &words[1..] {
        let t = w.text.as_str();
        if t.starts_with("--reference") {
            return None;
        }
        if options.contains(&t)
            || (t.starts_with('-') && t.len() > 1 && t[1..].chars().all(|c| "RcfvHLP".contains(c)))
        {
            continue;
        }
        if mode.is_none() {
            mode = Some(w);
        } else {
            targets.push(w);
        }
    }
    Some((mode?, targets))
}

/// 3. Files Lambda's user cannot read: restrictive modes on the app's files, files under /root.
pub(super) fn unreadable(m: &Model, settings: &Settings, out: &mut Vec<Finding>) {
    let chain = m.chain();
    let wd = resolve("/", &settings.working_directory);
    let mut apps = vec![wd.clone()];
    if let Some(w) = m.final_workdir() {
        if w != "/" && !apps.iter().any(|a| a == w) {
            apps.push(w.to_string());
        }
    }
    let touches = |p: &str| apps.iter().any(|a| under(p, a) || under(a, p));
    let shown = |p: &str| {
        if p.starts_with(UNKNOWN_DIR) {
            None
        } else {
            Some(p.to_string())
        }
    };
    let hint = "keep the function's files readable by all (`chmod -R a+rX`, modes 755 and 644): Lambda runs the image as a user of its own, neither root nor the Dockerfile's USER, so owner and group modes do not help it".to_string();
    let mut root_flagged = BTreeSet::new();
    for (k, i) in m.in_stages(&chain) {
        let st = &m.state[k];
        match i.keyword.as_str() {
            "RUN" => {
                for (c, text) in m.run_commands(k) {
                    let words = &c.words[command_start(&c.words)..];
                    let Some((mode, targets)) = chmod(words) else {
                        continue;
                    };
                    if !restrictive(&mode.text) {
                        continue;
                    }
                    let hit = targets.iter().find_map(|t| {
                        let p = resolve(&st.workdir, &expand(&t.text, &st.vars)?);
                        touches(&p).then_some((*t, p))
                    });
                    if let Some((t, p)) = hit {
                        let span = words[0].span.start..t.span.end;
                        let place =
                            shown(&p).map_or_else(|| format!("`{}`", t.text), |p| format!("`{p}`"));
                        out.push(m.finding("unreadable-files", "image.dockerfile", text.source_span(&span),
                            "others cannot read",
                            format!("`chmod {}` leaves {place} unreadable to other users: Lambda runs the image as a user of its own, who cannot read the function's files", mode.text),
                            hint.clone(),
                        ));
                    }
                }
            }
            "COPY" | "ADD" => {
                let (fl, at) = flags(&i.args.text);
                let Some((_, dest)) = copy_operands(&i.args.text[at..], at) else {
                    continue;
                };
                let Some(dest_path) =
                    expand(&dest.text, &st.vars).map(|d| resolve(&st.workdir, &d))
                else {
                    continue;
                };
                if let Some(mode) = flag(&fl, "chmod").filter(|f| restrictive(&f.value)) {
                    if touches(&dest_path) {
                        let place = shown(&dest_path).unwrap_or_else(|| dest.text.clone());
                        out.push(m.finding("unreadable-files", "image.dockerfile", i.args.source_span(&mode.span),
                            "others cannot read",
                            format!("`--chmod={}` leaves the files copied to `{place}` unreadable to other users: Lambda runs the image as a user of its own, who cannot read them", mode.value),
                            hint.clone(),
                        ));
                    }
                }
                let stage = st.stage.unwrap_or(0);
                if under(&dest_path, "/root") && root_flagged.insert(stage) {
                    let how = if dest.text.starts_with('/') {
                        String::new()
                    } else {
                        format!(" (WORKDIR {})", st.workdir)
                    };
                    out.push(m.finding("unreadable-files", "image.dockerfile", i.args.source_span(&dest.span),
                        "Lambda's user cannot read /root",
                        format!("files are copied to `{dest_path}`{how}: /root is readable by root alone, and Lambda runs the image as a user of its own, not root"),
                        format!("put the function's files in a folder of their own, such as `{}` (`lambda.working_directory`), and install packages system-wide", if under(&wd, "/root") { "/app" } else { wd.as_str() }),
                    ));
                }
            }
            _ => {}
        }
    }
}

/// What a command writes: redirections, and the files `mkdir`, `touch`, `tee`, `cp`, `mv`,
/// `ln` and `install` make.
fn written(c: &Command) -> Vec<&Word> {
    let mut out: Vec<&Word> = c.writes.iter().collect();
    let words = &c.words[command_start(&c.words)..];
    let Some(first) = words.first() else {
        return out;
    };
    let args: Vec<&Word> = words[1..].iter().collect();
    let operands = |value_opts: &[&str]| {
        let mut ops = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let t = args[i].text.as_str();
            if value_opts.contains(&t) {
                i += 2;
                continue;
            }
            if !t.starts_with('-') || t == "-" {
                ops.push(args[i]);
            }
            i += 1;
        }
        ops
    };
    match basename(&first.text) {
        "mkdir" => out.extend(operands(&["-m", "--mode"])),
        "touch" => out.extend(operands(&["-d", "-r", "-t", "--date", "--reference"])),
        "tee" => out.extend(operands(&[])),
        "cp" | "mv" | "ln" | "install" | "rsync" => {
            let target = args
                .windows(2)
                .find(|p| matches!(p[0].text.as_str(), "-t" | "--target-directory"))
                .map(|p| p[1]);
            let target = target.or_else(|| {
                args.iter()
                    .find_map(|w| w.text.strip_prefix("--target-directory=").map(|_| *w))
            });
            match target {
                Some(t) => out.push(t),
                None => {
                    let ops = operands(&["-m", "--mode", "-o", "-g", "-S", "--suffix", "-e"]);
                    if ops.len() >= 2 {
                        out.extend(ops.last());
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// Paths that are no file of the image.
fn is_device(p: &str) -> bool {
    p == "-" || p.starts_with("/dev/") || p.starts_with("/proc/") || p.starts_with("&")
}

/// 4. The start-up command writes outside /tmp; a VOLUME outside /tmp.
pub(super) fn writes(m: &Model, out: &mut Vec<Finding>) {
    let chain = m.chain();
    let Some(st) = m.end.last() else { return };
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (k, i) in m.in_stages(&chain) {
        if matches!(i.keyword.as_str(), "CMD" | "ENTRYPOINT") {
            last.insert(
                if i.keyword == "CMD" {
                    "CMD"
                } else {
                    "ENTRYPOINT"
                },
                k,
            );
        }
    }
    let mut starts: Vec<(&str, usize)> = last.into_iter().collect();
    starts.sort_by_key(|(_, k)| *k);
    for (keyword, k) in starts {
        let i = &m.ins[k];
        let cmds = match exec_form(&i.args.text, 0) {
            Some(argv) => {
                let start = command_start(&argv);
                let Some(script) = shell_script(&argv[start..]) else {
                    continue;
                };
                let map = if i.args.text[script.span.clone()] == script.text {
                    Map::Shift(script.span.start)
                } else {
                    Map::Whole(script.span.clone())
                };
                let mut nested = Vec::new();
                nested_commands(&script.text, &map, &mut nested, 1);
                nested
            }
            None => commands(&i.args.text),
        };
        let mut targets: Vec<(String, Range<usize>)> = Vec::new();
        for c in &cmds {
            for w in written(c) {
                let Some(p) = expand(&w.text, &st.vars) else {
                    continue;
                };
                if p.is_empty() || is_device(&p) {
                    continue;
                }
                let path = resolve(&st.workdir, &p);
                if !under(&path, "/tmp") && !targets.iter().any(|(t, _)| *t == path) {
                    targets.push((path, w.span.clone()));
                }
            }
        }
        let Some((_, span)) = targets.first() else {
            continue;
        };
        let names = targets
            .iter()
            .map(|(t, _)| {
                if t.starts_with(UNKNOWN_DIR) {
                    "the working directory".to_string()
                } else {
                    format!("`{t}`")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        out.push(m.finding(
            "writes-outside-tmp",
            "image.dockerfile",
            i.args.source_span(span),
            "not writable on Lambda",
            format!("the image's {keyword} writes to {names} at start-up: on Lambda only /tmp is writable, and Lambda runs `lambda.entry_point` and `lambda.command` instead of the image's {keyword}"),
            "write under /tmp at run time (a path from an environment variable, /tmp on Lambda), and make what only has to exist with `RUN` at build time".into(),
        ));
    }
    for (k, i) in m.in_stages(&chain) {
        if i.keyword != "VOLUME" {
            continue;
        }
        let st = &m.state[k];
        let words = exec_form(&i.args.text, 0).unwrap_or_else(|| plain_words(&i.args.text, 0));
        for w in words {
            let Some(p) = expand(&w.text, &st.vars) else {
                continue;
            };
            let path = resolve(&st.workdir, &p);
            if under(&path, "/tmp") || path.starts_with(UNKNOWN_DIR) {
                continue;
            }
            out.push(m.finding("writes-outside-tmp", "image.dockerfile", i.args.source_span(&w.span),
                "read-only on Lambda",
                format!("`VOLUME {path}` is a folder written at run time: on Lambda it is part of the read-only image, and only /tmp is writable"),
                "write under /tmp on Lambda (a path from an environment variable), or keep the data in a service such as S3".into(),
            ));
        }
    }
}

/// 5. A base image of another architecture than `image.platform`.
pub(super) fn platform(m: &Model, settings: &Settings, out: &mut Vec<Finding>) {
    let want = Arch::of(settings.platform);
    let want_name = settings.platform.as_str();
    let other = match settings.platform {
        Platform::Amd64 => "linux/arm64",
        Platform::Arm64 => "linux/amd64",
    };
    for s in m.chain() {
        let stage = &m.stages[s];
        let args = &m.ins[stage.from].args;
        if let Some(f) = &stage.platform {
            if let Some(value) = expand(&f.value, &m.globals) {
                let arch = Arch::of_platform(&value);
                if arch != want {
                    out.push(m.finding("image-platform", "image.platform", args.source_span(&f.span),
                        format!("{value}, not {want_name}"),
                        format!("`--platform={value}` builds the image from a {} base, but `image.platform` is {want_name}: the function and the task would fail with `exec format error`", arch_name(arch)),
                        if arch == Arch::Other {
                            format!("remove `--platform` (the build passes `--platform {want_name}`), or use `--platform=$TARGETPLATFORM`")
                        } else {
                            format!("remove `--platform` (the build passes `--platform {want_name}`) or use `--platform=$TARGETPLATFORM`; or set `image.platform: {other}`")
                        },
                    ));
                    continue;
                }
            }
        }
        let Some(image) = &stage.image else { continue };
        if let Some((arch, why)) = pinned_arch(image) {
            if arch != want {
                let fix = if is_lambda_base(image) {
                    let (_, _, tag) = image_parts(image);
                    let base = tag.rsplit_once('-').map_or("", |(b, _)| b).to_string();
                    if base.is_empty() {
                        "the tag without an architecture (a multi-platform image)".to_string()
                    } else {
                        format!(
                            "the tag without an architecture, `:{base}` (a multi-platform image)"
                        )
                    }
                } else {
                    "the multi-platform image (without the architecture's namespace)".to_string()
                };
                out.push(m.finding("image-platform", "image.platform", args.source_span(&stage.image_span),
                    format!("a {} image", arch_name(arch)),
                    format!("`{image}` is {why}, but `image.platform` is {want_name}: the function and the task would fail with `exec format error`"),
                    if arch == Arch::Other { format!("use {fix}") } else { format!("use {fix}, or set `image.platform: {other}`") },
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_input::*;
    use super::*;

    #[test]
    fn modes() {
        for m in [
            "700",
            "600",
            "750",
            "640",
            "0700",
            "2750",
            "go-r",
            "o-r",
            "go-rwx",
            "o=",
            "u=rwx,go=",
            "a-r",
            "-r",
        ] {
            assert!(restrictive(m), "{m}");
        }
        for m in [
            "755", "644", "0755", "555", "a+rX", "go-w", "u+x", "o=r", "+x", "o=u", "g-r",
        ] {
            assert!(!restrictive(m), "{m}");
        }
    }

    // 1. pip install --user

    #[test]
    fn pip_user_is_found_in_its_forms() {
        for run in [
            "RUN pip install --user -r requirements.txt",
            "RUN pip3 install --no-cache-dir --user boto3 awslambdaric",
            "RUN python3.12 -m pip install --user boto3 awslambdaric",
            "RUN [\"pip\", \"install\", \"--user\", \"boto3\"]",
            "RUN sh -c 'pip install --user boto3'",
            "RUN set -eux; apt-get update && sudo -H pip install --user boto3",
        ] {
            let text = format!("FROM python:3.12\n{run}\nRUN pip install awslambdaric\n");
            assert_eq!(
                found(&text),
                vec![("pip-user", "--user".to_string())],
                "{run}"
            );
        }
        let env = "FROM python:3.12\nENV PIP_USER=1 PYTHONUNBUFFERED=1\nRUN pip install -r requirements.txt\n";
        assert_eq!(found(env), vec![("pip-user", "PIP_USER=1".to_string())]);
        let home = "FROM python:3.12\nUSER app\nENV PYTHONUSERBASE=/home/app/.local\nRUN pip install --user boto3 awslambdaric\n";
        assert_eq!(found(home), vec![("pip-user", "--user".to_string())]);
    }

    #[test]
    fn pip_user_in_a_builder_stage_counts_only_when_its_local_is_copied() {
        let copied = "FROM python:3.12 AS build\nRUN pip install --user -r requirements.txt\nFROM python:3.12-slim\nCOPY --from=build /root/.local /root/.local\n";
        let found_copied = found(copied);
        assert!(
            found_copied.contains(&("pip-user", "--user".to_string())),
            "{found_copied:?}"
        );
        let wheels = "FROM python:3.12 AS build\nRUN pip install --user build && pip wheel -w /wheels -r requirements.txt\nFROM python:3.12-slim\nCOPY --from=build /wheels /wheels\nRUN pip install /wheels/*.whl awslambdaric\n";
        assert_eq!(found(wheels), vec![]);
    }

    #[test]
    fn pip_user_negatives() {
        for run in [
            "RUN pip install --no-cache-dir -r requirements.txt",
            "RUN pip install --target /app/packages -r requirements.txt",
            "RUN useradd --user-group app && pip install -r requirements.txt",
            "RUN echo pip install --user && pip install -r requirements.txt",
            "# RUN pip install --user boto3\nRUN pip install -r requirements.txt",
            "ENV PIP_USER=0\nRUN pip install -r requirements.txt",
            "ENV PYTHONUSERBASE=/app/.local\nRUN pip install --user -r requirements.txt",
            "ENV PIP_USER=1\nENV PYTHONUSERBASE=/opt/python\nRUN pip install -r requirements.txt",
        ] {
            let text = format!("FROM python:3.12\nWORKDIR /app\nCOPY requirements.txt .\n{run}\n");
            assert_eq!(found(&text), vec![], "{run}");
        }
    }

    // 3. Files Lambda's user cannot read.

    #[test]
    fn restrictive_modes_on_the_app() {
        let cases = [
            ("RUN chmod -R 700 /app", "chmod -R 700 /app"),
            ("RUN chmod 600 app.py", "chmod 600 app.py"),
            (
                "RUN chown -R app /app && chmod -R go-rwx .",
                "chmod -R go-rwx .",
            ),
            ("RUN chmod 750 /", "chmod 750 /"),
            ("COPY --chmod=640 app.py .", "--chmod=640"),
        ];
        for (line, underlined) in cases {
            let text = format!("FROM python:3.12\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n{line}\n");
            assert_eq!(
                found(&text),
                vec![("unreadable-files", underlined.to_string())],
                "{line}"
            );
        }
    }

    #[test]
    fn modes_elsewhere_or_readable_are_fine() {
        for line in [
            "RUN chmod 700 /etc/secret",
            "RUN chmod -R 755 /app",
            "RUN chmod +x app.py",
            "RUN chmod 600 /root/.netrc",
            "COPY --chmod=755 app.py .",
            "RUN find /app -type d -exec chmod 755 {} +",
        ] {
            let text = format!("FROM python:3.12\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\n{line}\n");
            assert_eq!(found(&text), vec![], "{line}");
        }
        // A stage that is not the image.
        let builder = "FROM python:3.12 AS build\nWORKDIR /app\nRUN chmod 700 /app\nFROM python:3.12\nWORKDIR /app\nRUN pip install awslambdaric\n";
        assert_eq!(found(builder), vec![]);
    }

    #[test]
    fn files_under_root() {
        let workdir = "FROM python:3.12\nWORKDIR /root\nCOPY . .\nRUN pip install awslambdaric\n";
        assert_eq!(found(workdir), vec![("unreadable-files", ".".to_string())]);
        let f = &run_with(workdir, &settings(), &[])[0];
        assert!(
            f.message.contains("`/root` (WORKDIR /root)"),
            "{}",
            f.message
        );
        let local = "FROM python:3.12\nRUN pip install awslambdaric\nCOPY --from=build /root/.local /root/.local\nCOPY app.py /root/app/\n";
        assert_eq!(
            found(local),
            vec![("unreadable-files", "/root/.local".to_string())]
        );
        let fine = "FROM python:3.12\nWORKDIR /root\nRUN pip install awslambdaric\nWORKDIR /app\nCOPY . .\n";
        assert_eq!(found(fine), vec![]);
    }

    // 4. Writes outside /tmp at start-up.

    #[test]
    fn start_up_writes_outside_tmp() {
        let cases = [
            ("CMD mkdir -p /app/logs && exec python app.py", "/app/logs"),
            ("ENTRYPOINT [\"sh\", \"-c\", \"echo started > /var/run/worker.pid; exec python app.py\"]", "/var/run/worker.pid"),
            ("CMD [\"/bin/bash\", \"-ec\", \"touch ready && python app.py\"]", "ready"),
            ("CMD python app.py 2>&1 | tee worker.log", "worker.log"),
            ("CMD cp config.default.json config.json && python app.py", "config.json"),
            ("VOLUME [\"/data\"]", "/data"),
        ];
        for (line, underlined) in cases {
            let text =
                format!("FROM python:3.12\nWORKDIR /app\nRUN pip install awslambdaric\n{line}\n");
            assert_eq!(
                found(&text),
                vec![("writes-outside-tmp", underlined.to_string())],
                "{line}"
            );
        }
        let f = &run_with("FROM python:3.12\nWORKDIR /app\nRUN pip install awslambdaric\nCMD touch a b /tmp/c && python app.py\n", &settings(), &[])[0];
        assert!(
            f.message.contains("`/app/a`, `/app/b`") && !f.message.contains("/tmp/c"),
            "{}",
            f.message
        );
    }

    #[test]
    fn start_up_writes_under_tmp_or_at_build_are_fine() {
        for line in [
            "CMD [\"python\", \"app.py\"]",
            "CMD mkdir -p /tmp/cache && python app.py > /dev/stdout 2>&1",
            "ENV HOME=/tmp\nCMD mkdir -p $HOME/.cache && python app.py",
            "CMD mkdir -p $CACHE_DIR && python app.py",
            "RUN mkdir -p /app/logs\nCMD [\"python\", \"app.py\"]",
            "CMD [\"sh\", \"-c\", \"exec python app.py >&2\"]",
            "VOLUME /tmp",
        ] {
            let text =
                format!("FROM python:3.12\nWORKDIR /app\nRUN pip install awslambdaric\n{line}\n");
            assert_eq!(found(&text), vec![], "{line}");
        }
    }

    // 5. The architecture.

    #[test]
    fn platform_flag_against_image_platform() {
        let arm = Settings {
            platform: Platform::Arm64,
            ..settings()
        };
        let text = "FROM --platform=linux/amd64 python:3.12\nRUN pip install awslambdaric\n";
        assert_eq!(
            found_with(text, &arm, &[]),
            vec![("image-platform", "--platform=linux/amd64".to_string())]
        );
        assert_eq!(found_with(text, &settings(), &[]), vec![]);
        let f = &run_with(text, &arm, &[])[0];
        assert!(f.hint.contains("image.platform: linux/amd64"), "{}", f.hint);
        for flag in [
            "--platform=$TARGETPLATFORM",
            "--platform=${TARGETPLATFORM}",
            "--platform=$BUILDPLATFORM",
            "--platform=linux/arm64/v8",
        ] {
            let text = format!("FROM {flag} python:3.12\nRUN pip install awslambdaric\n");
            assert_eq!(found_with(&text, &arm, &[]), vec![], "{flag}");
        }
        let via_arg = "ARG ARCH=linux/amd64\nFROM --platform=$ARCH python:3.12\nRUN pip install awslambdaric\n";
        assert_eq!(
            found_with(via_arg, &arm, &[]),
            vec![("image-platform", "--platform=$ARCH".to_string())]
        );
    }

    #[test]
    fn image_names_that_pin_an_architecture() {
        let arm = Settings {
            platform: Platform::Arm64,
            ..settings()
        };
        let amd = settings();
        let cases = [
            ("arm64v8/python:3.12", &amd),
            ("docker.io/amd64/python:3.12", &arm),
            ("public.ecr.aws/lambda/python:3.12-arm64", &amd),
            ("public.ecr.aws/lambda/python:3.12-x86_64", &arm),
            ("arm32v7/python:3.12", &arm),
        ];
        for (image, wrong) in cases {
            let text = format!("FROM {image}\nRUN pip install awslambdaric\n");
            assert_eq!(
                found_with(&text, wrong, &[]),
                vec![("image-platform", image.to_string())],
                "{image}"
            );
        }
        for (image, s) in [
            ("arm64v8/python:3.12", &arm),
            ("public.ecr.aws/lambda/python:3.12-arm64", &arm),
            ("public.ecr.aws/lambda/python:3.12", &arm),
            ("myorg/amd64-tools:1", &arm),
            ("ghcr.io/amd64/python:3", &arm),
        ] {
            let text = format!("FROM {image}\nRUN pip install awslambdaric\n");
            assert_eq!(found_with(&text, s, &[]), vec![], "{image}");
        }
        // A builder stage's platform is not the image's.
        let builder = "FROM --platform=linux/amd64 node:20 AS assets\nRUN npm ci\nFROM python:3.12\nCOPY --from=assets /out /app/static\nRUN pip install awslambdaric\n";
        assert_eq!(found_with(builder, &arm, &[]), vec![]);
        // Through a build argument of the config.
        let mut with_arg = settings();
        with_arg
            .build_args
            .insert("BASE".into(), "arm64v8/python:3.12".into());
        assert_eq!(
            found_with(
                "ARG BASE=python:3.12\nFROM ${BASE}\nRUN pip install awslambdaric\n",
                &with_arg,
                &[]
            ),
            vec![("image-platform", "${BASE}".to_string())]
        );
    }
}
