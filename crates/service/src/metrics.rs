//! What `/metrics` reports, in Prometheus' text format. Workers run in
//! other processes, on other hosts: what they did (jobs finished, builds
//! and runs, how long each took) is counted in the database, in the same
//! transaction that records it, so that a count is never lost nor
//! doubled; the queue and the workers are counted when the page is read.

use std::fmt::Write as _;

use postgres::Transaction;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::db::{Db, DbError};

/// Upper bounds of the build-time buckets, in seconds (kernel builds take
/// from minutes to an hour).
const BUILD_BOUNDS: &[f64] = &[1.0, 10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0];
/// Upper bounds of the run-time buckets, in seconds.
const RUN_BOUNDS: &[f64] = &[0.1, 1.0, 10.0, 60.0, 300.0, 900.0, 3600.0];
/// Upper bounds of the job-time buckets, in seconds.
const JOB_BOUNDS: &[f64] = &[
    10.0,
    60.0,
    600.0,
    3600.0,
    4.0 * 3600.0,
    12.0 * 3600.0,
    86400.0,
];

/// Counts a job's end: by outcome (`culprit`, `inconclusive`,
/// `always-bad`, `error`, `cancelled`), and its time from claim to end.
pub(crate) fn job_finished(
    tx: &mut Transaction<'_>,
    outcome: &str,
    secs: Option<f64>,
) -> Result<(), postgres::Error> {
    let mut rows = vec![("jobs_finished".to_owned(), outcome.to_owned(), 1.0)];
    if let Some(secs) = secs {
        rows.extend(observation("job_seconds", JOB_BOUNDS, secs));
    }
    add(tx, rows)
}

/// Counts a build (`built` or `failed`) and its time.
pub(crate) fn build_done(
    tx: &mut Transaction<'_>,
    built: bool,
    secs: f64,
) -> Result<(), postgres::Error> {
    let result = if built { "built" } else { "failed" };
    let mut rows = vec![("builds".to_owned(), result.to_owned(), 1.0)];
    rows.extend(observation("build_seconds", BUILD_BOUNDS, secs));
    add(tx, rows)
}

/// Counts a run (`ok`, `crashed`, `invalid`, `infra`) and its time.
pub(crate) fn run_done(
    tx: &mut Transaction<'_>,
    result: &str,
    secs: f64,
) -> Result<(), postgres::Error> {
    let mut rows = vec![("runs".to_owned(), result.to_owned(), 1.0)];
    rows.extend(observation("run_seconds", RUN_BOUNDS, secs));
    add(tx, rows)
}

/// The rows one observation adds to a histogram: one to its bucket (the
/// smallest bound it fits under) and its value to the sum.
fn observation(name: &str, bounds: &[f64], secs: f64) -> Vec<(String, String, f64)> {
    let bucket = bounds
        .iter()
        .find(|b| secs <= **b)
        .map_or_else(|| "+Inf".to_owned(), |b| b.to_string());
    vec![
        (name.to_owned(), bucket, 1.0),
        (name.to_owned(), "sum".to_owned(), secs.max(0.0)),
    ]
}

/// Adds to counters, in one statement. Rows are sorted so that
/// transactions adding to the same counters lock them in the same order.
fn add(
    tx: &mut Transaction<'_>,
    mut rows: Vec<(String, String, f64)>,
) -> Result<(), postgres::Error> {
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let labels: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let values: Vec<f64> = rows.iter().map(|r| r.2).collect();
    tx.execute(
        "INSERT INTO counters (name, label, value)
         SELECT * FROM unnest($1::text[], $2::text[], $3::float8[])
         ON CONFLICT (name, label) DO UPDATE SET value = counters.value + excluded.value",
        &[&names, &labels, &values],
    )?;
    Ok(())
}

/// Everything `/metrics` shows, read at once.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Jobs by state.
    pub jobs: Vec<(String, i64)>,
    /// Evaluation tasks by state (queued and running only).
    pub tasks: Vec<(String, i64)>,
    /// Workers by status: `alive`, `gone` (silent for several leases),
    /// `stopped`.
    pub workers: Vec<(String, i64)>,
    /// The disk each live worker's work directory uses.
    pub disk: Vec<(String, i64)>,
    /// The counters: name, label, value.
    pub counters: Vec<(String, String, f64)>,
}

/// Reads the snapshot.
pub fn snapshot(db: &mut Db) -> Result<Snapshot, DbError> {
    db.run(|c| {
        let pairs = |rows: Vec<postgres::Row>| -> Vec<(String, i64)> {
            rows.iter().map(|r| (r.get(0), r.get(1))).collect()
        };
        let jobs = pairs(c.query("SELECT state, count(*) FROM jobs GROUP BY state", &[])?);
        let tasks = pairs(c.query(
            "SELECT state, count(*) FROM tasks WHERE state IN ('queued', 'running') GROUP BY state",
            &[],
        )?);
        let workers = pairs(c.query(
            &format!(
                "SELECT {}, count(*) FROM workers GROUP BY 1",
                crate::queue::WORKER_STATUS
            ),
            &[],
        )?);
        let disk = c
            .query(
                &format!(
                    "SELECT id, disk_bytes FROM workers
                     WHERE disk_bytes IS NOT NULL AND {} = 'alive'",
                    crate::queue::WORKER_STATUS
                ),
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let counters = c
            .query(
                "SELECT name, label, value FROM counters ORDER BY name, label",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        Ok(Snapshot {
            jobs,
            tasks,
            workers,
            disk,
            counters,
        })
    })
}

/// The snapshot in Prometheus' text format (version 0.0.4).
pub fn render(snapshot: Snapshot) -> String {
    let mut registry = Registry::with_prefix("culprit");
    registry.register_collector(Box::new(snapshot));
    let mut text = String::new();
    if prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).is_err() {
        let _ = writeln!(text, "# the metrics could not be encoded");
    }
    text
}

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        gauges(&mut encoder, "jobs", "Jobs by state.", "state", &self.jobs)?;
        gauges(
            &mut encoder,
            "tasks",
            "Evaluations handed to helpers, by state.",
            "state",
            &self.tasks,
        )?;
        gauges(
            &mut encoder,
            "workers",
            "Workers: alive, gone (silent for three leases) or stopped.",
            "status",
            &self.workers,
        )?;
        gauges(
            &mut encoder,
            "worker_disk_bytes",
            "Disk used by each live worker's work directory.",
            "worker",
            &self.disk,
        )?;
        let finished = self.labelled("jobs_finished");
        counters(
            &mut encoder,
            "jobs_finished",
            "Jobs ended, by outcome (error: failed).",
            "outcome",
            &finished,
        )?;
        let builds = self.labelled("builds");
        counters(
            &mut encoder,
            "builds",
            "Builds, by result.",
            "result",
            &builds,
        )?;
        let runs = self.labelled("runs");
        counters(
            &mut encoder,
            "runs",
            "Test runs, by result.",
            "result",
            &runs,
        )?;
        self.histogram(&mut encoder, "build_seconds", "Build times.", BUILD_BOUNDS)?;
        self.histogram(&mut encoder, "run_seconds", "Test run times.", RUN_BOUNDS)?;
        self.histogram(
            &mut encoder,
            "job_seconds",
            "Jobs' times from their last claim to their end.",
            JOB_BOUNDS,
        )
    }
}

impl Snapshot {
    /// The values of counter `name`, by label.
    fn labelled(&self, name: &str) -> Vec<(String, f64)> {
        self.counters
            .iter()
            .filter(|(n, _, _)| n == name)
            .map(|(_, l, v)| (l.clone(), *v))
            .collect()
    }

    fn histogram(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        bounds: &[f64],
    ) -> Result<(), std::fmt::Error> {
        let values = self.labelled(name);
        let value = |label: &str| {
            values
                .iter()
                .find(|(l, _)| l == label)
                .map_or(0.0, |(_, v)| *v)
        };
        let mut buckets: Vec<(f64, u64)> = bounds
            .iter()
            .map(|b| (*b, value(&b.to_string()) as u64))
            .collect();
        buckets.push((f64::INFINITY, value("+Inf") as u64));
        let count = buckets.iter().map(|(_, n)| n).sum();
        let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
        metric.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            value("sum"),
            count,
            &buckets,
            None,
        )
    }
}

fn gauges(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    values: &[(String, i64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (value, n) in values {
        let labels = [(label, value.as_str())];
        ConstGauge::new(*n).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counters(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    values: &[(String, f64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, n) in values {
        let labels = [(label, value.as_str())];
        ConstCounter::new(*n as u64).encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_has_the_queue_the_counters_and_the_histograms() {
        let snapshot = Snapshot {
            jobs: vec![("queued".into(), 3), ("done".into(), 2)],
            workers: vec![("alive".into(), 1), ("gone".into(), 1)],
            counters: vec![
                ("build_seconds".into(), "10".into(), 2.0),
                ("build_seconds".into(), "+Inf".into(), 1.0),
                ("build_seconds".into(), "sum".into(), 7300.0),
                ("jobs_finished".into(), "error".into(), 1.0),
            ],
            ..Snapshot::default()
        };
        let text = render(snapshot);
        for line in [
            "culprit_jobs{state=\"queued\"} 3",
            "culprit_workers{status=\"gone\"} 1",
            "culprit_jobs_finished_total{outcome=\"error\"} 1",
            "culprit_build_seconds_bucket{le=\"10\"} 2",
            "culprit_build_seconds_bucket{le=\"+Inf\"} 3",
            "culprit_build_seconds_count 3",
            "culprit_build_seconds_sum 7300.0",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    }

    #[test]
    fn an_observation_goes_to_the_smallest_bucket_it_fits() {
        let rows = observation("run_seconds", RUN_BOUNDS, 5.0);
        assert_eq!(rows[0].1, "10");
        let rows = observation("run_seconds", RUN_BOUNDS, 1e9);
        assert_eq!(rows[0].1, "+Inf");
    }
}
