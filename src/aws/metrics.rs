//! CloudWatch, read for `compare`: the function's concurrency, invocations, errors and throttles
//! by minute. (Queue depths come from SQS itself, which is current; CloudWatch's SQS metrics
//! arrive minutes late.)

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;

use super::{aws_error, AwsError};

#[derive(Clone, Debug)]
pub struct Metrics {
    client: aws_sdk_cloudwatch::Client,
}

/// The newest minute with data for a function. A figure CloudWatch has no datapoint for in that
/// minute is `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct LambdaMinute {
    /// The minute's start, seconds since the Unix epoch.
    pub minute: i64,
    pub concurrency: Option<u64>,
    pub invocations: Option<u64>,
    pub errors: Option<u64>,
    pub throttles: Option<u64>,
}

/// How far back to look for the newest minute: Lambda's metrics arrive a minute or two late.
const LOOK_BACK: Duration = Duration::from_secs(10 * 60);

impl Metrics {
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }

    /// The newest minute with `ConcurrentExecutions` or `Invocations` data, up to `now`;
    /// `None` when the function has none in the last ten minutes.
    pub async fn lambda_minute(
        &self,
        function: &str,
        now: SystemTime,
    ) -> Result<Option<LambdaMinute>, AwsError> {
        let query = |id: &str, metric: &str, stat: &str| {
            let metric = Metric::builder()
                .namespace("AWS/Lambda")
                .metric_name(metric)
                .dimensions(
                    Dimension::builder()
                        .name("FunctionName")
                        .value(function)
                        .build(),
                )
                .build();
            MetricDataQuery::builder()
                .id(id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(60)
                        .stat(stat)
                        .build(),
                )
                .return_data(true)
                .build()
        };
        let out = self
            .client
            .get_metric_data()
            .start_time(DateTime::from(now - LOOK_BACK))
            .end_time(DateTime::from(now))
            .scan_by(ScanBy::TimestampDescending)
            .metric_data_queries(query("concurrency", "ConcurrentExecutions", "Maximum"))
            .metric_data_queries(query("invocations", "Invocations", "Sum"))
            .metric_data_queries(query("errors", "Errors", "Sum"))
            .metric_data_queries(query("throttles", "Throttles", "Sum"))
            .send()
            .await
            .map_err(|e| {
                aws_error(
                    format!("reading CloudWatch metrics of function `{function}`"),
                    e,
                )
            })?;
        let series = |id: &str| -> Vec<(i64, f64)> {
            out.metric_data_results()
                .iter()
                .find(|r| r.id() == Some(id))
                .map(|r| {
                    r.timestamps()
                        .iter()
                        .map(|t| t.secs())
                        .zip(r.values().iter().copied())
                        .collect()
                })
                .unwrap_or_default()
        };
        let (concurrency, invocations, errors, throttles) = (
            series("concurrency"),
            series("invocations"),
            series("errors"),
            series("throttles"),
        );
        let Some(minute) = concurrency
            .iter()
            .chain(&invocations)
            .map(|(t, _)| *t)
            .max()
        else {
            return Ok(None);
        };
        let at = |s: &[(i64, f64)]| {
            s.iter()
                .find(|(t, _)| *t == minute)
                .map(|(_, v)| v.max(0.0).round() as u64)
        };
        Ok(Some(LambdaMinute {
            minute,
            concurrency: at(&concurrency),
            invocations: at(&invocations),
            errors: at(&errors),
            throttles: at(&throttles),
        }))
    }
}
