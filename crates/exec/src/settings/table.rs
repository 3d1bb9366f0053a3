//! The table of settings: each one's key, flag, kind, range, default and
//! help, written once. Flags, job files (TOML), service jobs (JSON), the
//! `--help` text and the README's tables all come from here.

use culprit_bisect::strategy;

/// Which jobs a setting belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every job.
    Both,
    /// Jobs with a build and a test command.
    Generic,
    /// Kernel jobs (built and booted in QEMU).
    Kernel,
}

/// What a setting's value is, with its range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// `true` or `false`; as a flag, `--NAME` and `--no-NAME`.
    Bool,
    /// A whole number in `min..=max`.
    Int {
        /// The least.
        min: i64,
        /// The most.
        max: i64,
    },
    /// A number in a range, with the words that name it
    /// (`a probability in [0.5, 1)`).
    Float {
        /// The lower bound.
        min: f64,
        /// Whether `min` itself is allowed.
        min_in: bool,
        /// The upper bound.
        max: f64,
        /// Whether `max` itself is allowed.
        max_in: bool,
        /// What a right value is, for messages.
        what: &'static str,
    },
    /// A non-empty string.
    Text,
    /// A list of non-empty strings (one string is a list of one).
    Texts,
    /// One of these words; what they name (`strategy`).
    Choice(&'static [&'static str], &'static str),
    /// A time limit: seconds, or `90s`, `30m`, `1h`; from a second to a
    /// year.
    Duration,
    /// A size: bytes, or `500M`, `20G`.
    Size,
    /// A file or directory to be made, relative to the job's directory.
    Path,
    /// A directory that must exist.
    Dir,
    /// A file that must exist (not a directory).
    File,
    /// A program: a bare name is looked up in `PATH`; with a slash, a
    /// path relative to the job's directory.
    Program,
    /// A path inside the checkout, kept as written.
    CheckoutPath,
    /// `none`, or a directory relative to the job's directory.
    DirOrNone,
    /// A list of tables (`[[kernel.compilers]]`), each read by the part of
    /// culprit that uses it; as a flag, the same list in JSON.
    Rules,
}

/// A value written in the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lit {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// A string.
    Str(&'static str),
}

impl Lit {
    /// As a job file writes it.
    pub fn to_toml(self) -> toml::Value {
        match self {
            Lit::Bool(b) => toml::Value::Boolean(b),
            Lit::Int(i) => toml::Value::Integer(i),
            Lit::Float(f) => toml::Value::Float(f),
            Lit::Str(s) => toml::Value::String(s.to_owned()),
        }
    }
}

/// A setting's default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Default {
    /// The setting must be given.
    Required,
    /// None: the setting is optional and has no value unless given.
    Absent,
    /// This value.
    Value(Lit),
    /// One value for generic jobs, another for kernel jobs.
    PerScope {
        /// Generic jobs.
        generic: Lit,
        /// Kernel jobs.
        kernel: Lit,
    },
    /// Computed where it is used; the words say how.
    Computed(&'static str),
}

impl Default {
    /// The default value for a job of `scope`, if it is one from the table.
    pub fn value(self, scope: Scope) -> Option<Lit> {
        match (self, scope) {
            (Default::Value(v), _) => Some(v),
            (Default::PerScope { kernel, .. }, Scope::Kernel) => Some(kernel),
            (Default::PerScope { generic, .. }, _) => Some(generic),
            _ => None,
        }
    }
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    /// Its key in a job file, dotted for tables (`kernel.config`).
    pub key: &'static str,
    /// Other keys accepted for it (an older spelling).
    pub aliases: &'static [&'static str],
    /// Its flag, without dashes; `None`: no flag.
    pub flag: Option<&'static str>,
    /// The flag's value name in `--help`.
    pub value_name: &'static str,
    /// Which jobs have it.
    pub scope: Scope,
    /// What its value is.
    pub kind: Kind,
    /// Its default.
    pub default: Default,
    /// One line of help.
    pub help: &'static str,
}

/// The longest time limit accepted: a year.
pub const MAX_LIMIT_SECS: u64 = 365 * 24 * 3600;

const fn def(key: &'static str, flag: &'static str, kind: Kind, help: &'static str) -> Def {
    Def {
        key,
        aliases: &[],
        flag: Some(flag),
        value_name: "",
        scope: Scope::Both,
        kind,
        default: Default::Absent,
        help,
    }
}

impl Def {
    const fn scope(mut self, scope: Scope) -> Def {
        self.scope = scope;
        self
    }

    const fn default(mut self, default: Default) -> Def {
        self.default = default;
        self
    }

    const fn value(mut self, name: &'static str) -> Def {
        self.value_name = name;
        self
    }

    const fn aliases(mut self, aliases: &'static [&'static str]) -> Def {
        self.aliases = aliases;
        self
    }

    /// Whether a job of this scope (`Generic` or `Kernel`) has it.
    pub fn applies_to(&self, scope: Scope) -> bool {
        self.scope == Scope::Both || self.scope == scope
    }

    /// The flag as typed: `--confidence`.
    pub fn flag_name(&self) -> Option<String> {
        self.flag.map(|f| format!("--{f}"))
    }
}

/// Every setting, in the order `--help` and the README show them.
pub static TABLE: &[Def] = &[
    // What to bisect.
    def("repo", "repo", Kind::Dir, "The git repository (never modified: builds happen in a private clone).")
        .default(Default::Required)
        .value("PATH"),
    def("bad", "bad", Kind::Text, "A commit where the crash happens.")
        .default(Default::Required)
        .value("REV"),
    def("good", "good", Kind::Texts, "Cause: commits without the crash (none: releases older than --bad are tried). Fix: the newer end without it (default HEAD).")
        .aliases(&["good_end"])
        .value("REV"),
    def("fix", "fix", Kind::Bool, "Look for the commit that fixed the crash instead of the one that brought it.")
        .default(Default::Value(Lit::Bool(false))),
    def("crash", "crash", Kind::Text, "The title of the crash to bisect, as culprit names it (default: the most common crash at --bad).")
        .value("TITLE"),
    def("paths", "paths", Kind::Texts, "Only commits that change something at or below these paths are suspects, as with git bisect start -- PATH...")
        .value("PATH"),
    // How.
    def("strategy", "strategy", Kind::Choice(strategy::NAMES, "strategy"), "How to choose commits and read verdicts: bayes, classic (syzbot's rules), plain (git bisect run).")
        .default(Default::Value(Lit::Str("bayes")))
        .value("NAME"),
    def("confidence", "confidence", Kind::Float { min: 0.5, min_in: true, max: 1.0, max_in: false, what: "a probability in [0.5, 1)" }, "bayes: stop when the top suspect is this likely.")
        .default(Default::Value(Lit::Float(strategy::DEFAULT_CONFIDENCE)))
        .value("P"),
    def("min_rate", "min-rate", Kind::Float { min: 0.0, min_in: false, max: 1.0, max_in: true, what: "a rate in (0, 1]" }, "bayes: the lowest reproduction rate worth bisecting.")
        .default(Default::Value(Lit::Float(strategy::bayes::DEFAULT_MIN_RATE)))
        .value("RATE"),
    def("runs", "runs", Kind::Int { min: 1, max: u32::MAX as i64 }, "Runs per commit (classic), and the most runs plain makes at the bad end; bayes decides its own.")
        .default(Default::Value(Lit::Int(10)))
        .value("N"),
    def("verify", "verify", Kind::Bool, "Check the culprit by its revert before reporting it.")
        .default(Default::Value(Lit::Bool(true))),
    def("build_timeout", "build-timeout", Kind::Duration, "Time limit of one build: seconds, or 90s, 30m, 4h (1 second to a year).")
        .aliases(&["kernel.build_timeout"])
        .default(Default::Value(Lit::Int(14400)))
        .value("TIME"),
    def("test_timeout", "test-timeout", Kind::Duration, "Time limit of one run of the test (kernel: of the reproducer in the guest).")
        .aliases(&["reproducer.run_timeout"])
        .default(Default::PerScope { generic: Lit::Int(3600), kernel: Lit::Int(60) })
        .value("TIME"),
    // Where results go.
    def("workdir", "workdir", Kind::Path, "The checkout, logs and journal.")
        .default(Default::Computed("generic: a directory per bisection in culprit's cache directory; kernel: culprit-work beside the job file"))
        .value("DIR"),
    def("json", "json", Kind::Path, "Write the outcome as JSON to this file.").value("FILE"),
    def("html", "html", Kind::Path, "Write the bisection's page (steps, range, suspects, culprit, mail, log) as one HTML file.")
        .value("FILE"),
    def("show_diff", "show-diff", Kind::Bool, "Print the culprit's patch after its diff stat.")
        .default(Default::Value(Lit::Bool(false))),
    // Generic jobs.
    def("build", "build", Kind::Text, "Build command, run with sh -c in the checkout: exit 0 means built.")
        .scope(Scope::Generic)
        .default(Default::Required)
        .value("CMD"),
    def("test", "test", Kind::Text, "Test command, run with sh -c in the checkout with CULPRIT_RUN set: 0 OK, 125 could not test, 1-127 crashed, 128+ trouble.")
        .scope(Scope::Generic)
        .default(Default::Required)
        .value("CMD"),
    def("artifact", "artifact", Kind::CheckoutPath, "The build output whose bytes make the build signature (default: the commit's tree).")
        .scope(Scope::Generic)
        .value("PATH"),
    // Kernel jobs.
    def("vms", "vms", Kind::Int { min: 1, max: 4096 }, "Test machines at once (at most what this machine's memory and cores can run).")
        .scope(Scope::Kernel)
        .default(Default::Value(Lit::Int(1)))
        .value("N"),
    def("kernel.config", "kernel-config", Kind::File, "The kernel configuration (a .config or a fragment for olddefconfig).")
        .scope(Scope::Kernel)
        .default(Default::Required)
        .value("FILE"),
    def("kernel.compiler", "kernel-compiler", Kind::Program, "The C compiler: gcc or clang, by name or path.")
        .scope(Scope::Kernel)
        .default(Default::Value(Lit::Str("gcc")))
        .value("CC"),
    def("kernel.cmdline", "kernel-cmdline", Kind::Text, "The kernel command line (default: culprit's, with console=ttyS0 and panic_on_warn).")
        .scope(Scope::Kernel)
        .value("TEXT"),
    def("kernel.jobs", "kernel-jobs", Kind::Int { min: 1, max: 1024 }, "make -j (default: one per CPU).")
        .scope(Scope::Kernel)
        .value("N"),
    def("kernel.ccache", "kernel-ccache", Kind::Bool, "Compile through ccache.")
        .scope(Scope::Kernel)
        .default(Default::Value(Lit::Bool(true))),
    def("kernel.clean", "kernel-clean", Kind::Bool, "make distclean before every build (syzbot's way; slow).")
        .scope(Scope::Kernel)
        .default(Default::Value(Lit::Bool(false))),
    def("kernel.compilers", "kernel-compilers", Kind::Rules, "Compilers by release ([[kernel.compilers]] with since, until, compiler, linker): the first rule whose range holds the commit's release builds it.")
        .scope(Scope::Kernel)
        .default(Default::Computed("gcc-12 from v5.19, gcc-11 before (Debian 12's); the job's compiler where the rule's is not installed"))
        .value("JSON"),
    def("kernel.fixups", "kernel-fixups", Kind::Rules, "Config values forced before a release ([[kernel.fixups]] with option, value, before, reason), besides culprit's own.")
        .scope(Scope::Kernel)
        .value("JSON"),
    def("kernel.backports", "kernel-backports", Kind::Rules, "Fixes cherry-picked into commits that have the bug they fix ([[kernel.backports]] with fix, fixes, title).")
        .scope(Scope::Kernel)
        .value("JSON"),
    def("kernel.baseline", "kernel-baseline", Kind::File, "The config to minimise against (syzbot's base config): options on in the config and off here are candidates to drop.")
        .scope(Scope::Kernel)
        .value("FILE"),
    def("kernel.minimize", "kernel-minimize", Kind::Bool, "Minimise the config at the bad end before bisecting (needs the crash's title; done only when there is something to drop).")
        .scope(Scope::Kernel)
        .default(Default::Value(Lit::Bool(true))),
    def("kernel.minimize_builds", "kernel-minimize-builds", Kind::Int { min: 1, max: 200 }, "The most builds the minimisation makes.")
        .scope(Scope::Kernel)
        .default(Default::Value(Lit::Int(20)))
        .value("N"),
    def("kernel.store", "kernel-store", Kind::DirOrNone, "The store of built kernels shared by bisections, or none.")
        .scope(Scope::Kernel)
        .default(Default::Computed("kernels in culprit's cache directory"))
        .value("DIR"),
    def("kernel.store_size", "kernel-store-size", Kind::Size, "The store's size cap (least recently used kernels go first), e.g. 20G.")
        .scope(Scope::Kernel)
        .value("SIZE"),
    def("reproducer.c", "reproducer-c", Kind::File, "The reproducer: a C program, compiled statically.")
        .scope(Scope::Kernel)
        .value("FILE"),
    def("reproducer.binary", "reproducer-binary", Kind::File, "The reproducer: a static executable.")
        .scope(Scope::Kernel)
        .value("FILE"),
    def("reproducer.script", "reproducer-script", Kind::File, "The reproducer: a shell script, run by the guest's sh.")
        .scope(Scope::Kernel)
        .value("FILE"),
    def("reproducer.syz", "reproducer-syz", Kind::File, "The reproducer: a syz program, run by syz-execprog (with c or binary: that one runs too when the program did not crash).")
        .scope(Scope::Kernel)
        .value("FILE"),
    def("reproducer.syz_options", "syz-options", Kind::File, "The syz program's options apart from it (the dashboard's repro-opts); default: the program's own.")
        .scope(Scope::Kernel)
        .value("FILE"),
    def("syzkaller.repo", "syzkaller-repo", Kind::Dir, "A syzkaller checkout to build syz-execprog and syz-executor in (never modified).")
        .scope(Scope::Kernel)
        .value("DIR"),
    def("syzkaller.commit", "syzkaller-commit", Kind::Text, "The syzkaller commit to build (the crash's: old programs need old descriptions).")
        .scope(Scope::Kernel)
        .value("REV"),
    def("syzkaller.dir", "syzkaller-dir", Kind::Dir, "A directory with built syz-execprog and syz-executor (instead of repo and commit).")
        .scope(Scope::Kernel)
        .value("DIR"),
    def("reproducer.boot_timeout", "boot-timeout", Kind::Duration, "From QEMU's start to the reproducer's start.")
        .scope(Scope::Kernel)
        .default(Default::Value(Lit::Int(120)))
        .value("TIME"),
    def("vm.memory", "vm-memory", Kind::Int { min: 64, max: 1 << 20 }, "Guest memory in MiB.")
        .scope(Scope::Kernel)
        .default(Default::Value(Lit::Int(256)))
        .value("MIB"),
    def("vm.cpus", "vm-cpus", Kind::Int { min: 1, max: 256 }, "Guest CPUs.")
        .scope(Scope::Kernel)
        .default(Default::Value(Lit::Int(1)))
        .value("N"),
    def("vm.qemu", "qemu", Kind::Program, "The QEMU binary.")
        .scope(Scope::Kernel)
        .default(Default::Value(Lit::Str("qemu-system-x86_64")))
        .value("PATH"),
];

/// The tables a job file may have (`[kernel]`...).
pub const TABLES: &[&str] = &["kernel", "reproducer", "syzkaller", "vm"];

/// The setting with this key or alias.
pub fn find(key: &str) -> Option<&'static Def> {
    TABLE
        .iter()
        .find(|d| d.key == key || d.aliases.contains(&key))
}

/// The setting a key names (panics on a key the table lacks: a bug).
pub(crate) fn get(key: &str) -> &'static Def {
    match find(key) {
        Some(def) => def,
        None => unreachable!("setting {key} is not in the table"),
    }
}

/// The table as the README shows it: one row per setting, with its key in
/// a job file, its flag, the jobs that have it, its default and its help.
pub fn markdown() -> String {
    let mut out =
        String::from("| key | flag | jobs | default | meaning |\n|---|---|---|---|---|\n");
    for def in TABLE {
        let mut key = format!("`{}`", def.key);
        for alias in def.aliases {
            key.push_str(&format!(" (or `{alias}`)"));
        }
        let flag = match (def.flag, def.kind) {
            (Some(f), Kind::Bool) => format!("`--{f}`, `--no-{f}`"),
            (Some(f), _) => format!("`--{f} {}`", def.value_name),
            (None, _) => String::new(),
        };
        let jobs = match def.scope {
            Scope::Both => "all",
            Scope::Generic => "generic",
            Scope::Kernel => "kernel",
        };
        let shown = |lit: Lit| format!("`{}`", lit.to_toml());
        let default = match def.default {
            Default::Required => "required".to_owned(),
            Default::Absent => "none".to_owned(),
            Default::Value(v) => shown(v),
            Default::PerScope { generic, kernel } => {
                format!("{} (kernel: {})", shown(generic), shown(kernel))
            }
            Default::Computed(words) => words.to_owned(),
        };
        out.push_str(&format!(
            "| {key} | {flag} | {jobs} | {default} | {} |\n",
            def.help.replace('|', "\\|")
        ));
    }
    out
}
