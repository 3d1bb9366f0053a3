//! Who to tell about a culprit: the people in the commit's trailers.

use culprit_git::Commit;

/// Trailers whose addresses go to `To:`. `Cc:` trailers are left out on
/// purpose: people copied on a patch did not write or vouch for it.
const TO_KEYS: &[&str] = &["signed-off-by", "reviewed-by", "acked-by", "tested-by"];

/// Addresses to send a bisection result to.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recipients {
    /// The author and everybody who signed off, reviewed, acked or tested.
    pub to: Vec<String>,
    /// Copies (none from trailers; kept for maintainers lists).
    pub cc: Vec<String>,
}

/// The recipients of a culprit commit: sorted, without duplicates (case
/// ignored) and never a stable@ list.
pub fn recipients(commit: &Commit) -> Recipients {
    let trailer_addresses = commit
        .trailers
        .iter()
        .filter(|t| TO_KEYS.iter().any(|k| t.is(k)))
        .filter_map(|t| address(&t.value));
    let mut to: Vec<String> = std::iter::once(commit.author_email.trim().to_lowercase())
        .chain(trailer_addresses)
        .filter(|a| a.contains('@') && !a.starts_with("stable@"))
        .collect();
    to.sort();
    to.dedup();
    Recipients { to, cc: Vec::new() }
}

/// The address in `Name <addr>` or a bare `addr`, lowercased.
fn address(value: &str) -> Option<String> {
    let inner = match (value.rfind('<'), value.rfind('>')) {
        (Some(open), Some(close)) if open < close => &value[open + 1..close],
        _ => value.split_whitespace().find(|w| w.contains('@'))?,
    };
    let addr = inner.trim().to_lowercase();
    addr.contains('@').then_some(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_give_to_and_never_cc_or_stable() {
        let body = "Fix it\n\nText.\n\nSigned-off-by: A <A@x.org>\nCc: c@x.org\n\
                    Cc: stable@vger.kernel.org\nReviewed-by: r@x.org\nAcked-by: B <b@x.org>\n\
                    Tested-by: T <t@x.org>\nSigned-off-by: Stable <stable@vger.kernel.org>\n\
                    Reported-by: rep@x.org\n";
        let commit = Commit {
            hash: "h".into(),
            title: "Fix it".into(),
            author_name: "A".into(),
            author_email: "a@x.org".into(),
            date: String::new(),
            timestamp: 0,
            parents: vec![],
            body: body.into(),
            trailers: culprit_git::parse_trailers(body),
        };
        let r = recipients(&commit);
        assert_eq!(r.to, ["a@x.org", "b@x.org", "r@x.org", "t@x.org"]);
        assert!(r.cc.is_empty());
    }
}
