//! The mail a bisection would send, in the form of syzbot's bisection
//! mails: the culprit's header and title, links to the log, the crash and
//! the dashboard, a `Reported-by:` and a `Fixes:` line to paste.

use culprit_bisect::{Direction, Outcome, OutcomeKind, VerificationVerdict};
use culprit_git::Commit;

/// What the mail links to and who it comes from.
#[derive(Debug, Clone, Default)]
pub struct MailLinks {
    /// The bisection's page (the dashboard link); the log, crash report
    /// and config links hang off it.
    pub page: Option<String>,
    /// The repository, as the `git tree:` line shows it.
    pub tree: String,
    /// Who the `Reported-by:` line names.
    pub reported_by: String,
    /// Whether the job has a kernel config to link.
    pub kernel: bool,
}

/// The mail's subject, recipients and text.
pub fn bisection_mail(
    outcome: &Outcome,
    culprit: Option<&Commit>,
    start: Option<&Commit>,
    links: &MailLinks,
) -> String {
    let mut mail = String::new();
    let crash = match &outcome.crash {
        Some(c) if c.failed => format!("the test fails ({})", c.title),
        Some(c) => c.title.clone(),
        None => "the crash".to_owned(),
    };
    let what = match outcome.direction {
        Direction::Cause => "cause",
        Direction::Fix => "fix",
    };
    let subject = match (outcome.outcome, culprit) {
        (OutcomeKind::Culprit, Some(commit)) => {
            format!("[culprit] {crash}: {what} bisected to \"{}\"", commit.title)
        }
        _ => format!("[culprit] {crash}: {what} not found"),
    };
    mail.push_str(&format!("Subject: {subject}\n"));
    if !outcome.recipients.to.is_empty() {
        mail.push_str(&format!("To: {}\n", outcome.recipients.to.join(", ")));
    }
    if !outcome.recipients.cc.is_empty() {
        mail.push_str(&format!("Cc: {}\n", outcome.recipients.cc.join(", ")));
    }
    mail.push('\n');
    let link = |suffix: &str| match &links.page {
        Some(page) => format!("{page}{suffix}"),
        None => "(not published)".to_owned(),
    };
    match (outcome.outcome, culprit) {
        (OutcomeKind::Culprit, Some(commit)) => {
            let opening = match outcome.direction {
                Direction::Cause => "culprit has bisected this issue to:",
                Direction::Fix => "culprit suspects this issue was fixed by commit:",
            };
            mail.push_str(&format!("{opening}\n\ncommit {}\n", commit.hash));
            mail.push_str(&format!(
                "Author: {} <{}>\nDate:   {}\n\n    {}\n\n",
                commit.author_name, commit.author_email, commit.date, commit.title
            ));
        }
        _ => {
            let why = outcome
                .error
                .clone()
                .unwrap_or_else(|| describe(outcome.outcome).to_owned());
            mail.push_str(&format!("culprit could not bisect this issue: {why}\n\n"));
        }
    }
    let start_line = match start {
        Some(c) => format!("{} {}", short(&c.hash), c.title),
        None => short(&outcome.bad).to_owned(),
    };
    mail.push_str(&format!("bisection log:  {}\n", link("/log")));
    mail.push_str(&format!("start commit:   {start_line}\n"));
    mail.push_str(&format!("git tree:       {}\n", links.tree));
    if outcome.crash.is_some() {
        mail.push_str(&format!("final oops:     {}\n", link("/crash")));
    }
    mail.push_str(&format!("console output: {}\n", link("/log")));
    if links.kernel {
        mail.push_str(&format!("kernel config:  {}\n", link("/config")));
    }
    mail.push_str(&format!("dashboard link: {}\n", link("")));
    if let (OutcomeKind::Culprit, Some(commit)) = (outcome.outcome, culprit) {
        mail.push_str(&format!("\nReported-by: {}\n", links.reported_by));
        if outcome.direction == Direction::Cause {
            mail.push_str(&format!(
                "Fixes: {} (\"{}\")\n",
                short(&commit.hash),
                commit.title
            ));
        }
        if let Some(confidence) = outcome.confidence {
            mail.push_str(&format!(
                "\nThe bisection is {:.1}% sure of this commit",
                confidence * 100.0
            ));
            mail.push_str(&match &outcome.verification {
                Some(v) => format!(
                    "; checked by its revert on {}: {}.\n",
                    short(&v.base),
                    verification_words(outcome.direction, v.verdict)
                ),
                None => " (not checked by its revert).\n".to_owned(),
            });
        }
    }
    mail.push_str(
        "\nFor how culprit bisects (builds, runs, verdicts, flaky crashes) see its README, \
         section \"What it does better than a plain bisection\".\n",
    );
    mail
}

/// What a revert check showed, in words.
pub fn verification_words(direction: Direction, verdict: VerificationVerdict) -> &'static str {
    match (direction, verdict) {
        (_, VerificationVerdict::Conflicts) => {
            "the revert does not apply cleanly, so it is not checked"
        }
        (_, VerificationVerdict::BuildFailed) => "the revert does not build, so it is not checked",
        (_, VerificationVerdict::Unclear) => "the revert's runs tell nothing",
        (Direction::Cause, VerificationVerdict::Fixes) => "the revert removes the crash",
        (Direction::Cause, VerificationVerdict::StillCrashes) => {
            "the revert does not remove the crash: it may not be the culprit"
        }
        (Direction::Fix, VerificationVerdict::Crashes) => "the revert brings the crash back",
        (Direction::Fix, VerificationVerdict::StillFixed) => {
            "the revert does not bring the crash back: it may not be the fix"
        }
        (_, v) => v.word(),
    }
}

fn describe(kind: OutcomeKind) -> &'static str {
    match kind {
        OutcomeKind::Culprit => "culprit found",
        OutcomeKind::Inconclusive => "only commits that could not be tested remain",
        OutcomeKind::AlwaysBad => "the crash is there at the oldest commit tested",
        OutcomeKind::NoSuspects => "no commit of the range can be the culprit",
        OutcomeKind::Error => "the bisection failed",
    }
}

/// The first 12 characters of a hash, as `Fixes:` tags have them.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit() -> Commit {
        Commit {
            hash: "0123456789abcdef0123456789abcdef01234567".into(),
            title: "mm: break things".into(),
            author_name: "Ann Author".into(),
            author_email: "ann@example.com".into(),
            date: "Tue Nov 14 22:14:20 2023 +0000".into(),
            timestamp: 0,
            parents: Vec::new(),
            body: String::new(),
            trailers: Vec::new(),
        }
    }

    #[test]
    fn a_cause_mail_reads_like_syzbots() {
        let mut outcome = Outcome::failed(Direction::Cause, "bayes", "feed", String::new());
        outcome.outcome = OutcomeKind::Culprit;
        outcome.error = None;
        outcome.recipients.to = vec!["ann@example.com".into()];
        let links = MailLinks {
            page: Some("http://h/jobs/3".into()),
            tree: "/src/app".into(),
            reported_by: "culprit <culprit@h>".into(),
            kernel: false,
        };
        let mail = bisection_mail(&outcome, Some(&commit()), None, &links);
        assert!(mail.contains("To: ann@example.com\n"), "{mail}");
        assert!(mail.contains(
            "culprit has bisected this issue to:\n\ncommit 0123456789abcdef0123456789abcdef01234567\n\
             Author: Ann Author <ann@example.com>\nDate:   Tue Nov 14 22:14:20 2023 +0000\n\n    mm: break things\n\n\
             bisection log:  http://h/jobs/3/log\n"
        ), "{mail}");
        assert!(mail.contains("dashboard link: http://h/jobs/3\n"), "{mail}");
        assert!(
            mail.contains("Fixes: 0123456789ab (\"mm: break things\")\n"),
            "{mail}"
        );
        assert!(!mail.contains("kernel config:"), "{mail}");
    }

    #[test]
    fn the_subject_and_the_sureness_say_what_was_found_and_checked() {
        let mut outcome = Outcome::failed(Direction::Cause, "bayes", "feed", String::new());
        outcome.outcome = OutcomeKind::Culprit;
        outcome.error = None;
        outcome.confidence = Some(0.997);
        outcome.crash = Some(culprit_bisect::outcome::Crash {
            title: "exit status 1".into(),
            report: String::new(),
            failed: true,
        });
        outcome.verification = Some(culprit_bisect::outcome::Verification {
            kind: culprit_bisect::outcome::VerificationKind::Revert,
            base: "feedfacefeedface".into(),
            commit: None,
            applied: false,
            built: false,
            runs: Vec::new(),
            verdict: VerificationVerdict::Conflicts,
        });
        let mail = bisection_mail(&outcome, Some(&commit()), None, &MailLinks::default());
        let subject = mail.lines().next().unwrap();
        assert_eq!(
            subject,
            "Subject: [culprit] the test fails (exit status 1): cause bisected to \"mm: break things\""
        );
        assert!(mail.contains(
            "The bisection is 99.7% sure of this commit; checked by its revert on feedfacefeed: the revert does not apply cleanly, so it is not checked.\n"
        ), "{mail}");
    }
}
