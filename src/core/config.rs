//! `replatform.yaml` -> a checked [`Config`], with diagnostics that name the line and column,
//! say what is wrong and what to do. Pure. The contract is `shared/design/config.md`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::diag::Diagnostic;
use super::duration::Secs;
use super::locate;

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub service: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub image: Image,
    #[serde(default)]
    pub environment: BTreeMap<String, EnvValue>,
    #[serde(default)]
    pub queue: Queue,
    pub ecs: Ecs,
    pub lambda: Lambda,
    #[serde(default)]
    pub logs: Logs,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    #[serde(default = "dot")]
    pub context: String,
    #[serde(default = "dockerfile")]
    pub dockerfile: String,
    #[serde(default)]
    pub platform: Platform,
    /// ECR repository name; `None` means the service name.
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub builder: Builder,
    #[serde(default)]
    pub build_args: BTreeMap<String, EnvValue>,
    /// The host pushed to instead of the one ECR's token names (a VPC endpoint, a proxy).
    #[serde(default)]
    pub registry: Option<String>,
    /// How many images the repository's lifecycle policy keeps, newest first.
    #[serde(default = "twenty")]
    pub keep_images: u32,
}

impl Default for Image {
    fn default() -> Self {
        Self {
            context: dot(),
            dockerfile: dockerfile(),
            platform: Platform::default(),
            repository: None,
            builder: Builder::default(),
            build_args: BTreeMap::new(),
            registry: None,
            keep_images: twenty(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum Platform {
    #[default]
    #[serde(rename = "linux/amd64")]
    Amd64,
    #[serde(rename = "linux/arm64")]
    Arm64,
}

impl Platform {
    /// Lambda's `Architectures` value.
    pub fn lambda_architecture(self) -> &'static str {
        match self {
            Platform::Amd64 => "x86_64",
            Platform::Arm64 => "arm64",
        }
    }

    /// ECS's `RuntimePlatform.CpuArchitecture` value.
    pub fn ecs_cpu_architecture(self) -> &'static str {
        match self {
            Platform::Amd64 => "X86_64",
            Platform::Arm64 => "ARM64",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Amd64 => "linux/amd64",
            Platform::Arm64 => "linux/arm64",
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    #[default]
    Docker,
    Podman,
    Buildah,
    Finch,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    #[serde(default = "url_env")]
    pub url_env: String,
    #[serde(default = "thirty_seconds")]
    pub visibility_timeout: Secs,
    #[serde(default = "four_days")]
    pub retention: Secs,
    #[serde(default)]
    pub dead_letter: DeadLetter,
}

impl Default for Queue {
    fn default() -> Self {
        Self { url_env: url_env(), visibility_timeout: thirty_seconds(), retention: four_days(), dead_letter: DeadLetter::default() }
    }
}

/// `dead_letter: false`, `dead_letter: true` or `dead_letter: { max_receive_count: N }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// `None` when the dead-letter queue is turned off.
    pub max_receive_count: Option<u32>,
}

impl Default for DeadLetter {
    fn default() -> Self {
        Self { max_receive_count: Some(5) }
    }
}

impl<'de> Deserialize<'de> for DeadLetter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Settings {
            #[serde(default = "five")]
            max_receive_count: u32,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DeadLetter;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`false` or a mapping with `max_receive_count`")
            }
            fn visit_bool<E: de::Error>(self, on: bool) -> Result<DeadLetter, E> {
                Ok(if on { DeadLetter::default() } else { DeadLetter { max_receive_count: None } })
            }
            fn visit_unit<E: de::Error>(self) -> Result<DeadLetter, E> {
                Ok(DeadLetter::default())
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<DeadLetter, A::Error> {
                let s = Settings::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(DeadLetter { max_receive_count: Some(s.max_receive_count) })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ecs {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default = "cpu")]
    pub cpu: u32,
    #[serde(default = "memory")]
    pub memory: u32,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub assign_public_ip: bool,
    #[serde(default)]
    pub scaling: Scaling,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    #[serde(default)]
    pub min: u32,
    #[serde(default = "ten")]
    pub max: u32,
    #[serde(default = "default_steps")]
    pub scale_out: Vec<Step>,
    #[serde(default = "sixty_seconds")]
    pub scale_out_cooldown: Secs,
    #[serde(default = "five_minutes")]
    pub scale_in_after: Secs,
}

impl Default for Scaling {
    fn default() -> Self {
        Self {
            min: 0,
            max: ten(),
            scale_out: default_steps(),
            scale_out_cooldown: sixty_seconds(),
            scale_in_after: five_minutes(),
        }
    }
}

/// Visible messages >= `from` adds `add` tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub from: u64,
    pub add: u32,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Lambda {
    #[serde(default = "memory")]
    pub memory: u32,
    #[serde(default = "thirty_seconds")]
    pub timeout: Secs,
    #[serde(default)]
    pub reserved_concurrency: Option<u32>,
    pub entry_point: Vec<String>,
    pub command: Vec<String>,
    pub working_directory: String,
    #[serde(default)]
    pub vpc: bool,
    pub trigger: Trigger,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Trigger {
    Sqs(SqsTrigger),
    Schedule(ScheduleTrigger),
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SqsTrigger {
    #[serde(default = "ten")]
    pub batch_size: u32,
    #[serde(default = "zero_seconds")]
    pub max_batching_window: Secs,
    #[serde(default)]
    pub max_concurrency: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTrigger {
    #[serde(default = "sixty_seconds")]
    pub rate: Secs,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Logs {
    /// How long both platforms' log groups keep events.
    #[serde(default = "thirty_days")]
    pub retention: Secs,
}

impl Default for Logs {
    fn default() -> Self {
        Self { retention: thirty_days() }
    }
}

/// An environment value: any YAML scalar, kept as the text the platforms will see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct EnvValue(pub String);

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<EnvValue, E> {
                Ok(EnvValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

fn dot() -> String {
    ".".into()
}
fn dockerfile() -> String {
    "Dockerfile".into()
}
fn url_env() -> String {
    "SQS_QUEUE_URL".into()
}
fn zero_seconds() -> Secs {
    Secs(0)
}
fn thirty_seconds() -> Secs {
    Secs(30)
}
fn sixty_seconds() -> Secs {
    Secs(60)
}
fn five_minutes() -> Secs {
    Secs(300)
}
fn four_days() -> Secs {
    Secs(4 * 86_400)
}
fn thirty_days() -> Secs {
    Secs(30 * 86_400)
}
fn cpu() -> u32 {
    256
}
fn memory() -> u32 {
    512
}
fn five() -> u32 {
    5
}
fn ten() -> u32 {
    10
}
fn twenty() -> u32 {
    20
}
fn default_steps() -> Vec<Step> {
    vec![Step { from: 1, add: 1 }, Step { from: 100, add: 5 }]
}

impl Config {
    /// The ECR repository name: `image.repository`, or the service name.
    pub fn repository(&self) -> &str {
        self.image.repository.as_deref().unwrap_or(&self.service)
    }

    pub fn stack_name(&self, platform: &str) -> String {
        format!("{}-{platform}", self.service)
    }
}

/// The largest `replatform.yaml` read: a service's config is a few kilobytes.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// How deep a config may nest and how many values it may hold with its aliases expanded. The
/// deepest path of the contract is 5 levels (`ecs.scaling.scale_out[0].from`), and a config holds
/// a few hundred values.
pub const CONFIG_LIMITS: locate::Limits = locate::Limits { depth: 32, nodes: 100_000 };

/// `1.0 MiB`, `10.0 MiB`, `512 KiB`, `900 bytes`.
pub fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// The error for a config over [`MAX_CONFIG_BYTES`].
pub fn too_large(bytes: u64) -> Diagnostic {
    Diagnostic::error("config", "", format!("the file is {} ({bytes} bytes): a replatform.yaml may be at most {}", size_text(bytes), size_text(MAX_CONFIG_BYTES as u64)))
        .hint("a service's config is a few kilobytes: name the right file with `-f PATH`")
}

/// A config file's bytes as text: within [`MAX_CONFIG_BYTES`], UTF-8, without a leading
/// byte-order mark. The error names the line and column of the first byte that is not UTF-8.
pub fn decode(bytes: &[u8]) -> Result<&str, Diagnostic> {
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.strip_prefix('\u{feff}').unwrap_or(text)),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let line = valid.matches('\n').count() + 1;
            let column = valid.rsplit('\n').next().unwrap_or_default().chars().count() + 1;
            let byte = bytes[e.valid_up_to()];
            let d = Diagnostic::error("config", "", format!("the file is not UTF-8 text: byte 0x{byte:02x} at line {line}, column {column} is not valid UTF-8"));
            let d = Diagnostic { location: Some((line, column)), ..d };
            Err(if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
                d.hint("the file is UTF-16: save it as UTF-8")
            } else {
                d.hint("save the file as UTF-8; if it is not a text file, name the right one with `-f PATH`")
            })
        }
    }
}

/// Parses and checks a `replatform.yaml` text. Every diagnostic carries its location.
pub fn parse(source: &str) -> Result<Config, Vec<Diagnostic>> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    if source.len() > MAX_CONFIG_BYTES {
        return Err(vec![too_large(source.len() as u64)]);
    }
    if source.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(vec![Diagnostic::error("config", "", "the file is empty")
            .hint("start from an example: `examples/sqs-worker/replatform.yaml`")]);
    }
    // Control characters: the YAML reader names only their byte offset.
    if let Some((offset, c)) = source.char_indices().find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{85}')) {
        let before = &source[..offset];
        let (line, column) = (before.matches('\n').count() + 1, before.rsplit('\n').next().unwrap_or_default().chars().count() + 1);
        let d = Diagnostic::error("config", "", format!("the file holds a control character (U+{:04X}) at line {line}, column {column}", c as u32))
            .hint("remove it: YAML text holds no control characters (is this a binary file?)");
        return Err(vec![Diagnostic { location: Some((line, column)), ..d }]);
    }
    // The text's shape first: what would make reading it slow or lose a value is refused
    // before any value is read.
    let scan = locate::scan(source, CONFIG_LIMITS);
    if let Some(problem) = scan.problem {
        return Err(vec![tidy(shape_error(problem))]);
    }
    let places = scan.places;
    let located = |mut d: Diagnostic| {
        d.location = locate::find(&places, &d.path).map(|p| if matches!(d.code, "unknown-key" | "missing-key") { p.key } else { p.value });
        d
    };
    let de = serde_yaml_ng::Deserializer::from_str(source);
    let config: Config = match serde_path_to_error::deserialize(de) {
        Ok(c) => c,
        Err(e) => {
            let path = path_string(e.path());
            let inner = e.into_inner();
            let syntax_at = inner.location().map(|l| (l.line(), l.column()));
            let mut d = explain(&path, &strip_location(&inner.to_string()));
            d = located(d);
            if d.path.is_empty() || d.location.is_none() {
                if let Some(at) = syntax_at {
                    d.location = Some(at);
                }
            }
            // A syntax error under a key the index never reached (the reader stopped before
            // it): the key's own line, else where the reader stopped.
            if d.hint.as_deref() == Some(SYNTAX_HINT) && !d.path.is_empty() && !places.contains_key(&d.path) {
                d.location = key_line(source, &d.path, &places).or(syntax_at).or(d.location);
            }
            if d.hint.as_deref() == Some(SYNTAX_HINT) && d.message.contains("unexpected end of stream") {
                d = d.hint("a quote or bracket opened here is never closed");
            }
            // A tab in the indentation is the usual cause of a syntax error that names no key.
            if let Some((line, _)) = syntax_at.filter(|_| d.hint.as_deref() == Some(SYNTAX_HINT)) {
                let text = source.lines().nth(line.saturating_sub(1)).unwrap_or_default();
                let indent: String = text.chars().take_while(|c| c.is_whitespace()).collect();
                if let Some(i) = indent.find('\t') {
                    d.location = Some((line, indent[..i].chars().count() + 1));
                    d = d.hint(format!("YAML indents with spaces, never tabs: replace the tab at the start of line {line} with spaces"));
                }
            }
            return Err(vec![tidy(d)]);
        }
    };
    let errors: Vec<Diagnostic> = check(&config).into_iter().map(located).map(tidy).collect();
    if errors.is_empty() {
        Ok(config)
    } else {
        Err(errors)
    }
}

/// Where the last key of `path` is written, found by its text below its parent's line.
fn key_line(source: &str, path: &str, places: &std::collections::HashMap<String, locate::Place>) -> Option<(usize, usize)> {
    let key = path.rsplit('.').next()?.split('[').next()?;
    let parent = path.strip_suffix(key).map(|p| p.trim_end_matches('.')).unwrap_or_default();
    let from = locate::find(places, parent).map_or(1, |p| p.key.0);
    source.lines().enumerate().skip(from.saturating_sub(1)).find_map(|(i, l)| {
        let text = l.trim_start();
        let rest = text.strip_prefix(key)?;
        rest.starts_with(':').then(|| (i + 1, l.chars().count() - text.chars().count() + 1))
    })
}

const SYNTAX_HINT: &str = "check the YAML syntax here: indentation, `key: value`, closing brackets and quotes";

/// Why the text's shape is refused, where, and what to do.
fn shape_error(problem: locate::Problem) -> Diagnostic {
    use locate::Problem;
    let (d, at) = match problem {
        Problem::TooDeep { limit, at } => (
            Diagnostic::error("config", "", format!("the file nests more than {limit} levels deep"))
                .hint("a replatform.yaml nests at most 5 levels (`ecs.scaling.scale_out[0].from`): check the brackets and indentation here"),
            at,
        ),
        Problem::TooManyNodes { limit, at, alias: true } => (
            Diagnostic::error("config", "", format!("the aliases (`*name`) expand the file past {limit} values"))
                .hint("a config holds a few hundred values: write them out, or use aliases that do not nest"),
            at,
        ),
        Problem::TooManyNodes { limit, at, alias: false } => (
            Diagnostic::error("config", "", format!("the file holds more than {limit} values"))
                .hint("a config holds a few hundred values: name the right file with `-f PATH`"),
            at,
        ),
        Problem::DuplicateKey { path, key, first, at } => {
            let parent = path.strip_suffix(key.as_str()).map(|p| p.trim_end_matches('.')).unwrap_or_default();
            let where_ = if parent.is_empty() { "at the top level".to_string() } else { format!("in `{parent}`") };
            (
                Diagnostic::error("duplicate-key", path, format!("`{key}` is written twice {where_} (first at line {}, column {})", first.0, first.1))
                    .hint("keep one of them: YAML allows a key once in a mapping, and only one of the values would be used"),
                at,
            )
        }
        Problem::MoreThanOneDocument { at } => (
            Diagnostic::error("config", "", "the file holds more than one YAML document (`---`)")
                .hint("one file configures one service: remove the `---` line and what does not belong, or split the file"),
            at,
        ),
    };
    Diagnostic { location: Some(at), ..d }
}

/// A message made safe to print: a hostile file must not make a message of a megabyte, nor
/// put control characters (a terminal's escape sequences among them) on the user's screen.
fn tidy(mut d: Diagnostic) -> Diagnostic {
    d.message = clean_text(&d.message);
    d.hint = d.hint.map(|h| clean_text(&h));
    d.path = escape_controls(&d.path);
    if d.path.chars().count() > 120 {
        d.path = format!("{}…", d.path.chars().take(100).collect::<String>());
    }
    d
}

/// Text quoted from a file, made safe for a message: control characters escaped (`\n`,
/// `\u{1b}`), long quoted runs clipped ([`clip_quoted`]), and the whole cut at 1,000 characters.
pub fn clean_text(text: &str) -> String {
    const MAX: usize = 1_000;
    let text = clip_quoted(&escape_controls(text));
    if text.chars().count() > MAX {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    } else {
        text
    }
}

fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => "\\t".to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Every run between backticks or double quotes longer than 160 characters, cut to 120 and `…`.
pub fn clip_quoted(text: &str) -> String {
    const LONG: usize = 160;
    const KEEP: usize = 120;
    let mut out = String::with_capacity(text.len().min(4096));
    let mut rest = text;
    while let Some(open) = rest.find(['`', '"']) {
        let quote = rest[open..].chars().next().unwrap_or('`');
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        let (inner, tail) = match after.find(quote) {
            Some(close) => (&after[..close], &after[close..]),
            None => (after, ""),
        };
        if inner.chars().count() > LONG {
            out.extend(inner.chars().take(KEEP));
            out.push('…');
        } else {
            out.push_str(inner);
        }
        match tail.strip_prefix(quote) {
            Some(t) => {
                out.push(quote);
                rest = t;
            }
            None => {
                rest = tail;
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

fn path_string(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Enum { variant } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(variant);
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// serde_yaml's message without the path in front and the location behind (we show both
/// ourselves), and with Rust's type names said in words.
fn strip_location(message: &str) -> String {
    let mut m = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    if let Some((head, rest)) = m.split_once(": ") {
        if !head.is_empty() && !head.contains(' ') {
            m = rest;
        }
    }
    let m = m.replace("expected u32", "expected a whole number").replace("expected u64", "expected a whole number").replace(" as u128,", " is too large,");
    match m.find("expected struct ") {
        Some(i) => format!("{}expected a mapping", &m[..i]),
        None => m,
    }
}

/// Turns serde's messages into ours: the unknown key with the nearest known one, the missing key
/// with what it is for.
fn explain(path: &str, message: &str) -> Diagnostic {
    let quoted = |p: &str| if p.is_empty() { "the top level".to_string() } else { format!("`{p}`") };
    let where_ = quoted(path);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = split_unknown(rest);
        // The path ends with the unknown key, except inside a tagged enum (the trigger).
        let (parent, key_path) = match path.strip_suffix(name) {
            Some(p) if p.is_empty() || p.ends_with('.') => (p.trim_end_matches('.').to_string(), path.to_string()),
            _ => (path.to_string(), if path.is_empty() { name.to_string() } else { format!("{path}.{name}") }),
        };
        let d = Diagnostic::error("unknown-key", key_path, format!("unknown key `{name}` in {}", quoted(&parent)));
        return match nearest(name, &expected) {
            Some(best) => d.hint(format!("did you mean `{best}`?")),
            None if expected.is_empty() => d.hint(format!("{} takes no keys", quoted(&parent))),
            None => d.hint(format!("known keys here: {}", expected.join(", "))),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (name, expected) = split_unknown(rest);
        let d = Diagnostic::error("config", path, format!("`{name}` is not a valid value for {where_}"));
        return match nearest(name, &expected) {
            Some(best) => d.hint(format!("did you mean `{best}`? valid values: {}", expected.join(", "))),
            None => d.hint(format!("valid values: {}", expected.join(", "))),
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        let full = if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
        let d = Diagnostic::error("missing-key", path, format!("{where_} is missing the required key `{name}`"));
        return d.hint(missing_hint(&full));
    }
    if path.is_empty() {
        if let Some(what) = message.strip_prefix("invalid type: ").and_then(|m| m.strip_suffix(", expected a mapping")) {
            let what = match what.split_once(' ').map_or(what, |(kind, _)| kind) {
                "sequence" => "list",
                _ => "single value",
            };
            return Diagnostic::error("config", path, format!("the file is a {what}, not a mapping of settings"))
                .hint("a replatform.yaml is `key: value` lines (`service:`, `ecs:`, `lambda:` ...): start from `examples/sqs-worker/replatform.yaml`");
        }
        return Diagnostic::error("config", path, message.to_string()).hint(SYNTAX_HINT);
    }
    if message.starts_with("unknown anchor") {
        return Diagnostic::error("config", path, format!("{where_}: an alias (`*name`) names no anchor")).hint("write the anchor (`&name`) on a value above the alias, or write the value out");
    }
    let d = Diagnostic::error("config", path, format!("{where_}: {message}"));
    if message.starts_with("invalid type") || message.starts_with("invalid value") || message.starts_with("invalid duration") {
        d.hint(type_hint(message))
    } else {
        d.hint(SYNTAX_HINT)
    }
}

/// What to write instead of a value of the wrong type, from serde's `expected ...`.
fn type_hint(message: &str) -> String {
    let expected = message.rsplit_once(", expected ").map_or("", |(_, e)| e);
    if message.contains(" is too large,") {
        return "write a smaller number: the config reference in README.md gives each key's range".into();
    }
    if message.starts_with("invalid duration") || expected.starts_with("a duration") {
        return "a duration is a whole number and one unit, without spaces or decimals: `90s` rather than `1.5m`".into();
    }
    match expected {
        "a whole number" => "write a whole number here (0 or more), without quotes or a unit".into(),
        "a sequence" => "write a list here: `[a, b]`, or one `- item` per line below the key".into(),
        "a string" => "write text here; quote it (`\"...\"`) when it would read as a number, `true` or a list".into(),
        "a boolean" => "write `true` or `false`".into(),
        "a string, number or boolean" => "an environment value is one value: quote a list or a mapping to pass it as text".into(),
        e if e.starts_with("a mapping") || e.starts_with("a map") || e.starts_with("internally tagged") => {
            "write a mapping here: `key: value` lines, indented below the key".into()
        }
        e if e.starts_with("`false` or a mapping") => "write `dead_letter: false`, or `dead_letter: { max_receive_count: 5 }`".into(),
        "" => "see the config reference in README.md for what this key takes".into(),
        e => format!("write {e} here"),
    }
}

/// `x`, expected one of `a`, `b`  ->  ("x", ["a", "b"])
fn split_unknown(rest: &str) -> (&str, Vec<String>) {
    // The name may hold backticks itself: what serde adds after it is found from the right.
    let end = ["`, expected ", "`, there are no "].iter().filter_map(|m| rest.rfind(m)).max();
    let (name, tail) = match end {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => rest.rsplit_once('`').unwrap_or((rest, "")),
    };
    let expected = tail.split('`').skip(1).step_by(2).map(str::to_string).collect();
    (name, expected)
}

/// The known name closest to a misspelt one, when it is close enough to be a typo.
pub fn nearest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3) && *d < k.len().max(name.len()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

fn missing_hint(full: &str) -> String {
    match full {
        "service" => "add `service: my-worker`: it names both stacks and every resource".into(),
        "ecs" => "add an `ecs:` section with at least `subnets` and `security_groups`".into(),
        "ecs.subnets" => "list the subnets the tasks run in, for example `subnets: [subnet-0123456789abcdef0]`".into(),
        "ecs.security_groups" => "list the security groups of the tasks, for example `security_groups: [sg-0123456789abcdef0]`".into(),
        "lambda" => "add a `lambda:` section with `entry_point`, `command`, `working_directory` and `trigger`".into(),
        "lambda.entry_point" => "for a Python image with awslambdaric: `entry_point: [\"/usr/local/bin/python\", \"-m\", \"awslambdaric\"]`".into(),
        "lambda.command" => "name the handler, for example `command: [\"app.handler\"]`".into(),
        "lambda.working_directory" => "give the absolute folder that holds the handler's module, for example `/app`".into(),
        "lambda.trigger" => "choose `trigger: { type: sqs }` for a handler that takes the event's records, or `trigger: { type: schedule, rate: 1m }` for code that polls the queue itself".into(),
        "lambda.trigger.type" => "set `type: sqs` or `type: schedule`".into(),
        _ => format!("add `{full}`; see the config reference in README.md"),
    }
}

/// Valid Fargate memory sizes (MiB) for a cpu value.
pub fn fargate_memory(cpu: u32) -> Option<Vec<u32>> {
    let gib = |from: u32, to: u32, step: u32| (from..=to).step_by(step as usize).map(|g| g * 1024).collect::<Vec<_>>();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => gib(1, 4, 1),
        1024 => gib(2, 8, 1),
        2048 => gib(4, 16, 1),
        4096 => gib(8, 30, 1),
        8192 => gib(16, 60, 4),
        16384 => gib(32, 120, 8),
        _ => return None,
    })
}

/// CloudWatch Logs accepts only these retention periods (days).
pub const LOG_RETENTION_DAYS: [u64; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// Environment names Lambda reserves for itself; setting one fails at deploy time.
const LAMBDA_RESERVED_ENV: [&str; 18] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_') && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `subnet-` or `sg-` and 8 or 17 hex digits, as EC2 issues them.
fn is_resource_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|hex| matches!(hex.len(), 8 | 17) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_service_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().take(parts.len() - 1).all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// ECR repository names: lowercase, digits, `.`, `_`, `-`, `/` between components.
fn is_repository_name(s: &str) -> bool {
    (2..=256).contains(&s.len())
        && s.split('/').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
                && part.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && part.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// `host` or `host:port`: what a builder pushes to, without a scheme or a path.
fn is_registry_host(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0))
}

/// The value checks of single fields: each is an error AWS would reject at deploy time.
pub fn check(c: &Config) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut err = |path: &str, message: String, hint: &str| out.push(Diagnostic::error("config", path, message).hint(hint));

    if !is_service_name(&c.service) {
        err(
            "service",
            format!("service name `{}` is not valid", c.service),
            "use 1 to 32 lowercase letters, digits and single hyphens, starting with a letter, for example `orders-worker`",
        );
    }
    if let Some(r) = &c.region {
        if !is_region(r) {
            err("region", format!("`{r}` is not an AWS region name"), "use a region code such as `eu-west-1`, or leave `region` out to use AWS_REGION or the profile's region");
        }
    }
    // Without `image.repository` the service name is used, and its own rule is stricter.
    if c.image.repository.is_some() && !is_repository_name(c.repository()) {
        err(
            "image.repository",
            format!("`{}` is not a valid ECR repository name", c.repository()),
            "use 2 to 256 lowercase letters, digits, `.`, `_`, `-`, with `/` between parts",
        );
    }
    if c.image.dockerfile.trim().is_empty() {
        err("image.dockerfile", "`image.dockerfile` is empty".into(), "name the Dockerfile relative to `image.context`, or leave it out for `Dockerfile`");
    }
    if let Some(r) = &c.image.registry {
        if !is_registry_host(r) {
            err(
                "image.registry",
                format!("`{r}` is not a registry host"),
                "give a host name with an optional port and nothing else, for example `vpce-0a1b.dkr.ecr.eu-west-1.vpce.amazonaws.com` or `127.0.0.1:5000`",
            );
        }
    }
    if !(1..=1000).contains(&c.image.keep_images) {
        err("image.keep_images", format!("`image.keep_images` is {}: it must be 1 to 1000", c.image.keep_images), "the lifecycle policy keeps this many newest images; the default is 20");
    }
    for key in c.image.build_args.keys() {
        if !is_env_name(key) {
            err(&format!("image.build_args.{key}"), format!("`{key}` is not a valid build argument name"), "use letters, digits and `_`, not starting with a digit");
        }
    }

    for key in c.environment.keys() {
        let path = format!("environment.{key}");
        if !is_env_name(key) {
            err(&path, format!("`{key}` is not a valid environment variable name"), "use letters, digits and `_`, not starting with a digit");
        } else if LAMBDA_RESERVED_ENV.contains(&key.as_str()) {
            err(&path, format!("`{key}` is reserved by Lambda and cannot be set"), "remove it: Lambda sets it itself");
        } else if *key == c.queue.url_env {
            err(&path, format!("`{key}` is also `queue.url_env`: each platform sets it to its own queue's URL"), "remove it from `environment`, or set `queue.url_env` to another name");
        }
    }
    let env_size: usize = c.environment.iter().map(|(k, v)| k.len() + v.0.len()).sum::<usize>() + c.queue.url_env.len() + 120;
    if env_size > 4096 {
        err("environment", format!("the environment is about {env_size} bytes; Lambda allows 4 KB in all"), "move large values to SSM Parameter Store or Secrets Manager and read them at start-up");
    }

    let q = &c.queue;
    if !is_env_name(&q.url_env) {
        err("queue.url_env", format!("`{}` is not a valid environment variable name", q.url_env), "use letters, digits and `_`, for example `SQS_QUEUE_URL`");
    }
    if q.visibility_timeout.0 > 43_200 {
        err("queue.visibility_timeout", format!("visibility timeout {} is over the SQS maximum of 12h", q.visibility_timeout), "use at most `12h`");
    }
    if !(60..=1_209_600).contains(&q.retention.0) {
        err("queue.retention", format!("retention {} is outside what SQS allows (1m to 14d)", q.retention), "use a value from `1m` to `14d`");
    }
    if let Some(n) = q.dead_letter.max_receive_count {
        if !(1..=1000).contains(&n) {
            err("queue.dead_letter.max_receive_count", format!("max_receive_count {n} is outside 1..1000"), "use a number from 1 to 1000; 5 is a common choice");
        }
    }

    let e = &c.ecs;
    if let Some(cluster) = &e.cluster {
        if cluster.is_empty() || cluster.len() > 255 || !cluster.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') {
            err("ecs.cluster", format!("`{cluster}` is not a valid ECS cluster name"), "give the name (not the ARN) of an existing cluster, or leave `cluster` out to create one");
        }
    }
    if let Some(cmd) = &e.command {
        if cmd.is_empty() {
            err("ecs.command", "`ecs.command` is empty".into(), "leave it out to run the image's own CMD");
        }
    }
    match fargate_memory(e.cpu) {
        None => err("ecs.cpu", format!("{} is not a Fargate cpu value", e.cpu), "use 256, 512, 1024, 2048, 4096, 8192 or 16384"),
        Some(valid) if !valid.contains(&e.memory) => {
            let shown = if valid.len() <= 4 {
                valid.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            } else {
                format!("{} to {} in steps of {}", valid[0], valid[valid.len() - 1], valid[1] - valid[0])
            };
            err("ecs.memory", format!("memory {} is not a valid Fargate size for cpu {}", e.memory, e.cpu), &format!("with cpu {} use memory {shown} (MiB)", e.cpu));
        }
        Some(_) => {}
    }
    if e.subnets.is_empty() {
        err("ecs.subnets", "`ecs.subnets` is empty".into(), "list at least one subnet, for example `[subnet-0123456789abcdef0]`");
    }
    for (i, s) in e.subnets.iter().enumerate() {
        if !is_resource_id(s, "subnet-") {
            err(&format!("ecs.subnets[{i}]"), format!("`{s}` is not a subnet id"), "subnet ids look like `subnet-0123456789abcdef0`");
        }
    }
    if e.subnets.len() > 16 {
        err("ecs.subnets", format!("`ecs.subnets` lists {} subnets: ECS and Lambda take at most 16", e.subnets.len()), "list at most 16 subnets");
    }
    if e.security_groups.len() > 5 {
        err("ecs.security_groups", format!("`ecs.security_groups` lists {} security groups: ECS and Lambda take at most 5", e.security_groups.len()), "list at most 5 security groups");
    }
    if e.security_groups.is_empty() {
        err("ecs.security_groups", "`ecs.security_groups` is empty".into(), "list at least one security group, for example `[sg-0123456789abcdef0]`");
    }
    for (i, s) in e.security_groups.iter().enumerate() {
        if !is_resource_id(s, "sg-") {
            err(&format!("ecs.security_groups[{i}]"), format!("`{s}` is not a security group id"), "security group ids look like `sg-0123456789abcdef0`");
        }
    }
    let s = &e.scaling;
    if s.max == 0 {
        err("ecs.scaling.max", "`max` is 0: the service could never run a task".into(), "set `max` to at least 1");
    }
    if s.scale_out.is_empty() {
        err("ecs.scaling.scale_out", "`scale_out` has no steps: the service would never start a task".into(), "add at least `- { from: 1, add: 1 }`");
    }
    for (i, step) in s.scale_out.iter().enumerate() {
        if step.from == 0 {
            err(&format!("ecs.scaling.scale_out[{i}].from"), "a step `from: 0` fires on an empty queue and never lets the service scale in".into(), "start the first step at `from: 1`");
        }
        if step.add == 0 {
            err(&format!("ecs.scaling.scale_out[{i}].add"), "a step that adds 0 tasks does nothing".into(), "use `add: 1` or more, or remove the step");
        }
    }
    if s.scale_out_cooldown.0 > 86_400 {
        err("ecs.scaling.scale_out_cooldown", format!("cooldown {} is over 1d", s.scale_out_cooldown), "use a value up to `1d`; 60s matches the alarm period");
    }
    if s.scale_in_after.0 < 60 || s.scale_in_after.0 % 60 != 0 || s.scale_in_after.0 > 86_400 {
        err(
            "ecs.scaling.scale_in_after",
            format!("scale_in_after {} must be whole minutes from 1m to 1d", s.scale_in_after),
            "SQS metrics come once a minute: use a value such as `5m`",
        );
    }

    let l = &c.lambda;
    if !(128..=10_240).contains(&l.memory) {
        err("lambda.memory", format!("memory {} is outside what Lambda allows (128 to 10240 MiB)", l.memory), "use a value from 128 to 10240");
    }
    if !(1..=900).contains(&l.timeout.0) {
        err("lambda.timeout", format!("timeout {} is outside what Lambda allows (1s to 15m)", l.timeout), "use a value from `1s` to `15m`");
    }
    if l.reserved_concurrency == Some(0) {
        err("lambda.reserved_concurrency", "reserved concurrency 0 stops the function from ever running".into(), "use 1 or more, or leave it out for unreserved concurrency");
    }
    if l.entry_point.is_empty() || l.entry_point.iter().any(|s| s.is_empty()) {
        err("lambda.entry_point", "`lambda.entry_point` is empty: Lambda would find no runtime to start".into(), "for a Python image with awslambdaric: `[\"/usr/local/bin/python\", \"-m\", \"awslambdaric\"]`");
    }
    if l.command.is_empty() || l.command.iter().any(|s| s.is_empty()) {
        err("lambda.command", "`lambda.command` is empty: the runtime interface client needs the handler".into(), "name the handler, for example `[\"app.handler\"]`");
    }
    for (key, list) in [("lambda.entry_point", &l.entry_point), ("lambda.command", &l.command)] {
        if list.len() > 1500 {
            err(key, format!("`{key}` has {} items: Lambda takes at most 1500", list.len()), "pass fewer arguments, or read them from a file in the image");
        }
    }
    if l.working_directory.len() > 1000 {
        err("lambda.working_directory", format!("the working directory is {} characters long: Lambda takes at most 1000", l.working_directory.len()), "give the absolute folder that holds the handler's module, for example `/app`");
    } else if !l.working_directory.starts_with('/') {
        err(
            "lambda.working_directory",
            format!("working directory `{}` is not absolute", l.working_directory),
            "give the absolute folder that holds the handler's module, for example `/app`",
        );
    }
    match &l.trigger {
        Trigger::Sqs(t) => {
            if !(1..=10_000).contains(&t.batch_size) {
                err("lambda.trigger.batch_size", format!("batch size {} is outside 1..10000", t.batch_size), "use 1 to 10000; 10 is the default");
            }
            if t.max_batching_window.0 > 300 {
                err("lambda.trigger.max_batching_window", format!("batching window {} is over 5m", t.max_batching_window), "use a value up to `5m`");
            }
            if t.batch_size > 10 && t.max_batching_window.0 == 0 {
                err("lambda.trigger.batch_size", format!("batch size {} needs a batching window", t.batch_size), "with batch_size over 10 set `max_batching_window` to at least `1s`");
            }
            if let Some(m) = t.max_concurrency {
                if !(2..=1000).contains(&m) {
                    err("lambda.trigger.max_concurrency", format!("max_concurrency {m} is outside 2..1000"), "use 2 to 1000, or leave it out");
                }
            }
        }
        Trigger::Schedule(t) => {
            if t.rate.0 < 60 || t.rate.0 % 60 != 0 {
                err("lambda.trigger.rate", format!("rate {} must be whole minutes, at least 1m", t.rate), "EventBridge schedules run at most once a minute: use `1m`, `5m`, `1h`");
            }
        }
    }
    if !LOG_RETENTION_DAYS.contains(&(c.logs.retention.0 / 86_400)) || c.logs.retention.0 % 86_400 != 0 {
        err(
            "logs.retention",
            format!("log retention {} is not one CloudWatch Logs offers", c.logs.retention),
            "use one of 1d, 3d, 5d, 7d, 14d, 30d, 60d, 90d, 120d, 150d, 180d, 365d, 400d, 545d, 731d, 1096d, 1827d, 2192d, 2557d, 2922d, 3288d, 3653d",
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_names_the_first_byte_that_is_not_utf8() {
        assert_eq!(decode(b"\xef\xbb\xbfservice: a\n"), Ok("service: a\n"));
        let d = decode(b"service: a\nregion: caf\xe9\n").unwrap_err();
        assert_eq!(d.location, Some((2, 12)));
        assert!(d.message.contains("byte 0xe9 at line 2, column 12"), "{}", d.message);
        assert!(decode(b"\xff\xfes\x00").unwrap_err().hint.unwrap().contains("UTF-16"));
        assert!(decode(&vec![b'#'; MAX_CONFIG_BYTES + 1]).unwrap_err().message.contains("at most 1.0 MiB"));
    }

    #[test]
    fn long_quoted_values_are_clipped() {
        let long = "x".repeat(5_000);
        let clipped = clip_quoted(&format!("service name `{long}` is not valid \"{long}\" end"));
        assert_eq!(clipped, format!("service name `{}…` is not valid \"{}…\" end", "x".repeat(120), "x".repeat(120)));
        assert_eq!(clip_quoted("`a` and `b` and an open `c"), "`a` and `b` and an open `c");
        assert_eq!(clean_text("key `a\u{1b}[2J\nb`"), "key `a\\u{1b}[2J\\nb`");
        assert_eq!(split_unknown("a`b`, expected one of `x`, `y`"), ("a`b", vec!["x".to_string(), "y".to_string()]));
        assert_eq!(split_unknown("a`b`, there are no fields"), ("a`b", vec![]));
        assert_eq!(clean_text(&format!("`{}` `{}`", "`".repeat(3_000), "x\n".repeat(3_000))).chars().count(), 1_001);
    }

    #[test]
    fn shape_problems_are_refused_before_reading() {
        let errors = parse("service: a\nservice: b\n").unwrap_err();
        assert_eq!((errors[0].code, errors[0].location), ("duplicate-key", Some((2, 1))));
        let deep = format!("environment: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse(&deep).unwrap_err()[0].message.contains("nests more than 32 levels"));
    }
}
