//! Who maintains what a culprit touches: the kernel's own
//! `scripts/get_maintainer.pl`, run on the culprit's patch in a checkout
//! of the culprit, merged with the people in the commit's trailers.
//!
//! Maintainers (and supporters, odd fixers) and the subsystem mailing lists
//! go to `To:`; reviewers and the catch-all list every patch goes to
//! (`linux-kernel@`, shown as a bare `open list`) go to `Cc:`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use culprit_bisect::recipients::Recipients;

/// Why `get_maintainer.pl` gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum MaintainersError {
    /// The tree has no `scripts/get_maintainer.pl` or no `MAINTAINERS`.
    #[error("{0} has no scripts/get_maintainer.pl or MAINTAINERS")]
    NoScript(String),
    /// git or perl could not be run, or failed.
    #[error("{command}: {message}")]
    Command {
        /// What was run.
        command: String,
        /// What went wrong (first line of its error output).
        message: String,
    },
}

/// The maintainers of the patch of `commit`, from the kernel tree checked
/// out at `tree` (which should be at `commit`, so that `MAINTAINERS` is the
/// one the commit was written against).
pub fn maintainers(tree: &Path, commit: &str) -> Result<Recipients, MaintainersError> {
    let script = tree.join("scripts/get_maintainer.pl");
    if !script.is_file() || !tree.join("MAINTAINERS").is_file() {
        return Err(MaintainersError::NoScript(tree.display().to_string()));
    }
    let patch = output(
        Command::new("git")
            .current_dir(tree)
            .args(["format-patch", "-1", "--stdout", commit]),
        None,
    )?;
    // No git statistics: they depend on the history around the culprit
    // and make the script slow on a real kernel repository.
    let listed = output(
        Command::new("perl").current_dir(tree).arg(&script).args([
            "--no-git",
            "--no-git-fallback",
            "--no-tree",
            "--roles",
            "--no-rolestats",
        ]),
        Some(&patch),
    )?;
    Ok(parse(&String::from_utf8_lossy(&listed)))
}

/// Trailer recipients plus maintainers: an address in both `To` and `Cc`
/// stays in `To` only; both lists sorted, without duplicates.
pub fn merge(trailers: &Recipients, maintainers: &Recipients) -> Recipients {
    let mut to: Vec<String> = trailers.to.iter().chain(&maintainers.to).cloned().collect();
    to.sort();
    to.dedup();
    let mut cc: Vec<String> = trailers
        .cc
        .iter()
        .chain(&maintainers.cc)
        .filter(|a| to.binary_search(a).is_err())
        .cloned()
        .collect();
    cc.sort();
    cc.dedup();
    Recipients { to, cc }
}

/// Parses `get_maintainer.pl --roles` output: one `Name <addr> (role)` or
/// `addr (role)` per line.
pub fn parse(text: &str) -> Recipients {
    let mut recipients = Recipients::default();
    for line in text.lines() {
        let Some((who, role)) = split_role(line) else {
            continue;
        };
        let Some(address) = address(who) else {
            continue;
        };
        if address.starts_with("stable@") {
            continue;
        }
        match goes_to(role) {
            true => recipients.to.push(address),
            false => recipients.cc.push(address),
        }
    }
    merge(&Recipients::default(), &recipients)
}

/// `("Name <a@b>", "maintainer:SUBSYSTEM")` from a line with a role.
fn split_role(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    let open = line.find(" (")?;
    let role = line[open + 2..].strip_suffix(')')?;
    Some((&line[..open], role))
}

/// True for maintainers and subsystem lists.
fn goes_to(role: &str) -> bool {
    let kind = role.split(':').next().unwrap_or("").trim();
    match kind {
        "maintainer" | "supporter" | "odd fixer" | "chief penguin" => true,
        // `open list` with no subsystem is linux-kernel@, copied on everything.
        "open list" | "moderated list" | "list" | "subscriber list" => role.contains(':'),
        _ => false,
    }
}

fn address(who: &str) -> Option<String> {
    let inner = match (who.rfind('<'), who.rfind('>')) {
        (Some(open), Some(close)) if open < close => &who[open + 1..close],
        _ => who.split_whitespace().find(|w| w.contains('@'))?,
    };
    let address = inner.trim().to_lowercase();
    address.contains('@').then_some(address)
}

/// Runs `command` (feeding `input`), returning its standard output.
fn output(command: &mut Command, input: Option<&[u8]>) -> Result<Vec<u8>, MaintainersError> {
    let name = format!("{:?}", command.get_program());
    let fail = |message: String| MaintainersError::Command {
        command: name.trim_matches('"').to_owned(),
        message,
    };
    let mut child = command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    // Written from another thread: a large patch would otherwise fill the
    // pipe while the child waits for us to read its output.
    let feeder = match (input, child.stdin.take()) {
        (Some(bytes), Some(mut stdin)) => {
            let bytes = bytes.to_vec();
            Some(std::thread::spawn(move || stdin.write_all(&bytes)))
        }
        _ => None,
    };
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed");
        return Err(fail(format!("{}: {first}", out.status)));
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\
Alexander Viro <viro@zeniv.linux.org.uk> (maintainer:FILESYSTEMS (VFS and infrastructure))
Paolo Bonzini <pbonzini@redhat.com> (supporter:KERNEL VIRTUAL MACHINE (KVM))
David Hildenbrand <david@redhat.com> (reviewer:KERNEL VIRTUAL MACHINE for s390 (KVM/s390))
linux-fsdevel@vger.kernel.org (open list:FILESYSTEMS (VFS and infrastructure))
linux-kernel@vger.kernel.org (open list)
stable@vger.kernel.org (open list:STABLE)
Some One <one@x.org> (commit_signer:3/10=30%)
";

    #[test]
    fn maintainers_and_subsystem_lists_go_to_the_rest_to_cc() {
        let r = parse(OUTPUT);
        assert_eq!(
            r.to,
            [
                "linux-fsdevel@vger.kernel.org",
                "pbonzini@redhat.com",
                "viro@zeniv.linux.org.uk"
            ]
        );
        assert_eq!(
            r.cc,
            [
                "david@redhat.com",
                "linux-kernel@vger.kernel.org",
                "one@x.org"
            ]
        );
    }

    #[test]
    fn merge_keeps_to_over_cc_sorted_and_unique() {
        let trailers = Recipients {
            to: vec!["a@x.org".into(), "david@redhat.com".into()],
            cc: vec![],
        };
        let merged = merge(&trailers, &parse(OUTPUT));
        assert!(merged.to.contains(&"david@redhat.com".to_string()));
        assert!(!merged.cc.contains(&"david@redhat.com".to_string()));
        assert!(merged.to.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(merged.to[0], "a@x.org");
    }

    #[test]
    fn missing_script_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let err = maintainers(dir.path(), "HEAD").unwrap_err();
        assert!(matches!(err, MaintainersError::NoScript(_)), "{err}");
    }
}
