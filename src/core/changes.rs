//! What a deploy would change, as data: the rows of a change set, whether any destroys
//! something, and the text difference between two templates. Pure.

use serde::Serialize;

/// A resource change's action, as CloudFormation names it (`ResourceChange.Action` in the AWS
/// CloudFormation API Reference). Serialized as that name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    Add,
    Modify,
    Remove,
    Import,
    Dynamic,
    /// A name this build does not know yet, kept as CloudFormation gave it.
    #[serde(untagged)]
    Other(String),
}

impl Action {
    /// The action CloudFormation's name stands for.
    pub fn of(name: &str) -> Self {
        match name {
            "Add" => Action::Add,
            "Modify" => Action::Modify,
            "Remove" => Action::Remove,
            "Import" => Action::Import,
            "Dynamic" => Action::Dynamic,
            other => Action::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Action::Add => "Add",
            Action::Modify => "Modify",
            Action::Remove => "Remove",
            Action::Import => "Import",
            Action::Dynamic => "Dynamic",
            Action::Other(name) => name,
        }
    }
}

/// Whether a `Modify` replaces the resource (`ResourceChange.Replacement`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Replacement {
    True,
    False,
    /// It depends on a value only known while the update runs: it may.
    Conditional,
}

impl Replacement {
    /// The value CloudFormation's word stands for; none for a word it does not use.
    pub fn of(word: &str) -> Option<Self> {
        match word {
            "True" => Some(Replacement::True),
            "False" => Some(Replacement::False),
            "Conditional" => Some(Replacement::Conditional),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Replacement::True => "True",
            Replacement::False => "False",
            Replacement::Conditional => "Conditional",
        }
    }
}

/// One resource change of a change set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    pub action: Action,
    pub logical_id: String,
    pub resource_type: String,
    /// For a `Modify`; none otherwise.
    pub replacement: Option<Replacement>,
    /// The properties (or attributes) the change touches.
    pub properties: Vec<String>,
}

impl Change {
    /// Removes or replaces a resource: what is in it may be lost, so it needs a yes.
    pub fn destructive(&self) -> bool {
        self.action == Action::Remove
            || matches!(
                self.replacement,
                Some(Replacement::True | Replacement::Conditional)
            )
    }
}

impl Change {
    /// Replaces or removes a queue: the messages in it stay behind, in a queue the stack no
    /// longer knows (the templates retain it) or nowhere.
    pub fn loses_queue(&self) -> bool {
        self.resource_type == "AWS::SQS::Queue" && self.destructive()
    }
}

/// The Lambda stack's mapping on the production queue (`production:`); with `queues:`, each
/// entry's is `Production<Entry>EventSourceMapping` (templates/lambda-production-trigger.yaml.hbs).
pub const PRODUCTION_MAPPING: &str = "ProductionEventSourceMapping";

fn is_production_mapping(logical_id: &str) -> bool {
    logical_id
        .strip_prefix("Production")
        .and_then(|rest| rest.strip_suffix("EventSourceMapping"))
        .is_some_and(|entry| entry.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// What to say when the changes add mappings on production queues: they are created disabled,
/// and nothing of production changes before `cutover`.
pub fn production_note(changes: &[Change]) -> Option<String> {
    let added: Vec<String> = changes
        .iter()
        .filter(|c| c.action == Action::Add && is_production_mapping(&c.logical_id))
        .map(|c| format!("`{}`", c.logical_id))
        .collect();
    match added.len() {
        0 => None,
        1 => Some(format!("{} is created disabled: it consumes nothing of the production queue, and the production service is not changed, until `replatform cutover`", added[0])),
        _ => Some(format!("{} are created disabled: they consume nothing of the production queues, and the production service is not changed, until `replatform cutover`", added.join(", "))),
    }
}

/// The rows for a stack that does not exist yet: every resource of the template, added.
pub fn creations(template: &str) -> Result<Vec<Change>, String> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(template).map_err(|e| e.to_string())?;
    let resources = doc
        .get("Resources")
        .and_then(|r| r.as_mapping())
        .ok_or("the template has no Resources")?;
    Ok(resources
        .iter()
        .map(|(id, r)| Change {
            action: Action::Add,
            logical_id: id.as_str().unwrap_or_default().to_string(),
            resource_type: r
                .get("Type")
                .and_then(|t| t.as_str())
                .unwrap_or_default()
                .to_string(),
            replacement: None,
            properties: vec![],
        })
        .collect())
}

/// A unified diff of two templates, or `None` when they are equal.
pub fn template_diff(deployed: &str, rendered: &str, stack: &str) -> Option<String> {
    if deployed.trim_end() == rendered.trim_end() {
        return None;
    }
    let diff = similar::TextDiff::from_lines(deployed, rendered);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(
                &format!("{stack} (deployed)"),
                &format!("{stack} (rendered)"),
            )
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &str, replacement: Option<&str>) -> Change {
        Change {
            action: Action::of(action),
            logical_id: "Q".into(),
            resource_type: "AWS::SQS::Queue".into(),
            replacement: replacement.and_then(Replacement::of),
            properties: vec![],
        }
    }

    #[test]
    fn removals_and_replacements_are_destructive() {
        assert!(change("Remove", None).destructive());
        assert!(change("Modify", Some("True")).destructive());
        assert!(change("Modify", Some("Conditional")).destructive());
        assert!(!change("Modify", Some("False")).destructive());
        assert!(!change("Add", None).destructive());
    }

    #[test]
    fn adding_the_production_mapping_is_said_and_nothing_else_is() {
        let add = |id: &str| Change {
            action: Action::Add,
            logical_id: id.into(),
            resource_type: "AWS::Lambda::EventSourceMapping".into(),
            replacement: None,
            properties: vec![],
        };
        assert!(
            production_note(&[add("EventSourceMapping"), add(PRODUCTION_MAPPING)])
                .is_some_and(|n| n.contains("disabled"))
        );
        assert_eq!(production_note(&[add("EventSourceMapping")]), None);
        let modify = Change {
            action: Action::Modify,
            ..add(PRODUCTION_MAPPING)
        };
        let several = production_note(&[
            add("ProductionOrdersEventSourceMapping"),
            add("ProductionTopicEventsEventSourceMapping"),
            add("OrdersEventSourceMapping"),
        ])
        .unwrap();
        assert!(
            several.starts_with("`ProductionOrdersEventSourceMapping`, `ProductionTopicEventsEventSourceMapping` are created disabled"),
            "{several}"
        );
        assert_eq!(
            production_note(&[modify]),
            None,
            "only its creation is news"
        );
    }

    #[test]
    fn a_new_stack_lists_its_resources() {
        let rows = creations(
            "Resources:\n  Queue: {Type: AWS::SQS::Queue}\n  Fn: {Type: AWS::Lambda::Function}\n",
        )
        .unwrap();
        let ids: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|c| {
                (
                    c.action.as_str(),
                    c.logical_id.as_str(),
                    c.resource_type.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ids,
            [
                ("Add", "Queue", "AWS::SQS::Queue"),
                ("Add", "Fn", "AWS::Lambda::Function")
            ]
        );
    }

    #[test]
    fn template_diff_shows_the_changed_line() {
        assert_eq!(template_diff("a\nb\n", "a\nb", "s"), None);
        let d = template_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n", "s").unwrap();
        assert!(
            d.contains("-b: 2\n+b: 3\n") && d.contains("--- s (deployed)"),
            "{d}"
        );
    }

    #[test]
    fn actions_and_replacements_serialize_as_cloudformation_names_them() {
        let c = Change {
            action: Action::Modify,
            replacement: Some(Replacement::Conditional),
            ..change("Add", None)
        };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            (json["action"].as_str(), json["replacement"].as_str()),
            (Some("Modify"), Some("Conditional"))
        );
        let later = change("Transform", None);
        assert_eq!(later.action, Action::Other("Transform".into()));
        assert_eq!(serde_json::to_value(&later).unwrap()["action"], "Transform");
        assert!(!later.destructive());
    }
}
