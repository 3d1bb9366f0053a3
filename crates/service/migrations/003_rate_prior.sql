-- What identifies a job's reproducer (its file's bytes or its test
-- command, and the crash asked for), so that a later job of the same
-- reproducer starts from the rate the earlier ones learned.
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS reproducer_key TEXT;
CREATE INDEX IF NOT EXISTS jobs_reproducer_key ON jobs (reproducer_key) WHERE state = 'done';
