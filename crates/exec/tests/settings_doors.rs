//! Every setting through its three doors — a flag, a job file (TOML), a
//! service job (JSON) — gives the same value, the same default, and the
//! same error for the same bad value.

use std::path::{Path, PathBuf};

use culprit_exec::settings::{
    flag_values, Def, Door, FlagValues, Kind, Lit, Scope, SettingError, Settings, TABLE,
};
use toml::{Table, Value};

/// Files the documents name, made once.
struct Place {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    file: PathBuf,
    other_file: PathBuf,
    dir: PathBuf,
}

impl Place {
    fn new() -> Place {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        let file = dir.path().join("config");
        std::fs::write(&file, "CONFIG_64BIT=y\n").unwrap();
        let other_file = dir.path().join("repro.c");
        std::fs::write(&other_file, "int main(){}\n").unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        Place {
            repo,
            file,
            other_file,
            dir: sub,
            _dir: dir,
        }
    }

    fn path(&self, p: &Path) -> Value {
        Value::String(p.display().to_string())
    }

    /// The least document of a kind of job.
    fn base(&self, scope: Scope) -> Vec<(&'static str, Value)> {
        let mut keys = vec![
            ("repo", self.path(&self.repo)),
            ("bad", Value::String("HEAD".into())),
        ];
        match scope {
            Scope::Kernel => {
                keys.push(("kernel.config", self.path(&self.file)));
                keys.push(("reproducer.c", self.path(&self.other_file)));
            }
            _ => {
                keys.push(("build", Value::String("make".into())));
                keys.push(("test", Value::String("./t".into())));
            }
        }
        keys
    }

    /// What a setting needs beside it: a syz program goes with a syzkaller
    /// and the other way round.
    fn companions(&self, key: &str) -> Vec<(&'static str, Value)> {
        let program = ("reproducer.syz", self.path(&self.other_file));
        let dir = ("syzkaller.dir", self.path(&self.dir));
        let repo = ("syzkaller.repo", self.path(&self.dir));
        let commit = ("syzkaller.commit", Value::String("abc".into()));
        match key {
            "reproducer.syz" => vec![dir],
            "reproducer.syz_options" | "syzkaller.dir" => vec![program, dir],
            "syzkaller.repo" => vec![program, commit],
            "syzkaller.commit" => vec![program, repo],
            _ => Vec::new(),
        }
        .into_iter()
        .filter(|(k, _)| *k != key)
        .collect()
    }

    /// A right value and a wrong one (`None`: a flag cannot say it) for
    /// each kind of setting.
    fn values(&self, def: &Def) -> (Value, Option<Value>) {
        let s = |t: &str| Value::String(t.into());
        let key = def.key;
        match def.kind {
            Kind::Bool => {
                let default = def.default.value(def.scope) == Some(Lit::Bool(true));
                (Value::Boolean(!default), Some(s("yes")))
            }
            Kind::Int { min, .. } if key == "vms" => {
                (Value::Integer(min + 1), Some(Value::Integer(1 << 30)))
            }
            Kind::Int { min, .. } => (Value::Integer(min + 1), Some(Value::Integer(min - 1))),
            Kind::Float { .. } => (Value::Float(0.75), Some(Value::Float(1.5))),
            Kind::Text | Kind::CheckoutPath => (s("some text"), Some(s(""))),
            Kind::Texts => (
                Value::Array(vec![s("a"), s("b/c")]),
                Some(Value::Array(vec![s("")])),
            ),
            Kind::Choice(..) => (s("classic"), Some(s("magic"))),
            Kind::Duration => (s("30m"), Some(s("99999999h"))),
            Kind::Size => (s("20G"), Some(s("20Q"))),
            Kind::Path => (self.path(&self.dir.join("out")), Some(s(""))),
            Kind::Dir => (self.path(&self.dir), Some(self.path(&self.file))),
            Kind::File => (self.path(&self.file), Some(self.path(&self.dir))),
            Kind::Program => (s("clang"), Some(s(""))),
            Kind::DirOrNone => (s("none"), Some(s(""))),
            Kind::Rules => {
                let rule: toml::Table = match key {
                    "kernel.compilers" => "compiler = \"gcc-12\"\nsince = \"v5.19\"",
                    "kernel.fixups" => "option = \"KCOV\"\nbefore = \"v5.4\"",
                    _ => "fix = \"abc\"\nfixes = [\"def\"]",
                }
                .parse()
                .unwrap();
                (Value::Array(vec![Value::Table(rule)]), Some(s("x")))
            }
        }
    }
}

/// A document as a table.
fn table(keys: &[(&str, Value)]) -> Table {
    let mut t = Table::new();
    for (key, value) in keys {
        match key.split_once('.') {
            Some((outer, inner)) => {
                let entry = t
                    .entry(outer.to_owned())
                    .or_insert_with(|| Value::Table(Table::new()));
                if let Value::Table(inner_table) = entry {
                    inner_table.insert(inner.to_owned(), value.clone());
                }
            }
            None => {
                t.insert(key.to_string(), value.clone());
            }
        }
    }
    t
}

/// The flags saying the same as `keys` (a false boolean is `--no-NAME`).
fn flags(keys: &[(&str, Value)]) -> FlagValues {
    let pairs: Vec<(&str, Vec<String>)> = keys
        .iter()
        .map(|(key, value)| {
            let texts = match value {
                Value::String(s) => vec![s.clone()],
                // A list of tables is JSON on the command line.
                Value::Array(items) if items.iter().all(Value::is_table) => {
                    vec![serde_json::to_string(value).unwrap()]
                }
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().unwrap_or_default().to_owned())
                    .collect(),
                other => vec![other.to_string()],
            };
            (*key, texts)
        })
        .collect();
    let refs: Vec<Vec<&str>> = pairs
        .iter()
        .map(|(_, t)| t.iter().map(String::as_str).collect())
        .collect();
    let borrowed: Vec<(&str, &[&str])> = pairs
        .iter()
        .zip(&refs)
        .map(|((k, _), t)| (*k, t.as_slice()))
        .collect();
    flag_values(&borrowed)
}

/// The three doors' readings of one document.
fn doors(keys: &[(&str, Value)]) -> [Result<Settings, SettingError>; 3] {
    let cwd = std::env::current_dir().unwrap();
    let t = table(keys);
    let toml_text = toml::to_string(&t).unwrap();
    let json_text = serde_json::to_string(&t).unwrap();
    [
        Settings::from_flags(&flags(keys), None),
        Settings::from_toml(&toml_text, Door::File(cwd.join("job.toml")), &cwd),
        Settings::from_json(&json_text, Door::Service, &cwd),
    ]
}

#[test]
fn every_setting_reads_the_same_through_every_door() {
    let place = Place::new();
    for def in TABLE {
        let scope = match def.scope {
            Scope::Both => Scope::Generic,
            s => s,
        };
        let mut base = place.base(scope);
        let companions = place.companions(def.key);
        let in_a_group = !companions.is_empty();
        base.extend(companions);
        // The default: the document without the setting.
        let without: Vec<_> = base
            .iter()
            .filter(|(k, _)| *k != def.key)
            .cloned()
            .collect();
        let (good, bad) = place.values(def);
        let mut with = without.clone();
        let programs = ["reproducer.c", "reproducer.binary", "reproducer.script"];
        if programs.contains(&def.key) {
            with.retain(|(k, _)| !programs.contains(k));
        }
        with.push((def.key, good.clone()));
        let read = doors(&with);
        let first = read[0]
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", def.key));
        for other in &read[1..] {
            let other = other
                .as_ref()
                .unwrap_or_else(|e| panic!("{}: {e}", def.key));
            assert_eq!(first, other, "{} = {good}", def.key);
        }
        // A job needs one reproducer: those have no default alone.
        let one_of_a_group = in_a_group || programs.contains(&def.key);
        if !matches!(
            def.default,
            culprit_exec::settings::table::Default::Required
        ) && !one_of_a_group
        {
            let defaults = doors(&without);
            let first = defaults[0].as_ref().unwrap();
            for other in &defaults[1..] {
                assert_eq!(first, other.as_ref().unwrap(), "default of {}", def.key);
            }
            if def.default.value(scope).is_some() {
                assert_ne!(
                    first,
                    read[0].as_ref().unwrap(),
                    "{}: the test's value equals the default",
                    def.key
                );
            }
        }
        let Some(bad) = bad else { continue };
        let mut wrong = with.clone();
        wrong.retain(|(k, _)| *k != def.key);
        wrong.push((def.key, bad.clone()));
        let errors = doors(&wrong);
        let errs: Vec<&SettingError> = errors
            .iter()
            .enumerate()
            .filter(|(i, _)| !(def.kind == Kind::Bool && *i == 0))
            .map(|(_, r)| match r {
                Err(e) => e,
                Ok(_) => panic!("{} = {bad}: accepted", def.key),
            })
            .collect();
        for e in &errs {
            assert_eq!(e.reason, errs[0].reason, "{}: {e} / {}", def.key, errs[0]);
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        for (i, r) in errors.iter().enumerate() {
            let Err(e) = r else { continue };
            let name = match i {
                0 => def.flag_name().unwrap(),
                _ => def.key.to_owned(),
            };
            assert_eq!(e.name, name, "{e}");
        }
    }
}

#[test]
fn a_flag_overrides_the_job_file_and_one_of_the_other_kind_is_refused() {
    let place = Place::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.toml");
    let mut keys = place.base(Scope::Kernel);
    keys.push(("confidence", Value::Float(0.6)));
    std::fs::write(&file, toml::to_string(&table(&keys)).unwrap()).unwrap();
    let over = flag_values(&[("confidence", &["0.999"])]);
    let settings = Settings::from_flags(&over, Some(&file)).unwrap();
    assert_eq!(settings.strategy.confidence, 0.999);
    assert_eq!(settings.scope(), Scope::Kernel);
    let alone = Settings::from_flags(&FlagValues::new(), Some(&file)).unwrap();
    assert_eq!(alone.strategy.confidence, 0.6);
    let other = flag_values(&[("build", &["make"])]);
    let e = Settings::from_flags(&other, Some(&file)).unwrap_err();
    assert_eq!(e.name, "--build", "{e}");
    assert!(e.reason.contains("not a setting of kernel jobs"), "{e}");
    // A generic job (no kernel table) refuses a kernel flag, naming it,
    // instead of turning into a kernel job that refuses its own build.
    let generic = dir.path().join("generic.toml");
    let keys = place.base(Scope::Generic);
    std::fs::write(&generic, toml::to_string(&table(&keys)).unwrap()).unwrap();
    let kernel_flag = flag_values(&[("vms", &["3"])]);
    let e = Settings::from_flags(&kernel_flag, Some(&generic)).unwrap_err();
    assert_eq!(e.name, "--vms", "{e}");
    assert!(e.reason.contains("not a setting of generic jobs"), "{e}");
    let bad = flag_values(&[("confidence", &["1.5"])]);
    let e = Settings::from_flags(&bad, Some(&file)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--confidence 1.5: expected a probability in [0.5, 1)"
    );
}

#[test]
fn a_generic_job_file_is_read_like_a_service_job() {
    let place = Place::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("job.toml");
    let keys = place.base(Scope::Generic);
    let text = toml::to_string(&table(&keys)).unwrap();
    std::fs::write(&file, &text).unwrap();
    let from_file = Settings::from_file(&file).unwrap();
    let from_service = Settings::from_toml(&text, Door::Service, dir.path()).unwrap();
    assert_eq!(from_file, from_service);
    assert_eq!(from_file.scope(), Scope::Generic);
}
