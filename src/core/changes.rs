//! What a deploy would change, as data: the rows of a change set, whether any destroys
//! something, and the text difference between two templates. Pure.

use serde::Serialize;

/// One resource change of a change set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False` or `Conditional` for a `Modify`; none otherwise.
    pub replacement: Option<String>,
    /// The properties (or attributes) the change touches.
    pub properties: Vec<String>,
}

impl Change {
    /// Removes or replaces a resource: what is in it may be lost, so it needs a yes.
    pub fn destructive(&self) -> bool {
        self.action == "Remove"
            || matches!(
                self.replacement.as_deref(),
                Some("True") | Some("Conditional")
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

/// The Lambda stack's mapping on the production queue (`production:`).
pub const PRODUCTION_MAPPING: &str = "ProductionEventSourceMapping";

/// What to say when the changes add the mapping on the production queue: it is created
/// disabled, and nothing of production changes before `cutover`.
pub fn production_note(changes: &[Change]) -> Option<&'static str> {
    changes
        .iter()
        .any(|c| c.action == "Add" && c.logical_id == PRODUCTION_MAPPING)
        .then_some("`ProductionEventSourceMapping` is created disabled: it consumes nothing of the production queue, and the production service is not changed, until `replatform cutover`")
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
            action: "Add".into(),
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
            action: action.into(),
            logical_id: "Q".into(),
            resource_type: "AWS::SQS::Queue".into(),
            replacement: replacement.map(str::to_string),
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
            action: "Add".into(),
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
            action: "Modify".into(),
            ..add(PRODUCTION_MAPPING)
        };
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
}
