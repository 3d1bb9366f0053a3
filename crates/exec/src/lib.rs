//! The executors: what builds commits and runs tests for the bisection
//! engine, as child processes. Shell commands in a private checkout
//! ([`shell::ShellExecutor`], generic mode), Linux kernels built with a
//! recipe and booted in QEMU ([`kernel_executor::KernelExecutor`], kernel
//! mode, described by a [`job::Job`] file), a progress line on a terminal
//! ([`progress::Progress`]), and the kernel's maintainers of a culprit
//! ([`maintainers`]).
#![deny(missing_docs)]

pub mod capture;
pub mod identity;
pub mod job;
pub mod kernel_executor;
pub mod maintainers;
pub mod progress;
pub mod shell;
pub mod syz_reproducer;
pub mod syzbot;
