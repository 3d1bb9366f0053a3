//! Names of Rust symbols in the v0 mangling (`_RNv...`), as the Rust kernel
//! code's stack traces print them: `<T as Trait>::f`, `<T>::f`, `a::b::f`.
//!
//! Only paths are understood (no generic arguments or punycode); anything
//! else leaves the symbol as it is.

/// The demangled name of `symbol`, or `None` when it is not a v0 symbol we
/// can read.
pub fn rust_v0(symbol: &str) -> Option<String> {
    let body = symbol.strip_prefix("_R")?;
    let mut parser = Parser {
        s: body.as_bytes(),
        pos: 0,
        depth: 0,
        steps: 0,
    };
    let path = parser.path()?;
    Some(path)
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
    steps: usize,
}

/// Backreferences can loop, or fan out exponentially, in hostile input.
const MAX_DEPTH: usize = 64;
const MAX_STEPS: usize = 1000;

impl Parser<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.s.get(self.pos)?;
        self.pos += 1;
        Some(c)
    }

    fn path(&mut self) -> Option<String> {
        self.depth += 1;
        self.steps += 1;
        if self.depth > MAX_DEPTH || self.steps > MAX_STEPS {
            return None;
        }
        let result = match self.next()? {
            b'C' => {
                self.disambiguator()?;
                self.ident()
            }
            b'N' => {
                let namespace = self.next()?;
                let parent = self.path()?;
                let ident = self.ident()?;
                match namespace {
                    b'C' => Some(format!("{parent}::{{closure}}")),
                    _ => Some(format!("{parent}::{ident}")),
                }
            }
            b'M' => {
                self.disambiguator()?;
                self.path()?;
                let ty = self.path()?;
                Some(format!("<{ty}>"))
            }
            b'X' => {
                self.disambiguator()?;
                self.path()?;
                let ty = self.path()?;
                let tr = self.path()?;
                Some(format!("<{ty} as {tr}>"))
            }
            b'Y' => {
                let ty = self.path()?;
                let tr = self.path()?;
                Some(format!("<{ty} as {tr}>"))
            }
            b'B' => {
                let target = self.base62()?;
                let saved = self.pos;
                self.pos = target;
                let path = self.path();
                self.pos = saved;
                path
            }
            _ => None,
        };
        self.depth -= 1;
        result
    }

    /// An optional `s<base62>_` disambiguator.
    fn disambiguator(&mut self) -> Option<()> {
        if self.s.get(self.pos) == Some(&b's') {
            self.pos += 1;
            self.base62()?;
        }
        Some(())
    }

    /// `_` is 0; otherwise base-62 digits then `_`, plus one.
    fn base62(&mut self) -> Option<usize> {
        let mut value: usize = 0;
        if self.s.get(self.pos) == Some(&b'_') {
            self.pos += 1;
            return Some(0);
        }
        loop {
            let c = self.next()?;
            let digit = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'z' => c - b'a' + 10,
                b'A'..=b'Z' => c - b'A' + 36,
                b'_' => return value.checked_add(1),
                _ => return None,
            };
            value = value.checked_mul(62)?.checked_add(usize::from(digit))?;
        }
    }

    /// A decimal length, an optional `_`, then that many bytes.
    fn ident(&mut self) -> Option<String> {
        let start = self.pos;
        while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        let len: usize = std::str::from_utf8(&self.s[start..self.pos])
            .ok()?
            .parse()
            .ok()?;
        if self.s.get(self.pos) == Some(&b'_') {
            self.pos += 1;
        }
        let end = self.pos.checked_add(len)?;
        let ident = std::str::from_utf8(self.s.get(self.pos..end)?).ok()?;
        self.pos = end;
        Some(ident.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::rust_v0;

    #[test]
    fn reads_impl_and_trait_paths() {
        assert_eq!(
            rust_v0("_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process10update_ref")
                .as_deref(),
            Some("<rust_binder::process::Process>::update_ref")
        );
        assert_eq!(
            rust_v0("_RNvXs1_CscPPBqWtAqum_11ashmem_rustNtB5_6AshmemNtNtCs43vyB533jt3_6kernel10miscdevice10MiscDevice4mmap")
                .as_deref(),
            Some("<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap")
        );
        assert_eq!(
            rust_v0("_RNvCs1234_7mycrate4main").as_deref(),
            Some("mycrate::main")
        );
        assert_eq!(rust_v0("_RB_"), None);
        // Backreferences that fan out must not take exponential time.
        assert_eq!(rust_v0(&format!("_RX{}", "B_".repeat(200))), None);
        assert_eq!(rust_v0("plain"), None);
    }
}
