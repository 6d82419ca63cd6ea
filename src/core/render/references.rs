//! What CloudFormation would refuse at deploy time about a stack's names: no resource, a logical
//! id that is not alphanumeric, a resource without `Type`, and a reference to a name the stack
//! does not define. Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::{Mapping, Value as Yaml};

use super::{RenderError, Sources};
use crate::core::config::clean_text;

/// Which file each part of a stack came from, for messages.
pub(super) struct Owners<'a> {
    pub(super) resources: &'a BTreeMap<String, String>,
    pub(super) conditions: &'a BTreeMap<String, String>,
    pub(super) outputs: &'a BTreeMap<String, String>,
    pub(super) sources: &'a Sources,
    pub(super) stack: &'a str,
}

impl Owners<'_> {
    /// `path:line:column` of `needle` in the file that defines `section.key`.
    fn at(&self, section: &str, key: &str, needle: &str) -> String {
        let owner = match section {
            "Resources" => self.resources.get(key),
            "Conditions" => self.conditions.get(key),
            _ => self.outputs.get(key),
        };
        let file = owner.map_or(self.stack, String::as_str);
        let shown = self.sources.shown(file);
        match self.sources.files.get(file) {
            Some(text) => place_of(&shown, text, needle),
            None => shown,
        }
    }
}

/// CloudFormation's pseudo parameters: what `Ref` and `${}` may name besides resources.
const PSEUDO_PARAMETERS: [&str; 8] = [
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// What CloudFormation would refuse at deploy time about the stack's parts: no resource, a
/// logical id that is not alphanumeric, a resource without `Type`, and a reference (`Ref`,
/// `Fn::GetAtt`, `Fn::Sub`, `DependsOn`, a condition) to a name the stack does not define.
pub(super) fn check_stack(
    stack: &str,
    resources: &Mapping,
    conditions: &Mapping,
    outputs: &Mapping,
    owners: &Owners<'_>,
) -> Result<(), RenderError> {
    let invalid = |at: String, reason: String| RenderError::Invalid {
        at,
        reason: clean_text(&reason),
    };
    if resources.is_empty() {
        return Err(invalid(
            owners.sources.shown(owners.stack),
            format!("stack `{stack}` has no resources: CloudFormation needs at least one"),
        ));
    }
    let names = |m: &Mapping| {
        m.keys()
            .filter_map(Yaml::as_str)
            .map(str::to_string)
            .collect::<BTreeSet<String>>()
    };
    let (resource_ids, condition_ids) = (names(resources), names(conditions));
    for (section, body) in [
        ("Resources", resources),
        ("Conditions", conditions),
        ("Outputs", outputs),
    ] {
        for (key, value) in body {
            let key = key.as_str().unwrap_or_default();
            if key.is_empty() || key.len() > 255 || !key.chars().all(|c| c.is_ascii_alphanumeric())
            {
                return Err(invalid(
                    owners.at(section, key, key),
                    format!("`{section}.{key}`: a logical id is letters and digits only"),
                ));
            }
            if section == "Resources" && !value.get("Type").is_some_and(Yaml::is_string) {
                return Err(invalid(
                    owners.at(section, key, key),
                    format!("resource `{key}` has no `Type`"),
                ));
            }
        }
    }
    let mut found = Vec::new();
    for (section, body) in [
        ("Resources", resources),
        ("Conditions", conditions),
        ("Outputs", outputs),
    ] {
        for (key, value) in body {
            let key = key.as_str().unwrap_or_default();
            references(
                value,
                &mut format!("{section}.{key}"),
                section == "Conditions",
                &mut found,
            );
            if section != "Conditions" {
                if let Some(Yaml::String(c)) = value.get("Condition") {
                    found.push((
                        format!("{section}.{key}.Condition"),
                        c.clone(),
                        Kind::Condition,
                    ));
                }
            }
            if section == "Resources" {
                match value.get("DependsOn") {
                    Some(Yaml::String(d)) => found.push((
                        format!("{section}.{key}.DependsOn"),
                        d.clone(),
                        Kind::Resource,
                    )),
                    Some(Yaml::Sequence(list)) => {
                        for d in list.iter().filter_map(Yaml::as_str) {
                            found.push((
                                format!("{section}.{key}.DependsOn"),
                                d.to_string(),
                                Kind::Resource,
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for (path, name, kind) in found {
        let known = match kind {
            Kind::Condition => condition_ids.contains(&name),
            Kind::Resource => resource_ids.contains(&name),
            Kind::ResourceOrParameter(ref vars) => {
                resource_ids.contains(&name)
                    || PSEUDO_PARAMETERS.contains(&name.as_str())
                    || vars.contains(&name)
            }
        };
        if !known {
            let (what, ids) = match kind {
                Kind::Condition => ("condition", &condition_ids),
                _ => ("resource", &resource_ids),
            };
            let list: Vec<String> = ids.iter().take(12).map(|i| format!("`{i}`")).collect();
            let more = if ids.len() > 12 { ", ..." } else { "" };
            let defined = if ids.is_empty() {
                format!("it defines no {what}")
            } else {
                format!("its {what}s are {}{more}", list.join(", "))
            };
            let mut parts = path.splitn(3, '.');
            let (section, key) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            return Err(invalid(
                owners.at(section, key, &name),
                format!("`{path}` refers to `{name}`, which is not a {what} of stack `{stack}`: {defined}"),
            ));
        }
    }
    Ok(())
}

enum Kind {
    Resource,
    /// `Ref` and `${}`: a resource, a pseudo parameter, or one of `Fn::Sub`'s own variables.
    ResourceOrParameter(BTreeSet<String>),
    Condition,
}

/// The names `value` refers to, with the path of each reference.
fn references(
    value: &Yaml,
    path: &mut String,
    in_conditions: bool,
    found: &mut Vec<(String, String, Kind)>,
) {
    let len = path.len();
    let function = |name: &str,
                    arg: &Yaml,
                    path: &mut String,
                    found: &mut Vec<(String, String, Kind)>| match name {
        "Ref" => {
            if let Some(r) = arg.as_str() {
                found.push((
                    path.clone(),
                    r.to_string(),
                    Kind::ResourceOrParameter(BTreeSet::new()),
                ));
            }
        }
        "Fn::GetAtt" | "GetAtt" => {
            let target = match arg {
                Yaml::String(s) => s.split('.').next().map(str::to_string),
                Yaml::Sequence(list) => list.first().and_then(Yaml::as_str).map(str::to_string),
                _ => None,
            };
            if let Some(t) = target {
                found.push((path.clone(), t, Kind::Resource));
            }
        }
        "Fn::Sub" | "Sub" => {
            let (text, vars) = match arg {
                Yaml::String(s) => (Some(s.as_str()), BTreeSet::new()),
                Yaml::Sequence(list) => (
                    list.first().and_then(Yaml::as_str),
                    list.get(1)
                        .and_then(Yaml::as_mapping)
                        .map(|m| {
                            m.keys()
                                .filter_map(Yaml::as_str)
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                _ => (None, BTreeSet::new()),
            };
            let mut rest = text.unwrap_or_default();
            while let Some(i) = rest.find("${") {
                rest = &rest[i + 2..];
                let Some(end) = rest.find('}') else { break };
                let var = &rest[..end];
                rest = &rest[end + 1..];
                if var.starts_with('!') {
                    continue; // a literal `${!x}`
                }
                let var = var.trim();
                match var.split_once('.') {
                    Some((resource, _)) if !vars.contains(var) => {
                        found.push((path.clone(), resource.to_string(), Kind::Resource))
                    }
                    _ => found.push((
                        path.clone(),
                        var.to_string(),
                        Kind::ResourceOrParameter(vars.clone()),
                    )),
                }
            }
        }
        "Fn::If" | "If" => {
            if let Some(c) = arg
                .as_sequence()
                .and_then(|l| l.first())
                .and_then(Yaml::as_str)
            {
                found.push((path.clone(), c.to_string(), Kind::Condition));
            }
        }
        "Condition" if in_conditions => {
            if let Some(c) = arg.as_str() {
                found.push((path.clone(), c.to_string(), Kind::Condition));
            }
        }
        _ => {}
    };
    match value {
        Yaml::Tagged(t) => {
            let tag = t.tag.to_string();
            function(tag.trim_start_matches('!'), &t.value, path, found);
            references(&t.value, path, in_conditions, found);
        }
        Yaml::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or("?");
                path.push('.');
                path.push_str(key);
                if m.len() == 1 {
                    function(key, v, path, found);
                }
                references(v, path, in_conditions, found);
                path.truncate(len);
            }
        }
        Yaml::Sequence(list) => {
            for (i, v) in list.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                references(v, path, in_conditions, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Where `needle` is first written in `text`, as `path:line:column`, or the path alone.
pub(super) fn place_of(shown: &str, text: &str, needle: &str) -> String {
    match text.find(needle).filter(|_| !needle.is_empty()) {
        Some(offset) => {
            let before = &text[..offset];
            format!(
                "{shown}:{}:{}",
                before.matches('\n').count() + 1,
                before
                    .rsplit('\n')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .count()
                    + 1
            )
        }
        None => shown.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_input::{message, render_with};

    #[test]
    fn references_to_names_the_stack_does_not_define_are_refused() {
        let extra = |body: &str| {
            let stack = include_str!("../../../stacks/lambda.yaml").replace(
                "  - queue.yaml.hbs\n",
                "  - queue.yaml.hbs\n  - extra.yaml.hbs\n",
            );
            message(&[
                ("stacks/lambda.yaml", &stack),
                (
                    "templates/extra.yaml.hbs",
                    &format!("Resources:\n  Extra:\n    Type: AWS::SQS::Queue\n{body}"),
                ),
            ])
        };
        assert!(extra("    Properties: {QueueName: !Ref Nope}\n")
            .contains("refers to `Nope`, which is not a resource"));
        assert!(
            extra("    Properties: {QueueName: {\"Fn::GetAtt\": [Gone, Arn]}}\n")
                .contains("`Gone`")
        );
        assert!(extra("    Properties: {QueueName: !Sub \"${AWS::Region}-${Queue.Arn}-${!Lit}-${Missing}\"}\n").contains("`Missing`"));
        assert!(extra("    DependsOn: [Queue, Later]\n").contains("`Later`"));
        assert!(extra("    Condition: Sometimes\n").contains("not a condition"));
        let fine = include_str!("../../../stacks/lambda.yaml").replace(
            "  - queue.yaml.hbs\n",
            "  - queue.yaml.hbs\n  - extra.yaml.hbs\n",
        );
        let ok = render_with(&[
            ("stacks/lambda.yaml", &fine),
            ("templates/extra.yaml.hbs", "Resources:\n  Extra:\n    Type: AWS::SQS::Queue\n    DependsOn: Queue\n    Properties:\n      QueueName: !Sub [\"${Name}-${AWS::StackName}\", {Name: !GetAtt Queue.QueueName}]\n"),
        ]);
        assert!(ok.is_ok(), "{:?}", ok.err());
    }
}
