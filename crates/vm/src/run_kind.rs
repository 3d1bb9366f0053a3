//! How one run of the reproducer ended, in the words syzbot's log uses,
//! and the console lookups that decide it.

use crate::markers::BASIC_FAILED;

/// The outcome of one run of the reproducer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunKind {
    /// The kernel reported a crash after the reproducer started.
    Crashed {
        /// The crash's title, from the crash parser.
        title: String,
        /// The crash report's text.
        report: String,
    },
    /// The reproducer ended (or hit its time limit) and the kernel reported nothing.
    Ok,
    /// The kernel never got to run the reproducer; the reason or crash
    /// title. Also a syz run whose basic kernel test failed (the reason
    /// then starts `basic kernel testing failed: `): neither good nor bad.
    BootFailed(String),
    /// The test machine printed nothing at all (or nothing after the
    /// reproducer started) and had to be stopped.
    NoOutput,
    /// The test machine stopped answering or went away during the run.
    LostConnection,
    /// The run said nothing about the kernel: QEMU could not start or died.
    Infra(String),
}

impl RunKind {
    /// The words syzbot's bisection log uses for this outcome, e.g.
    /// `crashed: WARNING in foo`, `OK`, `boot failed: ...`.
    pub fn describe(&self) -> String {
        match self {
            RunKind::Crashed { title, .. } => format!("crashed: {title}"),
            RunKind::Ok => "OK".to_string(),
            RunKind::BootFailed(why) if why.starts_with(BASIC_FAILED) => why.clone(),
            RunKind::BootFailed(why) => format!("boot failed: {why}"),
            RunKind::NoOutput => "no output from test machine".to_string(),
            RunKind::LostConnection => "lost connection to test machine".to_string(),
            RunKind::Infra(why) => format!("infrastructure problem: {why}"),
        }
    }
}

/// Position of `needle` at the start of a console line, at or after `from`.
pub(crate) fn find_from(haystack: &[u8], needle: &str, from: usize) -> Option<usize> {
    let tail = haystack.get(from..)?;
    memchr::memmem::find_iter(tail, needle.as_bytes())
        .map(|i| from + i)
        .find(|&i| i == 0 || haystack[i - 1] == b'\n')
}
