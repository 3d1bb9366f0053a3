//! Crash reports out of console output: kernel oopses, sanitizer reports,
//! panics, named the way syzbot names them.
#![deny(missing_docs)]
