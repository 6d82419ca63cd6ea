//! Against moto: the change sets an interrupted run left are gone after the next
//! `up`, and a person's own change set stays.

use aws_sdk_cloudformation::types::{Capability, ChangeSetType};

use crate::emulator::{block, service_dir, stderr, Moto, IMAGE};

/// The stack's change sets by name (moto lists every stack's: only this one's are kept).
fn change_sets(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Vec<String> {
    let out = block(cfn.list_change_sets().stack_name(stack).send()).unwrap();
    out.summaries()
        .iter()
        .filter(|s| s.stack_name() == Some(stack))
        .filter_map(|s| s.change_set_name().map(str::to_string))
        .collect()
}

#[test]
fn up_deletes_an_earlier_runs_change_set_and_keeps_a_persons() {
    let moto = Moto::start();
    let cfn = aws_sdk_cloudformation::Client::new(&moto.sdk());
    let dir = service_dir("sqs-worker", "it-sweep", |t| t);
    let stack = "it-sweep-lambda";
    let out = moto.replatform(
        dir.path(),
        &["up", "--image-uri", IMAGE, "--only", "lambda"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // What an interrupted run leaves (its change set, made at 1 ms past the epoch), and one a
    // person made by hand. moto finds no change in the deployed template and marks both FAILED:
    // the states of a change set on real AWS are the recorded test's.
    let deployed = block(cfn.get_template().stack_name(stack).send())
        .unwrap()
        .template_body()
        .unwrap()
        .to_string();
    let left = format!("replatform-1-{stack}");
    for name in [left.as_str(), "mine"] {
        block(
            cfn.create_change_set()
                .stack_name(stack)
                .change_set_name(name)
                .change_set_type(ChangeSetType::Update)
                .template_body(&deployed)
                .capabilities(Capability::CapabilityIam)
                .send(),
        )
        .unwrap();
    }
    let before = change_sets(&cfn, stack);
    assert!(
        before.contains(&left) && before.contains(&"mine".to_string()),
        "{before:?}"
    );

    let out = moto.replatform(
        dir.path(),
        &["up", "--image-uri", IMAGE, "--only", "lambda"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("{stack}  deleted change set `{left}` (FAILED, UNAVAILABLE), left by an earlier run that did not finish")), "{}", stderr(&out));
    assert!(!stderr(&out).contains("`mine`"), "{}", stderr(&out));
    let after = change_sets(&cfn, stack);
    assert!(
        !after.contains(&left),
        "the earlier run's change set is gone: {after:?}"
    );
    assert!(
        after.contains(&"mine".to_string()),
        "a person's change set stays: {after:?}"
    );
}
