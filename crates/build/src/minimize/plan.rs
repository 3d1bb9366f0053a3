//! The minimisation's stages: which candidate comes next, and what an
//! answer changes.

use super::{
    describe_kind, droppable, group_names, without, Decision, Good, Minimized, Minimizer, Phase,
    Verdict,
};
use crate::instrumentation::{self, Instrumentation};
use crate::kconfig::KernelConfig;
use std::collections::BTreeSet;

type Test = (KernelConfig, String);

impl Minimizer {
    /// The next candidate of the current phase, moving through phases that
    /// need no build; `None` when finished.
    pub(super) fn plan(&mut self) -> Option<Test> {
        loop {
            match self.phase.clone() {
                Phase::Minimal => match self.minimal_config() {
                    Some(test) => return Some(test),
                    None => self.phase = self.after_minimal_phase(),
                },
                Phase::FilesLean => {
                    let (files, summary) = self.files_config();
                    let groups = droppable(self.input.kind, &files);
                    if groups.is_empty() {
                        self.phase = Phase::FilesFull;
                        continue;
                    }
                    let names = group_names(&groups).join(", ");
                    return Some((
                        without(&files, &groups),
                        format!("{summary}, without {names}"),
                    ));
                }
                Phase::FilesFull => return Some(self.files_config()),
                Phase::MeasureFull if self.reference.is_some() => self.phase = Phase::DropAll,
                Phase::MeasureFull => {
                    return Some((self.input.full.clone(), "the full config".into()));
                }
                Phase::DropAll => {
                    let groups = droppable(self.input.kind, &self.good.config);
                    if groups.len() < 2 {
                        self.phase = Phase::DropEach(groups);
                        continue;
                    }
                    let summary = self.drop_summary(&groups);
                    return Some((without(&self.good.config, &groups), summary));
                }
                Phase::DropEach(groups) | Phase::FilesDropEach(groups) => match groups.first() {
                    Some(group) => {
                        let summary = self.drop_summary(&[group]);
                        return Some((without(&self.good.config, &[group]), summary));
                    }
                    None => self.phase = self.after_drops(),
                },
                Phase::BaselineAlone => {
                    self.prepare_leaves();
                    let summary = self.baseline_summary(self.fixed.len());
                    return Some((self.baseline_with(&self.fixed.clone()), summary));
                }
                Phase::Leaves => match self.next_split() {
                    Some(test) => return Some(test),
                    None => {
                        self.settle_leaves();
                        self.phase = Phase::Confirm;
                    }
                },
                Phase::Confirm if self.good.verified => self.phase = Phase::Finished,
                Phase::Confirm => {
                    let summary = format!("{} (confirming)", self.good.summary);
                    return Some((self.good.config.clone(), summary));
                }
                Phase::Finished => return None,
            }
        }
    }

    /// "ROOT without A, B": the config the drops start from, without the
    /// groups dropped so far and `more`.
    fn drop_summary(&self, more: &[&'static Instrumentation]) -> String {
        let root = match self.phase {
            Phase::FilesDropEach(_) => self.files_config().1,
            _ => "the full config".to_string(),
        };
        let mut groups = self.dropped.clone();
        groups.extend(more.iter().copied());
        format!("{root} without {}", group_names(&groups).join(", "))
    }

    /// Where the drops of one group at a time lead.
    fn after_drops(&self) -> Phase {
        match (&self.phase, &self.input.baseline) {
            (Phase::DropEach(_), Some(_)) => Phase::BaselineAlone,
            _ => Phase::Finished,
        }
    }

    /// Takes the answer to the test of `config` in the current phase.
    pub(super) fn advance(&mut self, config: KernelConfig, summary: String, ok: bool, how: &str) {
        let good = Good {
            config,
            summary,
            added: BTreeSet::new(),
            verified: true,
        };
        match self.phase.clone() {
            Phase::Minimal => self.after_minimal(good, ok, how),
            Phase::FilesLean => self.after_files(good, ok, how, true),
            Phase::FilesFull => self.after_files(good, ok, how, false),
            Phase::MeasureFull if ok => {
                self.good.verified = true;
                self.phase = Phase::DropAll;
            }
            Phase::MeasureFull => self.give_up(how),
            Phase::DropAll => self.after_drop_all(good, ok, how),
            Phase::DropEach(groups) => self.after_drop_one(good, ok, how, groups, false),
            Phase::FilesDropEach(groups) => self.after_drop_one(good, ok, how, groups, true),
            Phase::BaselineAlone => self.after_baseline(good, ok, how),
            Phase::Leaves => self.after_split(good, ok, how),
            Phase::Confirm => self.after_confirm(ok, how),
            Phase::Finished => {}
        }
    }

    fn decide(&mut self, subject: Vec<String>, verdict: Verdict, reason: String) {
        self.decisions.push(Decision {
            subject,
            verdict,
            reason,
        });
    }

    /// The smallest bootable config plus the crash files' options and the
    /// needed instrumentation (with what they depend on), and its summary;
    /// `None` without one, or when the crash's files are unknown (the
    /// minimal config alone says nothing then).
    fn minimal_config(&self) -> Option<Test> {
        let minimal = self.input.minimal.as_ref()?;
        let set = self.file_set();
        if self.input.file_options.is_empty() {
            return None;
        }
        let mut config = minimal.clone();
        for option in self.input.graph.closure(&set, &self.within()) {
            if let Some(value) = self.input.full.get(&option) {
                config.set(&option, value);
            }
        }
        let summary = format!(
            "a minimal bootable config + {} options of the crash's files",
            set.len()
        );
        Some((config, summary))
    }

    /// Where the search goes when the minimal config is not the answer.
    fn after_minimal_phase(&self) -> Phase {
        match self.input.baseline {
            Some(_) => Phase::FilesLean,
            None => Phase::MeasureFull,
        }
    }

    fn after_minimal(&mut self, mut good: Good, ok: bool, how: &str) {
        if !ok {
            let what = vec![good.summary.clone()];
            self.decide(what, Verdict::Dropped, format!("did not reproduce: {how}"));
            self.phase = self.after_minimal_phase();
            return;
        }
        let base = self.input.minimal.clone().unwrap_or_default();
        let closure = self.input.graph.closure(&self.file_set(), &self.within());
        good.added = closure
            .into_iter()
            .filter(|o| !base.is_enabled(o))
            .collect();
        good.verified = true;
        for (file, options) in self.input.file_options.clone() {
            let reason = format!("compiles {file}, a file of the crash");
            let kept: Vec<String> = options
                .into_iter()
                .filter(|o| good.config.is_enabled(o))
                .collect();
            if !kept.is_empty() {
                self.decide(kept, Verdict::Kept, reason);
            }
        }
        let reason = format!(
            "{} reproduces: no other option of the config (nor the baseline) is needed: {how}",
            good.summary
        );
        self.decide(
            vec!["the rest of the config".into()],
            Verdict::Dropped,
            reason,
        );
        self.good = good;
        self.phase = Phase::Finished;
    }

    /// The baseline plus the crash files' options and the needed
    /// instrumentation (with what they depend on), and its summary.
    fn files_config(&self) -> Test {
        let set = self.file_set();
        let summary = match set.is_empty() {
            true => "the baseline".to_string(),
            false => format!("the baseline + {} options of the crash's files", set.len()),
        };
        (self.baseline_with(&set), summary)
    }

    fn file_set(&self) -> BTreeSet<String> {
        let full = &self.input.full;
        let mut set: BTreeSet<String> = self
            .input
            .file_options
            .values()
            .flatten()
            .filter(|o| full.is_enabled(o))
            .cloned()
            .collect();
        for group in instrumentation::needed(self.input.kind, full) {
            set.extend(
                group
                    .gates
                    .iter()
                    .filter(|g| full.is_enabled(g))
                    .map(|g| g.to_string()),
            );
        }
        set
    }

    fn after_files(&mut self, mut good: Good, ok: bool, how: &str, lean: bool) {
        if !ok {
            let what = vec![good.summary.clone()];
            self.decide(what, Verdict::Dropped, format!("did not reproduce: {how}"));
            self.phase = match lean {
                true => Phase::FilesFull,
                false => Phase::MeasureFull,
            };
            return;
        }
        good.added = self.added_to_baseline(&self.file_set());
        for (file, options) in self.input.file_options.clone() {
            let reason = format!("compiles {file}, a file of the crash");
            let kept: Vec<String> = options
                .into_iter()
                .filter(|o| good.added.contains(o))
                .collect();
            if !kept.is_empty() {
                self.decide(kept, Verdict::Kept, reason);
            }
        }
        let groups = droppable(self.input.kind, &good.config);
        if lean {
            let lean_groups = droppable(self.input.kind, &self.files_config().0);
            self.drop_groups(&lean_groups, how);
        }
        let rest = self.candidates_beyond(&good.added);
        let reason = format!("{} reproduces without them: {how}", good.summary);
        self.decide(rest, Verdict::Dropped, reason);
        self.good = good;
        self.phase = match lean {
            true => Phase::Finished,
            false => Phase::FilesDropEach(groups),
        };
    }

    fn drop_groups(&mut self, groups: &[&'static Instrumentation], how: &str) {
        let kind = describe_kind(self.input.kind);
        let reason = format!("{kind} does not need it; the bug reproduces without it: {how}");
        self.decide(group_names(groups), Verdict::Dropped, reason);
        self.dropped.extend(groups.iter().copied());
    }

    /// The options on in the full config and off in the baseline that are
    /// not in `kept`.
    fn candidates_beyond(&self, kept: &BTreeSet<String>) -> Vec<String> {
        let base = self.input.baseline.as_ref().map(KernelConfig::enabled);
        let base = base.unwrap_or_default();
        let full = self.input.full.enabled();
        full.difference(&base)
            .filter(|o| !kept.contains(*o))
            .cloned()
            .collect()
    }

    fn give_up(&mut self, how: &str) {
        let reason = format!("the bug did not reproduce with the full config: {how}");
        self.decide(vec!["the full config".into()], Verdict::Kept, reason);
        self.good.verified = false;
        self.phase = Phase::Finished;
    }

    fn after_drop_all(&mut self, good: Good, ok: bool, how: &str) {
        let groups = droppable(self.input.kind, &self.good.config);
        if ok {
            self.drop_groups(&groups, how);
            self.good = good;
            self.phase = self.after_drops_from(Phase::DropEach(Vec::new()));
        } else {
            let names = group_names(&groups).join(", ");
            let reason = format!("without all of {names} the bug did not reproduce: {how}");
            self.decide(vec![names], Verdict::Kept, reason);
            self.phase = Phase::DropEach(groups);
        }
    }

    fn after_drops_from(&mut self, phase: Phase) -> Phase {
        self.phase = phase;
        self.after_drops()
    }

    fn after_drop_one(
        &mut self,
        good: Good,
        ok: bool,
        how: &str,
        mut groups: Vec<&'static Instrumentation>,
        files: bool,
    ) {
        let group = groups.remove(0);
        if ok {
            self.drop_groups(&[group], how);
            self.good = Good {
                added: self.good.added.clone(),
                ..good
            };
        } else {
            let reason = format!("the bug did not reproduce without it: {how}");
            self.decide(vec![group.name.to_string()], Verdict::Kept, reason);
        }
        self.phase = match files {
            true => Phase::FilesDropEach(groups),
            false => Phase::DropEach(groups),
        };
    }

    /// Sets the fixed options and the leaf chunk of the baseline stage.
    fn prepare_leaves(&mut self) {
        self.reduced = Some(self.good.clone());
        let full = &self.input.full;
        let dropped: BTreeSet<String> = self
            .dropped
            .iter()
            .flat_map(|g| g.options())
            .map(str::to_string)
            .collect();
        let candidates: BTreeSet<String> = self
            .candidates_beyond(&BTreeSet::new())
            .into_iter()
            .filter(|o| !dropped.contains(o))
            .collect();
        self.fixed = self
            .file_set()
            .into_iter()
            .filter(|o| full.is_enabled(o))
            .collect();
        let within = self.within();
        let fixed_closure = self.input.graph.closure(&self.fixed, &within);
        let leaves: Vec<String> = self
            .input
            .graph
            .leaves(&candidates)
            .into_iter()
            .filter(|l| !fixed_closure.contains(l))
            .collect();
        self.chunks = match leaves.is_empty() {
            true => Default::default(),
            false => [leaves].into(),
        };
    }

    /// The options that may be set: on in the full config, not in a
    /// dropped group.
    fn within(&self) -> BTreeSet<String> {
        let mut within = self.input.full.enabled();
        for group in &self.dropped {
            for option in group.options() {
                within.remove(option);
            }
        }
        within
    }

    /// The baseline plus `set` and what it depends on (values from the
    /// full config), without the dropped groups.
    pub(super) fn baseline_with(&self, set: &BTreeSet<String>) -> KernelConfig {
        let Some(baseline) = &self.input.baseline else {
            return without(&self.input.full, &self.dropped);
        };
        let mut config = baseline.clone();
        for option in self.input.graph.closure(set, &self.within()) {
            if let Some(value) = self.input.full.get(&option) {
                config.set(&option, value);
            }
        }
        without(&config, &self.dropped)
    }

    /// The options a candidate adds to the baseline for `set`.
    fn added_to_baseline(&self, set: &BTreeSet<String>) -> BTreeSet<String> {
        let base = self.input.baseline.clone().unwrap_or_default();
        let closure = self.input.graph.closure(set, &self.within());
        closure
            .into_iter()
            .filter(|o| !base.is_enabled(o))
            .collect()
    }

    fn baseline_summary(&self, options: usize) -> String {
        match options {
            0 => "the baseline".to_string(),
            n => format!("the baseline + {n} options"),
        }
    }

    fn after_baseline(&mut self, mut good: Good, ok: bool, how: &str) {
        if ok {
            good.added = self.added_to_baseline(&self.fixed.clone());
            let rest = self.candidates_beyond(&good.added);
            let reason = format!("{} reproduces without them: {how}", good.summary);
            self.decide(rest, Verdict::Dropped, reason);
            self.good = good;
            self.phase = Phase::Finished;
        } else {
            let reason = format!("did not reproduce: {how}");
            self.decide(vec![good.summary], Verdict::Dropped, reason);
            self.phase = Phase::Leaves;
        }
    }

    /// The set a leaf candidate keeps: fixed, needed, the other chunks,
    /// and `keep`.
    fn leaf_set(&self, keep: &[String]) -> BTreeSet<String> {
        let mut set: BTreeSet<String> = self.fixed.union(&self.needed).cloned().collect();
        set.extend(self.chunks.iter().flatten().cloned());
        set.extend(keep.iter().cloned());
        set
    }

    fn next_split(&mut self) -> Option<Test> {
        if self.split.is_none() {
            while let Some(chunk) = self.chunks.pop_front() {
                if chunk.len() == 1 {
                    let reason = "the bug did not reproduce without it".to_string();
                    self.decide(chunk.clone(), Verdict::Kept, reason);
                    self.needed.extend(chunk);
                    continue;
                }
                let (a, b) = chunk.split_at(chunk.len() / 2);
                self.split = Some((a.to_vec(), b.to_vec(), false));
                break;
            }
        }
        let (a, b, second) = self.split.as_ref()?;
        let keep = if *second { b } else { a };
        let set = self.leaf_set(keep);
        let summary = self.baseline_summary(self.added_to_baseline(&set).len());
        Some((self.baseline_with(&set), summary))
    }

    fn after_split(&mut self, mut good: Good, ok: bool, how: &str) {
        let Some((a, b, second)) = self.split.take() else {
            return;
        };
        if ok {
            let (kept, dropped) = if second { (b, a) } else { (a, b) };
            self.chunks.push_front(kept.clone());
            good.added = self.added_to_baseline(&self.leaf_set(&[]));
            let reason = format!("{} reproduces without them: {how}", good.summary);
            self.decide(dropped, Verdict::Dropped, reason);
            self.good = good;
        } else if !second {
            self.split = Some((a, b, true));
        } else {
            // Each half needs the other: both hold something needed.
            self.chunks.push_front(b);
            self.chunks.push_front(a);
        }
    }

    /// The search's result: the baseline with the fixed and the needed
    /// options; unverified unless a test saw exactly this config.
    fn settle_leaves(&mut self) {
        let set: BTreeSet<String> = self.fixed.union(&self.needed).cloned().collect();
        let config = self.baseline_with(&set);
        if config != self.good.config {
            let added = self.added_to_baseline(&set);
            self.good = Good {
                config,
                summary: self.baseline_summary(added.len()),
                added,
                verified: false,
            };
        }
    }

    fn after_confirm(&mut self, ok: bool, how: &str) {
        if ok {
            self.good.verified = true;
        } else if let Some(reduced) = self.reduced.clone() {
            let reason =
                format!("did not reproduce when confirmed ({how}): back to the larger config");
            self.decide(vec![self.good.summary.clone()], Verdict::Dropped, reason);
            self.good = reduced;
        }
        self.phase = Phase::Finished;
    }

    pub(super) fn note_bound(&mut self) {
        let bound = self.input.settings.max_builds;
        let reason = format!("stopped at the bound of {bound} builds with what reproduced last");
        self.decide(vec![self.good.summary.clone()], Verdict::Kept, reason);
        // The confirmation is skipped too: the last good config was tested.
        if !self.good.verified {
            if let Some(reduced) = self.reduced.clone() {
                self.good = reduced;
            }
        }
    }

    pub(super) fn finish(&mut self) {
        self.phase = Phase::Finished;
        let good = &self.good;
        self.result = Some(Minimized {
            config: good.config.clone(),
            summary: good.summary.clone(),
            verified: good.verified,
            added_options: good.added.clone(),
            dropped_instrumentation: group_names(&self.dropped),
            decisions: self.decisions.clone(),
            builds: self.builds,
            reference_rate: self.reference,
        });
    }
}
