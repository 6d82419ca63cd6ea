//! `replatform.yaml` bytes -> decode -> parse and check -> lint -> render with the built-in
//! templates, as `validate`, `up` and `status` run them. Any input may be refused with
//! diagnostics; none may panic, hang or exhaust memory. A config that parses renders: the only
//! refusal allowed then is CloudFormation's size limit for a template body.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use replatform::core::render::{self, Data, Image, RenderError, Sources};
use replatform::core::{config, lint, locate};

static SOURCES: OnceLock<Sources> = OnceLock::new();

fuzz_target!(|bytes: &[u8]| {
    let text = match config::decode(bytes) {
        Ok(t) => t,
        Err(d) => {
            assert!(d.hint.is_some(), "no hint: {d:?}");
            return;
        }
    };
    let c = match config::parse(text) {
        Ok(c) => c,
        Err(errors) => {
            assert!(!errors.is_empty());
            for d in &errors {
                assert!(d.hint.is_some(), "no hint: {d:?}");
                assert!(d.message.len() < 2_000, "a message of {} bytes", d.message.len());
            }
            return;
        }
    };
    // Lint, and where each finding is, as `load` does.
    let places = locate::index(text);
    for d in lint::lint(&c) {
        let _ = locate::find(&places, &d.path);
    }
    // Rendered without lint, as `status` and `down` do.
    let sources = SOURCES.get_or_init(Sources::builtin);
    match render::render(sources, &Data::new(&c, &Image::Placeholder)) {
        Ok(stacks) => assert_eq!(stacks.len(), 2),
        Err(RenderError::Invalid { reason, .. }) if reason.contains("CloudFormation takes a template of at most") => {}
        Err(e) => panic!("a config that parses does not render: {e}"),
    }
});
