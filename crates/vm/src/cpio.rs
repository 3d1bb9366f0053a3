//! A writer for the "newc" cpio format, the one the kernel unpacks as an
//! initramfs. Every entry gets mtime 0, uid/gid 0 and inode numbers in write
//! order, so the same entries always give the same bytes.
use std::io::{self, Write};

/// File type bits of `st_mode`.
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;
const S_IFCHR: u32 = 0o020_000;

/// Writes a newc archive entry by entry; call [`CpioWriter::finish`] at the end.
pub struct CpioWriter<W: Write> {
    out: W,
    next_inode: u32,
    written: u64,
}

/// One entry's header fields that vary.
struct Header<'a> {
    name: &'a str,
    mode: u32,
    size: u32,
    rdev: (u32, u32),
}

impl<W: Write> CpioWriter<W> {
    /// Starts an archive on `out`.
    pub fn new(out: W) -> Self {
        CpioWriter {
            out,
            next_inode: 1,
            written: 0,
        }
    }

    /// Adds a directory (`name` without leading slash, e.g. "bin").
    pub fn dir(&mut self, name: &str, perm: u32) -> io::Result<()> {
        self.entry(header(name, S_IFDIR | perm, 0), &[])
    }

    /// Adds a regular file with the given contents.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> io::Result<()> {
        let size = u32::try_from(data.len()).map_err(|_| too_big(name))?;
        self.entry(header(name, S_IFREG | perm, size), data)
    }

    /// Adds a symbolic link pointing at `target`.
    pub fn symlink(&mut self, name: &str, target: &str) -> io::Result<()> {
        let size = u32::try_from(target.len()).map_err(|_| too_big(name))?;
        self.entry(header(name, S_IFLNK | 0o777, size), target.as_bytes())
    }

    /// Adds a character device node.
    pub fn char_device(&mut self, name: &str, perm: u32, major: u32, minor: u32) -> io::Result<()> {
        let mut h = header(name, S_IFCHR | perm, 0);
        h.rdev = (major, minor);
        self.entry(h, &[])
    }

    /// Writes the trailer and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        let trailer = Header {
            name: "TRAILER!!!",
            mode: 0,
            size: 0,
            rdev: (0, 0),
        };
        self.write_header(&trailer, 0)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn entry(&mut self, h: Header<'_>, data: &[u8]) -> io::Result<()> {
        let inode = self.next_inode;
        self.next_inode += 1;
        self.write_header(&h, inode)?;
        self.write_padded(data)
    }

    fn write_header(&mut self, h: &Header<'_>, inode: u32) -> io::Result<()> {
        let nlink = if h.mode & S_IFDIR != 0 { 2 } else { 1 };
        let name_size = h.name.len() + 1;
        let fields = [
            inode, h.mode, 0, 0, nlink, 0, h.size, 0, 0, h.rdev.0, h.rdev.1,
        ];
        let mut text = String::from("070701");
        for f in fields {
            text.push_str(&format!("{f:08x}"));
        }
        let name_size = u32::try_from(name_size).map_err(|_| too_big(h.name))?;
        text.push_str(&format!("{name_size:08x}{:08x}", 0));
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(h.name.as_bytes());
        bytes.push(0);
        self.write_padded(&bytes)
    }

    /// Writes `data` and pads the archive to a multiple of 4 bytes, as newc requires.
    fn write_padded(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)?;
        self.written += data.len() as u64;
        let pad = (4 - (self.written % 4) as usize) % 4;
        self.out.write_all(&[0u8; 3][..pad])?;
        self.written += pad as u64;
        Ok(())
    }
}

fn header(name: &str, mode: u32, size: u32) -> Header<'_> {
    Header {
        name,
        mode,
        size,
        rdev: (0, 0),
    }
}

fn too_big(name: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{name}: too big for a cpio archive"),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One entry read back: name, mode, rdev, data.
    #[derive(Debug, PartialEq)]
    pub(crate) struct Entry {
        pub name: String,
        pub mode: u32,
        pub rdev: (u32, u32),
        pub data: Vec<u8>,
    }

    /// A small newc reader, independent of the writer's code, for round trips.
    pub(crate) fn read_all(mut bytes: &[u8]) -> Vec<Entry> {
        let mut entries = Vec::new();
        let mut offset = 0usize;
        loop {
            assert_eq!(&bytes[..6], b"070701", "bad magic at offset {offset}");
            let field = |i: usize| {
                let s = std::str::from_utf8(&bytes[6 + 8 * i..14 + 8 * i]).unwrap();
                u32::from_str_radix(s, 16).unwrap()
            };
            let (mode, size, rdev) = (field(1), field(6) as usize, (field(9), field(10)));
            let name_size = field(11) as usize;
            let name = std::str::from_utf8(&bytes[110..110 + name_size - 1]).unwrap();
            let name = name.to_string();
            let data_start = (110 + name_size).div_ceil(4) * 4;
            let data = bytes[data_start..data_start + size].to_vec();
            let next = (data_start + size).div_ceil(4) * 4;
            if name == "TRAILER!!!" {
                assert_eq!(bytes.len(), next, "bytes after the trailer");
                return entries;
            }
            entries.push(Entry {
                name,
                mode,
                rdev,
                data,
            });
            bytes = &bytes[next..];
            offset += next;
        }
    }

    fn sample() -> Vec<u8> {
        let mut w = CpioWriter::new(Vec::new());
        w.dir("bin", 0o755).unwrap();
        w.file("bin/hello", 0o755, b"#!/bin/sh\necho hi\n").unwrap();
        w.symlink("bin/sh", "busybox").unwrap();
        w.char_device("dev/console", 0o600, 5, 1).unwrap();
        w.file("empty", 0o644, b"").unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn round_trips_through_our_reader() {
        let entries = read_all(&sample());
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["bin", "bin/hello", "bin/sh", "dev/console", "empty"]
        );
        assert_eq!(entries[0].mode, S_IFDIR | 0o755);
        assert_eq!(entries[1].data, b"#!/bin/sh\necho hi\n");
        assert_eq!(entries[2].mode, S_IFLNK | 0o777);
        assert_eq!(entries[2].data, b"busybox");
        assert_eq!(entries[3].mode, S_IFCHR | 0o600);
        assert_eq!(entries[3].rdev, (5, 1));
        assert!(entries[4].data.is_empty());
    }

    #[test]
    fn archive_is_aligned_and_deterministic() {
        let a = sample();
        assert_eq!(a.len() % 4, 0);
        assert_eq!(a, sample());
    }

    #[test]
    fn gnu_cpio_lists_the_archive() {
        let Some(cpio) = crate::tools::find_in_path("cpio") else {
            eprintln!("skipping: cpio is not installed (apt-get install cpio)");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.cpio");
        std::fs::write(&path, sample()).unwrap();
        let out = std::process::Command::new(cpio)
            .args(["-itv", "--quiet", "-F"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stdout);
        for expected in ["bin/hello", "bin/sh -> busybox", "dev/console", "empty"] {
            assert!(
                listing.contains(expected),
                "{expected} missing in:\n{listing}"
            );
        }
        assert!(listing
            .lines()
            .any(|l| l.starts_with('c') && l.contains("5,")));
    }
}
