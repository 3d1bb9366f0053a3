//! The config minimisation state machine driven by fake predicates: what
//! it keeps, what it drops, in how many builds.

use culprit_build::instrumentation::CrashKind;
use culprit_build::kconfig::{DependencyGraph, KernelConfig};
use culprit_build::minimize::{
    MinimizeInput, MinimizeSettings, Minimized, Minimizer, Observation, Step, Verdict,
};
use std::collections::{BTreeMap, BTreeSet};

/// Sixteen driver options D0..D15 on in the full config and off in the
/// baseline, each depending on BUS (also off in the baseline); KASAN,
/// lockdep and debug info on in both.
fn configs() -> (KernelConfig, KernelConfig, DependencyGraph) {
    let common = "CONFIG_KASAN=y\nCONFIG_PROVE_LOCKING=y\nCONFIG_DEBUG_INFO=y\nCONFIG_NET=y\n";
    let baseline = KernelConfig::parse(&format!("{common}# CONFIG_BUS is not set\n"));
    let mut full = baseline.clone();
    full.set("BUS", "y");
    let names: Vec<String> = (0..16).map(|i| format!("D{i}")).collect();
    for name in &names {
        full.set(name, "y");
    }
    let bus: &[&str] = &["BUS"];
    let mut pairs: Vec<(&str, &[&str])> = names.iter().map(|n| (n.as_str(), bus)).collect();
    pairs.push(("BUS", &[]));
    (full, baseline, DependencyGraph::from_pairs(pairs))
}

/// What `olddefconfig` would keep: options whose dependencies are on.
fn normalise(config: &KernelConfig, graph: &DependencyGraph) -> KernelConfig {
    let mut out = config.clone();
    for (name, _) in config.iter() {
        if graph.direct(name).any(|d| !config.is_enabled(d)) {
            out.set(name, "n");
        }
    }
    out
}

fn input(kind: CrashKind, baseline: bool) -> MinimizeInput {
    let (full, base, graph) = configs();
    MinimizeInput {
        full,
        baseline: baseline.then_some(base),
        minimal: None,
        graph,
        kind,
        file_options: BTreeMap::new(),
        reference_rate: Some(1.0),
        settings: MinimizeSettings::default(),
    }
}

/// Runs the machine to the end; `crashes` says how many of 5 runs crash.
fn drive(input: MinimizeInput, crashes: impl Fn(&KernelConfig) -> u32) -> (Minimized, Vec<String>) {
    let graph = input.graph.clone();
    let mut machine = Minimizer::new(input);
    let mut purposes = Vec::new();
    let mut seen = BTreeSet::new();
    loop {
        match machine.next_step() {
            Step::Done(result) => return (result, purposes),
            Step::Test {
                config,
                purpose,
                runs,
            } => {
                assert_eq!(machine.next_step(), machine.next_step(), "not idempotent");
                assert!(seen.insert(config.hash()), "{purpose}: built twice");
                purposes.push(purpose);
                let built = normalise(&config, &graph);
                machine.observe(Observation::Ran {
                    runs,
                    crashes: crashes(&built).min(runs),
                });
            }
        }
    }
}

fn dropped(result: &Minimized) -> BTreeSet<String> {
    let decisions = result.decisions.iter();
    decisions
        .filter(|d| d.verdict == Verdict::Dropped)
        .flat_map(|d| d.subject.clone())
        .collect()
}

#[test]
fn keeps_the_driver_the_reproducer_needs_and_drops_the_others_within_the_bound() {
    let (result, purposes) = drive(input(CrashKind::Warning, true), |c| {
        5 * u32::from(c.is_enabled("D11"))
    });
    eprintln!(
        "{purposes:#?}\n{:#?}",
        result
            .decisions
            .iter()
            .map(|d| d.describe())
            .collect::<Vec<_>>()
    );
    assert!(result.verified);
    assert_eq!(
        result.added_options,
        BTreeSet::from(["BUS".to_string(), "D11".to_string()])
    );
    assert!(normalise(&result.config, &configs().2).is_enabled("D11"));
    assert!(!result.config.is_enabled("D3"));
    let gone = dropped(&result);
    assert!(gone.contains("D3") && gone.contains("D15") && !gone.contains("D11"));
    // baseline+files lean and not, full minus instrumentation (baseline
    // alone is the first of these again: not rebuilt), then 2 builds at
    // most per halving of 16 leaves.
    assert!(
        result.builds <= 3 + 2 * 4,
        "{} builds: {purposes:#?}",
        result.builds
    );

    assert_eq!(result.builds as usize, purposes.len());
    assert!(result
        .dropped_instrumentation
        .contains(&"KASAN".to_string()));
}

#[test]
fn finds_two_needed_drivers_in_different_halves() {
    let (result, _) = drive(input(CrashKind::Warning, true), |c| {
        5 * u32::from(c.is_enabled("D2") && c.is_enabled("D13"))
    });
    assert!(result.verified);
    let added: Vec<_> = result.added_options.iter().map(String::as_str).collect();
    assert_eq!(added, ["BUS", "D13", "D2"]);
    assert!(result.builds <= MinimizeSettings::default().max_builds);
}

#[test]
fn the_crash_files_options_reproduce_without_building_the_full_config() {
    let mut input = input(CrashKind::Warning, true);
    input.file_options = BTreeMap::from([(
        "drivers/d7.c".to_string(),
        BTreeSet::from(["D7".to_string()]),
    )]);
    input.reference_rate = None;
    let (result, purposes) = drive(input, |c| 5 * u32::from(c.is_enabled("D7")));
    assert_eq!(result.builds, 1, "{purposes:?}");
    assert!(purposes[0].contains("crash's files"), "{}", purposes[0]);
    assert_eq!(result.reference_rate, Some(1.0));
    assert!(result.verified);
    assert_eq!(
        result.dropped_instrumentation,
        ["debug info", "KASAN", "lockdep"]
    );
    let kept = result.decisions.iter().find(|d| d.verdict == Verdict::Kept);
    assert!(kept.is_some_and(|d| d.reason.contains("drivers/d7.c")));
}

#[test]
fn a_minimal_bootable_config_with_the_crash_files_options_comes_first() {
    let mut input = input(CrashKind::Warning, true);
    input.file_options = BTreeMap::from([(
        "drivers/d7.c".to_string(),
        BTreeSet::from(["D7".to_string()]),
    )]);
    input.minimal = Some(KernelConfig::parse(
        "CONFIG_TTY=y\n# CONFIG_BUS is not set\n",
    ));
    input.reference_rate = None;
    // The crash needs D7 (and BUS, which D7 depends on).
    let (result, purposes) = drive(input.clone(), |c| 5 * u32::from(c.is_enabled("D7")));
    assert_eq!(result.builds, 1, "{purposes:?}");
    assert!(
        purposes[0].starts_with("a minimal bootable config"),
        "{}",
        purposes[0]
    );
    assert!(result.verified);
    let config = &result.config;
    assert!(config.is_enabled("D7") && config.is_enabled("BUS") && config.is_enabled("TTY"));
    // Nothing else of the full config came along: no KASAN, no lockdep.
    assert!(
        !config.is_enabled("KASAN") && !config.is_enabled("D3"),
        "{}",
        config.to_text()
    );
    assert_eq!(
        result.added_options,
        BTreeSet::from(["BUS".to_string(), "D7".to_string()])
    );
    // A crash the minimal config does not show goes on to the baseline.
    let (result, purposes) = drive(input, |c| {
        5 * u32::from(c.is_enabled("D7") && c.is_enabled("NET"))
    });
    assert!(
        purposes[0].starts_with("a minimal bootable config"),
        "{purposes:?}"
    );
    assert!(purposes[1].starts_with("the baseline"), "{purposes:?}");
    assert!(result.config.is_enabled("D7") && result.config.is_enabled("NET"));
}

#[test]
fn instrumentation_a_crash_needs_is_kept_the_rest_dropped() {
    // The reproducer needs lockdep (say, a WARNING from a lock check):
    // dropping everything at once loses it, then one group at a time (the
    // last drop is the first config again: not rebuilt).
    let (result, purposes) = drive(input(CrashKind::Warning, false), |c| {
        5 * u32::from(c.is_enabled("PROVE_LOCKING"))
    });
    assert_eq!(result.dropped_instrumentation, ["debug info", "KASAN"]);
    assert!(result.config.is_enabled("PROVE_LOCKING"));
    assert!(!result.config.is_enabled("KASAN"));
    assert_eq!(purposes.len(), 3, "{purposes:#?}");
    assert_eq!(purposes[2], "the full config without debug info, KASAN");
    // A KASAN report keeps KASAN without trying.
    let (result, purposes) = drive(input(CrashKind::Kasan, false), |c| {
        5 * u32::from(c.is_enabled("KASAN"))
    });
    assert_eq!(result.dropped_instrumentation, ["debug info", "lockdep"]);
    assert!(purposes.iter().all(|p| !p.contains("without KASAN")));
}

#[test]
fn a_lower_crash_rate_than_the_reference_does_not_reproduce() {
    // Without D4 the bug still shows, but in 1 run of 5 instead of 5.
    let (result, _) = drive(input(CrashKind::Warning, true), |c| {
        if c.is_enabled("D4") {
            5
        } else {
            1
        }
    });
    assert!(result.added_options.contains("D4"), "{result:#?}");
}

#[test]
fn the_bound_stops_the_search_with_a_config_that_reproduced() {
    let mut input = input(CrashKind::Warning, true);
    input.settings.max_builds = 5;
    let (result, purposes) = drive(input, |c| 5 * u32::from(c.is_enabled("D11")));
    assert_eq!(purposes.len(), 5);
    assert!(result.verified);
    assert!(result.config.is_enabled("D11"));
    let last = result.decisions.last().unwrap();
    assert!(last.reason.contains("bound of 5 builds"), "{}", last.reason);
}

#[test]
fn a_full_config_that_does_not_reproduce_is_given_back_unverified() {
    let mut input = input(CrashKind::Warning, false);
    input.reference_rate = None;
    let (result, purposes) = drive(input, |_| 0);
    assert_eq!(purposes, ["the full config"]);
    assert!(!result.verified);
    assert_eq!(result.config, configs().0);
}

#[test]
fn a_candidate_that_does_not_build_does_not_reproduce() {
    let mut machine = Minimizer::new(input(CrashKind::Warning, false));
    let Step::Test { config, .. } = machine.next_step() else {
        panic!("no test");
    };
    assert!(!config.is_enabled("KASAN"));
    machine.observe(Observation::BuildFailed {
        reason: "error".into(),
    });
    let Step::Test { purpose, .. } = machine.next_step() else {
        panic!("no test");
    };
    assert!(purpose.ends_with("without debug info"), "{purpose}");
}

/// A host whose kernels are the configs themselves.
struct FakeHost {
    builds: Vec<String>,
    needs: &'static str,
}

impl culprit_build::minimize_driver::MinimizeHost for FakeHost {
    type Kernel = KernelConfig;

    fn build(
        &mut self,
        commit: &str,
        config: &std::path::Path,
    ) -> Result<KernelConfig, culprit_build::minimize_driver::HostBuildError> {
        self.builds.push(commit.to_string());
        let config = KernelConfig::read(config).unwrap();
        Ok(normalise(&config, &configs().2))
    }

    fn run(
        &mut self,
        kernel: &KernelConfig,
        runs: u32,
    ) -> Result<culprit_build::minimize_driver::RunCounts, String> {
        let crashes = runs * u32::from(kernel.is_enabled(self.needs));
        Ok(culprit_build::minimize_driver::RunCounts { runs, crashes })
    }
}

#[test]
fn the_driver_logs_candidates_and_decisions_and_caches_the_result() {
    use culprit_build::minimize_driver::{minimize, CacheKey, MinimizePlaces};
    let dir = tempfile::tempdir().unwrap();
    let places = MinimizePlaces {
        work_dir: dir.path().join("work"),
        cache_dir: Some(dir.path().join("cache")),
    };
    let key = CacheKey {
        config: "c".into(),
        baseline: "b".into(),
        commit: "abc".into(),
        reproducer: "r".into(),
        compiler: "gcc".into(),
    };
    let mut host = FakeHost {
        builds: Vec::new(),
        needs: "D5",
    };
    let mut log = Vec::new();
    let first = minimize(
        input(CrashKind::Warning, true),
        "abc",
        &key,
        &places,
        &mut host,
        &mut log,
    )
    .unwrap();
    let text = String::from_utf8(log).unwrap();
    assert!(!first.cached);
    assert!(first.result.added_options.contains("D5"));
    assert!(host.builds.iter().all(|c| c == "abc"));
    assert_eq!(host.builds.len() as u32, first.result.builds);
    assert!(text.starts_with("minimizing the config at abc: "), "{text}");
    assert!(
        text.contains(
            "config candidate 1: the baseline, without debug info, KASAN, lockdep: building"
        ),
        "{text}"
    );
    assert!(
        text.contains("config: kept D5: the bug did not reproduce without it"),
        "{text}"
    );
    assert!(
        text.contains("minimized config: the baseline + 2 options"),
        "{text}"
    );
    let written = KernelConfig::read(&first.config_file).unwrap();
    assert_eq!(written, first.result.config);

    // The same key: from the cache, nothing built.
    let builds = host.builds.len();
    let mut log = Vec::new();
    let again = minimize(
        input(CrashKind::Warning, true),
        "abc",
        &key,
        &places,
        &mut host,
        &mut log,
    )
    .unwrap();
    assert!(again.cached);
    assert_eq!(again.result, first.result);
    assert_eq!(host.builds.len(), builds);
    // Another compiler is another key.
    let other = CacheKey {
        compiler: "clang".into(),
        ..key
    };
    let third = minimize(
        input(CrashKind::Warning, true),
        "abc",
        &other,
        &places,
        &mut host,
        &mut Vec::new(),
    )
    .unwrap();
    assert!(!third.cached);
}
