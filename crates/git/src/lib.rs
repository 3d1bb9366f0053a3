//! Git access for culprit: revisions, commit metadata, trailers, release
//! tags, the in-memory commit graph between the two ends of a bisection,
//! and worktrees that keep the user's checkout untouched.
//!
//! Data comes from the `git` program (see `git.rs` for the environment
//! every call gets); the graph algorithms are pure Rust.
//!
//! At a glance:
//! - [`Repo::open`], [`Repo::resolve`], [`Repo::commit`] / [`Repo::commits`]
//!   ([`Commit`] with [`Trailer`]s), [`Repo::is_ancestor`], [`Repo::head`],
//!   [`Repo::tree_of`], [`Repo::show_stat`];
//! - release tags: [`Repo::release_tags`], [`Repo::release_tags_before`],
//!   [`thin_releases`], [`Version`];
//! - the suspect graph: [`CommitGraph::load`] (or
//!   [`CommitGraph::from_parents`] without git), ancestor sums
//!   ([`CommitGraph::ancestor_weights`], [`CommitGraph::ancestor_counts`]) and
//!   git's next commit ([`CommitGraph::bisect_choice`],
//!   [`CommitGraph::bisect_step`], [`estimate_steps`], [`revisions_left`]);
//! - what changed: [`Repo::changed_paths`] (per commit of a range, against
//!   its first parent), and [`CommitGraph::without`] (the graph with some
//!   commits contracted away, ancestry kept);
//! - [`Worktree`]: the private checkout builds run in.
//!
//! Other crates' tests can build repositories with
//! `culprit_git::fixture::RepoBuilder`: add
//! `culprit-git = { workspace = true, features = ["fixture"] }` to their
//! `[dev-dependencies]`.
#![deny(missing_docs)]

pub mod changes;
pub mod choice;
pub mod commit;
mod contract;
#[cfg(feature = "fixture")]
pub mod fixture;
mod git;
pub mod graph;
mod load;
mod reach;
pub mod repo;
pub mod tags;
pub mod worktree;

pub use changes::ChangesError;
pub use choice::{estimate_steps, revisions_left, BisectStep};
pub use commit::{parse_trailers, Commit, Trailer};
pub use git::GitError;
pub use graph::{CommitGraph, GraphError};
pub use load::LoadError;
pub use repo::{OpenError, Repo, ResolveError};
pub use tags::{thin_releases, ReleaseTag, Version};
pub use worktree::{Worktree, WorktreeError};
