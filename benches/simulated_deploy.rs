//! A deploy that takes minutes on real AWS, simulated on tokio's paused clock with
//! CloudFormation responses shaped like real ones: shows that both stacks are watched at once
//! (the wall time is the slower stack's, not the sum), that the end of each is noticed within
//! 5 s, and that a stack's events are read at most once a second.
//!
//! Run: `cargo bench --bench simulated_deploy`

#[path = "../tests/it/simulation.rs"]
mod simulation;

use std::time::Duration;

use simulation::{simulate, SimStack};

static STACKS: [SimStack; 2] = [
    SimStack {
        name: "orders-worker-ecs",
        takes: Duration::from_secs(5 * 60 + 17),
        resources: 13,
    },
    SimStack {
        name: "orders-worker-lambda",
        takes: Duration::from_secs(2 * 60 + 3),
        resources: 6,
    },
];

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    let real = std::time::Instant::now();
    let report = rt.block_on(simulate(&STACKS));
    let real = real.elapsed();

    println!(
        "{:<22} {:>9} {:>15} {:>20} {:>13} {:>16}",
        "stack",
        "takes",
        "end noticed in",
        "DescribeStackEvents",
        "shortest gap",
        "calls per minute"
    );
    let mut ok = true;
    for s in &report.stacks {
        let per_minute = s.events_calls as f64 / (s.takes.as_secs_f64() / 60.0);
        println!(
            "{:<22} {:>8.0}s {:>14.1}s {:>20} {:>12.1}s {:>16.1}",
            s.name,
            s.takes.as_secs_f64(),
            s.noticed_after.as_secs_f64(),
            s.events_calls,
            s.min_events_gap.as_secs_f64(),
            per_minute
        );
        ok &=
            s.noticed_after <= Duration::from_secs(5) && s.min_events_gap >= Duration::from_secs(1);
    }
    let slowest = STACKS.iter().map(|s| s.takes).max().unwrap_or_default();
    let sum: Duration = STACKS.iter().map(|s| s.takes).sum();
    println!(
        "simulated wall time {:.0}s: slower stack {:.0}s, both in sequence {:.0}s ({} ms of real time to simulate)",
        report.wall.as_secs_f64(),
        slowest.as_secs_f64(),
        sum.as_secs_f64(),
        real.as_millis()
    );
    ok &= report.wall < slowest + Duration::from_secs(6);
    println!("targets: end noticed within 5 s, at most one DescribeStackEvents per second per stack, wall time = the slower stack: {}", if ok { "ok" } else { "MISSED" });
    if !ok {
        std::process::exit(1);
    }
}
