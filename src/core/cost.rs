//! What a run costs on each platform, from a dated price table kept as data (`prices.yaml`,
//! embedded; `--prices FILE` replaces it): Lambda GB-seconds and requests, Fargate vCPU- and
//! GB-hours billed per second with a one-minute minimum per task, and the SQS requests each
//! consumer makes, per run and per million messages. Pure.

use serde::{Deserialize, Serialize};

use super::side::Side;

/// The built-in table (us-east-1).
pub const BUILTIN_PRICES: &str = include_str!("prices.yaml");

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    /// When the prices were read from AWS's pages.
    pub date: String,
    pub region: String,
    pub source: String,
    pub lambda: PerArch<LambdaPrices>,
    pub fargate: FargatePrices,
    pub sqs: SqsPrices,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PerArch<T> {
    pub x86_64: T,
    pub arm64: T,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaPrices {
    pub gb_second: f64,
    pub per_million_requests: f64,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FargateArchPrices {
    pub vcpu_hour: f64,
    pub gb_hour: f64,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FargatePrices {
    pub x86_64: FargateArchPrices,
    pub arm64: FargateArchPrices,
    pub minimum_seconds: u64,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SqsPrices {
    pub standard_per_million: f64,
    pub fifo_per_million: f64,
}

impl Prices {
    /// Reads a price table; the message names the field that is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let p: Prices = serde_yaml_ng::from_str(text)
            .map_err(|e| format!("the price table does not read: {e}"))?;
        let all = [
            p.lambda.x86_64.gb_second,
            p.lambda.x86_64.per_million_requests,
            p.lambda.arm64.gb_second,
            p.lambda.arm64.per_million_requests,
            p.fargate.x86_64.vcpu_hour,
            p.fargate.x86_64.gb_hour,
            p.fargate.arm64.vcpu_hour,
            p.fargate.arm64.gb_hour,
            p.sqs.standard_per_million,
            p.sqs.fifo_per_million,
        ];
        if all.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err("the price table holds a negative or non-finite price".into());
        }
        Ok(p)
    }

    pub fn builtin() -> Self {
        Self::parse(BUILTIN_PRICES).expect("the built-in price table reads")
    }
}

/// What one platform used in a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Usage {
    pub platform: Side,
    pub compute: Compute,
    /// SQS requests as billed (one per 64 KB of each request's payload).
    pub sqs_requests: u64,
    pub fifo: bool,
    pub arm64: bool,
    /// Messages handled and deleted.
    pub messages: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Compute {
    Lambda {
        invocations: u64,
        billed_ms: u64,
        memory_mb: u32,
    },
    /// Each task's billed seconds (the minimum already applied by whoever measured them or
    /// not: [`cost`] applies it again, which changes nothing for billed figures).
    Fargate {
        task_seconds: Vec<u64>,
        vcpu: f64,
        memory_gb: f64,
    },
}

/// One platform's cost of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cost {
    pub platform: Side,
    pub compute_usd: f64,
    pub sqs_usd: f64,
    pub total_usd: f64,
    /// The run's cost scaled to a million messages handled; `None` when none was.
    pub per_million_messages_usd: Option<f64>,
    /// The figures behind it, in words.
    pub basis: String,
}

/// Prices `u` with `p`.
pub fn cost(u: &Usage, p: &Prices) -> Cost {
    let (compute_usd, basis) = match &u.compute {
        Compute::Lambda {
            invocations,
            billed_ms,
            memory_mb,
        } => {
            let lp = if u.arm64 {
                &p.lambda.arm64
            } else {
                &p.lambda.x86_64
            };
            // AWS Lambda pricing: duration in GB-seconds (memory in GB x seconds, per ms) plus
            // requests.
            let gb_s = *billed_ms as f64 / 1000.0 * f64::from(*memory_mb) / 1024.0;
            let usd = gb_s * lp.gb_second + *invocations as f64 * lp.per_million_requests / 1e6;
            (
                usd,
                format!(
                    "{invocations} invocations, {gb_s:.1} GB-s ({} MB)",
                    memory_mb
                ),
            )
        }
        Compute::Fargate {
            task_seconds,
            vcpu,
            memory_gb,
        } => {
            let fp = if u.arm64 {
                &p.fargate.arm64
            } else {
                &p.fargate.x86_64
            };
            // AWS Fargate pricing: vCPU and memory per second, a minimum of one minute a task.
            let seconds: u64 = task_seconds
                .iter()
                .map(|s| (*s).max(p.fargate.minimum_seconds))
                .sum();
            let hours = seconds as f64 / 3600.0;
            let usd = hours * (vcpu * fp.vcpu_hour + memory_gb * fp.gb_hour);
            (
                usd,
                format!(
                    "{} tasks, {seconds} task-seconds at {vcpu} vCPU and {memory_gb} GB",
                    task_seconds.len()
                ),
            )
        }
    };
    let per_million = if u.fifo {
        p.sqs.fifo_per_million
    } else {
        p.sqs.standard_per_million
    };
    let sqs_usd = u.sqs_requests as f64 * per_million / 1e6;
    let total_usd = compute_usd + sqs_usd;
    Cost {
        platform: u.platform,
        compute_usd,
        sqs_usd,
        total_usd,
        per_million_messages_usd: (u.messages > 0).then(|| total_usd / u.messages as f64 * 1e6),
        basis: format!("{basis}; {} SQS requests", u.sqs_requests),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn the_built_in_table_is_dated_and_holds_pitfalls_prices() {
        let p = Prices::builtin();
        assert_eq!((p.date.as_str(), p.region.as_str()), ("2026", "us-east-1"));
        assert_eq!(p.lambda.x86_64.gb_second, 0.0000166667);
        assert_eq!(p.fargate.arm64.vcpu_hour, 0.03238);
        assert_eq!(p.sqs.fifo_per_million, 0.50);
    }

    #[test]
    fn lambda_costs_gb_seconds_and_requests() {
        // 1,000 invocations of 500 ms at 512 MB: 250 GB-s.
        let u = Usage {
            platform: Side::Lambda,
            compute: Compute::Lambda {
                invocations: 1000,
                billed_ms: 500_000,
                memory_mb: 512,
            },
            sqs_requests: 2_000,
            fifo: false,
            arm64: false,
            messages: 10_000,
        };
        let c = cost(&u, &Prices::builtin());
        assert!(
            close(c.compute_usd, 250.0 * 0.0000166667 + 1000.0 * 0.20 / 1e6),
            "{}",
            c.compute_usd
        );
        assert!(close(c.sqs_usd, 2000.0 * 0.40 / 1e6));
        assert!(close(
            c.per_million_messages_usd.unwrap(),
            c.total_usd * 100.0
        ));
        let arm = cost(&Usage { arm64: true, ..u }, &Prices::builtin());
        assert!(close(
            arm.compute_usd,
            250.0 * 0.0000133334 + 1000.0 * 0.20 / 1e6
        ));
    }

    #[test]
    fn fargate_bills_seconds_with_a_minute_minimum_per_task() {
        // Two tasks: 30 s (billed 60) and 3,540 s; 0.25 vCPU, 0.5 GB: 1 hour of task time.
        let u = Usage {
            platform: Side::Ecs,
            compute: Compute::Fargate {
                task_seconds: vec![30, 3540],
                vcpu: 0.25,
                memory_gb: 0.5,
            },
            sqs_requests: 0,
            fifo: true,
            arm64: false,
            messages: 0,
        };
        let c = cost(&u, &Prices::builtin());
        assert!(
            close(c.compute_usd, 0.25 * 0.04048 + 0.5 * 0.004445),
            "{}",
            c.compute_usd
        );
        assert_eq!(c.per_million_messages_usd, None);
        assert!(c.basis.starts_with("2 tasks, 3600 task-seconds"));
        let fifo = cost(
            &Usage {
                sqs_requests: 1_000_000,
                ..u
            },
            &Prices::builtin(),
        );
        assert!(close(fifo.sqs_usd, 0.50));
    }

    #[test]
    fn a_price_table_with_a_wrong_field_is_refused() {
        assert!(Prices::parse("date: x")
            .unwrap_err()
            .contains("missing field"));
        let negative = BUILTIN_PRICES.replace("vcpu_hour: 0.04048", "vcpu_hour: -1");
        assert!(Prices::parse(&negative).unwrap_err().contains("negative"));
        let unknown = format!("{BUILTIN_PRICES}\nextra: 1\n");
        assert!(Prices::parse(&unknown)
            .unwrap_err()
            .contains("unknown field"));
    }
}
