//! The secrets culprit takes from its environment (the API token, the
//! database's URL with its password), taken out of it at start: build and
//! test commands inherit culprit's environment, and must not see them.
//! Their bytes are overwritten too, so that `/proc/PID/environ` (which
//! shows the environment a process started with) does not keep them.

use std::ffi::CString;

/// The variables that hold secrets: culprit's own, and libpq's password
/// settings.
pub const SECRET_VARIABLES: [&str; 4] = ["CULPRIT_TOKEN", "CULPRIT_DB", "PGPASSWORD", "PGPASSFILE"];

/// What was taken from the environment.
#[derive(Debug, Default)]
pub struct Secrets {
    /// `CULPRIT_TOKEN`.
    pub token: Option<String>,
    /// `CULPRIT_DB`.
    pub db: Option<String>,
}

/// Takes the secrets out of the environment. Call it first thing, before
/// any thread starts (the environment is not safe to change once threads
/// may read it).
pub fn take() -> Secrets {
    let mut secrets = Secrets::default();
    for name in SECRET_VARIABLES {
        let value = scrub(name);
        match name {
            "CULPRIT_TOKEN" => secrets.token = value,
            "CULPRIT_DB" => secrets.db = value,
            _ => {}
        }
    }
    secrets
}

/// The value of `name`, overwritten where it is kept and removed.
fn scrub(name: &str) -> Option<String> {
    let value = std::env::var(name).ok();
    let cname = CString::new(name).ok()?;
    // SAFETY: no other thread runs yet (see `take`); getenv returns a
    // pointer to the value's NUL-terminated bytes in the environment (or
    // null), which are ours to overwrite before the variable is removed.
    unsafe {
        let at = libc::getenv(cname.as_ptr());
        if !at.is_null() {
            let len = libc::strlen(at);
            std::ptr::write_bytes(at, b'*', len);
        }
    }
    std::env::remove_var(name);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_taken_out_of_the_environment() {
        // Tests run in threads: this one's name is its own.
        std::env::set_var("PGPASSFILE", "/secret/file");
        assert_eq!(scrub("PGPASSFILE").as_deref(), Some("/secret/file"));
        assert!(std::env::var_os("PGPASSFILE").is_none());
        assert_eq!(scrub("PGPASSFILE"), None);
    }
}
