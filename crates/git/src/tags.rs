//! Release tags (`vX.Y`, `vX.Y.Z`, `vX.Y-rcN`), their order, and the
//! thinning of the list of releases a cause bisection tests without `--good`.

use std::cmp::Ordering;
use std::fmt;

use crate::git::{bad_output, is_object_id, GitError};
use crate::repo::{Repo, ResolveError};

/// A release version parsed from a tag name.
///
/// Order: `v5.16-rc1 < v5.16-rc2 < v5.16 < v5.16.1 < v5.17-rc1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    /// X of vX.Y.
    pub major: u32,
    /// Y of vX.Y.
    pub minor: u32,
    /// Z of vX.Y.Z (0 for vX.Y and release candidates).
    pub patch: u32,
    /// N of vX.Y-rcN.
    pub rc: Option<u32>,
}

impl Version {
    /// Parses `vX.Y`, `vX.Y.Z` or `vX.Y-rcN`; anything else is `None`.
    pub fn parse(tag: &str) -> Option<Version> {
        let rest = tag.strip_prefix('v')?;
        let (numbers, rc) = match rest.split_once("-rc") {
            Some((numbers, rc)) => (numbers, Some(parse_number(rc)?)),
            None => (rest, None),
        };
        let parts: Vec<&str> = numbers.split('.').collect();
        let (major, minor, patch) = match parts[..] {
            [x, y] => (parse_number(x)?, parse_number(y)?, 0),
            [x, y, z] if rc.is_none() => (parse_number(x)?, parse_number(y)?, parse_number(z)?),
            _ => return None,
        };
        Some(Version {
            major,
            minor,
            patch,
            rc,
        })
    }

    /// True for a release candidate (`vX.Y-rcN`).
    pub fn is_rc(&self) -> bool {
        self.rc.is_some()
    }

    /// True for a point release (`vX.Y.Z` with Z > 0).
    pub fn is_point_release(&self) -> bool {
        self.patch > 0
    }
}

fn parse_number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        // Within one X.Y, release candidates come first (by N), then the
        // release and its point releases (by Z).
        let key = |v: &Version| match v.rc {
            Some(n) => (v.major, v.minor, 0, n),
            None => (v.major, v.minor, 1, v.patch),
        };
        key(self).cmp(&key(other))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}", self.major, self.minor)?;
        if let Some(rc) = self.rc {
            write!(f, "-rc{rc}")
        } else if self.patch > 0 {
            write!(f, ".{}", self.patch)
        } else {
            Ok(())
        }
    }
}

/// A release tag and the commit it points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTag {
    /// The tag name, e.g. `v5.16`.
    pub name: String,
    /// The parsed version.
    pub version: Version,
    /// Full hash of the tagged commit (annotated tags peeled).
    pub commit: String,
}

impl Repo {
    /// All release tags of the repository, newest version first. Tags whose
    /// name is not a release version, or that do not point to a commit, are
    /// ignored.
    pub fn release_tags(&self) -> Result<Vec<ReleaseTag>, GitError> {
        self.list_release_tags(None)
    }

    /// Release tags on commits that are ancestors of `bad` (the commit
    /// `bad` itself excluded), newest version first.
    pub fn release_tags_before(&self, bad: &str) -> Result<Vec<ReleaseTag>, ResolveError> {
        let bad = self.resolve(bad)?;
        let mut tags = self.list_release_tags(Some(&bad))?;
        tags.retain(|t| t.commit != bad);
        Ok(tags)
    }

    fn list_release_tags(&self, merged_into: Option<&str>) -> Result<Vec<ReleaseTag>, GitError> {
        let format = "--format=%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)";
        let merged = merged_into.map(|c| format!("--merged={c}"));
        let mut args = vec!["for-each-ref", format];
        args.extend(merged.as_deref());
        args.push("refs/tags/");
        let out = self.git().stdout(&args)?;
        let text = String::from_utf8_lossy(&out);
        let mut tags = Vec::new();
        for line in text.lines() {
            if let Some(tag) = parse_tag_line(line).map_err(|d| bad_output(&args, d))? {
                tags.push(tag);
            }
        }
        tags.sort_by(|a, b| b.version.cmp(&a.version).then_with(|| a.name.cmp(&b.name)));
        Ok(tags)
    }
}

/// One line of the `for-each-ref` output: name, type, id, peeled type, peeled id.
fn parse_tag_line(line: &str) -> Result<Option<ReleaseTag>, String> {
    let fields: Vec<&str> = line.split('\0').collect();
    let [name, kind, id, peeled_kind, peeled_id] = fields[..] else {
        return Err(format!("bad line {line:?}"));
    };
    let Some(version) = Version::parse(name) else {
        return Ok(None);
    };
    let commit = match (kind, peeled_kind) {
        ("commit", _) => id,
        (_, "commit") => peeled_id,
        // A tag of a tree or blob (Linux's v2.6.11), or a tag of a tag.
        _ => return Ok(None),
    };
    if !is_object_id(commit) {
        return Err(format!("bad object id in {line:?}"));
    }
    Ok(Some(ReleaseTag {
        name: name.to_string(),
        version,
        commit: commit.to_string(),
    }))
}

/// How many releases (after the point releases) are all kept.
const KEEP_ALL: usize = 6;
/// Releases up to this position (counted from the newest) are kept every second one.
const KEEP_EVERY_SECOND_UNTIL: usize = 16;

/// Thins a newest-first list of release tags the way syzbot does before
/// testing releases for a cause bisection.
///
/// The exact rule:
/// 1. Release candidates are dropped.
/// 2. Point releases (`vX.Y.Z`, Z > 0) newer than the newest `vX.Y`
///    release in the list (the stable series the bad commit is on): the
///    newest two are kept, plus the middle one when there are more than five.
///    Older point releases are dropped.
/// 3. Of the `vX.Y` releases, numbered from 0 for the newest: positions
///    0..6 are kept, then every second one up to position 16 (6, 8, ..., 14),
///    then every third one (16, 19, 22, ...); the oldest is always kept.
pub fn thin_releases(tags: &[ReleaseTag]) -> Vec<ReleaseTag> {
    let tags: Vec<&ReleaseTag> = tags.iter().filter(|t| !t.version.is_rc()).collect();
    let first_release = tags
        .iter()
        .position(|t| !t.version.is_point_release())
        .unwrap_or(tags.len());
    let (points, rest) = tags.split_at(first_release);
    let releases: Vec<&ReleaseTag> = rest
        .iter()
        .copied()
        .filter(|t| !t.version.is_point_release())
        .collect();
    let mut kept: Vec<ReleaseTag> = points.iter().take(2).map(|t| (*t).clone()).collect();
    if points.len() > 5 {
        kept.push(points[points.len() / 2].clone());
    }
    let last = releases.len().saturating_sub(1);
    for (i, tag) in releases.iter().enumerate() {
        let keep = if i < KEEP_ALL {
            true
        } else if i < KEEP_EVERY_SECOND_UNTIL {
            (i - KEEP_ALL).is_multiple_of(2)
        } else {
            (i - KEEP_EVERY_SECOND_UNTIL).is_multiple_of(3)
        };
        if keep || i == last {
            kept.push((*tag).clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn versions_parse_and_reject() {
        assert_eq!(
            v("v5.16-rc2"),
            Version {
                major: 5,
                minor: 16,
                patch: 0,
                rc: Some(2)
            }
        );
        assert_eq!(v("v4.19.3").patch, 3);
        for bad in [
            "5.16",
            "v5",
            "v5.16.1.2",
            "v5.16.1-rc1",
            "v5.16-rc",
            "v5.x",
            "v5.16-rc1a",
            "v5..1",
            "vv5.1",
        ] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
        assert_eq!(v("v5.16.1").to_string(), "v5.16.1");
        assert_eq!(v("v5.16-rc3").to_string(), "v5.16-rc3");
    }

    #[test]
    fn versions_order_like_releases() {
        let ordered = [
            "v4.20",
            "v5.9",
            "v5.16-rc1",
            "v5.16-rc2",
            "v5.16-rc10",
            "v5.16",
            "v5.16.1",
            "v5.16.12",
            "v5.17-rc1",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    fn tags(names: &[String]) -> Vec<ReleaseTag> {
        names
            .iter()
            .map(|n| ReleaseTag {
                name: n.clone(),
                version: v(n),
                commit: String::new(),
            })
            .collect()
    }

    fn names(tags: &[ReleaseTag]) -> Vec<&str> {
        tags.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn thinning_keeps_newest_points_then_spreads_out() {
        // Stable v5.30.1..=v5.30.8, then v5.30-rc*, v5.30 .. v5.1 (30 releases).
        let mut list: Vec<String> = (1..=8).rev().map(|z| format!("v5.30.{z}")).collect();
        list.push("v5.30-rc2".into());
        list.extend((1..=30).rev().map(|y| format!("v5.{y}")));
        list.push("v5.29.4".into()); // an older stable release: dropped
        let mut input = tags(&list);
        input.sort_by_key(|t| std::cmp::Reverse(t.version));
        let kept = thin_releases(&input);
        // Releases: positions 0..6 = v5.30..v5.25, 6,8,..,14 = v5.24,22,20,18,
        // 16,19,22,25,28 = v5.14,11,8,5,2, and the oldest (29) v5.1.
        let expected = [
            "v5.30.8", "v5.30.7", "v5.30.4", "v5.30", "v5.29", "v5.28", "v5.27", "v5.26", "v5.25",
            "v5.24", "v5.22", "v5.20", "v5.18", "v5.16", "v5.14", "v5.11", "v5.8", "v5.5", "v5.2",
            "v5.1",
        ];
        assert_eq!(names(&kept), expected);
    }

    #[test]
    fn thinning_short_lists_keeps_everything_but_rcs() {
        let input = tags(&[
            "v5.3".into(),
            "v5.3-rc1".into(),
            "v5.2".into(),
            "v5.1".into(),
        ]);
        assert_eq!(names(&thin_releases(&input)), ["v5.3", "v5.2", "v5.1"]);
        assert!(thin_releases(&[]).is_empty());
        let points = tags(&["v5.3.2".into(), "v5.3.1".into()]);
        assert_eq!(names(&thin_releases(&points)), ["v5.3.2", "v5.3.1"]);
    }
}
