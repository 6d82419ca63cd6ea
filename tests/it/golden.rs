//! Golden snapshots of each example's rendered stacks: a change to a template or to the
//! rendering shows here as a reviewed diff (`cargo insta review`), and CI fails on stale ones.

use crate::common::{examples, parse, render_config};
use replatform::core::image_ref;
use replatform::core::render::Image;

#[test]
fn examples_render_as_committed() {
    for (name, path) in examples() {
        let c = parse(&std::fs::read_to_string(&path).unwrap());
        for s in render_config(&c, &Image::Placeholder) {
            insta::assert_snapshot!(format!("{name}__{}", s.kind), s.template);
        }
    }
}

#[test]
fn an_image_uri_goes_into_both_stacks_by_digest() {
    let (_, path) = &examples()[0];
    let c = parse(&std::fs::read_to_string(path).unwrap());
    let uri = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker@sha256:1111111111111111111111111111111111111111111111111111111111111111";
    let image = image_ref::parse(uri).unwrap();
    for s in render_config(&c, &Image::Digest(&image)) {
        assert!(s.template.contains(uri), "{} lacks the image", s.name);
        assert!(
            !s.template.contains("sha256:0000"),
            "{} still has the placeholder",
            s.name
        );
    }
}

#[test]
fn rendering_is_deterministic() {
    for (_, path) in examples() {
        let c = parse(&std::fs::read_to_string(&path).unwrap());
        let first = render_config(&c, &Image::Placeholder);
        for _ in 0..5 {
            assert_eq!(render_config(&c, &Image::Placeholder), first);
        }
    }
}

/// The fields a real worker needs, rendered: permissions and the boundary on every role, secrets by
/// ARN (ECS's `Secrets`, Lambda's `_SECRET_ARN` variables, each role reading exactly those), FIFO
/// queues and provisioned pollers.
#[test]
fn worker_fields_render_as_committed() {
    let c = parse(&crate::common::worker_fields());
    for s in render_config(&c, &Image::Placeholder) {
        insta::assert_snapshot!(format!("worker-fields__{}", s.kind), s.template);
    }
}

/// `production:` on both triggers: the `sqs` trigger's disabled mapping on the
/// production queue with its UUID as an output, and on both the role's access to exactly that
/// queue; the production service and queue themselves are in no template.
#[test]
fn production_renders_as_committed() {
    for (name, text) in crate::common::variations()
        .into_iter()
        .filter(|(n, _)| n.starts_with("production-"))
    {
        let stacks = render_config(&parse(&text), &Image::Placeholder);
        let lambda = stacks.iter().find(|s| s.kind == "lambda").unwrap();
        insta::assert_snapshot!(format!("{name}__lambda"), lambda.template);
        for s in &stacks {
            assert!(
                !s.template.contains("prod/orders-worker"),
                "{name}: the production service is in the {} stack",
                s.kind
            );
        }
    }
}
