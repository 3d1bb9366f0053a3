//! What `/metrics` reports, in Prometheus' text format: the counts kept
//! by [`crate::counters`] (jobs finished, builds and runs, how long each took,
//! counted by the workers wherever they run) and the queue and the
//! workers, counted when the page is read.

use std::fmt::Write as _;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::counters::{BUILD_BOUNDS, JOB_BOUNDS, RUN_BOUNDS};
use crate::db::{Db, DbError};

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
}
