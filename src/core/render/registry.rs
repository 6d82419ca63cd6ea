//! The strict Handlebars registry the stacks render with: its helper, and the checks that keep
//! compiling and rendering a user's template quick (its size in expressions, how deep its blocks
//! and subexpressions nest, partials that include each other, loops over long lists). Pure but
//! for one memo: a template's text is compiled once per process (`compiled`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

use handlebars::template::{Parameter, Template, TemplateElement};
use handlebars::{handlebars_helper, Handlebars};
use serde_json::Value as Json;

use super::{
    RenderError, Sources, MAX_BLOCK_DEPTH, MAX_EXPRESSIONS, MAX_ITERATIONS, MAX_SUBEXPRESSION_DEPTH,
};
use crate::core::config::clean_text;

handlebars_helper!(json_helper: |v: Json| serde_json::to_string(&v).unwrap_or_default());

/// What a template's text shows before it is compiled: the checks that keep compiling it quick
/// and its nesting within the stack. The error's place is 1-based line and column.
fn check_text(text: &str) -> Result<(), (String, (usize, usize))> {
    let place = |offset: usize| {
        let before = &text[..offset];
        (
            before.matches('\n').count() + 1,
            before
                .rsplit('\n')
                .next()
                .unwrap_or_default()
                .chars()
                .count()
                + 1,
        )
    };
    let (mut expressions, mut depth) = (0usize, 0usize);
    let mut rest = 0;
    while let Some(found) = text[rest..].find("{{") {
        let start = rest + found;
        let tag = &text[start..];
        // Comments and raw blocks hold text that is not parsed.
        let end = if tag.starts_with("{{!--") {
            tag.find("--}}").map(|e| e + 4)
        } else if tag.starts_with("{{{{") {
            tag.find("}}}}").map(|e| e + 4)
        } else {
            tag.find("}}").map(|e| e + 2)
        };
        let Some(end) = end else { return Ok(()) }; // Handlebars says what is unclosed
        let inner = tag[2..end - 2].trim_start_matches(['{', '~']).trim_start();
        rest = start + end;
        if tag.starts_with("{{!") {
            continue;
        }
        expressions += 1;
        if expressions > MAX_EXPRESSIONS {
            return Err((
                format!(
                    "the file has more than {MAX_EXPRESSIONS} Handlebars expressions (`{{{{ }}}}`)"
                ),
                place(start),
            ));
        }
        if inner.starts_with('#')
            || (inner.starts_with('^')
                && inner.len() > 1
                && !inner[1..].trim_start().starts_with(['}', '~']))
        {
            depth += 1;
            if depth > MAX_BLOCK_DEPTH {
                return Err((
                    format!("blocks (`{{{{#...}}}}`) nest more than {MAX_BLOCK_DEPTH} deep here"),
                    place(start),
                ));
            }
        } else if inner.starts_with('/') {
            depth = depth.saturating_sub(1);
        }
        let (mut parens, mut quote) = (0usize, None);
        for (i, c) in inner.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '(') => {
                    parens += 1;
                    if parens > MAX_SUBEXPRESSION_DEPTH {
                        let offset = inner.as_ptr() as usize - text.as_ptr() as usize + i;
                        return Err((format!("subexpressions (`(...)`) nest more than {MAX_SUBEXPRESSION_DEPTH} deep here"), place(offset)));
                    }
                }
                (None, ')') => parens = parens.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(())
}

/// A compiled template's loops, blocks and partials, for the checks across templates.
#[derive(Default)]
struct Shape {
    /// The deepest nesting of blocks, and of `{{#each}}` blocks, in the template itself.
    blocks: usize,
    loops: usize,
    /// Partials it includes: name, blocks and loops around the inclusion, where.
    partials: Vec<(String, usize, usize, (usize, usize))>,
    /// The first construct refused, and where.
    refused: Option<(String, (usize, usize))>,
}

fn walk(t: &Template, blocks: usize, loops: usize, at: (usize, usize), shape: &mut Shape) {
    if blocks > MAX_BLOCK_DEPTH || shape.refused.is_some() {
        return;
    }
    shape.blocks = shape.blocks.max(blocks);
    shape.loops = shape.loops.max(loops);
    for (i, element) in t.elements.iter().enumerate() {
        let here = t.mapping.get(i).map_or(at, |m| (m.0, m.1));
        match element {
            TemplateElement::HelperBlock(h) => {
                let inner =
                    loops + usize::from(matches!(&h.name, Parameter::Name(n) if n == "each"));
                if let Some(body) = &h.template {
                    walk(body, blocks + 1, inner, here, shape);
                }
                if let Some(otherwise) = &h.inverse {
                    walk(otherwise, blocks + 1, loops, here, shape);
                }
            }
            TemplateElement::PartialExpression(d) | TemplateElement::PartialBlock(d) => {
                match &d.name {
                    Parameter::Name(n) if n.starts_with('@') => {}
                    Parameter::Name(_) | Parameter::Path(_) => {
                        let name = d.name.as_name().unwrap_or_default().to_string();
                        shape.partials.push((name, blocks + 1, loops, here));
                    }
                    _ => {
                        shape.refused.get_or_insert(("a partial's name must be written out (`{{> templates/name.yaml.hbs}}`)".into(), here));
                    }
                }
                if let Some(body) = &d.template {
                    walk(body, blocks + 1, loops, here, shape);
                }
            }
            TemplateElement::DecoratorExpression(_) | TemplateElement::DecoratorBlock(_) => {
                shape.refused.get_or_insert((
                    "decorators and inline partials (`{{*...}}`, `{{#*inline}}`) are not supported"
                        .into(),
                    here,
                ));
            }
            _ => {}
        }
    }
}

/// The template `name` compiled from `text`, as `register_template_string` compiles it; each
/// name and text is compiled once per process. Handlebars' parser works out every element's line
/// and column from the start of the text, so compiling the built-in templates is a large part of
/// what a render costs, and `assess --cluster` renders a config a service
/// (docs/measures.md#assess).
fn compiled(name: &str, text: &str) -> Result<Template, handlebars::TemplateError> {
    type Memo = Mutex<HashMap<(String, String), Template>>;
    static MEMO: OnceLock<Memo> = OnceLock::new();
    let memo = MEMO.get_or_init(Memo::default);
    let key = (name.to_string(), text.to_string());
    if let Some(t) = memo.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(t.clone());
    }
    let t = Template::compile_with_name(text, name.to_string())?;
    memo.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, t.clone());
    Ok(t)
}

/// A strict registry: a misspelt field is an error, and nothing is HTML-escaped. Every template
/// is checked before and after it compiles: its size in expressions, how deep its blocks and
/// subexpressions nest, partials that include themselves, and how many iterations its nested
/// loops can run over the data.
pub(super) fn registry(sources: &Sources, data: &Json) -> Result<Handlebars<'static>, RenderError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.register_helper("json", Box::new(json_helper));
    let at = |name: &str, (line, column): (usize, usize)| {
        format!("{}:{line}:{column}", sources.shown(name))
    };
    let mut shapes: BTreeMap<&str, Shape> = BTreeMap::new();
    for (name, text) in sources.files() {
        check_text(text).map_err(|(reason, place)| RenderError::Invalid {
            at: at(name, place),
            reason,
        })?;
        let template = compiled(name, text).map_err(|e| {
            let reason = match e.reason() {
                // Pest lists every rule it expected: say what usually went wrong instead.
                handlebars::TemplateErrorReason::InvalidSyntax(_) => {
                    "invalid syntax: check that each `{{#block}}` is closed by its `{{/block}}` and each `{{` by `}}`".to_string()
                }
                other => clean_text(&other.to_string()),
            };
            let reason = reason.lines().next().unwrap_or_default().chars().take(300).collect::<String>();
            match e.pos() {
                Some(place) => RenderError::Invalid { at: at(name, place), reason: format!("not valid Handlebars: {reason}") },
                None => RenderError::Compile { name: sources.shown(name), reason },
            }
        })?;
        hb.register_template(name, template);
        let mut shape = Shape::default();
        if let Some(t) = hb.get_template(name) {
            walk(t, 0, 0, (1, 1), &mut shape);
        }
        if let Some((reason, place)) = shape.refused.take() {
            return Err(RenderError::Invalid {
                at: at(name, place),
                reason,
            });
        }
        shapes.insert(name, shape);
    }

    // Through partials: a cycle never ends, and blocks and loops add up.
    let longest = longest_list(data);
    let mut done: HashMap<&str, (usize, usize)> = HashMap::new();
    for name in shapes.keys() {
        let mut path = Vec::new();
        let (blocks, loops) =
            nesting(name, &shapes, &mut done, &mut path).map_err(|(reason, from, place)| {
                RenderError::Invalid {
                    at: at(from, place),
                    reason,
                }
            })?;
        if blocks > MAX_BLOCK_DEPTH {
            return Err(RenderError::Invalid {
                at: sources.shown(name),
                reason: format!(
                    "blocks nest {blocks} deep with its partials: at most {MAX_BLOCK_DEPTH}"
                ),
            });
        }
        if loops >= 2 {
            let runs = (longest as u64).saturating_pow(loops as u32);
            if runs > MAX_ITERATIONS {
                return Err(RenderError::Invalid {
                    at: sources.shown(name),
                    reason: format!("`{{{{#each}}}}` blocks nest {loops} deep over lists of up to {longest} items: more than {MAX_ITERATIONS} iterations"),
                });
            }
        }
    }
    Ok(hb)
}

/// Why a template is refused: the reason, the template, and where in it.
type Refusal<'a> = (String, &'a str, (usize, usize));

/// The deepest blocks and loops of a template with the partials it includes.
fn nesting<'a>(
    name: &'a str,
    shapes: &'a BTreeMap<&'a str, Shape>,
    done: &mut HashMap<&'a str, (usize, usize)>,
    path: &mut Vec<&'a str>,
) -> Result<(usize, usize), Refusal<'a>> {
    if let Some(d) = done.get(name) {
        return Ok(*d);
    }
    let Some((key, shape)) = shapes.get_key_value(name) else {
        return Ok((0, 0));
    }; // Handlebars says it is missing
    path.push(key);
    let (mut blocks, mut loops) = (shape.blocks, shape.loops);
    for (partial, b, l, place) in &shape.partials {
        if let Some(i) = path.iter().position(|p| *p == partial.as_str()) {
            let cycle = path[i..]
                .iter()
                .chain(std::iter::once(&partial.as_str()))
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" -> ");
            return Err((
                format!("partials include each other without end: {cycle}"),
                key,
                *place,
            ));
        }
        let (pb, pl) = nesting(partial, shapes, done, path)?;
        blocks = blocks.max(b + pb);
        loops = loops.max(l + pl);
    }
    path.pop();
    done.insert(key, (blocks, loops));
    Ok((blocks, loops))
}

/// The length of the longest list or map in the data: what one `{{#each}}` can iterate.
fn longest_list(v: &Json) -> usize {
    match v {
        Json::Array(a) => a.iter().map(longest_list).max().unwrap_or(0).max(a.len()),
        Json::Object(o) => o.values().map(longest_list).max().unwrap_or(0).max(o.len()),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_input::{config, message, sources_with};
    use super::super::{render, Data, Image};
    use super::*;

    #[test]
    fn json_helper_quotes_for_yaml() {
        let hb = {
            let mut hb = Handlebars::new();
            hb.register_escape_fn(handlebars::no_escape);
            hb.register_helper("json", Box::new(json_helper));
            hb
        };
        let out = hb
            .render_template("{{json v}}", &json!({ "v": ["a: b", "#c", "\"q\""] }))
            .unwrap();
        assert_eq!(out, r##"["a: b","#c","\"q\""]"##);
        let parsed: Vec<String> = serde_yaml_ng::from_str(&out).unwrap();
        assert_eq!(parsed, ["a: b", "#c", "\"q\""]);
    }

    #[test]
    fn a_template_compiled_once_is_compiled_again_when_its_text_changes() {
        let render = |t: Template| {
            let mut hb = Handlebars::new();
            hb.register_template("templates/memo.yaml.hbs", t);
            hb.render("templates/memo.yaml.hbs", &json!({ "v": 1 }))
                .unwrap()
        };
        let first = compiled("templates/memo.yaml.hbs", "a: {{v}}").unwrap();
        assert_eq!(render(first), "a: 1");
        let again = compiled("templates/memo.yaml.hbs", "a: {{v}}").unwrap();
        assert_eq!(render(again), "a: 1");
        let changed = compiled("templates/memo.yaml.hbs", "b: {{v}}").unwrap();
        assert_eq!(render(changed), "b: 1");
        assert!(compiled("templates/memo.yaml.hbs", "{{#if v}}").is_err());
    }

    #[test]
    fn template_text_checks() {
        assert!(check_text(&"{{x}}\n".repeat(MAX_EXPRESSIONS)).is_ok());
        assert_eq!(
            check_text(&"{{x}}\n".repeat(MAX_EXPRESSIONS + 1))
                .unwrap_err()
                .1,
            (MAX_EXPRESSIONS + 1, 1)
        );
        assert!(check_text(&format!(
            "{}{}",
            "{{#if x}}".repeat(40),
            "{{/if}}".repeat(40)
        ))
        .unwrap_err()
        .0
        .contains("blocks"));
        assert!(check_text(&format!(
            "{{{{x {}y{}}}}}",
            "(a ".repeat(20),
            ")".repeat(20)
        ))
        .unwrap_err()
        .0
        .contains("subexpressions"));
        assert!(check_text("{{!-- {{#if}} ( ( ( --}} {{x \"((((((((((\"}}").is_ok());
    }

    #[test]
    fn partials_that_include_each_other_are_refused() {
        let m = message(&[
            (
                "templates/a.yaml.hbs",
                "{{#if service}}{{> templates/b.yaml.hbs}}{{/if}}",
            ),
            ("templates/b.yaml.hbs", "{{> templates/a.yaml.hbs}}"),
        ]);
        assert!(m.contains("partials include each other without end"), "{m}");
        let m = message(&[(
            "templates/a.yaml.hbs",
            "{{#*inline \"x\"}}{{> x}}{{/inline}}{{> x}}",
        )]);
        assert!(m.contains("inline partials"), "{m}");
    }

    #[test]
    fn nested_loops_over_long_lists_are_refused() {
        let mut c = config();
        c.lambda.command = vec!["x".to_string(); 1_100];
        let sources = sources_with(&[(
            "templates/a.yaml.hbs",
            "{{#each lambda.command}}{{#each ../lambda.command}}{{/each}}{{/each}}",
        )]);
        let m = render(&sources, &Data::new(&c, &Image::Placeholder))
            .unwrap_err()
            .to_string();
        assert!(
            m.contains("nest 2 deep over lists of up to 1100 items"),
            "{m}"
        );
    }
}
