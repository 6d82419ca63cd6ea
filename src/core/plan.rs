//! What to do with a stack, from what was observed of it. Pure.

use super::status::StackStatus;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// No stack: a CREATE change set.
    Create,
    /// An UPDATE change set.
    Update,
    /// Left by a failed create: delete it, then create (docs/pitfalls.md#p19).
    Recreate(StackStatus),
    /// CloudFormation is busy with it: wait, then look again.
    Wait(StackStatus),
    /// Nothing this tool may do; the hint says what the user can.
    Blocked { status: StackStatus, hint: String },
}

pub fn plan(stack: &str, observed: Option<&StackStatus>) -> Plan {
    let Some(status) = observed else {
        return Plan::Create;
    };
    if *status == StackStatus::DeleteComplete {
        return Plan::Create;
    }
    if status.in_progress() {
        return Plan::Wait(status.clone());
    }
    if status.needs_recreate() {
        return Plan::Recreate(status.clone());
    }
    if status.updatable() {
        return Plan::Update;
    }
    let hint = match status {
        StackStatus::UpdateRollbackFailed => format!(
            "fix what stopped the rollback (the events say which resource), then `aws cloudformation continue-update-rollback --stack-name {stack}` (add `--resources-to-skip ID` for a resource that cannot be rolled back), and run `replatform up` again"
        ),
        StackStatus::DeleteFailed => format!("run `replatform down` again, or see `aws cloudformation describe-stack-events --stack-name {stack}` for the resource that could not be deleted"),
        StackStatus::ImportRollbackFailed => format!("see `aws cloudformation describe-stack-events --stack-name {stack}`; the import must be resolved by hand"),
        _ => format!("see `aws cloudformation describe-stack-events --stack-name {stack}`"),
    };
    Plan::Blocked {
        status: status.clone(),
        hint,
    }
}

/// Lambda keeps at least this much of an account's concurrency unreserved (docs/pitfalls.md#p9).
pub const MIN_UNRESERVED: i64 = 100;

/// What stays unreserved in the account once the function reserves `wanted`: what is
/// unreserved now, plus what the function already holds (it gives that back), minus `wanted`.
pub fn unreserved_after(unreserved_now: i64, held_by_function: i64, wanted: i64) -> i64 {
    unreserved_now + held_by_function - wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use StackStatus::*;

    #[test]
    fn reserving_counts_what_the_function_already_holds() {
        // A new account: limit 1000, nothing reserved.
        assert_eq!(unreserved_after(1000, 0, 5), 995);
        // Raising an existing reservation from 5 to 8 takes 3 more.
        assert_eq!(unreserved_after(995, 5, 8), 992);
        // A new account limited to 10 cannot reserve anything and keep 100.
        assert!(unreserved_after(10, 0, 1) < MIN_UNRESERVED);
    }

    #[test]
    fn each_state_has_its_plan() {
        let p = |s: Option<StackStatus>| plan("s", s.as_ref());
        assert_eq!(p(None), Plan::Create);
        assert_eq!(p(Some(DeleteComplete)), Plan::Create);
        assert_eq!(p(Some(CreateComplete)), Plan::Update);
        assert_eq!(p(Some(UpdateRollbackComplete)), Plan::Update);
        assert_eq!(p(Some(RollbackComplete)), Plan::Recreate(RollbackComplete));
        assert_eq!(p(Some(CreateFailed)), Plan::Recreate(CreateFailed));
        assert_eq!(p(Some(ReviewInProgress)), Plan::Recreate(ReviewInProgress));
        assert_eq!(p(Some(UpdateInProgress)), Plan::Wait(UpdateInProgress));
        assert_eq!(p(Some(DeleteInProgress)), Plan::Wait(DeleteInProgress));
        match p(Some(UpdateRollbackFailed)) {
            Plan::Blocked { hint, .. } => {
                assert!(hint.contains("continue-update-rollback --stack-name s"))
            }
            other => panic!("{other:?}"),
        }
    }
}
