-- The service's tables: jobs and their journals, logs, workers, and the
-- evaluation tasks one bisection hands to other workers.
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('generic', 'kernel')),
    spec JSONB NOT NULL,
    title TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'done', 'cancelled')),
    owner TEXT,
    lease_until TIMESTAMPTZ,
    -- The fencing token: bumped by every claim; journal appends and the
    -- result are written only with the current one.
    token BIGINT NOT NULL DEFAULT 0,
    attempts INT NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    result JSONB,
    exit_code INT,
    submitted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ
);
CREATE INDEX jobs_waiting ON jobs (id) WHERE state IN ('queued', 'running');

CREATE TABLE journal (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq BIGSERIAL,
    token BIGINT NOT NULL,
    -- The appender's own count: a retried append is recognised, not doubled.
    n BIGINT NOT NULL,
    record JSONB NOT NULL,
    written_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, seq),
    UNIQUE (job_id, token, n)
);

CREATE TABLE log_lines (
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq BIGSERIAL,
    token BIGINT NOT NULL,
    n BIGINT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (job_id, seq),
    UNIQUE (job_id, token, n)
);

CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    heartbeat TIMESTAMPTZ NOT NULL DEFAULT now(),
    job_id BIGINT,
    task_id BIGINT,
    step TEXT NOT NULL DEFAULT '',
    stopped BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE tasks (
    id BIGSERIAL PRIMARY KEY,
    job_id BIGINT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    -- The job's token when the task was made: a task of an earlier owner
    -- is not run.
    token BIGINT NOT NULL,
    commit_hash TEXT NOT NULL,
    build JSONB,
    runs_from INT NOT NULL,
    runs_to INT NOT NULL,
    -- Set by the owner once it has the build: the runs it still wants.
    wanted_from INT,
    wanted_to INT,
    state TEXT NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'done', 'abandoned')),
    -- The worker whose checkout holds this commit's build: it gets the
    -- task first (others only after a grace period).
    prefer TEXT,
    owner TEXT,
    lease_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX tasks_queued ON tasks (id) WHERE state = 'queued';

CREATE TABLE task_events (
    task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq BIGSERIAL,
    n INT NOT NULL,
    event JSONB NOT NULL,
    PRIMARY KEY (task_id, seq),
    UNIQUE (task_id, n)
);
