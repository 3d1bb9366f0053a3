//! The executors: what builds commits and runs tests for the bisection
//! engine, as child processes. Shell commands in a private checkout
//! ([`shell::ShellExecutor`], generic mode), Linux kernels built with a
//! recipe and booted in QEMU ([`kernel_executor::KernelExecutor`], kernel
//! mode), a progress line on a terminal ([`progress::Progress`]), and the
//! kernel's maintainers of a culprit ([`maintainers`]). Above them, every
//! setting's one definition ([`settings`]) and the one run path
//! ([`run::bisect`]) that the command line, job files and the service's
//! workers share.
#![deny(missing_docs)]

pub mod capture;
pub mod identity;
pub mod kernel_executor;
pub mod kernel_minimize;
pub mod kernel_release;
pub mod maintainers;
pub mod progress;
pub mod run;
pub mod settings;
pub mod shell;
pub mod syz_reproducer;
pub mod syzbot;
