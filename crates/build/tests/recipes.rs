//! ShellRecipe and reproducer preparation with real shells and gcc.

use culprit_build::reproducer::{prepare, ReproducerError};
use culprit_build::signature::file_signature;
use culprit_build::{ReproducerKind, ReproducerSpec, ShellBuildError, ShellRecipe};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

fn recipe(command: &str, artifact: Option<&str>) -> ShellRecipe {
    ShellRecipe {
        command: command.into(),
        artifact: artifact.map(PathBuf::from),
        timeout: Duration::from_secs(20),
    }
}

#[test]
fn shell_build_signs_its_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let built = recipe("echo building; printf 'v1' > out.bin", Some("out.bin"))
        .build(dir.path(), &log)
        .unwrap();
    let artifact = dir.path().join("out.bin");
    assert_eq!(built.artifact_path.as_ref(), Some(&artifact));
    assert_eq!(built.signature, Some(file_signature(&artifact).unwrap()));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "building\n");
}

#[test]
fn shell_failure_keeps_the_tail_of_this_build_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    recipe("echo first build", None)
        .build(dir.path(), &log)
        .unwrap();
    let lines = "for i in $(seq 1 300); do echo line $i; done; echo 'error: boom' >&2; exit 3";
    let error = recipe(lines, None).build(dir.path(), &log).unwrap_err();
    let tail = error.output_tail().unwrap();
    assert!(tail.ends_with("error: boom"), "{tail}");
    assert!(tail.contains("line 300") && !tail.contains("line 100\n"));
    assert!(!tail.contains("first build"));
}

#[test]
fn shell_timeout_and_missing_artifact_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut slow = recipe("sleep 5", None);
    slow.timeout = Duration::from_millis(200);
    let error = slow.build(dir.path(), &log).unwrap_err();
    assert!(error.to_string().contains("timed out"), "{error}");
    let missing = recipe("true", Some("nothing.bin")).build(dir.path(), &log);
    assert!(matches!(missing, Err(ShellBuildError::Artifact(_))));
}

#[test]
fn c_reproducer_is_compiled_statically() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("repro.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )
    .unwrap();
    let spec = ReproducerSpec::from_path(&source);
    let prepared = prepare(&spec, &dir.path().join("out"), "gcc".as_ref()).unwrap();
    assert_eq!(prepared.kind, ReproducerKind::Executable);
    let output = std::process::Command::new(&prepared.path).output().unwrap();
    assert_eq!(output.stdout, b"hi\n");
    let bytes = std::fs::read(&prepared.path).unwrap();
    assert!(!has_interpreter(&bytes), "dynamically linked");
    let line = prepared.log_line().unwrap();
    assert!(line.starts_with("building reproducer on gcc"), "{line}");
}

#[test]
fn broken_c_reproducer_reports_the_compiler_error() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("repro.c");
    std::fs::write(&source, "int main(void) { return missing_function(); }\n").unwrap();
    let spec = ReproducerSpec::CSource(source);
    match prepare(&spec, dir.path(), "gcc".as_ref()) {
        Err(ReproducerError::Compile(error)) => {
            assert!(error
                .tail()
                .unwrap_or_default()
                .contains("missing_function"))
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
}

#[test]
fn binary_and_script_reproducers_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("repro");
    std::fs::write(&binary, "\x7fELF").unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o644)).unwrap();
    let spec = ReproducerSpec::from_path(&binary);
    let not_executable = prepare(&spec, dir.path(), "gcc".as_ref());
    assert!(matches!(
        not_executable,
        Err(ReproducerError::NotExecutable(_))
    ));
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(
        prepare(&spec, dir.path(), "gcc".as_ref()).unwrap().path,
        binary
    );

    let script = dir.path().join("repro.sh");
    std::fs::write(&script, "echo hi\n").unwrap();
    let prepared = prepare(
        &ReproducerSpec::from_path(&script),
        &dir.path().join("o"),
        "gcc".as_ref(),
    )
    .unwrap();
    assert_eq!(prepared.kind, ReproducerKind::Script);
    let mode = std::fs::metadata(&prepared.path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(prepared.log_line().is_none());
    let missing = prepare(
        &ReproducerSpec::from_path("/nonexistent.c"),
        dir.path(),
        "gcc".as_ref(),
    );
    assert!(matches!(missing, Err(ReproducerError::Io { .. })));
}

/// True when an ELF64 little-endian file has a PT_INTERP program header
/// (i.e. it is dynamically linked).
fn has_interpreter(elf: &[u8]) -> bool {
    let field = |at: usize, len: usize| {
        elf[at..at + len]
            .iter()
            .rev()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let (phoff, phentsize, phnum) = (field(0x20, 8), field(0x36, 2), field(0x38, 2));
    (0..phnum).any(|i| field(phoff + i * phentsize, 4) == 3)
}
