//! The options of a syz program (syzkaller's `csource.Options`): from the
//! program's options comment line or from the dashboard's `repro-opts`
//! file, in the JSON form of current syzkaller or the Go-struct-like form
//! of old programs.
//!
//! ```text
//! #{"threaded":true,"repeat":true,"procs":1,"slowdown":1,"sandbox":"none","sandbox_arg":0,"tun":true}
//! #{Threaded:true Collide:true Repeat:true RepeatTimes:0 Procs:1 Slowdown:1 Sandbox:none Fault:false FaultCall:-1 FaultNth:0 EnableTun:true}
//! ```
//!
//! Keys culprit does not use (`tun`, `netdev`, `EnableTun`...) are
//! accepted and ignored; a value of the wrong type or a field that is not
//! `Key:value` is an error naming it.

use std::path::{Path, PathBuf};

/// What syz-execprog needs of a program's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyzOptions {
    /// Each call in a thread of its own.
    pub threaded: bool,
    /// Old programs: run calls in pairs to provoke races (deprecated).
    pub collide: bool,
    /// Run the program again and again.
    pub repeat: bool,
    /// With `repeat`: this many times (0: until stopped).
    pub repeat_times: u64,
    /// Processes running the program in parallel (at least 1).
    pub procs: u32,
    /// How much slower than native the machine is (at least 1).
    pub slowdown: u32,
    /// The sandbox (`none`, `setuid`, `namespace`, `android`); old
    /// programs may leave it empty, which syzbot runs as `none`.
    pub sandbox: String,
    /// The sandbox's argument.
    pub sandbox_arg: i64,
    /// Old programs: inject a fault.
    pub fault: bool,
    /// With `fault`: into this call (0-based; -1: none).
    pub fault_call: i64,
    /// With `fault`: at this operation of the call.
    pub fault_nth: i64,
}

impl Default for SyzOptions {
    /// For a program without options: threaded, repeated, one proc, no sandbox.
    fn default() -> Self {
        SyzOptions {
            threaded: true,
            collide: false,
            repeat: true,
            repeat_times: 0,
            procs: 1,
            slowdown: 1,
            sandbox: "none".into(),
            sandbox_arg: 0,
            fault: false,
            fault_call: -1,
            fault_nth: 0,
        }
    }
}

/// Why options cannot be read. Each message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    /// Not `{...}` at all.
    #[error("syz options: expected {{...}}, got {0:?}")]
    NotBraced(String),
    /// Starts like JSON but is no JSON object.
    #[error("syz options: not valid JSON: {0}")]
    Json(String),
    /// A field of the old form that is not `Key:value`.
    #[error("syz options: {0:?} is not Key:value")]
    BadField(String),
    /// A known key with a value of the wrong type.
    #[error("syz options: {key}: expected {expected}, got {got}")]
    BadValue {
        /// The key as written.
        key: String,
        /// What it takes.
        expected: &'static str,
        /// The value as written.
        got: String,
    },
}

/// Where a program's options came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionsSource {
    /// A separate file (the dashboard's `repro-opts`).
    File(PathBuf),
    /// The program's own options comment line.
    Program,
    /// Neither: [`SyzOptions::default`].
    Default,
}

/// Why a syz program's options cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum ProgramOptionsError {
    /// A file cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file's options are malformed.
    #[error("{}: {error}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        error: OptionsError,
    },
}

impl SyzOptions {
    /// Parses options in either form; a leading `#` and surrounding
    /// blanks are allowed.
    pub fn parse(text: &str) -> Result<SyzOptions, OptionsError> {
        let text = text.trim();
        let text = text.strip_prefix('#').unwrap_or(text).trim();
        let inner = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| OptionsError::NotBraced(shorten(text)))?;
        let first = inner.trim_start().chars().next();
        if matches!(first, Some('"') | None) {
            parse_json(text)
        } else {
            parse_go(inner)
        }
    }

    /// The options comment line of a syz program (the first comment whose
    /// text starts with `{`), parsed; `None` if it has none.
    pub fn from_program(program: &str) -> Result<Option<SyzOptions>, OptionsError> {
        let line = program.lines().find_map(|line| {
            let comment = line.trim_start().strip_prefix('#')?;
            comment.trim_start().starts_with('{').then_some(comment)
        });
        line.map(SyzOptions::parse).transpose()
    }

    /// The options of `program`: from `options_file` when given (the
    /// dashboard's `repro-opts`), else from the program's comment line,
    /// else the defaults; and where they came from.
    pub fn load(
        program: &Path,
        options_file: Option<&Path>,
    ) -> Result<(SyzOptions, OptionsSource), ProgramOptionsError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| ProgramOptionsError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let malformed = |path: &Path| {
            let path = path.to_owned();
            move |error| ProgramOptionsError::Malformed { path, error }
        };
        if let Some(file) = options_file {
            let options = SyzOptions::parse(&read(file)?).map_err(malformed(file))?;
            return Ok((options, OptionsSource::File(file.to_owned())));
        }
        let found = SyzOptions::from_program(&read(program)?).map_err(malformed(program))?;
        Ok(match found {
            Some(options) => (options, OptionsSource::Program),
            None => (SyzOptions::default(), OptionsSource::Default),
        })
    }

    /// The options syzbot runs a reproducer with when bisecting: repeated.
    pub fn for_bisection(mut self) -> SyzOptions {
        self.repeat = true;
        self
    }

    /// execprog's `-repeat`: 0 (until stopped) when repeating without a
    /// count, the count when there is one, 1 without repeat.
    pub fn repeat_count(&self) -> u64 {
        match (self.repeat, self.repeat_times) {
            (false, _) => 1,
            (true, times) => times,
        }
    }

    /// The sandbox to run with: `none` where the options leave it empty.
    pub fn sandbox_or_none(&self) -> &str {
        match self.sandbox.as_str() {
            "" => "none",
            sandbox => sandbox,
        }
    }
}

/// What the options of both forms start from: Go's zero values, but one
/// proc and no slowdown (syzkaller reads a missing slowdown as 1).
fn zero() -> SyzOptions {
    SyzOptions {
        threaded: false,
        collide: false,
        repeat: false,
        repeat_times: 0,
        procs: 1,
        slowdown: 1,
        sandbox: String::new(),
        sandbox_arg: 0,
        fault: false,
        fault_call: -1,
        fault_nth: 0,
    }
}

/// One known option: how to store a value into [`SyzOptions`].
enum Field {
    Bool(fn(&mut SyzOptions, bool)),
    Int(fn(&mut SyzOptions, i64) -> bool),
    Text(fn(&mut SyzOptions, String)),
}

/// The field a key names (JSON and Go-form names alike), if culprit uses it.
fn field(key: &str) -> Option<Field> {
    use Field::*;
    Some(match key {
        "threaded" | "Threaded" => Bool(|o, v| o.threaded = v),
        "collide" | "Collide" => Bool(|o, v| o.collide = v),
        "repeat" | "Repeat" => Bool(|o, v| o.repeat = v),
        "fault" | "Fault" => Bool(|o, v| o.fault = v),
        "repeat_times" | "RepeatTimes" => Int(|o, v| set(&mut o.repeat_times, v)),
        // syzkaller runs at least one proc and no faster than native.
        "procs" | "Procs" => Int(|o, v| v >= 0 && set(&mut o.procs, v.max(1))),
        "slowdown" | "Slowdown" => Int(|o, v| v >= 0 && set(&mut o.slowdown, v.max(1))),
        "sandbox_arg" | "SandboxArg" => Int(|o, v| {
            o.sandbox_arg = v;
            true
        }),
        "fault_call" | "FaultCall" => Int(|o, v| {
            o.fault_call = v;
            true
        }),
        "fault_nth" | "FaultNth" => Int(|o, v| {
            o.fault_nth = v;
            true
        }),
        "sandbox" | "Sandbox" => Text(|o, v| o.sandbox = v),
        _ => return None,
    })
}

/// Stores `value` if it fits the field's type.
fn set<T: TryFrom<i64>>(slot: &mut T, value: i64) -> bool {
    T::try_from(value).map(|v| *slot = v).is_ok()
}

fn parse_json(text: &str) -> Result<SyzOptions, OptionsError> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|e| OptionsError::Json(e.to_string()))?;
    let mut options = zero();
    for (key, value) in &map {
        let bad = |expected| OptionsError::BadValue {
            key: key.clone(),
            expected,
            got: value.to_string(),
        };
        match field(key) {
            None => {}
            Some(Field::Bool(store)) => {
                store(&mut options, value.as_bool().ok_or(bad("true or false"))?)
            }
            Some(Field::Int(store)) => {
                let n = value.as_i64().ok_or(bad("an integer"))?;
                if !store(&mut options, n) {
                    return Err(bad("a non-negative integer"));
                }
            }
            Some(Field::Text(store)) => store(
                &mut options,
                value.as_str().ok_or(bad("a string"))?.to_owned(),
            ),
        }
    }
    Ok(options)
}

/// `Key:value Key:value ...` (the text between the braces).
fn parse_go(inner: &str) -> Result<SyzOptions, OptionsError> {
    let mut options = zero();
    for token in inner.split_whitespace() {
        let (key, value) = token
            .split_once(':')
            .filter(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
            .ok_or_else(|| OptionsError::BadField(token.to_owned()))?;
        let bad = |expected| OptionsError::BadValue {
            key: key.to_owned(),
            expected,
            got: format!("{value:?}"),
        };
        match field(key) {
            None => {}
            Some(Field::Bool(store)) => match value {
                "true" => store(&mut options, true),
                "false" => store(&mut options, false),
                _ => return Err(bad("true or false")),
            },
            Some(Field::Int(store)) => {
                let n: i64 = value.parse().map_err(|_| bad("an integer"))?;
                if !store(&mut options, n) {
                    return Err(bad("a non-negative integer"));
                }
            }
            Some(Field::Text(store)) => store(&mut options, value.to_owned()),
        }
    }
    Ok(options)
}

/// At most 60 characters of `text`, for a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"#{"threaded":true,"repeat":true,"procs":6,"slowdown":1,"sandbox":"namespace","sandbox_arg":0,"tun":true,"netdev":true,"resetnet":true,"cgroups":true,"binfmt_misc":true,"close_fds":true,"usb":true,"vhci":true,"wifi":true,"ieee802154":true,"sysctl":true,"swap":true,"tmpdir":true,"segv":true}"#;
    const GO: &str = "#{Threaded:true Collide:true Repeat:true RepeatTimes:0 Procs:1 Slowdown:1 Sandbox:none Fault:false FaultCall:-1 FaultNth:0 Leak:false NetInjection:true NetDevices:true NetReset:true Cgroups:true BinfmtMisc:true CloseFDs:true KCSAN:false DevlinkPCI:false USB:false VhciInjection:false Wifi:false IEEE802154:false Sysctl:false UseTmpDir:true HandleSegv:true Repro:false Trace:false}";
    /// The oldest form: no slowdown, an empty sandbox, fault injection.
    const GO_OLD: &str = "{Threaded:false Collide:false Repeat:true Procs:8 Sandbox: Fault:true FaultCall:2 FaultNth:13 EnableTun:false UseTmpDir:false HandleSegv:false WaitRepeat:false Debug:false Repro:false}";

    #[test]
    fn json_options_with_unknown_keys() {
        let o = SyzOptions::parse(JSON).unwrap();
        assert!(o.threaded && o.repeat && !o.collide && !o.fault);
        assert_eq!((o.procs, o.slowdown, o.repeat_times), (6, 1, 0));
        assert_eq!((o.sandbox.as_str(), o.sandbox_arg), ("namespace", 0));
    }

    #[test]
    fn json_options_missing_keys_take_go_zero_values() {
        let o = SyzOptions::parse(r#"{"repeat":true,"repeat_times":5,"sandbox":""}"#).unwrap();
        assert!(!o.threaded && o.repeat);
        assert_eq!((o.repeat_times, o.procs, o.slowdown), (5, 1, 1));
        assert_eq!(o.sandbox_or_none(), "none");
        assert_eq!(SyzOptions::parse("{}").unwrap(), zero());
    }

    #[test]
    fn go_struct_options_current_and_old() {
        let o = SyzOptions::parse(GO).unwrap();
        assert!(o.threaded && o.collide && o.repeat && !o.fault);
        assert_eq!((o.procs, o.fault_call, o.sandbox.as_str()), (1, -1, "none"));
        let old = SyzOptions::parse(GO_OLD).unwrap();
        assert!(!old.threaded && old.repeat && old.fault);
        assert_eq!((old.procs, old.slowdown), (8, 1));
        assert_eq!((old.fault_call, old.fault_nth), (2, 13));
        assert_eq!(old.sandbox, "");
        assert_eq!(old.sandbox_or_none(), "none");
    }

    #[test]
    fn malformed_options_name_what_is_wrong() {
        let cases = [
            ("threaded:true", "expected {...}"),
            (r#"{"procs":"x"}"#, "procs: expected an integer, got \"x\""),
            (
                r#"{"threaded":1}"#,
                "threaded: expected true or false, got 1",
            ),
            (r#"{"procs":-2}"#, "procs: expected a non-negative integer"),
            (r#"{"sandbox":3}"#, "sandbox: expected a string"),
            (r#"{"procs":1,}"#, "not valid JSON"),
            (
                "{Threaded:yes Procs:1}",
                "Threaded: expected true or false, got \"yes\"",
            ),
            ("{Threaded:true Procs:many}", "Procs: expected an integer"),
            ("{Threaded:true garbage}", "\"garbage\" is not Key:value"),
            ("{Threaded:true :x}", "\":x\" is not Key:value"),
        ];
        for (text, expected) in cases {
            let message = SyzOptions::parse(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.starts_with("syz options: "), "{message}");
        }
    }

    #[test]
    fn repeat_count_follows_repeat_and_repeat_times() {
        let mut o = zero();
        assert_eq!(o.repeat_count(), 1);
        o.repeat = true;
        assert_eq!(o.repeat_count(), 0);
        o.repeat_times = 7;
        assert_eq!(o.repeat_count(), 7);
        o.repeat = false;
        assert_eq!(o.repeat_count(), 1);
        assert_eq!(o.for_bisection().repeat_count(), 7);
        assert_eq!(zero().for_bisection().repeat_count(), 0);
    }

    #[test]
    fn options_line_is_found_among_the_comments() {
        let program = format!(
            "# https://syzkaller.appspot.com/bug?id=1\n# See the docs.\n{JSON}\nr0 = getpid()\n"
        );
        let o = SyzOptions::from_program(&program).unwrap().unwrap();
        assert_eq!(o.procs, 6);
        assert_eq!(SyzOptions::from_program("getpid()\n").unwrap(), None);
        let bad = SyzOptions::from_program("#{\"procs\":true}\ngetpid()\n").unwrap_err();
        assert!(bad.to_string().contains("procs"), "{bad}");
    }

    #[test]
    fn a_separate_options_file_wins_over_the_program() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("repro.syz");
        let opts = dir.path().join("repro-opts");
        std::fs::write(&program, format!("{JSON}\ngetpid()\n")).unwrap();
        std::fs::write(&opts, format!("{GO_OLD}\n")).unwrap();
        let (o, source) = SyzOptions::load(&program, Some(&opts)).unwrap();
        assert_eq!((o.procs, source), (8, OptionsSource::File(opts.clone())));
        let (o, source) = SyzOptions::load(&program, None).unwrap();
        assert_eq!((o.procs, source), (6, OptionsSource::Program));
        std::fs::write(&program, "getpid()\n").unwrap();
        let (o, source) = SyzOptions::load(&program, None).unwrap();
        assert_eq!((o, source), (SyzOptions::default(), OptionsSource::Default));
        std::fs::write(&opts, "{Procs:x}").unwrap();
        let err = SyzOptions::load(&program, Some(&opts))
            .unwrap_err()
            .to_string();
        assert!(err.contains("repro-opts: syz options: Procs"), "{err}");
        let err = SyzOptions::load(&dir.path().join("none.syz"), None).unwrap_err();
        assert!(err.to_string().contains("none.syz"), "{err}");
    }
}
