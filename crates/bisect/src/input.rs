//! Checking what the user asked for before anything is built: revisions
//! exist, the ends are in the right order.

use culprit_git::Repo;

use crate::engine::Bisection;
use crate::evidence::Direction;

/// Bad input: one line for the user, exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A revision does not name a commit.
    #[error("{flag}: {source}")]
    Revision {
        /// The flag that named it.
        flag: &'static str,
        /// Why it does not resolve.
        source: culprit_git::ResolveError,
    },
    /// A cause bisection's good commit is not an ancestor of the bad one.
    #[error("--good {good} is not an ancestor of --bad {bad}")]
    GoodNotAncestor {
        /// The good revision as given.
        good: String,
        /// The bad revision as given.
        bad: String,
    },
    /// A fix bisection's crashing commit is not older than the good end.
    #[error("--bad {bad} is not an ancestor of the good end {good} (a fix bisection looks forward from --bad)")]
    BadNotAncestor {
        /// The bad revision as given.
        bad: String,
        /// The good end as given (or HEAD).
        good: String,
    },
    /// Both ends are the same commit.
    #[error("--good and --bad are the same commit {0}")]
    SameCommit(String),
    /// `--fix` takes one good end.
    #[error("--fix takes at most one --good (the newer commit without the crash)")]
    TooManyGood,
}

/// Resolves and checks the ends of a bisection.
pub fn check(
    repo: &Repo,
    direction: Direction,
    bad: &str,
    good: &[String],
) -> Result<Bisection, InputError> {
    let resolve = |flag, rev: &str| {
        repo.resolve(rev)
            .map_err(|source| InputError::Revision { flag, source })
    };
    let bad_hash = resolve("--bad", bad)?;
    let mut good_hashes = Vec::new();
    for g in good {
        good_hashes.push(resolve("--good", g)?);
    }
    let ancestor = |a: &str, d: &str| {
        repo.is_ancestor(a, d)
            .map_err(|source| InputError::Revision {
                flag: "--good",
                source,
            })
    };
    match direction {
        Direction::Cause => {
            for (g, hash) in good.iter().zip(&good_hashes) {
                if *hash == bad_hash {
                    return Err(InputError::SameCommit(bad_hash));
                }
                if !ancestor(hash, &bad_hash)? {
                    return Err(InputError::GoodNotAncestor {
                        good: g.clone(),
                        bad: bad.to_owned(),
                    });
                }
            }
        }
        Direction::Fix => {
            if good_hashes.len() > 1 {
                return Err(InputError::TooManyGood);
            }
            let (label, hash) = match good.first() {
                Some(g) => (g.clone(), good_hashes[0].clone()),
                None => ("HEAD".to_owned(), resolve("HEAD", "HEAD")?),
            };
            if hash == bad_hash {
                return Err(InputError::SameCommit(bad_hash));
            }
            if !ancestor(&bad_hash, &hash)? {
                return Err(InputError::BadNotAncestor {
                    bad: bad.to_owned(),
                    good: label,
                });
            }
            good_hashes = vec![hash];
        }
    }
    Ok(Bisection {
        direction,
        bad: bad_hash,
        good: good_hashes,
        crash: None,
        show_diff: false,
        verify: false,
    })
}
