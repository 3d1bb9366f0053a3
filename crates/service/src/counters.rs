//! What `/metrics` counts of what the workers did (jobs finished, builds
//! and runs, how long each took). Workers run in other processes, on other
//! hosts: the counts are kept in the database, each added in the same
//! transaction that records what it counts, so that a count is never lost
//! nor doubled (and old jobs can be deleted without losing them).

use postgres::Transaction;

/// Upper bounds of the build-time buckets, in seconds (kernel builds take
/// from minutes to an hour).
pub const BUILD_BOUNDS: &[f64] = &[1.0, 10.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0];
/// Upper bounds of the run-time buckets, in seconds.
pub const RUN_BOUNDS: &[f64] = &[0.1, 1.0, 10.0, 60.0, 300.0, 900.0, 3600.0];
/// Upper bounds of the job-time buckets, in seconds.
pub const JOB_BOUNDS: &[f64] = &[
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_observation_goes_to_the_smallest_bucket_it_fits() {
        let rows = observation("run_seconds", RUN_BOUNDS, 5.0);
        assert_eq!(rows[0].1, "10");
        let rows = observation("run_seconds", RUN_BOUNDS, 1e9);
        assert_eq!(rows[0].1, "+Inf");
    }
}
