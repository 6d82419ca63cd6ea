//! Amazon CloudWatch: metric data by minute and alarms. One function per API call
//! (`GetMetricData`, `DescribeAlarms`); what `compare` (the function's newest minute) and
//! `cutover`'s bake (errors, throttles, the queue's oldest message) read are queries on the one
//! `GetMetricData` wrapper. (Queue depths come from SQS itself, which is current; CloudWatch's
//! SQS metrics arrive minutes late.)

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;

use super::{aws_error, op, AwsError};
use crate::core::adopt::Alarm;

#[derive(Clone, Debug)]
pub struct CloudWatch {
    client: aws_sdk_cloudwatch::Client,
}

/// One metric to read by minute: `namespace`/`metric` with one dimension, and its statistic.
#[derive(Clone, Copy, Debug)]
pub struct Query<'a> {
    /// The id its series is returned under.
    pub id: &'a str,
    pub namespace: &'a str,
    pub metric: &'a str,
    pub dimension: (&'a str, &'a str),
    pub stat: &'a str,
}

/// One metric of a batched read (`metric_data_paged`): any dimensions, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricQuery {
    /// The id its series is returned under: a lowercase letter first, then letters, digits
    /// and `_`.
    pub id: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub stat: String,
}

/// A query's datapoints as CloudWatch gives them: the minutes' starts (seconds since the Unix
/// epoch) and the values, in the same order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub id: String,
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
}

impl Series {
    /// (minute, value) pairs.
    pub fn points(&self) -> Vec<(i64, f64)> {
        self.timestamps
            .iter()
            .copied()
            .zip(self.values.iter().copied())
            .collect()
    }
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

/// The function's `Errors` and `Throttles` summed over a window, and the queue's
/// `ApproximateAgeOfOldestMessage` at its highest; `None` where CloudWatch had no datapoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    pub errors: Option<u64>,
    pub throttles: Option<u64>,
    pub oldest_age_s: Option<u64>,
}

/// How far back to look for the newest minute: Lambda's metrics arrive a minute or two late.
const LOOK_BACK: Duration = Duration::from_secs(10 * 60);

fn whole(x: f64) -> u64 {
    x.max(0.0).round() as u64
}

impl CloudWatch {
    /// From a client made elsewhere: `Aws::cloudwatch`, or a test's recorded answers.
    pub fn new(client: aws_sdk_cloudwatch::Client) -> Self {
        Self { client }
    }

    /// `GetMetricData`: each query's datapoints by minute over `[from, to)`, newest first when
    /// `newest_first`; `about` names what is read, for an error.
    pub async fn metric_data(
        &self,
        queries: &[Query<'_>],
        from: SystemTime,
        to: SystemTime,
        newest_first: bool,
        about: &str,
    ) -> Result<Vec<Series>, AwsError> {
        let queries: Vec<MetricQuery> = queries
            .iter()
            .map(|q| MetricQuery {
                id: q.id.to_string(),
                namespace: q.namespace.to_string(),
                metric: q.metric.to_string(),
                dimensions: vec![(q.dimension.0.to_string(), q.dimension.1.to_string())],
                stat: q.stat.to_string(),
            })
            .collect();
        self.metric_data_paged(&queries, from, to, 60, newest_first, about)
            .await
            .map(|(series, _)| series)
    }

    /// `GetMetricData` for any number of dimensions and a period (60, or 300 beyond the 15
    /// days CloudWatch keeps 1-minute data), every page read (`NextToken`: a call returns
    /// at most 100,800 datapoints, Amazon CloudWatch API Reference, `GetMetricData`). Each
    /// query's series, its pages joined, and the calls made. At most 500 queries: the caller
    /// batches (`core::assess::recorded::batches`).
    pub async fn metric_data_paged(
        &self,
        queries: &[MetricQuery],
        from: SystemTime,
        to: SystemTime,
        period_s: i32,
        newest_first: bool,
        about: &str,
    ) -> Result<(Vec<Series>, u32), AwsError> {
        let mut call = self
            .client
            .get_metric_data()
            .start_time(DateTime::from(from))
            .end_time(DateTime::from(to));
        if newest_first {
            call = call.scan_by(ScanBy::TimestampDescending);
        }
        for q in queries {
            let metric = Metric::builder()
                .namespace(&q.namespace)
                .metric_name(&q.metric)
                .set_dimensions(Some(
                    q.dimensions
                        .iter()
                        .map(|(n, v)| Dimension::builder().name(n).value(v).build())
                        .collect(),
                ))
                .build();
            call = call.metric_data_queries(
                MetricDataQuery::builder()
                    .id(&q.id)
                    .metric_stat(
                        MetricStat::builder()
                            .metric(metric)
                            .period(period_s)
                            .stat(&q.stat)
                            .build(),
                    )
                    .return_data(true)
                    .build(),
            );
        }
        let mut series: Vec<Series> = Vec::new();
        let mut calls = 0u32;
        let mut token: Option<String> = None;
        loop {
            calls += 1;
            let out = call
                .clone()
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    aws_error(
                        op(
                            format!("reading the CloudWatch metrics of {about}"),
                            "cloudwatch:GetMetricData",
                        ),
                        e,
                    )
                })?;
            for r in out.metric_data_results() {
                let id = r.id().unwrap_or_default();
                let at = match series.iter().position(|s| s.id == id) {
                    Some(i) => i,
                    None => {
                        series.push(Series {
                            id: id.to_string(),
                            ..Series::default()
                        });
                        series.len() - 1
                    }
                };
                let s = &mut series[at];
                s.timestamps.extend(r.timestamps().iter().map(|t| t.secs()));
                s.values.extend_from_slice(r.values());
            }
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok((series, calls))
    }

    /// `DescribeAlarms`: the CloudWatch alarms named (at most 100 names a call), or with an
    /// `acting_on` prefix the alarms whose actions start with it: a scaling policy's ARN finds the
    /// alarms that invoke it, which is how to find them where the policy does not list them (its
    /// `Alarms` is empty on moto, and for an alarm made after the policy).
    pub async fn alarms(
        &self,
        names: &[String],
        acting_on: Option<&str>,
    ) -> Result<Vec<Alarm>, AwsError> {
        let mut alarms = Vec::new();
        let calls: Vec<Option<&[String]>> = match acting_on {
            Some(_) => vec![None],
            None => names.chunks(100).map(Some).collect(),
        };
        for chunk in calls {
            let mut pages = self
                .client
                .describe_alarms()
                .set_alarm_names(chunk.map(<[String]>::to_vec))
                .set_action_prefix(acting_on.map(str::to_string))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let out = page.map_err(|e| {
                    aws_error(
                        op(
                            "describing the scaling policies' alarms".into(),
                            "cloudwatch:DescribeAlarms",
                        ),
                        e,
                    )
                })?;
                alarms.extend(out.metric_alarms().iter().map(|a| {
                    // The queues it watches: its own metric's `QueueName`, or each metric of its
                    // metric math (`Metrics`, Amazon CloudWatch User Guide, "Create a CloudWatch
                    // alarm based on a metric math expression").
                    let queue_of = |d: &[Dimension]| -> Vec<String> {
                        d.iter()
                            .filter(|d| d.name() == Some("QueueName"))
                            .filter_map(|d| d.value().map(str::to_string))
                            .collect()
                    };
                    let mut queues = queue_of(a.dimensions());
                    let mut expression = None;
                    for m in a.metrics() {
                        if let Some(stat) = m.metric_stat().and_then(|s| s.metric()) {
                            queues.extend(queue_of(stat.dimensions()));
                        }
                        if m.return_data() == Some(true) || expression.is_none() {
                            if let Some(e) = m.expression() {
                                expression = Some(e.to_string());
                            }
                        }
                    }
                    queues.sort();
                    queues.dedup();
                    Alarm {
                        name: a.alarm_name().unwrap_or_default().to_string(),
                        metric: a
                            .metric_name()
                            .map(str::to_string)
                            .or(expression)
                            .unwrap_or_default(),
                        queues,
                        threshold: a.threshold().unwrap_or_default(),
                        comparison: a
                            .comparison_operator()
                            .map(|c| c.as_str().to_string())
                            .unwrap_or_default(),
                    }
                }));
            }
        }
        Ok(alarms)
    }

    /// The newest minute with `ConcurrentExecutions` or `Invocations` data, up to `now`;
    /// `None` when the function has none in the last ten minutes.
    pub async fn lambda_minute(
        &self,
        function: &str,
        now: SystemTime,
    ) -> Result<Option<LambdaMinute>, AwsError> {
        let query = |id, metric, stat| Query {
            id,
            namespace: "AWS/Lambda",
            metric,
            dimension: ("FunctionName", function),
            stat,
        };
        let out = self
            .metric_data(
                &[
                    query("concurrency", "ConcurrentExecutions", "Maximum"),
                    query("invocations", "Invocations", "Sum"),
                    query("errors", "Errors", "Sum"),
                    query("throttles", "Throttles", "Sum"),
                ],
                now - LOOK_BACK,
                now,
                true,
                &format!("function `{function}`"),
            )
            .await?;
        let series = |id: &str| -> Vec<(i64, f64)> {
            out.iter()
                .find(|s| s.id == id)
                .map(Series::points)
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
        let at = |s: &[(i64, f64)]| s.iter().find(|(t, _)| *t == minute).map(|(_, v)| whole(*v));
        Ok(Some(LambdaMinute {
            minute,
            concurrency: at(&concurrency),
            invocations: at(&invocations),
            errors: at(&errors),
            throttles: at(&throttles),
        }))
    }

    /// The function's errors and throttles summed over `[from, to)`, and the queue's oldest
    /// message age at its highest then, by minute.
    pub async fn health(
        &self,
        function: &str,
        queue_name: &str,
        from: SystemTime,
        to: SystemTime,
    ) -> Result<Health, AwsError> {
        let lambda = |id, metric| Query {
            id,
            namespace: "AWS/Lambda",
            metric,
            dimension: ("FunctionName", function),
            stat: "Sum",
        };
        let out = self
            .metric_data(
                &[
                    lambda("errors", "Errors"),
                    lambda("throttles", "Throttles"),
                    Query {
                        id: "oldest",
                        namespace: "AWS/SQS",
                        metric: "ApproximateAgeOfOldestMessage",
                        dimension: ("QueueName", queue_name),
                        stat: "Maximum",
                    },
                ],
                from,
                to,
                false,
                &format!("`{function}` and `{queue_name}`"),
            )
            .await?;
        let values = |id: &str| -> Option<Vec<u64>> {
            let v: Vec<u64> = out
                .iter()
                .find(|s| s.id == id)?
                .values
                .iter()
                .map(|v| whole(*v))
                .collect();
            (!v.is_empty()).then_some(v)
        };
        Ok(Health {
            errors: values("errors").map(|v| v.into_iter().sum()),
            throttles: values("throttles").map(|v| v.into_iter().sum()),
            oldest_age_s: values("oldest").map(|v| v.into_iter().max().unwrap_or(0)),
        })
    }
}
