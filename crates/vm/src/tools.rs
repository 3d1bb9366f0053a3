//! Finding the host programs a run needs.
use std::path::{Path, PathBuf};

/// The first executable file called `name` in `PATH`.
pub fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// A statically linked busybox: from `PATH`, else `/bin/busybox`.
///
/// Only a static one works inside the initramfs, which has no C library.
pub fn find_busybox() -> Option<PathBuf> {
    find_in_path("busybox")
        .into_iter()
        .chain([PathBuf::from("/bin/busybox")])
        .find(|p| is_executable(p) && is_static_elf(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// True when `path` is an ELF file without a program interpreter (PT_INTERP),
/// i.e. one that runs without a dynamic loader.
pub fn is_static_elf(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| elf_is_static(&bytes))
}

pub(crate) fn elf_is_static(b: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    // Only 64-bit little-endian ELF matters here (x86_64 hosts and guests).
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return false;
    }
    let bytes_at = |o: usize, n: usize| b.get(o..o.checked_add(n)?);
    let u16_at = |o| bytes_at(o, 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let u32_at = |o| bytes_at(o, 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let u64_at = |o| {
        bytes_at(o, 8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(u64::from_le_bytes)
    };
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(32), u16_at(54), u16_at(56)) else {
        return false;
    };
    let Ok(phoff) = usize::try_from(phoff) else {
        return false;
    };
    (0..usize::from(phnum)).all(|i| {
        let entry = i
            .checked_mul(usize::from(phentsize))
            .and_then(|o| o.checked_add(phoff));
        entry.and_then(u32_at).is_some_and(|kind| kind != PT_INTERP)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dynamic_program_is_not_static() {
        let sh = find_in_path("sh").expect("sh in PATH");
        let ls = find_in_path("ls").expect("ls in PATH");
        // At least one of these is dynamically linked on any Debian system.
        assert!(!is_static_elf(&sh) || !is_static_elf(&ls));
        assert!(!is_static_elf(Path::new("/nonexistent")));
    }

    #[test]
    fn the_busybox_found_is_static() {
        match find_busybox() {
            Some(bb) => assert!(is_static_elf(&bb)),
            None => eprintln!("skipping: no static busybox (apt-get install busybox-static)"),
        }
    }

    #[test]
    fn garbage_is_not_elf() {
        assert!(!elf_is_static(b"#!/bin/sh\n"));
        let mut truncated = b"\x7fELF\x02\x01".to_vec();
        truncated.resize(64, 0xff);
        assert!(!elf_is_static(&truncated));
    }
}
