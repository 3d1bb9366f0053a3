//! The files a kernel build read, from kbuild's own records, and whether a
//! commit's changed paths can change the kernel built from them.
//!
//! # Where the set comes from
//! After a successful build, every target kbuild made has a `.TARGET.cmd`
//! file next to it (objects, `built-in.a`, `vmlinux`, generated headers,
//! host programs, objtool's objects under `tools/`). [`BuildDeps::from_tree`]
//! reads all of them, and the `.*.d` files that some builds leave:
//! - `source_T := FILE`: the file compiled, *named* on the command line;
//! - `deps_T := ...`: what the preprocessor *included* (headers, `.c` and
//!   `.S` files included by others, linker-script parts). `$(wildcard
//!   include/config/SYMBOL)` entries are config-symbol dependencies, not
//!   files, and are skipped;
//! - `cmd_T := COMMAND` (`savedcmd_T` in newer kernels): every word of the
//!   command that names a file of the tree counts as named. This catches
//!   inputs of rules without a dependency list, such as the syscall tables
//!   (`scripts/syscalltbl.sh ... syscall_64.tbl`).
//!
//! Paths are made relative to the tree. Absolute paths outside it (system
//! and compiler headers) are dropped: the compiler's identity belongs to
//! the build key (see [`crate::store`]), not to the tree. A relative path
//! that exists neither from the top of the tree nor from the `.cmd` file's
//! directory (the `tools/` builds run `make -C` in other directories) counts
//! as every file of the tree whose path ends with it.
//!
//! # When a commit is relevant
//! [`BuildDeps::relevant`] says whether a commit that changes `paths` (both
//! sides of renames, deletions included) can change the build. A path
//! counts as relevant when:
//! 1. the set is empty: deps were never computed, nothing is known;
//! 2. the build read it (named or included);
//! 3. it belongs to the build system, which decides *what* is read: every
//!    `Kconfig*`, `Makefile*`, `Kbuild*` and `Build` (the `tools/` build)
//!    file anywhere, everything under `scripts/`, and every top-level file
//!    except a few that only people read (`COPYING`, `CREDITS`,
//!    `MAINTAINERS`, `README`, git's own dot-files);
//! 4. it could shadow an included file: a header added in a directory that
//!    is searched (an `-I` directory of a recorded command, or the
//!    directory of a file the build read, where `#include "..."` looks
//!    first) is found before the one found so far, without any other file
//!    changing; so a path `DIR/REST` counts when `DIR` is searched and some
//!    included file ends with `/REST` (an `arch/x86/include/asm/foo.h` that
//!    shadows the generated `asm-generic` wrapper
//!    `arch/x86/include/generated/asm/foo.h`). Only `#include "../x.h"`
//!    whose nearer candidate did not exist escapes this.
//!
//! Anything else cannot change the build: a file that was not read, and is
//! not a build-system file, is only read after a change to a build-system
//! file (a new `.c` needs a Makefile line) or to a file already read (a new
//! header needs an `#include`), and such a change is relevant by itself.
//!
//! # Which builds' deps judge which commit
//! The rule is exact for a commit whose parent's build read the same files
//! as the builds recorded here. An irrelevant commit leaves the set of
//! files read unchanged, so the deps of one build carry over along chains
//! of irrelevant commits, in both directions. Across a relevant commit they
//! may differ: a file built only between two recorded builds (added after
//! the older one, renamed or unhooked before the newer one) is in neither
//! set, and a commit that changes only that file would be called
//! irrelevant. [`BuildDeps::merge`] the deps of every build of a
//! bisection (both ends first) to keep that window small.
//!
//! Not seen at all: files read by Makefile logic (`$(wildcard)` of source
//! files, `$(shell cat ...)`) and `.incbin` of tracked files not named in a
//! command. Both are rare in the kernel and usually come with a Makefile.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Format version of the saved file; a file with another version is
/// refused rather than misread.
const FORMAT_VERSION: u32 = 1;

/// Top-level files that only people read.
const TOP_LEVEL_DOCS: [&str; 11] = [
    "COPYING",
    "CREDITS",
    "MAINTAINERS",
    "README",
    ".mailmap",
    ".gitignore",
    ".gitattributes",
    ".get_maintainer.ignore",
    ".clang-format",
    ".cocciconfig",
    ".rustfmt.toml",
];

/// Why deps could not be read, saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A saved deps file is not what [`BuildDeps::save`] writes.
    #[error("{}: not a deps file of this version ({detail})", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// `git ls-files` failed in the tree.
    #[error("git ls-files in {}: {detail}", tree.display())]
    Git {
        /// The tree.
        tree: PathBuf,
        /// git's message.
        detail: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DepsError + '_ {
    move |source| DepsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The tree-relative paths that kernel builds read (see the module
/// documentation for what counts and how it decides relevance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildDeps {
    version: u32,
    /// Files named on command lines (compiled sources, script inputs).
    named: BTreeSet<String>,
    /// Files the preprocessor included (found through a search path).
    included: BTreeSet<String>,
    /// Directories of `-I` (and `-iquote`, `-isystem`, `-idirafter`)
    /// options, for rule 4.
    search_dirs: BTreeSet<String>,
    /// Every proper suffix (after a `/`) of the `included` paths: the
    /// `#include` strings that could have found them (rule 4).
    #[serde(skip)]
    included_suffixes: HashSet<String>,
    /// Directories of the files read: `#include "..."` searches there first.
    #[serde(skip)]
    includer_dirs: HashSet<String>,
}

impl Default for BuildDeps {
    fn default() -> Self {
        BuildDeps::new()
    }
}

impl BuildDeps {
    /// An empty set: nothing known, every commit counts as relevant.
    pub fn new() -> BuildDeps {
        BuildDeps {
            version: FORMAT_VERSION,
            named: BTreeSet::new(),
            included: BTreeSet::new(),
            search_dirs: BTreeSet::new(),
            included_suffixes: HashSet::new(),
            includer_dirs: HashSet::new(),
        }
    }

    /// Reads the dependency records that a finished build left in `tree`
    /// (the top of the kernel checkout, where `make` ran).
    pub fn from_tree(tree: &Path) -> Result<BuildDeps, DepsError> {
        let root = std::fs::canonicalize(tree).map_err(io_error(tree))?;
        let listing = walk(&root)?;
        let mut reader = Reader::new(&root, &listing);
        for record in &listing.records {
            let text = std::fs::read(root.join(record)).map_err(io_error(&root.join(record)))?;
            reader.read_record(record, &String::from_utf8_lossy(&text));
        }
        Ok(reader.finish())
    }

    /// True when nothing is known (no build recorded).
    pub fn is_empty(&self) -> bool {
        self.named.is_empty() && self.included.is_empty()
    }

    /// How many distinct files the builds read.
    pub fn len(&self) -> usize {
        self.named.union(&self.included).count()
    }

    /// True when a recorded build read `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.named.contains(path) || self.included.contains(path)
    }

    /// Every file read, sorted.
    pub fn files(&self) -> BTreeSet<&str> {
        self.named
            .iter()
            .chain(&self.included)
            .map(String::as_str)
            .collect()
    }

    /// Adds the files another build read (deps of later builds, where new
    /// files appear).
    pub fn merge(&mut self, other: &BuildDeps) {
        for path in &other.named {
            self.add_named(path.clone());
        }
        for path in &other.included {
            self.add_included(path.clone());
        }
        self.search_dirs.extend(other.search_dirs.iter().cloned());
    }

    fn add_named(&mut self, path: String) {
        if let Some((dir, _)) = path.rsplit_once('/') {
            self.includer_dirs.insert(dir.to_string());
        }
        self.named.insert(path);
    }

    fn add_included(&mut self, path: String) {
        for (slash, _) in path.match_indices('/') {
            self.included_suffixes.insert(path[slash + 1..].to_string());
        }
        if let Some((dir, _)) = path.rsplit_once('/') {
            self.includer_dirs.insert(dir.to_string());
        }
        self.included.insert(path);
    }

    /// Rule 4: some directory above `path` is searched for includes, and
    /// the rest of the path is how an included file could have been named.
    fn could_shadow(&self, path: &str) -> bool {
        let mut end = path.len();
        while let Some(slash) = path[..end].rfind('/') {
            let dir = &path[..slash];
            let searched = self.search_dirs.contains(dir) || self.includer_dirs.contains(dir);
            if searched && self.included_suffixes.contains(&path[slash + 1..]) {
                return true;
            }
            end = slash;
        }
        false
    }

    /// False only when every path is known not to be an input of the build
    /// (rules in the module documentation); true for an empty list only if
    /// nothing is known.
    pub fn relevant(&self, changed_paths: &[String]) -> bool {
        self.is_empty() || changed_paths.iter().any(|p| self.relevant_path(p))
    }

    /// Whether a change to this one path can change the build (rules 2 to
    /// 4 of the module documentation; an empty set knows nothing and says
    /// true).
    pub fn relevant_path(&self, path: &str) -> bool {
        self.is_empty()
            || self.contains(path)
            || is_build_system_file(path)
            || self.could_shadow(path)
    }

    /// Writes the set to `path` as versioned JSON with sorted lists,
    /// atomically (a reader sees the old file or the new one).
    pub fn save(&self, path: &Path) -> Result<(), DepsError> {
        let mut saved = self.clone();
        saved.version = FORMAT_VERSION;
        let text = serde_json::to_vec(&saved).map_err(|e| io_error(path)(e.into()))?;
        let partial = path.with_extension(format!("partial.{}", std::process::id()));
        std::fs::write(&partial, text).map_err(io_error(&partial))?;
        std::fs::rename(&partial, path).map_err(io_error(path))
    }

    /// Reads a set written by [`BuildDeps::save`].
    pub fn load(path: &Path) -> Result<BuildDeps, DepsError> {
        let text = std::fs::read(path).map_err(io_error(path))?;
        let format = |detail: String| DepsError::Format {
            path: path.to_path_buf(),
            detail,
        };
        let loaded: BuildDeps = serde_json::from_slice(&text).map_err(|e| format(e.to_string()))?;
        if loaded.version != FORMAT_VERSION {
            return Err(format(format!("version {}", loaded.version)));
        }
        let mut deps = BuildDeps {
            search_dirs: loaded.search_dirs,
            ..BuildDeps::new()
        };
        for path in loaded.named {
            deps.add_named(path);
        }
        for path in loaded.included {
            deps.add_included(path);
        }
        Ok(deps)
    }
}

/// True for files that decide what the build reads (rule 3 of the module
/// documentation): `Kconfig*`, `Makefile*`, `Kbuild*`, `Build`, anything
/// under `scripts/`, and top-level files other than documentation.
pub fn is_build_system_file(path: &str) -> bool {
    let name = file_name(path);
    let build_name = ["Kconfig", "Makefile", "Kbuild"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || name == "Build";
    let top_level = !path.contains('/') && !TOP_LEVEL_DOCS.contains(&path);
    build_name || top_level || path.starts_with("scripts/")
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// How much of a tree the build depends on, for BENCHMARKS.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepsShare {
    /// Files git tracks in the tree.
    pub tracked: usize,
    /// Tracked files the build read.
    pub read: usize,
    /// Tracked files that are build-system files (rule 3), read or not.
    pub build_system: usize,
    /// Tracked files a change to which counts as relevant (rules 2 to 4).
    pub relevant: usize,
}

impl DepsShare {
    /// Counts over a list of tracked paths.
    pub fn of<'a>(tracked: impl IntoIterator<Item = &'a str>, deps: &BuildDeps) -> DepsShare {
        let mut share = DepsShare {
            tracked: 0,
            read: 0,
            build_system: 0,
            relevant: 0,
        };
        for path in tracked {
            share.tracked += 1;
            share.read += usize::from(deps.contains(path));
            share.build_system += usize::from(is_build_system_file(path));
            share.relevant += usize::from(deps.relevant_path(path));
        }
        share
    }

    /// Counts over the files `git ls-files` lists in `tree`.
    pub fn of_tree(tree: &Path, deps: &BuildDeps) -> Result<DepsShare, DepsError> {
        let tracked = tracked_files(tree)?;
        Ok(DepsShare::of(tracked.iter().map(String::as_str), deps))
    }

    /// `part` as a percentage of the tracked files.
    pub fn percent(&self, part: usize) -> f64 {
        100.0 * part as f64 / self.tracked.max(1) as f64
    }
}

/// The files git tracks in `tree` (its index), relative to the top.
pub fn tracked_files(tree: &Path) -> Result<Vec<String>, DepsError> {
    let git_error = |detail: String| DepsError::Git {
        tree: tree.to_path_buf(),
        detail,
    };
    let output = Command::new("git")
        .arg("-C")
        .arg(tree)
        .args(["ls-files", "-z", "--full-name"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .map_err(|e| git_error(e.to_string()))?;
    if !output.status.success() {
        return Err(git_error(
            String::from_utf8_lossy(&output.stderr).trim().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .split('\0')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect())
}

/// What a walk of the tree found.
struct Listing {
    /// Dependency records (`.*.cmd`, `.*.d`), relative to the root.
    records: Vec<String>,
    /// Every file, relative to the root.
    files: HashSet<String>,
}

/// Lists the tree's files, not following symlinked directories and not
/// entering `.git`.
fn walk(root: &Path) -> Result<Listing, DepsError> {
    let mut listing = Listing {
        records: Vec::new(),
        files: HashSet::new(),
    };
    let mut pending = vec![String::new()];
    while let Some(dir) = pending.pop() {
        let full = root.join(&dir);
        for entry in std::fs::read_dir(&full).map_err(io_error(&full))? {
            let entry = entry.map_err(io_error(&full))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            let kind = entry.file_type().map_err(io_error(&entry.path()))?;
            if kind.is_dir() {
                if name != ".git" {
                    pending.push(path);
                }
                continue;
            }
            if kind.is_file() && is_record_name(&name) {
                listing.records.push(path.clone());
            }
            listing.files.insert(path);
        }
    }
    listing.records.sort();
    Ok(listing)
}

/// `.foo.o.cmd`, `.foo.o.d`: kbuild's and the tools build's records.
fn is_record_name(name: &str) -> bool {
    name.starts_with('.') && (name.ends_with(".cmd") || name.ends_with(".d"))
}

/// Accumulates the paths named in records.
struct Reader<'a> {
    root_text: String,
    listing: &'a Listing,
    deps: BuildDeps,
    /// Paths that resolved nowhere, to match against path suffixes.
    unresolved: BTreeSet<String>,
    /// Command words already looked at (the same flags repeat everywhere).
    seen_words: HashSet<String>,
}

impl<'a> Reader<'a> {
    fn new(root: &Path, listing: &'a Listing) -> Reader<'a> {
        Reader {
            root_text: format!("{}/", root.display()),
            listing,
            deps: BuildDeps::new(),
            unresolved: BTreeSet::new(),
            seen_words: HashSet::new(),
        }
    }

    /// One `.cmd` or `.d` file, `record` being its path in the tree.
    fn read_record(&mut self, record: &str, text: &str) {
        let dir = record.rsplit_once('/').map_or("", |(dir, _)| dir);
        let mut in_list: Option<bool> = None; // Some(included?) inside a list
        for line in text.lines() {
            if let Some(included) = in_list {
                in_list = line.trim_end().ends_with('\\').then_some(included);
                self.list_line(dir, line, included);
                continue;
            }
            if let Some((head, value)) = line.split_once(":=") {
                let head = head.trim();
                if head.starts_with("deps_") {
                    in_list = value.trim_end().ends_with('\\').then_some(true);
                    self.list_line(dir, value, true);
                } else if head.starts_with("source_") {
                    self.list_line(dir, value, false);
                } else if head.starts_with("cmd_") || head.starts_with("savedcmd_") {
                    self.command(value);
                }
            } else if let Some((_, prerequisites)) = make_rule(line, record) {
                // A `.d` file: `target: prerequisites \`.
                in_list = prerequisites.trim_end().ends_with('\\').then_some(true);
                self.list_line(dir, prerequisites, true);
            }
        }
    }

    /// Paths of a dependency list line; `$(wildcard ...)` entries are
    /// config-symbol dependencies (or optional files) and are skipped.
    fn list_line(&mut self, dir: &str, line: &str, included: bool) {
        let line = line.trim().trim_end_matches('\\');
        if line.trim_start().starts_with("$(") {
            return;
        }
        for word in line.split_whitespace() {
            if let Some(path) = self.resolve(dir, word) {
                match included {
                    true => self.deps.add_included(path),
                    false => self.deps.add_named(path),
                }
            }
        }
    }

    /// Words of a command line that name files of the tree, and the
    /// include directories it searches.
    fn command(&mut self, command: &str) {
        let separators = |c: char| c.is_whitespace() || "'\";|&,=<>()`".contains(c);
        let mut dir_follows = false;
        for word in command.split(separators).filter(|w| !w.is_empty()) {
            if std::mem::take(&mut dir_follows) {
                self.search_dir(word);
                continue;
            }
            if let Some(dir) = include_dir_option(word) {
                match dir.is_empty() {
                    true => dir_follows = true,
                    false => self.search_dir(dir),
                }
                continue;
            }
            if word.starts_with('-') || !self.seen_words.insert(word.into()) {
                continue;
            }
            let Some(path) = self.in_tree(word) else {
                continue;
            };
            if self.listing.files.contains(&path) {
                self.deps.add_named(path);
            }
        }
    }

    fn search_dir(&mut self, word: &str) {
        if let Some(dir) = self.in_tree(word) {
            self.deps.search_dirs.insert(dir);
        }
    }

    /// The tree-relative path of a word from a dependency list, or `None`
    /// for a path outside the tree; relative paths that exist nowhere are
    /// kept for suffix matching.
    fn resolve(&mut self, dir: &str, word: &str) -> Option<String> {
        if word.starts_with('/') {
            return self.in_tree(word);
        }
        let from_top = normalize(word);
        if let Some(path) = from_top
            .as_ref()
            .filter(|p| self.listing.files.contains(*p))
        {
            return Some(path.clone());
        }
        let from_dir = normalize(&format!("{dir}/{word}"));
        if let Some(path) = from_dir.filter(|p| self.listing.files.contains(p)) {
            return Some(path);
        }
        self.unresolved.extend(from_top);
        None
    }

    /// A word as a normalized path relative to the root, `None` when it
    /// points outside.
    fn in_tree(&self, word: &str) -> Option<String> {
        let relative = match word.strip_prefix('/') {
            Some(_) => word.strip_prefix(self.root_text.as_str())?,
            None => word,
        };
        normalize(relative)
    }

    /// Adds every file whose path ends with an unresolved relative path.
    fn finish(mut self) -> BuildDeps {
        if !self.unresolved.is_empty() {
            let mut by_name: HashMap<&str, Vec<&String>> = HashMap::new();
            for file in &self.listing.files {
                by_name.entry(file_name(file)).or_default().push(file);
            }
            for wanted in &self.unresolved {
                let candidates = by_name.get(file_name(wanted)).into_iter().flatten();
                for file in candidates {
                    if file.ends_with(&format!("/{wanted}")) {
                        self.deps.add_named((*file).clone());
                    }
                }
            }
        }
        self.deps
    }
}

/// The directory of an include-path option (`-Idir`, `-I dir`, `-iquote`,
/// `-isystem`, `-idirafter`): `Some("")` when it is the next word.
fn include_dir_option(word: &str) -> Option<&str> {
    ["-iquote", "-isystem", "-idirafter", "-I"]
        .iter()
        .find_map(|option| word.strip_prefix(option))
}

/// The first line of a make dependency file: `target: prerequisites`, only
/// for `.d` records (a `.cmd` file's rules repeat what its lists said).
fn make_rule<'l>(line: &'l str, record: &str) -> Option<(&'l str, &'l str)> {
    if !record.ends_with(".d") || line.starts_with(char::is_whitespace) {
        return None;
    }
    line.split_once(": ")
}

/// Resolves `.` and `..` lexically; `None` when the path leaves the root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            _ => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots_and_refuses_escapes() {
        assert_eq!(
            normalize("arch/x86/include/../../../include/linux/a.h").as_deref(),
            Some("include/linux/a.h")
        );
        assert_eq!(normalize("./init//main.c").as_deref(), Some("init/main.c"));
        assert_eq!(normalize("../outside.h"), None);
        assert_eq!(normalize("."), None);
    }

    #[test]
    fn build_system_files() {
        for path in [
            "Makefile",
            "Kconfig",
            "Kbuild",
            "drivers/net/Kconfig",
            "arch/x86/Makefile_32.cpu",
            "arch/x86/Kconfig.debug",
            "fs/ext4/Makefile",
            "tools/objtool/Build",
            "scripts/link-vmlinux.sh",
            "scripts/kconfig/conf.c",
            "some-new-top-level-file",
        ] {
            assert!(is_build_system_file(path), "{path}");
        }
        for path in [
            "MAINTAINERS",
            "README",
            ".mailmap",
            "Documentation/process/howto.rst",
            "drivers/net/foo.c",
            "include/linux/kconfig.h",
            "tools/scripts/x",
        ] {
            assert!(!is_build_system_file(path), "{path}");
        }
    }
}
