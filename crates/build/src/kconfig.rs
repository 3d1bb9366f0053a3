//! Kernel configurations: `.config` values, their normalisation by the
//! kernel's own `make olddefconfig`, and which option depends on which
//! (read from the tree's Kconfig files).
//!
//! # What reads Kconfig, and why
//! - Values: a `.config` is a list of `CONFIG_X=VALUE` and
//!   `# CONFIG_X is not set` lines; [`KernelConfig`] reads and writes them
//!   (what `scripts/config` does, without a process per edit).
//! - Meaning: only the kernel's own `conf` knows every rule of the Kconfig
//!   language at every release (defaults, selects, choices, ranges, the
//!   compiler tests of `$(cc-option)`), so every config culprit builds is
//!   completed by `make olddefconfig` at the commit built
//!   ([`olddefconfig`], or [`crate::KernelRecipe::configure`]).
//! - Structure: which options an option depends on is not something
//!   `make` can print. [`DependencyGraph`] reads it from the Kconfig files
//!   with `nom-kconfig`, a maintained parser tested by its authors on every
//!   kernel release from 2.6.11 to 6.4 (so on the releases culprit builds);
//!   it only parses, and only the `depends on` of entries and of their
//!   enclosing `if`, `menu` and `choice` blocks, and the prompts, are used.
//!   Symbols under `||` all count as dependencies, and negated ones (`!X`)
//!   do not: an over-approximation that can only add options that are on
//!   in the full config anyway.

use crate::signature;
use nom_kconfig::attribute::expression::CompareOperand;
use nom_kconfig::attribute::r#type::Type;
use nom_kconfig::attribute::{AndExpression, Atom, Attribute, Expression, OrExpression, Term};
use nom_kconfig::{Entry, KconfigFile, KconfigInput, Symbol};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Why a config could not be read, completed or understood.
#[derive(Debug, thiserror::Error)]
pub enum KconfigError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `make olddefconfig` failed.
    #[error("make olddefconfig in {}: {detail}", tree.display())]
    Olddefconfig {
        /// The kernel tree.
        tree: PathBuf,
        /// The last lines of its output.
        detail: String,
    },
    /// The Kconfig files do not parse.
    #[error("Kconfig in {}: {detail}", tree.display())]
    Parse {
        /// The kernel tree.
        tree: PathBuf,
        /// The parser's message.
        detail: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KconfigError + '_ {
    move |source| KconfigError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The values of a `.config`, by option name without the `CONFIG_`
/// prefix: `y`, `m`, `n` (not set), a number or a quoted string. In JSON,
/// its `.config` text.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "String", into = "String")]
pub struct KernelConfig {
    values: BTreeMap<String, String>,
}

impl KernelConfig {
    /// Reads `.config` text; lines that set nothing are ignored.
    pub fn parse(text: &str) -> KernelConfig {
        let mut values = BTreeMap::new();
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("CONFIG_") {
                if let Some((name, value)) = rest.split_once('=') {
                    values.insert(name.to_string(), value.to_string());
                }
            } else if let Some(name) = line
                .strip_prefix("# CONFIG_")
                .and_then(|rest| rest.strip_suffix(" is not set"))
            {
                values.insert(name.to_string(), "n".to_string());
            }
        }
        KernelConfig { values }
    }

    /// Reads a `.config` file.
    pub fn read(path: &Path) -> Result<KernelConfig, KconfigError> {
        let text = std::fs::read_to_string(path).map_err(io_error(path))?;
        Ok(KernelConfig::parse(&text))
    }

    /// The value of `name` (without `CONFIG_`), if the config mentions it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// True when `name` is `y` or `m`.
    pub fn is_enabled(&self, name: &str) -> bool {
        matches!(self.get(name), Some("y" | "m"))
    }

    /// Every option set to `y` or `m`.
    pub fn enabled(&self) -> BTreeSet<String> {
        self.values
            .iter()
            .filter(|(_, v)| matches!(v.as_str(), "y" | "m"))
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Sets `name` to `value` (`n` writes `# CONFIG_X is not set`).
    pub fn set(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_string(), value.to_string());
    }

    /// Every option with its value, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `.config` text, one line per option, sorted by name (the same
    /// values always give the same text).
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for (name, value) in &self.values {
            match value.as_str() {
                "n" => text.push_str(&format!("# CONFIG_{name} is not set\n")),
                _ => text.push_str(&format!("CONFIG_{name}={value}\n")),
            }
        }
        text
    }

    /// Writes [`KernelConfig::to_text`] to `path`.
    pub fn write(&self, path: &Path) -> Result<(), KconfigError> {
        std::fs::write(path, self.to_text()).map_err(io_error(path))
    }

    /// SHA-256 of [`KernelConfig::to_text`].
    pub fn hash(&self) -> String {
        signature::bytes_signature(self.to_text().as_bytes())
    }
}

impl From<String> for KernelConfig {
    fn from(text: String) -> Self {
        KernelConfig::parse(&text)
    }
}

impl From<KernelConfig> for String {
    fn from(config: KernelConfig) -> Self {
        config.to_text()
    }
}

/// Completes `config` with `make olddefconfig` in the kernel tree `tree`
/// (its checked-out commit's Kconfig), without touching the tree's own
/// `.config`: the config is written to `scratch` and named by
/// `KCONFIG_CONFIG`. `make_vars` are the build's `make` variables
/// (`ARCH=`, `CC=`...: the compiler decides options such as `CC_IS_GCC`);
/// see [`crate::KernelRecipe::kconfig_variables`].
pub fn olddefconfig(
    tree: &Path,
    config: &KernelConfig,
    make_vars: &[String],
    scratch: &Path,
) -> Result<KernelConfig, KconfigError> {
    let scratch = std::path::absolute(scratch).unwrap_or_else(|_| scratch.to_path_buf());
    config.write(&scratch)?;
    let output = Command::new("make")
        .current_dir(tree)
        .args(make_vars)
        .arg("olddefconfig")
        .env("KCONFIG_CONFIG", &scratch)
        .env("LC_ALL", "C")
        .output()
        .map_err(io_error(tree))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout);
        return Err(KconfigError::Olddefconfig {
            tree: tree.to_path_buf(),
            detail: crate::run::tail_of_text(&text, 10),
        });
    }
    KernelConfig::read(&scratch)
}

/// What a kernel needs, beyond `make tinyconfig`, to boot in QEMU on a
/// serial console and run culprit's busybox initramfs, report a crash and
/// stop: the smallest config worth trying a crash with.
pub const BOOT_ESSENTIALS: &[&str] = &[
    "64BIT",
    "PRINTK",
    "PRINTK_TIME",
    "BUG",
    "DEBUG_BUGVERBOSE",
    "KALLSYMS",
    "TTY",
    "SERIAL_8250",
    "SERIAL_8250_CONSOLE",
    "BLK_DEV_INITRD",
    "RD_GZIP",
    "BINFMT_ELF",
    "BINFMT_SCRIPT",
    "PROC_FS",
    "PROC_SYSCTL",
    "SYSFS",
    "DEVTMPFS",
    "DEVTMPFS_MOUNT",
    "TMPFS",
    "SHMEM",
    "FUTEX",
    "EPOLL",
    "SIGNALFD",
    "TIMERFD",
    "EVENTFD",
    "POSIX_TIMERS",
    "MULTIUSER",
    "FILE_LOCKING",
    "SYSVIPC",
    "FRAME_POINTER",
    "UNWINDER_FRAME_POINTER",
    "STACKTRACE",
];

/// `make tinyconfig` with [`BOOT_ESSENTIALS`] on, completed by
/// `olddefconfig`, at the commit checked out in `tree` (its own `.config`
/// untouched: the config is made in `scratch`).
pub fn bootable_tinyconfig(
    tree: &Path,
    make_vars: &[String],
    scratch: &Path,
) -> Result<KernelConfig, KconfigError> {
    let scratch = std::path::absolute(scratch).unwrap_or_else(|_| scratch.to_path_buf());
    let output = Command::new("make")
        .current_dir(tree)
        .args(make_vars)
        .arg("tinyconfig")
        .env("KCONFIG_CONFIG", &scratch)
        .env("LC_ALL", "C")
        .output()
        .map_err(io_error(tree))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stderr).into_owned()
            + &String::from_utf8_lossy(&output.stdout);
        return Err(KconfigError::Olddefconfig {
            tree: tree.to_path_buf(),
            detail: crate::run::tail_of_text(&text, 10),
        });
    }
    let mut config = KernelConfig::read(&scratch)?;
    for option in BOOT_ESSENTIALS {
        config.set(option, "y");
    }
    olddefconfig(tree, &config, make_vars, &scratch)
}

/// Which option depends on which, and which options a user can set (have
/// a prompt), as read from a tree's Kconfig files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencyGraph {
    depends: BTreeMap<String, BTreeSet<String>>,
    prompted: BTreeSet<String>,
}

impl DependencyGraph {
    /// Reads `Kconfig` at the top of `tree` and every file it sources, for
    /// the architecture `srcarch` (`x86`).
    pub fn from_tree(tree: &Path, srcarch: &str) -> Result<DependencyGraph, KconfigError> {
        let parse_error = |detail: String| KconfigError::Parse {
            tree: tree.to_path_buf(),
            detail,
        };
        let vars: HashMap<&str, &str> = [("SRCARCH", srcarch), ("ARCH", srcarch)].into();
        let file = KconfigFile::new_with_vars(
            tree.to_path_buf(),
            tree.join("Kconfig"),
            &vars,
            &HashMap::new(),
        );
        let text = file
            .read_to_string()
            .map_err(io_error(&tree.join("Kconfig")))?;
        let (_, parsed) = nom_kconfig::parse_kconfig(KconfigInput::new_extra(&text, file))
            .map_err(|e| parse_error(first_line(&e.to_string())))?;
        let mut graph = DependencyGraph::default();
        graph.walk(&parsed.entries, &BTreeSet::new());
        if graph.depends.is_empty() {
            return Err(parse_error("no config entries found".into()));
        }
        Ok(graph)
    }

    /// A graph from `(option, what it depends on)` pairs, every option
    /// prompted (for tests and for graphs known otherwise).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a [&'a str])>) -> Self {
        let mut graph = DependencyGraph::default();
        for (name, deps) in pairs {
            let entry = graph.depends.entry(name.to_string()).or_default();
            entry.extend(deps.iter().map(|d| d.to_string()));
            graph.prompted.insert(name.to_string());
        }
        graph
    }

    /// How many options the graph knows.
    pub fn len(&self) -> usize {
        self.depends.len()
    }

    /// True when the graph knows no option.
    pub fn is_empty(&self) -> bool {
        self.depends.is_empty()
    }

    /// The options `name` depends on directly.
    pub fn direct(&self, name: &str) -> impl Iterator<Item = &str> {
        self.depends
            .get(name)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// True when a user can set `name` (it has a prompt). Unknown options
    /// count as settable.
    pub fn has_prompt(&self, name: &str) -> bool {
        !self.depends.contains_key(name) || self.prompted.contains(name)
    }

    /// `names` and everything they depend on, transitively, kept to the
    /// options in `within` (the options on in the full config).
    pub fn closure(&self, names: &BTreeSet<String>, within: &BTreeSet<String>) -> BTreeSet<String> {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut stack: Vec<&str> = names.iter().map(String::as_str).collect();
        while let Some(name) = stack.pop() {
            if !seen.insert(name.to_string()) {
                continue;
            }
            stack.extend(self.direct(name).filter(|d| within.contains(*d)));
        }
        seen
    }

    /// The leaves of `candidates`: the settable ones that no other
    /// candidate depends on, directly or through other candidates.
    pub fn leaves(&self, candidates: &BTreeSet<String>) -> BTreeSet<String> {
        let mut depended: BTreeSet<String> = BTreeSet::new();
        for name in candidates {
            let one = BTreeSet::from([name.clone()]);
            let mut below = self.closure(&one, candidates);
            below.remove(name);
            depended.extend(below);
        }
        candidates
            .iter()
            .filter(|c| !depended.contains(*c) && self.has_prompt(c))
            .cloned()
            .collect()
    }

    fn walk(&mut self, entries: &[Entry], context: &BTreeSet<String>) {
        for entry in entries {
            match entry {
                Entry::Config(config) | Entry::MenuConfig(config) => {
                    let deps = self.depends.entry(config.symbol.clone()).or_default();
                    deps.extend(context.iter().cloned());
                    for attribute in &config.attributes {
                        match attribute {
                            Attribute::DependsOn(d) => symbols_of(&d.expression, false, deps),
                            Attribute::Prompt(_) => {
                                self.prompted.insert(config.symbol.clone());
                            }
                            Attribute::Type(t) if type_has_prompt(&t.r#type) => {
                                self.prompted.insert(config.symbol.clone());
                            }
                            _ => {}
                        }
                    }
                }
                Entry::If(block) => {
                    let mut inner = context.clone();
                    symbols_of(&block.condition, false, &mut inner);
                    self.walk(&block.entries, &inner);
                }
                Entry::Menu(menu) => {
                    let mut inner = context.clone();
                    for d in &menu.depends_on {
                        symbols_of(&d.expression, false, &mut inner);
                    }
                    self.walk(&menu.entries, &inner);
                }
                Entry::Choice(choice) => {
                    let mut inner = context.clone();
                    for attribute in &choice.options {
                        if let Attribute::DependsOn(d) = attribute {
                            symbols_of(&d.expression, false, &mut inner);
                        }
                    }
                    self.walk(&choice.entries, &inner);
                }
                Entry::Source(source) => {
                    for file in &source.kconfigs {
                        self.walk(&file.entries, context);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The non-negated symbols of a dependency expression.
fn symbols_of(expression: &Expression, negated: bool, out: &mut BTreeSet<String>) {
    let ands: Vec<&AndExpression> = match expression {
        OrExpression::Term(and) => vec![and],
        OrExpression::Expression(ands) => ands.iter().collect(),
    };
    for and in ands {
        let terms: Vec<&Term> = match and {
            AndExpression::Term(term) => vec![term],
            AndExpression::Expression(terms) => terms.iter().collect(),
        };
        for term in terms {
            let (atom, negated) = match term {
                Term::Not(atom) => (atom, !negated),
                Term::Atom(atom) => (atom, negated),
            };
            match atom {
                Atom::Parenthesis(inner) => symbols_of(inner, negated, out),
                _ if negated => {}
                Atom::Symbol(Symbol::NonConstant(name)) => {
                    out.insert(name.clone());
                }
                Atom::Compare(compare) => {
                    if let CompareOperand::Symbol(Symbol::NonConstant(name)) = &compare.left {
                        out.insert(name.clone());
                    }
                }
                _ => {}
            }
        }
    }
}

/// `bool "prompt"`, `tristate "prompt"`...: a type with its prompt.
fn type_has_prompt(kind: &Type) -> bool {
    matches!(
        kind,
        Type::Bool(Some(_))
            | Type::Tristate(Some(_))
            | Type::String(Some(_))
            | Type::Hex(Some(_))
            | Type::Int(Some(_))
    )
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_text_round_trips_and_reads_unset_lines() {
        let text = "# comment\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=\"x y\"\nCONFIG_D=m\n";
        let config = KernelConfig::parse(text);
        assert_eq!(config.get("B"), Some("n"));
        assert_eq!(config.get("C"), Some("\"x y\""));
        assert!(config.is_enabled("D") && !config.is_enabled("B"));
        assert_eq!(config.enabled().into_iter().collect::<Vec<_>>(), ["A", "D"]);
        assert_eq!(KernelConfig::parse(&config.to_text()), config);
    }

    #[test]
    fn leaves_are_what_no_other_candidate_needs() {
        let graph = DependencyGraph::from_pairs([
            ("NET", &[][..]),
            ("INET", &["NET"][..]),
            ("TCP_CONG", &["INET"][..]),
            ("USB", &[][..]),
        ]);
        let candidates: BTreeSet<String> =
            ["NET", "INET", "TCP_CONG", "USB"].map(String::from).into();
        let leaves: Vec<_> = graph.leaves(&candidates).into_iter().collect();
        assert_eq!(leaves, ["TCP_CONG", "USB"]);
        let one = BTreeSet::from(["TCP_CONG".to_string()]);
        let within: BTreeSet<String> = ["NET", "INET", "TCP_CONG"].map(String::from).into();
        let closure: Vec<_> = graph.closure(&one, &within).into_iter().collect();
        assert_eq!(closure, ["INET", "NET", "TCP_CONG"]);
    }
}
