//! `culprit doctor`: what this machine has and lacks for kernel bisection,
//! and the command that installs what is missing.
use std::path::{Path, PathBuf};
use std::process::Command;

use culprit_vm::{find_busybox, find_in_path, probe_uncached, Accelerator, PROBE_TIMEOUT};

/// Arguments of `culprit doctor`.
#[derive(clap::Args)]
pub struct Args {
    /// Also check that this kernel image (bzImage) boots under KVM; without
    /// it KVM is tested with a tiny guest that needs no kernel.
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// The QEMU binary to check.
    #[arg(long, default_value = "qemu-system-x86_64")]
    qemu: String,
}

/// One thing the machine has or lacks.
struct Check {
    name: &'static str,
    /// Bisection cannot work without it.
    required: bool,
    /// Found: what and where; or None with why not.
    found: Result<String, String>,
    /// How to get it.
    install: String,
}

/// Runs `culprit doctor`; returns the exit code (0: everything required is there).
pub fn run(args: Args) -> i32 {
    let checks = checks(&args);
    let (text, code) = render(&checks);
    // A closed stdout (e.g. piped into `head`) is not worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    code
}

/// The report's text and the exit code.
fn render(checks: &[Check]) -> (String, i32) {
    let mut text = String::from("culprit doctor: what this machine has for kernel bisection\n");
    for check in checks {
        text.push_str(&check_lines(check));
    }
    let packages: Vec<&str> = checks
        .iter()
        .filter(|c| c.required && c.found.is_err())
        .filter_map(|c| c.install.strip_prefix("apt-get install -y "))
        .collect();
    if packages.is_empty() {
        text.push_str("everything required is here\n");
        return (text, 0);
    }
    text.push_str("missing required tools; install them with:\n");
    text.push_str(&format!("  apt-get install -y {}\n", packages.join(" ")));
    (text, 1)
}

fn check_lines(check: &Check) -> String {
    let optional = if check.required { "" } else { " (optional)" };
    let name = format!("{}{optional}", check.name);
    match &check.found {
        Ok(what) => format!("ok       {name:<30} {what}\n"),
        Err(why) => format!(
            "missing  {name:<30} {why}\n         {:<30} install: {}\n",
            "", check.install
        ),
    }
}

fn checks(args: &Args) -> Vec<Check> {
    let qemu = find_program(&args.qemu);
    let mut checks = vec![tool_check(
        "qemu-system-x86_64",
        &args.qemu,
        "qemu-system-x86",
        true,
    )];
    checks.push(kvm_check(qemu.as_deref(), args.kernel.as_deref()));
    checks.push(busybox_check());
    for (name, package, required) in [
        ("gcc", "gcc", true),
        ("clang", "clang", false),
        ("ccache", "ccache", false),
        ("make", "make", true),
        ("flex", "flex", true),
        ("bison", "bison", true),
        ("bc", "bc", true),
        ("git", "git", true),
        ("xz", "xz-utils", false),
    ] {
        checks.push(tool_check(name, name, package, required));
    }
    checks.push(file_check(
        "libelf-dev",
        "/usr/include/gelf.h",
        "libelf-dev",
        true,
    ));
    checks.push(file_check(
        "libssl-dev",
        "/usr/include/openssl/opensslv.h",
        "libssl-dev",
        true,
    ));
    checks.push(file_check(
        "linux-source-6.1 (demo)",
        "/usr/src/linux-source-6.1.tar.xz",
        "linux-source-6.1",
        false,
    ));
    checks
}

/// `program` as given if it is a path, else looked up in PATH.
fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        Some(PathBuf::from(program)).filter(|p| p.is_file())
    } else {
        find_in_path(program)
    }
}

fn tool_check(name: &'static str, program: &str, package: &'static str, required: bool) -> Check {
    let found = match find_program(program) {
        Some(path) => Ok(describe_tool(&path, "--version")),
        None if program.contains('/') => Err(format!("{program}: no such file")),
        None => Err(format!("{program} not found in PATH")),
    };
    apt_check(name, required, found, package)
}

fn busybox_check() -> Check {
    let found = match find_busybox() {
        Some(path) => Ok(describe_tool(&path, "--help")),
        None => Err("no statically linked busybox in PATH or /bin/busybox".to_string()),
    };
    apt_check("busybox-static", true, found, "busybox-static")
}

fn file_check(name: &'static str, file: &str, package: &'static str, required: bool) -> Check {
    let found = if Path::new(file).is_file() {
        Ok(file.to_string())
    } else {
        Err(format!("{file} not found"))
    };
    apt_check(name, required, found, package)
}

fn apt_check(
    name: &'static str,
    required: bool,
    found: Result<String, String>,
    package: &'static str,
) -> Check {
    let install = format!("apt-get install -y {package}");
    Check {
        name,
        required,
        found,
        install,
    }
}

/// KVM counts only if a guest really boots under it; TCG works without it.
fn kvm_check(qemu: Option<&Path>, kernel: Option<&Path>) -> Check {
    let found = match qemu {
        None => Err("untested: qemu-system-x86_64 is missing".to_string()),
        Some(qemu) => {
            let probe = probe_uncached(qemu, kernel, PROBE_TIMEOUT);
            match probe.accelerator {
                Accelerator::Kvm if kernel.is_none() => Ok(format!(
                    "{} (kernels untested: pass --kernel BZIMAGE to boot one)",
                    probe.reason
                )),
                Accelerator::Kvm => Ok(probe.reason),
                Accelerator::Tcg => {
                    Err(format!("{}; VMs will run under TCG (slower)", probe.reason))
                }
            }
        }
    };
    Check {
        name: "kvm",
        required: false,
        found,
        install: "enable virtualization (VT-x/AMD-V, or nested KVM inside a VM) and make /dev/kvm \
                  read-writable (e.g. add yourself to group kvm)"
            .to_string(),
    }
}

/// The path and the first line of `program FLAG`'s output (its version).
fn describe_tool(path: &Path, flag: &str) -> String {
    let version = Command::new(path).arg(flag).output().ok().and_then(|out| {
        let text = if out.stdout.is_empty() {
            out.stderr
        } else {
            out.stdout
        };
        let text = String::from_utf8_lossy(&text).into_owned();
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_owned)
    });
    match version {
        Some(v) => format!("{} ({v})", path.display()),
        None => path.display().to_string(),
    }
}
