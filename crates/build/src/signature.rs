//! Build signatures: a hash of what a build produced that ignores what does
//! not change the code (timestamps in notes, build ids, debug info).
//!
//! For ELF files this is syzbot's scheme (syzkaller `pkg/build`): walk the
//! section headers in order, keep the sections that are allocated
//! (`SHF_ALLOC`), hold file data (not `SHT_NOBITS`) and are not notes
//! (`SHT_NOTE`, where the build id lives); hash each one with SHA-256 and
//! hash the concatenation of those digests. Any other file is hashed whole.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const SHT_NOBITS: u32 = 8;
const SHT_NOTE: u32 = 7;
const SHF_ALLOC: u64 = 0x2;

/// Why a signature could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes start like ELF but the headers are inconsistent.
    #[error("malformed ELF file: {0}")]
    MalformedElf(String),
}

/// Returns true when `bytes` start with the ELF magic number.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}

/// syzbot's signature of an ELF file (see the module documentation).
pub fn elf_signature(bytes: &[u8]) -> Result<String, SignatureError> {
    let elf = Elf::parse(bytes)?;
    let mut outer = Sha256::new();
    for index in 0..elf.section_count {
        let section = elf.section(index)?;
        if section.flags & SHF_ALLOC == 0 || section.kind == SHT_NOBITS || section.kind == SHT_NOTE
        {
            continue;
        }
        let data = slice(bytes, section.offset, section.size)
            .ok_or_else(|| malformed(format!("section {index} lies outside the file")))?;
        outer.update(Sha256::digest(data));
    }
    Ok(hex(&outer.finalize()))
}

/// SHA-256 of a whole byte string, in hex.
pub fn bytes_signature(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The signature of a build output file: [`elf_signature`] for an ELF file,
/// otherwise the SHA-256 of the whole file.
pub fn file_signature(path: &Path) -> Result<String, SignatureError> {
    let bytes = std::fs::read(path).map_err(|source| SignatureError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if is_elf(&bytes) {
        elf_signature(&bytes)
    } else {
        Ok(bytes_signature(&bytes))
    }
}

/// Lower-case hex of a byte string.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn malformed(message: String) -> SignatureError {
    SignatureError::MalformedElf(message)
}

fn slice(bytes: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    bytes.get(start..end)
}

/// The fields of one section header that the signature needs.
struct Section {
    kind: u32,
    flags: u64,
    offset: u64,
    size: u64,
}

/// Just enough of an ELF header to walk the section headers.
struct Elf<'a> {
    bytes: &'a [u8],
    is_64: bool,
    big_endian: bool,
    table_offset: u64,
    entry_size: u64,
    section_count: u64,
}

impl<'a> Elf<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, SignatureError> {
        if !is_elf(bytes) {
            return Err(malformed("no ELF magic number".into()));
        }
        let is_64 = match bytes.get(4) {
            Some(1) => false,
            Some(2) => true,
            other => return Err(malformed(format!("unknown ELF class {other:?}"))),
        };
        let big_endian = match bytes.get(5) {
            Some(1) => false,
            Some(2) => true,
            other => return Err(malformed(format!("unknown ELF data encoding {other:?}"))),
        };
        let mut elf = Elf {
            bytes,
            is_64,
            big_endian,
            table_offset: 0,
            entry_size: 0,
            section_count: 0,
        };
        // e_shoff, e_shentsize, e_shnum.
        let (shoff_at, shentsize_at, shnum_at) = if is_64 {
            (0x28, 0x3a, 0x3c)
        } else {
            (0x20, 0x2e, 0x30)
        };
        elf.table_offset = elf.word(shoff_at)?;
        elf.entry_size = elf.uint(shentsize_at, 2)?;
        elf.section_count = elf.uint(shnum_at, 2)?;
        elf.check_table()?;
        Ok(elf)
    }

    /// Validates the section header table; handles the escape for more
    /// than 0xff00 sections (the count is then in section 0's sh_size).
    fn check_table(&mut self) -> Result<(), SignatureError> {
        if self.table_offset == 0 {
            self.section_count = 0;
            return Ok(());
        }
        let minimum = if self.is_64 { 64 } else { 40 };
        if self.entry_size < minimum {
            return Err(malformed(format!(
                "section header size {} is too small",
                self.entry_size
            )));
        }
        if self.section_count == 0 {
            self.section_count = 1;
            self.section_count = self.section(0)?.size;
        }
        let table_len = self
            .section_count
            .checked_mul(self.entry_size)
            .ok_or_else(|| malformed("section header table too large".into()))?;
        if slice(self.bytes, self.table_offset, table_len).is_none() {
            return Err(malformed(
                "section header table lies outside the file".into(),
            ));
        }
        Ok(())
    }

    fn section(&self, index: u64) -> Result<Section, SignatureError> {
        let base = index
            .checked_mul(self.entry_size)
            .and_then(|o| o.checked_add(self.table_offset))
            .ok_or_else(|| malformed("section header offset overflows".into()))?;
        let (flags_at, offset_at, size_at) = if self.is_64 { (8, 24, 32) } else { (8, 16, 20) };
        Ok(Section {
            kind: u32::try_from(self.uint(base + 4, 4)?).unwrap_or(u32::MAX),
            flags: self.word(base + flags_at)?,
            offset: self.word(base + offset_at)?,
            size: self.word(base + size_at)?,
        })
    }

    /// A native-size word: 8 bytes in ELF64, 4 in ELF32.
    fn word(&self, at: u64) -> Result<u64, SignatureError> {
        self.uint(at, if self.is_64 { 8 } else { 4 })
    }

    fn uint(&self, at: u64, len: u64) -> Result<u64, SignatureError> {
        let field = slice(self.bytes, at, len)
            .ok_or_else(|| malformed(format!("header field at {at:#x} lies outside the file")))?;
        let fold = |acc: u64, b: &u8| (acc << 8) | u64::from(*b);
        Ok(if self.big_endian {
            field.iter().fold(0, fold)
        } else {
            field.iter().rev().fold(0, fold)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_after_magic_is_an_error_not_a_panic() {
        for len in 0..80 {
            let mut bytes = b"\x7fELF\x02\x01".to_vec();
            bytes.resize(len.max(6), 0xff);
            assert!(elf_signature(&bytes).is_err(), "length {len}");
        }
    }

    #[test]
    fn header_without_sections_hashes_nothing() {
        let mut bytes = b"\x7fELF\x02\x01\x01".to_vec();
        bytes.resize(64, 0);
        let empty = hex(&Sha256::new().finalize());
        assert_eq!(elf_signature(&bytes).ok(), Some(empty));
    }
}
