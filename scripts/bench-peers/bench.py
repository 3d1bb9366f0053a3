"""culprit against the tools a user would pick instead, on real histories.

Builds histories from the PyPI releases of real pure-Python projects (one
commit per release, dated as the release), each with a known regression and
its reproducer, then bisects them with `git bisect run`, `git bisect run`
over the test repeated 13 times (that loop checks both ends first, as culprit
does), robust-git-bisect (installed from
crates.io) and culprit, under the same seeded noise for every tool: the bug,
when present, shows with probability p. Writes the table into
BENCHMARKS.md between markers.

    python3 scripts/bench-peers/bench.py            # everything, ~15 min
    python3 scripts/bench-peers/bench.py --seeds 2 --hidden 1   # a quick look

Downloads, histories and tools are cached under target/bench-peers.
"""
import argparse
import calendar
import concurrent.futures
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

# No __pycache__ in the source tree for the modules imported below.
sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import noisy  # noqa: E402  (the draws, shared with the test wrapper)
from projects import PROJECTS  # noqa: E402

# The interpreter itself, not a shim: its start-up is most of a run.
PYTHON = os.path.realpath(sys.executable)
ROBUST_VERSION = "0.1.1"
# What pip needs to read the metadata of old sdists without build isolation.
VENV_PINS = ["pip==24.2", "setuptools==70.3.0", "wheel==0.43.0", "setuptools_scm==8.1.0"]
BEGIN, END = "<!-- peers-bench:begin -->", "<!-- peers-bench:end -->"
# culprit's default strategy runs the bad end up to 12 times before it
# says the crash does not reproduce: seeds that hide the bug that long.
HIDDEN_RUNS = 12
AUTHOR = ("PyPI release", "release@pypi.invalid")

TOOLS = {
    "plain": "git bisect run",
    "repeat": "git bisect run, test repeated 13 times, any failure bad; the ends checked first "
              "with the same loop",
    "robust": f"robust-git-bisect {ROBUST_VERSION} (crates.io)",
    "culprit": "culprit (default strategy)",
    "unverified": "culprit --no-verify (no revert check)",
    "culprit95": "culprit --confidence 0.95 (about repeat-13's accuracy at p=0.3)",
    "classic": "culprit --strategy classic",
}


def log(msg):
    """Progress on stderr."""
    print(f"[bench-peers] {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    """Runs a command that must succeed; returns its stdout."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)
    return out.stdout


# ---------------------------------------------------------------- downloads


def venv_python(work):
    """A venv with pinned packaging tools (created once)."""
    venv = work / "venv"
    python = venv / "bin" / "python"
    stamp = venv / "pins.txt"
    if not stamp.exists() or stamp.read_text() != "\n".join(VENV_PINS):
        shutil.rmtree(venv, ignore_errors=True)
        run([PYTHON, "-m", "venv", str(venv)])
        run([str(python), "-m", "pip", "install", "-q", *VENV_PINS])
        stamp.write_text("\n".join(VENV_PINS))
    return python


def archive_of(directory, name, version):
    """The cached sdist of a release, if any."""
    for ext in (".tar.gz", ".zip"):
        path = directory / f"{name}-{version}{ext}"
        if path.exists():
            return path
    return None


def download(project, work):
    """Every release's sdist, from PyPI once, then from the cache."""
    directory = work / "sdists" / project.name
    directory.mkdir(parents=True, exist_ok=True)
    missing = [v for v in project.versions if not archive_of(directory, project.name, v)]
    if missing:
        log(f"{project.name}: downloading {len(missing)} sdists")
        python = venv_python(work)

        def fetch(version):
            run([str(python), "-m", "pip", "download", "-q", "--no-deps",
                 "--no-binary", ":all:", "--no-build-isolation",
                 f"{project.name}=={version}", "-d", str(directory)])

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(fetch, missing))
    return {v: archive_of(directory, project.name, v) for v in project.versions}


# ---------------------------------------------------------------- histories


def members(archive):
    """(name, mtime) of the files of an sdist."""
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as z:
            # Zip times have no zone: read as UTC, the same on every machine.
            return [(i.filename, calendar.timegm(i.date_time + (0, 0, 0)))
                    for i in z.infolist() if not i.is_dir()]
    with tarfile.open(archive) as t:
        return [(m.name, m.mtime) for m in t.getmembers() if m.isfile()]


def release_date(archive):
    """When the release was made: its newest file (PyPI keeps no date in the sdist)."""
    return int(max(mtime for _, mtime in members(archive)))


def extract(archive, into):
    """The sdist's files, without its top directory, into `into`."""
    with tempfile.TemporaryDirectory() as tmp:
        if archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        else:
            with tarfile.open(archive) as t:
                t.extractall(tmp, filter="data")
        (top,) = Path(tmp).iterdir()
        for item in top.iterdir():
            shutil.move(str(item), into / item.name)


def commit_release(repo, project, version, archive):
    """Replaces the tree with a release's files and commits it."""
    for item in repo.iterdir():
        if item.name != ".git":
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    extract(archive, repo)
    date = f"@{release_date(archive)} +0000"
    env = dict(os.environ, GIT_AUTHOR_NAME=AUTHOR[0], GIT_AUTHOR_EMAIL=AUTHOR[1],
               GIT_COMMITTER_NAME=AUTHOR[0], GIT_COMMITTER_EMAIL=AUTHOR[1],
               GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    # The same commits on every machine, whatever the user's git config.
    git = ["git", "-c", "core.autocrlf=false", "-c", "commit.gpgsign=false",
           "-c", "core.hooksPath=/dev/null"]
    run([*git, "add", "-A", "-f", "."], cwd=repo)
    run([*git, "commit", "-q", "--allow-empty", "-m",
         f"{project.name} {version}\n\nThe files of the {project.name} {version} sdist from PyPI."],
        cwd=repo, env=env)


def history(project, work, archives):
    """The project's history (built once): one commit per release."""
    # A path without the project's name: tqdm's old _version.py reads the
    # checkout's .git (loose tag files a clone does not have) when the git
    # config mentions "tqdm", which a clone's origin URL would.
    repo = work / "repos" / f"history-{PROJECTS.index(project)}"
    stamp = repo / ".git" / "bench-versions"
    wanted = " ".join(project.versions)
    if not (stamp.exists() and stamp.read_text() == wanted):
        log(f"{project.name}: building a history of {len(project.versions)} releases")
        shutil.rmtree(repo, ignore_errors=True)
        repo.mkdir(parents=True)
        run(["git", "init", "-q", "-b", "main"], cwd=repo)
        for version in project.versions:
            commit_release(repo, project, version, archives[version])
        stamp.write_text(wanted)
    hashes = run(["git", "rev-list", "--reverse", "HEAD"], cwd=repo).split()
    assert len(hashes) == len(project.versions), (project.name, len(hashes))
    return repo, hashes


def validate(project, repo, hashes, work):
    """Checks the reproducer on every commit without noise: passes before the
    culprit, fails from it on. Cached per tip."""
    stamp = repo.with_suffix(".valid")
    if stamp.exists() and stamp.read_text() == hashes[-1]:
        return
    log(f"{project.name}: checking the reproducer on {len(hashes)} commits")
    culprit = project.versions.index(project.culprit)
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "clone"
        run(["git", "clone", "-q", str(repo), str(clone)])
        env = noise_env(project, p=1.0, seed=0, state=Path(tmp))
        for i, commit in enumerate(hashes):
            run(["git", "checkout", "-q", "--detach", commit], cwd=clone)
            status = subprocess.run([PYTHON, "-S", str(HERE / "noisy.py")], cwd=clone,
                                    env=env, capture_output=True).returncode
            want = 1 if i >= culprit else 0
            if status != want:
                sys.exit(f"{project.name} {project.versions[i]}: reproducer exit {status}, "
                         f"want {want}")
    stamp.write_text(hashes[-1])


# ---------------------------------------------------------------- tools


def target_dir():
    """Cargo's target directory."""
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def robust_binary(work):
    """robust-git-bisect, installed from crates.io once."""
    binary = work / "tools" / "bin" / "robust-git-bisect"
    if not binary.exists():
        log(f"installing robust-git-bisect {ROBUST_VERSION} from crates.io")
        run(["cargo", "install", "-q", "--locked", "--root", str(work / "tools"),
             "robust-git-bisect", "--version", ROBUST_VERSION])
    return binary


def culprit_binary(path):
    """culprit's release binary, built when missing."""
    binary = Path(path) if path else target_dir() / "release" / "culprit"
    if not binary.exists():
        log("building culprit (cargo build --release -p culprit)")
        run(["cargo", "build", "--release", "-p", "culprit"], cwd=ROOT)
    return binary


# ---------------------------------------------------------------- runs


@dataclass
class Job:
    """One bisection: a tool on a project's history under one noise."""

    tool: str
    project: str
    kind: str  # reliable, flaky or hidden
    p: float
    seed: int


def noise_env(project, p, seed, state):
    """The environment of the noisy test."""
    return dict(os.environ, BENCH_REPRO=str(HERE / "repro" / project.repro),
                BENCH_P=repr(p), BENCH_SEED=str(seed), BENCH_STATE=str(state),
                BENCH_PYTHON=PYTHON, BENCH_NOISY=str(HERE / "noisy.py"),
                PYTHONDONTWRITEBYTECODE="")


def logged(cmd, cwd, env, out, timeout):
    """Runs a tool with its output in `out`; kills its process group at the
    time limit. Returns (exit status or None on timeout, output)."""
    with open(out, "w") as f:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            status = None
    return status, Path(out).read_text(errors="replace")


def ends_disagree(ctx, clone, test):
    """Runs TEST at the bad end, then at the good end, as culprit checks the
    ends before bisecting (for the repeat wrapper: up to 13 runs at each, the
    bad end until its first failure). Returns why the bisection cannot start
    (the bad end passed, the good end failed), or None."""
    for rev, name, should_fail in ((ctx["bad"], "bad", True), (ctx["good"], "good", False)):
        run(["git", "checkout", "-q", rev], cwd=clone)
        try:
            status = subprocess.run(test, cwd=clone, env=ctx["env"], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, timeout=ctx["timeout"]).returncode
        except subprocess.TimeoutExpired:
            return f"the {name} end timed out"
        if (status != 0) != should_fail:
            return f"the {name} end {'passed' if should_fail else 'failed'} (exit {status})"
    return None


def git_bisect(ctx, test, check_ends=False):
    """`git bisect run TEST` in a clone; the first bad commit it names. With
    `check_ends`, TEST runs at both ends first and a disagreeing end ends the
    bisection without a culprit."""
    clone = ctx["dir"] / "clone"
    run(["git", "clone", "-q", str(ctx["repo"]), str(clone)])
    if check_ends:
        why = ends_disagree(ctx, clone, test)
        if why:
            ctx["said"] = why
            return None, 1
    run(["git", "bisect", "start", ctx["bad"], ctx["good"]], cwd=clone)
    status, out = logged(["git", "bisect", "run", *test], clone, ctx["env"],
                         ctx["dir"] / "tool.log", ctx["timeout"])
    found = re.search(r"^([0-9a-f]{40}) is the first bad commit", out, re.M)
    return (found.group(1) if found else None), status


def robust(ctx):
    """robust-git-bisect in a clone; the commit it names last."""
    clone = ctx["dir"] / "clone"
    run(["git", "clone", "-q", str(ctx["repo"]), str(clone)])
    test = f"{PYTHON} -S {HERE / 'noisy.py'}"
    status, out = logged([str(ctx["robust"]), "--dir", str(clone), ctx["good"], ctx["bad"], test],
                         clone, ctx["env"], ctx["dir"] / "tool.log", ctx["timeout"])
    found = re.findall(r"Most likely commit is ([0-9a-f]{40}) with likelihood ([0-9.e-]+)", out)
    ctx["said"] = f"likelihood {found[-1][1]}" if found else None
    return (found[-1][0] if found else None), status


def culprit(ctx, strategy, extra=()):
    """culprit bisect in a fresh work directory; the culprit it names."""
    result = ctx["dir"] / "result.json"
    cmd = [str(ctx["culprit"]), "bisect", "--repo", str(ctx["repo"]), "--bad", ctx["bad"],
           "--good", ctx["good"], "--build", "true",
           "--test", f"{PYTHON} -S {HERE / 'noisy.py'}",
           "--workdir", str(ctx["dir"] / "work"), "--json", str(result)]
    if strategy:
        cmd += ["--strategy", strategy]
    cmd += list(extra)
    status, _ = logged(cmd, ctx["dir"], ctx["env"], ctx["dir"] / "tool.log", ctx["timeout"])
    try:
        outcome = json.loads(result.read_text())
    except (OSError, ValueError):
        outcome = {}
    ctx["said"] = f"{outcome.get('outcome')}, confidence {outcome.get('confidence')}"
    if outcome.get("error"):
        ctx["said"] += f": {outcome['error']}"
    return (outcome.get("culprit") or {}).get("hash"), status


def bisect(tool, ctx):
    """Runs one tool; (the commit it names or None, its exit status)."""
    if tool == "plain":
        return git_bisect(ctx, [PYTHON, "-S", str(HERE / "noisy.py")])
    if tool == "repeat":
        return git_bisect(ctx, ["sh", str(HERE / "repeat.sh")], check_ends=True)
    if tool == "robust":
        return robust(ctx)
    if tool == "unverified":
        return culprit(ctx, None, ["--no-verify"])
    if tool == "culprit95":
        return culprit(ctx, None, ["--confidence", "0.95"])
    return culprit(ctx, "classic" if tool == "classic" else None)


def run_job(job, setup):
    """One bisection; its result as a dict."""
    project, repo, hashes = setup["projects"][job.project]
    directory = setup["work"] / "runs" / f"{job.project}-{job.kind}-{job.seed}-{job.tool}"
    shutil.rmtree(directory, ignore_errors=True)
    state = directory / "state"
    state.mkdir(parents=True)
    ctx = dict(dir=directory, repo=repo, good=hashes[0], bad=hashes[-1],
               env=noise_env(project, job.p, job.seed, state), timeout=setup["timeout"],
               robust=setup["robust"], culprit=setup["culprit"])
    started = time.monotonic()
    named, status = bisect(job.tool, ctx)
    runs_log = state / "runs.log"
    runs = len(runs_log.read_text().split()) if runs_log.exists() else 0
    truth = hashes[project.versions.index(project.culprit)]
    result = asdict(job) | dict(
        named=named, right=named == truth, runs=runs, status=status, said=ctx.get("said"),
        named_bad_end=named == hashes[-1], seconds=round(time.monotonic() - started, 1),
        named_version=project.versions[hashes.index(named)] if named in hashes else None)
    if status is None:
        log(f"timeout: {directory}")
    shutil.rmtree(directory / "clone", ignore_errors=True)
    shutil.rmtree(directory / "work", ignore_errors=True)
    return result


# ---------------------------------------------------------------- seeds


def hides(seed, commit, p):
    """Whether the bug stays hidden at `commit` in its first HIDDEN_RUNS runs."""
    return all(noisy.draw(str(seed), commit, k) >= p for k in range(HIDDEN_RUNS))


def hiding_seeds(commit, p, count, start=1000):
    """The first `count` seeds from `start` on under which the bad end hides the bug."""
    found, seed = [], start
    while len(found) < count:
        if hides(seed, commit, p):
            found.append(seed)
        seed += 1
    return found


def jobs_for(args, setup):
    """Every bisection to run: reliable, flaky seeds, seeds hiding the bug at the bad end."""
    jobs = []
    for name, (_, _, hashes) in setup["projects"].items():
        noises = [("reliable", 1.0, 0)]
        noises += [("flaky", args.rate, s) for s in range(args.seeds)]
        hidden = hiding_seeds(hashes[-1], args.rate, args.hidden)
        noises += [("hidden", args.rate, s) for s in hidden]
        jobs += [Job(tool, name, kind, p, seed) for kind, p, seed in noises for tool in args.tools]
    return jobs


# ---------------------------------------------------------------- report


def cell(results, right_of=True):
    """'right of n, mean runs' for a group of results."""
    if not results:
        return "-", "-"
    right = sum(r["right"] for r in results)
    runs = sum(r["runs"] for r in results) / len(results)
    return f"{right}/{len(results)}", f"{runs:.1f}"


def table(results, tools, rate):
    """The markdown table: tool x {reliable, flaky, flaky with a hiding bad end}."""
    head = (f"| tool | reliable: right | runs | flaky (p={rate}): right | runs "
            f"| flaky, bad end hides the bug {HIDDEN_RUNS} runs: right | runs "
            f"| flaky, wrong answers |\n|---|---|---|---|---|---|---|---|\n")
    rows = []
    for tool in tools:
        mine = [r for r in results if r["tool"] == tool]
        cells = []
        for kind in ("reliable", "flaky", "hidden"):
            cells += cell([r for r in mine if r["kind"] == kind])
        rows.append(f"| {TOOLS[tool]} | " + " | ".join(cells) + f" | {wrong(mine)} |")
    return head + "\n".join(rows) + "\n"


def wrong(results):
    """How the flaky bisections (hiding seeds included) went wrong."""
    bad = [r for r in results if r["kind"] != "reliable" and not r["right"]]
    end = sum(r["named_bad_end"] for r in bad)
    none = sum(r["named"] is None for r in bad)
    other = len(bad) - end - none
    parts = [f"{n} {what}" for n, what in
             ((end, "named the bad end"), (other, "named another commit"), (none, "named none"))
             if n]
    return ", ".join(parts) or "none"


def per_project(results, tools):
    """Flaky right/runs per project, for the detail table."""
    names = sorted({r["project"] for r in results})
    head = "| tool | " + " | ".join(f"{n}: right | runs" for n in names) + " |\n"
    head += "|---|" + "---|---|" * len(names) + "\n"
    rows = []
    for tool in tools:
        cells = []
        for n in names:
            cells += cell([r for r in results if r["tool"] == tool and r["project"] == n
                           and r["kind"] == "flaky"])
        rows.append(f"| {TOOLS[tool]} | " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"


def machine(setup):
    """One line on the machine and the tools' versions."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    git = run(["git", "--version"]).strip()
    head = run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).strip()
    dirty = " with local changes" if run(["git", "status", "--porcelain"], cwd=ROOT) else ""
    built = time.strftime("%Y-%m-%d %H:%M", time.gmtime(setup["culprit"].stat().st_mtime))
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores; "
            f"Python {platform.python_version()}, {git}; culprit binary built {built} UTC "
            f"(source tree at {head}{dirty})")


def histories(setup):
    """One line per history: its releases, the regression, the reproducer."""
    lines = []
    for project, _, hashes in setup["projects"].values():
        lines.append(
            f"- **{project.name}**: {len(hashes)} commits, releases {project.versions[0]} "
            f"(good end) to {project.versions[-1]} (bad end); culprit {project.culprit} "
            f"(`{hashes[project.versions.index(project.culprit)][:12]}`): {project.change}; "
            f"reproducer `scripts/bench-peers/repro/{project.repro}`.")
    return "\n".join(lines)


def report(results, args, setup, seconds):
    """The text between the markers."""
    hidden = sorted({(r["project"], r["seed"]) for r in results if r["kind"] == "hidden"})
    return (
        f"{BEGIN}\n"
        f"Generated by `{' '.join(['python3', 'scripts/bench-peers/bench.py', *sys.argv[1:]])}` "
        f"in {seconds / 60:.1f} min on: {setup['machine']}.\n\n"
        f"{histories(setup)}\n\n"
        f"Runs are mean invocations of the test; right is how many bisections named the "
        f"known culprit. Reliable: p=1. Flaky: the bug shows with p={args.rate}, seeds "
        f"0..{args.seeds - 1} on each history. Bad end hiding: seeds "
        f"{', '.join(f'{p} {s}' for p, s in hidden)} (searched from 1000 on), under which "
        f"the first {HIDDEN_RUNS} runs at the bad end miss the bug.\n\n"
        f"{table(results, args.tools, args.rate)}\n"
        f"Flaky, per history:\n\n{per_project(results, args.tools)}{END}\n")


def write_doc(path, text):
    """Replaces the text between the markers of `path` (created if missing)."""
    old = path.read_text() if path.exists() else (
        "# culprit and its peers on real histories\n\n"
        "Written by `scripts/bench-peers/bench.py`; the part between the markers "
        "is regenerated.\n\n")
    if BEGIN in old and END in old:
        before, rest = old.split(BEGIN, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        new = before + text + after
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new)


# ---------------------------------------------------------------- main


def parse():
    """Command-line arguments."""
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--seeds", type=int, default=10, help="flaky seeds 0..N-1 per history")
    a.add_argument("--hidden", type=int, default=3,
                   help="seeds per history whose bad end hides the bug for its first 12 runs")
    a.add_argument("--rate", type=float, default=0.3, help="p of the flaky case")
    a.add_argument("--tools", default=",".join(TOOLS),
                   type=lambda s: [t for t in s.split(",") if t],
                   help="comma-separated among " + ", ".join(TOOLS))
    a.add_argument("--projects", default=",".join(p.name for p in PROJECTS),
                   type=lambda s: [t for t in s.split(",") if t])
    a.add_argument("--jobs", type=int, default=2, help="bisections at once")
    a.add_argument("--timeout", type=int, default=1200, help="seconds per bisection")
    a.add_argument("--culprit", help="culprit binary (default: target/release/culprit)")
    a.add_argument("--work", default=str(target_dir() / "bench-peers"))
    a.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = a.parse_args()
    unknown = set(args.tools) - set(TOOLS)
    if unknown:
        a.error(f"unknown tools {sorted(unknown)}")
    return args


def prepare(args):
    """Histories, tools and caches."""
    work = Path(args.work).resolve()
    projects = {}
    for project in PROJECTS:
        if project.name in args.projects:
            archives = download(project, work)
            repo, hashes = history(project, work, archives)
            validate(project, repo, hashes, work)
            projects[project.name] = (project, repo, hashes)
    return dict(work=work, projects=projects, timeout=args.timeout,
                robust=robust_binary(work) if "robust" in args.tools else None,
                culprit=culprit_binary(args.culprit))


def main():
    """Runs the benchmark and writes the report."""
    args = parse()
    started = time.monotonic()
    setup = prepare(args)
    # Read now: the source tree may move on while the bisections run.
    setup["machine"] = machine(setup)
    jobs = jobs_for(args, setup)
    log(f"{len(jobs)} bisections, {args.jobs} at a time")
    results = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for result in pool.map(lambda j: run_job(j, setup), jobs):
            results.append(result)
            log(f"{len(results)}/{len(jobs)} {result['project']} {result['kind']} "
                f"seed {result['seed']} {result['tool']}: right={result['right']} "
                f"runs={result['runs']} ({result['seconds']}s)")
    (setup["work"] / "results.json").write_text(json.dumps(results, indent=1))
    text = report(results, args, setup, time.monotonic() - started)
    write_doc(Path(args.out), text)
    print(text)


if __name__ == "__main__":
    main()
