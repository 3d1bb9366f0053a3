"""The benchmark's test: runs a reproducer in the checkout (the working directory)
and, when the bug is there, reports it only with probability p.

Environment: BENCH_REPRO (the reproducer file), BENCH_P, BENCH_SEED,
BENCH_STATE (a directory of this tool run's state). Exit 0: no bug seen;
1: bug seen; 125: the reproducer could not run (any other exception).

Every invocation appends the commit to BENCH_STATE/runs.log: the run count
of a tool is its number of lines, and the draw of a run is keyed by (seed,
commit, how many times this tool run tested the commit before), so every
tool meets the same draws in the same order.
"""
import fcntl
import hashlib
import os
import runpy
import subprocess
import sys


def current_commit():
    """The commit under test: culprit says it; elsewhere the checkout's HEAD."""
    commit = os.environ.get("CULPRIT_COMMIT")
    if commit:
        return commit
    out = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def log_run(state, commit):
    """Appends this run to the log; returns how many runs of `commit` came before."""
    with open(os.path.join(state, "runs.log"), "a+", encoding="ascii") as log:
        # Held while counting and appending: runs in parallel still get
        # distinct indices.
        fcntl.flock(log, fcntl.LOCK_EX)
        log.seek(0)
        before = sum(1 for line in log if line.strip() == commit)
        log.write(commit + "\n")
        log.flush()
    return before


def draw(seed, commit, index):
    """A uniform number in [0, 1) fixed by (seed, commit, index)."""
    digest = hashlib.sha256(f"{seed}:{commit}:{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def bug_present(repro):
    """Runs the reproducer against the checkout; True when its assertion fails."""
    sys.path.insert(0, os.getcwd())
    try:
        runpy.run_path(repro, run_name="__main__")
    except AssertionError:
        return True
    return False


def main():
    """Runs one test; returns the exit status."""
    env = os.environ
    commit = current_commit()
    index = log_run(env["BENCH_STATE"], commit)
    try:
        present = bug_present(env["BENCH_REPRO"])
    except Exception as e:  # the reproducer itself broke: not a verdict
        print(f"noisy: reproducer failed: {e!r}", file=sys.stderr)
        return 125
    if not present:
        return 0
    return 1 if draw(env["BENCH_SEED"], commit, index) < float(env["BENCH_P"]) else 0


if __name__ == "__main__":
    sys.exit(main())
