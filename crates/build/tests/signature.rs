//! The ELF signature on real binaries built by gcc.

use culprit_build::signature::{bytes_signature, elf_signature, file_signature};
use std::path::{Path, PathBuf};
use std::process::Command;

const PROGRAM: &str = "int answer(int x) { return x * 6; }\nint main(void) { return answer(7); }\n";

fn compile(dir: &Path, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, source).unwrap();
    let out = dir.join(name);
    let status = Command::new("gcc")
        .args(["-O1", "-o"])
        .arg(&out)
        .arg(&c)
        .args(flags)
        .status()
        .expect("gcc runs");
    assert!(status.success(), "gcc failed for {name}");
    out
}

fn signature(path: &Path) -> String {
    file_signature(path).unwrap()
}

#[test]
fn build_id_and_debug_info_do_not_change_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let a = compile(dir.path(), "a", PROGRAM, &["-Wl,--build-id=0x1111"]);
    let b = compile(dir.path(), "b", PROGRAM, &["-Wl,--build-id=0x2222", "-g"]);
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_eq!(signature(&a), signature(&b));
}

#[test]
fn changed_code_changes_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let a = compile(dir.path(), "a", PROGRAM, &[]);
    let changed = PROGRAM.replace("x * 6", "x * 7");
    let b = compile(dir.path(), "b", &changed, &[]);
    assert_ne!(signature(&a), signature(&b));
}

#[test]
fn signature_is_a_hash_of_section_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let a = compile(dir.path(), "a", PROGRAM, &[]);
    let bytes = std::fs::read(&a).unwrap();
    let sig = elf_signature(&bytes).unwrap();
    assert_eq!(sig.len(), 64);
    assert!(sig.chars().all(|c| c.is_ascii_hexdigit()));
    assert_ne!(sig, bytes_signature(&bytes), "ELF hashed as a whole file");
}

#[test]
fn non_elf_file_is_hashed_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.bin");
    std::fs::write(&path, b"hello").unwrap();
    assert_eq!(
        signature(&path),
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
}

#[test]
fn truncated_or_corrupt_elf_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(compile(dir.path(), "a", PROGRAM, &[])).unwrap();
    for len in [5, 20, 63, 64, bytes.len() / 2, bytes.len() - 1] {
        assert!(elf_signature(&bytes[..len]).is_err(), "truncated at {len}");
    }
    let mut corrupt = bytes.clone();
    corrupt[0x28..0x30].copy_from_slice(&u64::MAX.to_le_bytes()); // e_shoff
    assert!(elf_signature(&corrupt).is_err());
    let mut huge_section = bytes;
    let shoff = u64::from_le_bytes(huge_section[0x28..0x30].try_into().unwrap()) as usize;
    let second = shoff + 64 + 32; // sh_size of section 1
    huge_section[second..second + 8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    assert!(elf_signature(&huge_section).is_err());
}

#[test]
fn missing_file_is_an_error() {
    assert!(file_signature(Path::new("/nonexistent/vmlinux")).is_err());
}
