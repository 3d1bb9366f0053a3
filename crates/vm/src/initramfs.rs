//! The initramfs culprit boots: busybox, the reproducer, and an `/init` that
//! runs the reproducer under a time limit, reports how it ended, and powers off.
//! With a syz reproducer, also syz-execprog, syz-executor and the program
//! (see [`crate::syz`]); without one, the archive is what it always was.
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cpio::CpioWriter;
use crate::error::InitramfsError;
use crate::syz::{
    syz_init_script, SyzGuest, GUEST_BASIC_PROGRAM, GUEST_EXECPROG, GUEST_EXECUTOR, GUEST_PROGRAM,
};

pub use crate::markers::{DONE_MARKER, START_MARKER, STATUS_MARKER, TIME_LIMIT_PARAM};

/// Builds the initramfs archive for one reproducer.
///
/// The reproducer is stored as `/repro` (mode 0755): a static binary or a
/// script with a `#!/bin/sh` line. The archive's bytes depend only on the
/// inputs (fixed mtimes, owners and inode numbers).
#[derive(Debug, Clone)]
pub struct Initramfs {
    /// The C (or other) reproducer; with a syz program, the one run after
    /// it (empty: none).
    reproducer: Vec<u8>,
    busybox: Option<PathBuf>,
    default_time_limit: Duration,
    syz: Option<SyzGuest>,
}

impl Initramfs {
    /// An initramfs running `reproducer` (the program's bytes).
    pub fn new(reproducer: Vec<u8>) -> Self {
        Initramfs {
            reproducer,
            busybox: None,
            default_time_limit: Duration::from_secs(60),
            syz: None,
        }
    }

    /// An initramfs running a syz program with syz-execprog after a basic
    /// kernel test, then `c_reproducer` (a static binary) if given; see
    /// [`crate::syz`].
    pub fn syz(syz: SyzGuest, c_reproducer: Option<Vec<u8>>) -> Self {
        Initramfs {
            syz: Some(syz),
            ..Self::new(c_reproducer.unwrap_or_default())
        }
    }

    /// How long the guest works after its start marker when each program
    /// has `run_timeout` (for `VmConfig::guest_time`).
    pub fn guest_time(&self, run_timeout: Duration) -> Duration {
        match &self.syz {
            Some(_) => SyzGuest::guest_time(run_timeout, !self.reproducer.is_empty()),
            None => run_timeout,
        }
    }

    /// An initramfs running the program in file `path`.
    pub fn from_file(path: &Path) -> Result<Self, InitramfsError> {
        let reproducer = std::fs::read(path).map_err(|source| InitramfsError::Read {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::new(reproducer))
    }

    /// Uses this busybox instead of the one found by [`crate::find_busybox`].
    pub fn busybox(mut self, path: &Path) -> Self {
        self.busybox = Some(path.to_owned());
        self
    }

    /// The time limit used when the kernel command line has no
    /// `culprit.timeout=` (whole seconds; default 60).
    pub fn default_time_limit(mut self, limit: Duration) -> Self {
        self.default_time_limit = limit;
        self
    }

    /// The archive's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, InitramfsError> {
        let busybox_path = match &self.busybox {
            Some(p) => p.clone(),
            None => crate::tools::find_busybox().ok_or(InitramfsError::NoBusybox)?,
        };
        let busybox = std::fs::read(&busybox_path).map_err(|source| InitramfsError::Read {
            path: busybox_path,
            source,
        })?;
        let bytes = match &self.syz {
            None => archive(
                &busybox,
                &init_script(self.default_time_limit),
                &self.reproducer,
            ),
            Some(syz) => syz_archive(&busybox, syz, &self.reproducer, self.default_time_limit),
        };
        bytes.map_err(|source| InitramfsError::Write {
            path: PathBuf::from("<memory>"),
            source,
        })
    }

    /// Writes the archive to `path` (through a temporary file, so a full disk
    /// never leaves a truncated archive behind under the final name).
    pub fn write(&self, path: &Path) -> Result<(), InitramfsError> {
        let bytes = self.to_bytes()?;
        let tmp = path.with_extension("partial");
        let write_err = |source| InitramfsError::Write {
            path: path.to_owned(),
            source,
        };
        std::fs::write(&tmp, &bytes)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                write_err(e)
            })
    }
}

fn archive(busybox: &[u8], init: &str, reproducer: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut w = base_archive(busybox, init)?;
    w.file("repro", 0o755, reproducer)?;
    w.finish()
}

/// The archive of a syz reproducer: the base, the syzkaller binaries, the
/// programs and the C reproducer (if any).
fn syz_archive(
    busybox: &[u8],
    syz: &SyzGuest,
    c_reproducer: &[u8],
    time_limit: Duration,
) -> std::io::Result<Vec<u8>> {
    let with_c = !c_reproducer.is_empty();
    let init = syz_init_script(time_limit, &syz.commands, with_c);
    let mut w = base_archive(busybox, &init)?;
    let name = |guest_path: &'static str| &guest_path[1..];
    w.file(name(GUEST_EXECPROG), 0o755, &syz.execprog)?;
    w.file(name(GUEST_EXECUTOR), 0o755, &syz.executor)?;
    w.file(name(GUEST_PROGRAM), 0o644, &syz.program)?;
    let basic = syz.commands.basic_program.as_bytes();
    w.file(name(GUEST_BASIC_PROGRAM), 0o644, basic)?;
    if with_c {
        w.file("repro", 0o755, c_reproducer)?;
    }
    w.finish()
}

/// Directories, the console node, busybox and `/init`.
fn base_archive(busybox: &[u8], init: &str) -> std::io::Result<CpioWriter<Vec<u8>>> {
    let mut w = CpioWriter::new(Vec::new());
    for dir in [
        "bin", "sbin", "usr", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp",
    ] {
        w.dir(dir, 0o755)?;
    }
    // The kernel opens /dev/console for init's stdio before init runs, so the
    // node must exist in the archive; devtmpfs is mounted over /dev later.
    w.char_device("dev/console", 0o600, 5, 1)?;
    w.file("bin/busybox", 0o755, busybox)?;
    // `sh` is needed to start /init; /init installs the other applets itself.
    w.symlink("bin/sh", "busybox")?;
    w.file("init", 0o755, init.as_bytes())?;
    Ok(w)
}

/// The `/init` script. Power-off is `reboot -f` because small kernels have no
/// ACPI; QEMU runs with `-no-reboot`, so the reboot ends the VM.
pub fn init_script(default_time_limit: Duration) -> String {
    let prelude = crate::markers::init_prelude(default_time_limit);
    format!(
        r#"{prelude}timeout -s KILL "$limit" /repro
echo "{STATUS_MARKER}$?"
echo "{DONE_MARKER}"
reboot -f
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpio::tests::read_all;

    fn fake_busybox() -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), b"\x7fELF fake busybox").unwrap();
        f
    }

    #[test]
    fn archive_holds_busybox_init_reproducer_and_console() {
        let bb = fake_busybox();
        let bytes = Initramfs::new(b"#!/bin/sh\necho repro\n".to_vec())
            .busybox(bb.path())
            .to_bytes()
            .unwrap();
        let entries = read_all(&bytes);
        let get = |name: &str| entries.iter().find(|e| e.name == name);
        assert_eq!(get("bin/busybox").unwrap().data, b"\x7fELF fake busybox");
        assert_eq!(get("bin/sh").unwrap().data, b"busybox");
        assert_eq!(get("repro").unwrap().data, b"#!/bin/sh\necho repro\n");
        assert_eq!(get("repro").unwrap().mode & 0o777, 0o755);
        assert_eq!(get("dev/console").unwrap().rdev, (5, 1));
        let init = String::from_utf8(get("init").unwrap().data.clone()).unwrap();
        assert!(init.starts_with("#!/bin/sh\n"));
        for dir in ["proc", "sys", "dev", "tmp", "usr/sbin"] {
            assert!(get(dir).is_some(), "{dir} missing");
        }
    }

    #[test]
    fn same_inputs_give_same_bytes_and_other_inputs_differ() {
        let bb = fake_busybox();
        let build = |repro: &[u8]| {
            Initramfs::new(repro.to_vec())
                .busybox(bb.path())
                .to_bytes()
                .unwrap()
        };
        assert_eq!(build(b"a"), build(b"a"));
        assert_ne!(build(b"a"), build(b"b"));
    }

    #[test]
    fn init_prints_markers_around_a_time_limited_reproducer() {
        let s = init_script(Duration::from_secs(42));
        let pos = |needle: &str| s.find(needle).unwrap_or_else(|| panic!("{needle} missing"));
        assert!(s.contains("limit=42\n"));
        assert!(pos(START_MARKER) < pos("timeout -s KILL \"$limit\" /repro"));
        assert!(pos("/repro") < pos(STATUS_MARKER));
        assert!(pos(STATUS_MARKER) < pos(DONE_MARKER));
        assert!(pos(DONE_MARKER) < pos("reboot -f"));
        assert!(s.contains("culprit.timeout=*"));
    }

    #[test]
    fn init_time_limit_and_status_work_under_busybox_sh() {
        // Runs the script's own lines from `limit=` to the status report on
        // the host, with the command line and the reproducer replaced.
        let Some(bb) = crate::tools::find_busybox() else {
            eprintln!("skipping: no static busybox (apt-get install busybox-static)");
            return;
        };
        let script = init_script(Duration::from_secs(9));
        let from = script.find("limit=").unwrap();
        let to = script.find(DONE_MARKER).unwrap();
        let bin = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&bb, bin.path().join("timeout")).unwrap();
        let body = script[from..to]
            .replace("$(cat /proc/cmdline)", "quiet culprit.timeout=1 x")
            .replace("cd /tmp\n", "")
            .replace("/repro", &format!("{} sleep 5", bb.display()));
        let start = std::time::Instant::now();
        let out = std::process::Command::new(&bb)
            .args(["sh", "-c", &body])
            .env("PATH", bin.path())
            .output()
            .unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "time limit not applied"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("(time limit 1s)"), "{stdout}");
        assert!(stdout.contains(&format!("{STATUS_MARKER}137")), "{stdout}");
    }

    #[test]
    fn without_a_syz_program_the_archive_keeps_its_bytes() {
        use sha2::Digest;
        let bb = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(bb.path(), b"\x7fELF fake busybox").unwrap();
        let bytes = Initramfs::new(b"#!/bin/sh\necho x\n".to_vec())
            .busybox(bb.path())
            .default_time_limit(Duration::from_secs(33))
            .to_bytes()
            .unwrap();
        let digest: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        // The archive before syz reproducers existed, byte for byte.
        assert_eq!(
            digest,
            "3a5d649fa0efd1dd7f53b84e737062c57b828e2b5419745b6e12eac689980d08"
        );
    }

    fn syz_guest(dir: &Path) -> SyzGuest {
        // An ELF header without program headers: static, and enough here.
        let mut elf = b"\x7fELF\x02\x01".to_vec();
        elf.resize(64, 0);
        let bb = dir.join("static-elf");
        std::fs::write(&bb, elf).unwrap();
        let program = dir.join("repro.syz");
        std::fs::write(&program, "getpid()\n").unwrap();
        let commands = crate::syz::SyzCommands {
            program_args: vec!["-repeat=0".into(), GUEST_PROGRAM.into()],
            basic_args: vec!["-repeat=1".into(), GUEST_BASIC_PROGRAM.into()],
            basic_program: "getpid()\n".into(),
        };
        SyzGuest::read(&bb, &bb, &program, commands).unwrap()
    }

    #[test]
    fn syz_archive_holds_the_tools_the_programs_and_the_c_reproducer() {
        let dir = tempfile::tempdir().unwrap();
        let bb = fake_busybox();
        let with_c = Initramfs::syz(syz_guest(dir.path()), Some(b"\x7fELF c".to_vec()))
            .busybox(bb.path())
            .to_bytes()
            .unwrap();
        let entries = read_all(&with_c);
        let get = |name: &str| entries.iter().find(|e| e.name == name);
        assert_eq!(get("syz-execprog").unwrap().mode & 0o777, 0o755);
        assert_eq!(get("syz-executor").unwrap().mode & 0o777, 0o755);
        assert_eq!(get("repro.syz").unwrap().data, b"getpid()\n");
        assert_eq!(get("basic.syz").unwrap().data, b"getpid()\n");
        assert_eq!(get("repro").unwrap().data, b"\x7fELF c");
        let init = String::from_utf8(get("init").unwrap().data.clone()).unwrap();
        assert!(init.contains(crate::syz::C_MARKER), "{init}");
        assert!(
            init.contains("/syz-execprog '-repeat=0' '/repro.syz'"),
            "{init}"
        );

        let without_c = Initramfs::syz(syz_guest(dir.path()), None)
            .busybox(bb.path())
            .to_bytes()
            .unwrap();
        let entries = read_all(&without_c);
        assert!(entries.iter().all(|e| e.name != "repro"));
        let init = entries.iter().find(|e| e.name == "init").unwrap();
        assert!(!String::from_utf8_lossy(&init.data).contains(crate::syz::C_MARKER));
    }

    #[test]
    fn guest_time_counts_every_program() {
        let dir = tempfile::tempdir().unwrap();
        let run = Duration::from_secs(30);
        let basic = crate::syz::BASIC_TEST_LIMIT;
        assert_eq!(Initramfs::new(vec![1]).guest_time(run), run);
        let syz_only = Initramfs::syz(syz_guest(dir.path()), None);
        assert_eq!(syz_only.guest_time(run), basic + run);
        let with_c = Initramfs::syz(syz_guest(dir.path()), Some(vec![1]));
        assert_eq!(with_c.guest_time(run), basic + run * 2);
    }

    #[test]
    fn missing_reproducer_file_is_a_clear_error() {
        let err = Initramfs::from_file(Path::new("/nonexistent/repro")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/repro"), "{err}");
    }

    #[test]
    fn unwritable_destination_is_a_clear_error() {
        let bb = fake_busybox();
        let err = Initramfs::new(vec![])
            .busybox(bb.path())
            .write(Path::new("/nonexistent/dir/initramfs.cpio"))
            .unwrap_err();
        assert!(matches!(err, InitramfsError::Write { .. }), "{err}");
    }
}
