//! git's choice of the next commit, checked against git itself.

use std::collections::HashMap;

use culprit_git::fixture::RepoBuilder;
use culprit_git::{estimate_steps, CommitGraph};

/// A history with a mainline, topic branches forked from older mainline
/// commits, a topic that merges mainline back in, and a maintainer branch
/// that collects two topics before being merged.
fn history() -> (RepoBuilder, Vec<String>) {
    let mut b = RepoBuilder::new();
    let mut mainline = vec![b.commit("m0", &[])];
    for round in 0..6 {
        for i in 0..3 {
            mainline.push(b.commit(&format!("m{round}.{i}"), &[]));
        }
        let fork = mainline[mainline.len() - 1 - (round % 3) * 2].clone();
        let topic = format!("topic{round}");
        b.git(&["switch", "--quiet", "-c", &topic, &fork]);
        for i in 0..(2 + round) {
            b.commit(&format!("{topic}.{i}"), &[]);
            if round == 2 && i == 1 {
                b.merge("main", "back-merge mainline");
            }
        }
        if round == 4 {
            // A maintainer tree collecting this topic and a second one.
            b.git(&["switch", "--quiet", "-c", "maint", &mainline[3]]);
            b.merge(&topic, "maint: merge topic");
            b.git(&["switch", "--quiet", "-c", "topic4b", &mainline[5]]);
            b.commit("topic4b.0", &[]);
            b.switch("maint");
            b.merge("topic4b", "maint: merge topic4b");
            b.switch("main");
            mainline.push(b.merge("maint", "Merge maintainer tree"));
        } else {
            b.switch("main");
            mainline.push(b.merge(&topic, &format!("Merge {topic}")));
        }
    }
    (b, mainline)
}

/// git's score (`dist`) of every commit of the range.
fn git_distances(b: &RepoBuilder, range: &[String]) -> HashMap<String, u32> {
    let mut args = vec!["rev-list", "--bisect-all"];
    args.extend(range.iter().map(String::as_str));
    let out = b.git(&args);
    out.lines()
        .map(|line| {
            let (hash, rest) = line.split_once(' ').unwrap();
            // "(dist=N)", or "(HEAD -> main, dist=N)" with decorations.
            let dist = rest.split("dist=").nth(1).unwrap().trim_end_matches(')');
            (hash.to_string(), dist.parse().unwrap())
        })
        .collect()
}

fn git_bisect_vars(b: &RepoBuilder, range: &[String]) -> HashMap<String, String> {
    let mut args = vec!["rev-list", "--bisect-vars"];
    args.extend(range.iter().map(String::as_str));
    b.git(&args)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

#[test]
fn scores_counts_and_steps_match_git() {
    let (b, mainline) = history();
    let repo = b.open();
    let tips = [
        "topic2".to_string(),
        "maint".to_string(),
        "HEAD".to_string(),
    ];
    let mut checked = 0;
    for bad in &tips {
        for good in [&mainline[0], &mainline[4], &mainline[9]] {
            let goods = vec![good.clone(), "topic1".to_string()];
            let g = CommitGraph::load(&repo, bad, &goods).unwrap();
            let suspects = vec![true; g.len()];
            if bad == "HEAD" && good == &mainline[0] {
                let merges = (0..g.len() as u32)
                    .filter(|&i| g.parents(i).len() > 1)
                    .count();
                assert!(merges >= 5, "the history should have merges, got {merges}");
            }
            let reach = g.ancestor_counts(&suspects);
            let all = g.len() as u32;
            let range: Vec<String> = std::iter::once(bad.clone())
                .chain(goods.iter().map(|g| format!("^{g}")))
                .collect();
            let git = git_distances(&b, &range);
            assert_eq!(git.len(), g.len(), "same suspects as git for {range:?}");
            for i in 0..g.len() {
                let ours = reach[i].min(all - reach[i]);
                assert_eq!(
                    ours,
                    git[g.id(i as u32)],
                    "score of {} for {range:?}",
                    g.id(i as u32)
                );
            }
            let vars = git_bisect_vars(&b, &range);
            let step = g.bisect_step(&suspects, &vec![false; g.len()]).unwrap();
            assert_eq!(vars["bisect_all"], all.to_string());
            assert_eq!(vars["bisect_steps"], estimate_steps(all).to_string());
            assert_eq!(step.steps, estimate_steps(all));
            // git's pick and ours score the same; git's "left" follows from
            // our count of what its pick reaches.
            let git_pick = g.index_of(&vars["bisect_rev"]).unwrap();
            let git_reach = reach[git_pick as usize];
            assert_eq!(
                git_reach.min(all - git_reach),
                step.reaches.min(all - step.reaches)
            );
            assert_eq!(
                vars["bisect_nr"],
                culprit_git::revisions_left(all, git_reach).to_string()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 9);
}

#[test]
fn git_bisect_log_line_matches_our_step_on_linear_history() {
    let mut b = RepoBuilder::new();
    let hashes: Vec<String> = (0..23).map(|i| b.commit(&format!("c{i}"), &[])).collect();
    let g = CommitGraph::load(&b.open(), "HEAD", &[hashes[0].clone()]).unwrap();
    let n = g.len();
    let step = g.bisect_step(&vec![true; n], &vec![false; n]).unwrap();
    let out = b.git(&["bisect", "start", &hashes[22], &hashes[0]]);
    let expected = format!(
        "Bisecting: {} revisions left to test after this (roughly {} steps)\n[{}] ",
        step.left,
        step.steps,
        g.id(step.commit)
    );
    assert!(
        out.starts_with(&expected),
        "git said:\n{out}\nwe say:\n{expected}"
    );
}
