//! Git access for culprit: revisions, commit metadata, trailers, release
//! tags, the in-memory commit graph between the two ends of a bisection,
//! and worktrees that keep the user's checkout untouched.
#![deny(missing_docs)]

pub mod graph;

pub use graph::{CommitGraph, GraphError};
