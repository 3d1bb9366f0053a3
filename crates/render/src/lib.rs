//! What a bisection tells, in words: the engine emits typed events and an
//! outcome (`culprit-bisect`); this crate renders them as the human log
//! ([`text`]), the bisection page ([`page`]) and its mail ([`email`]). It
//! links no database: `culprit bisect --html` and the service render the
//! same page.
#![deny(missing_docs)]

pub mod email;
mod go;
pub mod page;
pub mod text;

pub use go::{go_duration, go_quoted_list};
pub use text::TextLog;
