//! Choosing the next commit on a Linux-sized history: culprit against
//! `git rev-list --bisect`.
//!
//! Generates (once, cached under the target directory) a 100,000-commit
//! repository shaped like Linux: a first-parent mainline whose merges bring
//! in topic branches forked from older mainline commits, some topics merging
//! mainline back in, some collected in maintainer trees first. Then times
//! `git rev-list --bisect NEW ^OLD` (with a commit-graph file, as a gc'ed
//! clone has) against `CommitGraph::bisect_choice` on the loaded graph.
//!
//! Run: `cargo bench -p culprit-git --bench bisect_choice`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use culprit_git::{CommitGraph, Repo};

const COMMITS: usize = 100_000;
const GIT_RUNS: usize = 3;
const OUR_RUNS: usize = 20;

/// xorshift64*: deterministic history shape.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

/// Parents of each commit (0-based, creation order is topological).
struct Shape {
    parents: Vec<Vec<usize>>,
    mainline: Vec<usize>,
}

impl Shape {
    fn add(&mut self, parents: Vec<usize>) -> usize {
        self.parents.push(parents);
        self.parents.len() - 1
    }

    /// A topic of 1-40 commits forked from a recent mainline commit,
    /// sometimes merging mainline back in; returns its tip.
    fn topic(&mut self, rng: &mut Rng) -> usize {
        let back = rng.below(self.mainline.len().min(3000));
        let mut tip = self.mainline[self.mainline.len() - 1 - back];
        for _ in 0..1 + rng.below(40) {
            tip = if rng.below(40) == 0 {
                let main_tip = self.mainline[self.mainline.len() - 1];
                self.add(vec![tip, main_tip])
            } else {
                self.add(vec![tip])
            };
        }
        tip
    }

    fn generate(count: usize) -> Shape {
        let mut rng = Rng(0x5eed);
        let mut shape = Shape {
            parents: vec![vec![]],
            mainline: vec![0],
        };
        while shape.parents.len() < count {
            let main_tip = shape.mainline[shape.mainline.len() - 1];
            let roll = rng.below(100);
            let next = if roll < 35 {
                shape.add(vec![main_tip])
            } else if roll < 90 {
                let topic = shape.topic(&mut rng);
                shape.add(vec![main_tip, topic])
            } else {
                // A maintainer tree: several topics merged into one branch.
                let mut tree = shape.topic(&mut rng);
                for _ in 0..2 + rng.below(4) {
                    let topic = shape.topic(&mut rng);
                    tree = shape.add(vec![tree, topic]);
                }
                let main_tip = shape.mainline[shape.mainline.len() - 1];
                shape.add(vec![main_tip, tree])
            };
            shape.mainline.push(next);
        }
        shape
    }

    fn fast_import_stream(&self) -> Vec<u8> {
        let mut out = String::new();
        for (i, parents) in self.parents.iter().enumerate() {
            let msg = format!("commit {i}\n");
            out.push_str(&format!(
                "commit refs/heads/work\nmark :{}\ncommitter Bench <bench@example.com> {} +0000\ndata {}\n{msg}",
                i + 1,
                1_600_000_000 + i,
                msg.len()
            ));
            for (k, p) in parents.iter().enumerate() {
                out.push_str(if k == 0 { "from" } else { "merge" });
                out.push_str(&format!(" :{}\n", p + 1));
            }
            out.push('\n');
        }
        let tip = self.mainline[self.mainline.len() - 1] + 1;
        out.push_str(&format!("reset refs/heads/main\nfrom :{tip}\n\n"));
        let old = self.mainline[self.mainline.len() / 100] + 1;
        out.push_str(&format!("reset refs/tags/old\nfrom :{old}\n\n"));
        out.into_bytes()
    }
}

fn git(dir: &Path, args: &[&str], input: Option<&[u8]>) -> Vec<u8> {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("LC_ALL", "C")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run git: {e}"));
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        std::io::Write::write_all(&mut stdin, input).unwrap_or_else(|e| panic!("git stdin: {e}"));
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The cached repository, generated if missing.
fn repository() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("culprit-bench-history-100k");
    let done = dir.join("culprit-bench-complete");
    if done.exists() {
        return dir;
    }
    let started = Instant::now();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    git(&dir, &["init", "--quiet", "--bare"], None);
    let shape = Shape::generate(COMMITS);
    git(
        &dir,
        &["fast-import", "--quiet"],
        Some(&shape.fast_import_stream()),
    );
    git(&dir, &["commit-graph", "write", "--reachable"], None);
    std::fs::write(&done, "").unwrap_or_else(|e| panic!("write {}: {e}", done.display()));
    let merges = shape.parents.iter().filter(|p| p.len() > 1).count();
    println!(
        "generated {} commits ({merges} merges) in {:.1?}",
        shape.parents.len(),
        started.elapsed()
    );
    dir
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        best = best.min(t.elapsed());
    }
    (best, last.unwrap_or_else(|| unreachable!("runs > 0")))
}

fn main() {
    let dir = repository();
    let (git_time, git_out) = best_of(GIT_RUNS, || {
        git(&dir, &["rev-list", "--bisect", "main", "^old"], None)
    });
    let git_pick = String::from_utf8_lossy(&git_out).trim().to_string();

    let repo = Repo::open(&dir).unwrap_or_else(|e| panic!("{e}"));
    let load_start = Instant::now();
    let graph =
        CommitGraph::load(&repo, "main", &["old".to_string()]).unwrap_or_else(|e| panic!("{e}"));
    let load_time = load_start.elapsed();
    let n = graph.len();
    let merges = (0..n as u32)
        .filter(|&i| graph.parents(i).len() > 1)
        .count();
    let suspects = vec![true; n];
    let skipped = vec![false; n];
    let (our_time, step) = best_of(OUR_RUNS, || graph.bisect_step(&suspects, &skipped));
    let step = step.unwrap_or_else(|| panic!("no commit chosen"));
    let weights: Vec<f64> = (0..n).map(|i| 1.0 / (1 + i % 7) as f64).collect();
    let (weights_time, _) = best_of(OUR_RUNS, || graph.ancestor_weights(&weights));

    let reach = graph.ancestor_counts(&suspects);
    let score = |i: u32| reach[i as usize].min(n as u32 - reach[i as usize]);
    let git_score = graph.index_of(&git_pick).map(score);
    println!("history: {n} suspects, {merges} merges (2 cores machine, best of runs)");
    println!("git rev-list --bisect main ^old: {git_time:>10.2?}  (best of {GIT_RUNS})");
    println!("culprit bisect_choice:           {our_time:>10.2?}  (best of {OUR_RUNS})");
    println!("culprit ancestor_weights (f64):  {weights_time:>10.2?}");
    println!("culprit graph load (rev-list + index): {load_time:.2?}");
    println!(
        "speed-up: {:.0}x",
        git_time.as_secs_f64() / our_time.as_secs_f64()
    );
    if std::env::var_os("CULPRIT_BENCH_VERIFY").is_some() {
        verify_scores(&dir, &graph, &score);
    }
    tangled(COMMITS, 64);
    tangled(COMMITS, 1024);
    println!(
        "score of git's pick {git_score:?}, of ours {} (left {}, roughly {} steps)",
        score(step.commit),
        step.left,
        step.steps
    );
}

/// Times the choice on an in-memory graph where long-lived branches
/// keep merging each other: far from Linux's shape, the worst case for the
/// span index (it may fall back to bitsets).
fn tangled(count: usize, branches: usize) {
    let mut rng = Rng(0x7a9);
    let mut tips: Vec<u32> = vec![0; branches];
    let mut parents: Vec<Vec<u32>> = vec![vec![]];
    for i in 1..count as u32 {
        let b = rng.below(tips.len());
        let mut ps = vec![tips[b]];
        if rng.below(10) == 0 {
            let other = tips[rng.below(tips.len())];
            if other != tips[b] {
                ps.push(other);
            }
        }
        parents.push(ps);
        tips[b] = i;
    }
    // One tip reaching everything.
    let n = parents.len() as u32;
    parents.push(tips.clone());
    tips.dedup();
    let ids = (0..=n).map(|i| format!("{i:040x}")).collect();
    let start = Instant::now();
    let graph = CommitGraph::from_parents(ids, parents).unwrap_or_else(|e| panic!("{e}"));
    let build = start.elapsed();
    let suspects = vec![true; graph.len()];
    let skipped = vec![false; graph.len()];
    let (time, _) = best_of(3, || graph.bisect_choice(&suspects, &skipped));
    let n = graph.len();
    println!("tangled {n} commits ({branches} branches merging each other):");
    println!("  index {build:.2?}, bisect_choice {time:.2?}");
}

/// Compares every commit's score with git's `--bisect-all` distances.
fn verify_scores(dir: &Path, graph: &CommitGraph, score: &dyn Fn(u32) -> u32) {
    let out = git(dir, &["rev-list", "--bisect-all", "main", "^old"], None);
    let text = String::from_utf8_lossy(&out);
    let mut mismatches = 0;
    let mut lines = 0;
    for line in text.lines() {
        let Some((hash, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some(dist) = rest
            .split("dist=")
            .nth(1)
            .and_then(|d| d.trim_end_matches(')').parse::<u32>().ok())
        else {
            continue;
        };
        lines += 1;
        let ours = graph.index_of(hash).map(score);
        if ours != Some(dist) {
            mismatches += 1;
            if mismatches < 5 {
                println!("mismatch {hash}: git {dist}, ours {ours:?}");
            }
        }
    }
    println!("verified {lines} scores against git --bisect-all: {mismatches} mismatches");
}
