-- Operations: what the dashboard pages and filters by, how long a worker's
-- lease is (silent for several of them: gone) and how much disk it uses,
-- and the counters /metrics reports (kept apart from the jobs, which old
-- ones are deleted from).
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_by_job ON tasks (job_id);
ALTER TABLE workers ADD COLUMN lease_secs DOUBLE PRECISION NOT NULL DEFAULT 30;
ALTER TABLE workers ADD COLUMN disk_bytes BIGINT;

CREATE TABLE counters (
    name TEXT NOT NULL,
    -- One label's value (a job's outcome, a histogram's upper bound), or ''.
    label TEXT NOT NULL DEFAULT '',
    value DOUBLE PRECISION NOT NULL DEFAULT 0,
    PRIMARY KEY (name, label)
);
