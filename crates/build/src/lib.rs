//! Build recipes (a shell command, a Linux kernel), build signatures and
//! the caches that keep culprit from rebuilding what it has built.
#![deny(missing_docs)]
