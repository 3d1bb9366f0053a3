//! Tests of [`super`]: a bug JSON shaped as the dashboard serves it, its
//! files saved under the names a user would give them, a job out.

use super::*;
use std::process::Command;

/// A bug as `?json=1` serves it: three crashes, the second with both
/// reproducers; the links relative to the dashboard.
const BUG: &str = r#"{
  "version": 1,
  "title": "WARNING in kvm_mmu_notifier_invalidate_range_start",
  "id": "3e31b0fee9a3d8d3d4f0c1e0a2a8b6b2c6c9d3f1",
  "discussions": ["https://lore.kernel.org/all/000000000000a1b2c3d4e5f6@google.com/T/"],
  "crashes": [
    {
      "title": "WARNING in kvm_mmu_notifier_invalidate_range_start",
      "syz-reproducer": "/text?tag=ReproSyz&x=10c0fe4db00000",
      "kernel-config": "/text?tag=KernelConfig&x=6f0a3e1c7d7e4b1a",
      "kernel-source-git": "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/log/?id=5b2bd4a9b6e0a9d4e8c2c8e4f1f6f2f3a3b3c3d3",
      "kernel-source-commit": "5b2bd4a9b6e0a9d4e8c2c8e4f1f6f2f3a3b3c3d3",
      "syzkaller-git": "https://github.com/google/syzkaller/commits/aaaa1111bbbb2222cccc3333dddd4444eeee5555",
      "syzkaller-commit": "aaaa1111bbbb2222cccc3333dddd4444eeee5555",
      "compiler-description": "gcc (GCC) 10.2.1 20210217, GNU ld (GNU Binutils for Debian) 2.35.2",
      "architecture": "amd64",
      "crash-report-link": "/text?tag=CrashReport&x=12a1a7e4b00000"
    },
    {
      "title": "WARNING in kvm_mmu_notifier_invalidate_range_start",
      "syz-reproducer": "/text?tag=ReproSyz&x=14b6d8e4b00000",
      "c-reproducer": "/text?tag=ReproC&x=1672a7e4b00000",
      "repro-opts": "/text?tag=ReproOpts&x=1572a7e4b00000",
      "kernel-config": "/text?tag=KernelConfig&x=e9ea74f3b4d5a5f3",
      "kernel-source-git": "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/log/?id=COMMIT",
      "kernel-source-commit": "COMMIT",
      "syzkaller-git": "https://github.com/google/syzkaller/commits/dfa9a8ed6b12b102fe3625ca8fc786aa86d54a5a",
      "syzkaller-commit": "dfa9a8ed6b12b102fe3625ca8fc786aa86d54a5a",
      "compiler-description": "gcc (GCC) 10.2.1 20210217, GNU ld (GNU Binutils for Debian) 2.35.2",
      "architecture": "amd64",
      "crash-report-link": "/text?tag=CrashReport&x=1147b8e4b00000"
    },
    {
      "title": "WARNING in kvm_mmu_notifier_invalidate_range_start",
      "c-reproducer": "/text?tag=ReproC&x=17a1a7e4b00000",
      "kernel-config": "/text?tag=KernelConfig&x=e9ea74f3b4d5a5f3",
      "kernel-source-commit": "0123456789abcdef0123456789abcdef01234567",
      "syzkaller-commit": "dfa9a8ed6b12b102fe3625ca8fc786aa86d54a5a",
      "compiler-description": "gcc (GCC) 10.2.1 20210217, GNU ld (GNU Binutils for Debian) 2.35.2",
      "architecture": "amd64"
    }
  ]
}"#;

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A kernel repository with one commit; its hash.
fn linux(dir: &Path) -> (PathBuf, String) {
    let repo = dir.join("linux");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("Makefile"), "all:\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(
        &repo,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@e.org",
            "commit",
            "-qm",
            "base",
        ],
    );
    let head = git(&repo, &["rev-parse", "HEAD"]);
    (repo, head)
}

/// The bug's files, saved as a user would: the config under its usual
/// name, the syz program as a download names it, the C program by its id,
/// the report; not the options.
fn bug_dir(dir: &Path, commit: &str) -> PathBuf {
    let bug = dir.join("bug");
    std::fs::create_dir_all(&bug).unwrap();
    let json = bug.join("bug.json");
    std::fs::write(&json, BUG.replace("COMMIT", commit)).unwrap();
    std::fs::write(bug.join("config"), "CONFIG_KVM=y\n").unwrap();
    std::fs::write(
        bug.join("text?tag=ReproSyz&x=14b6d8e4b00000"),
        "mremap(0x0, 0x0, 0x0, 0x0, 0x0)\n",
    )
    .unwrap();
    std::fs::write(bug.join("1672a7e4b00000"), "int main(void) { return 0; }\n").unwrap();
    std::fs::write(bug.join("report.txt"), "WARNING: ...\n").unwrap();
    json
}

fn gcc12(name: &str) -> Option<String> {
    (name == "gcc").then(|| "gcc (Debian 12.2.0-14) 12.2.0".to_owned())
}

fn job(json: &Path, linux: &Path, syzkaller: Option<&Path>) -> SyzbotJob {
    let bug = read_bug(json).unwrap();
    let dir = json.parent().unwrap();
    job_from(&bug, json, dir, linux, syzkaller, &gcc12).unwrap()
}

#[test]
fn the_crash_with_both_reproducers_makes_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    let (linux, head) = linux(tmp.path());
    let json = bug_dir(tmp.path(), &head);
    let syzkaller = tmp.path().join("syzkaller");
    std::fs::create_dir_all(syzkaller.join(".git")).unwrap();
    let job = job(&json, &linux, Some(&syzkaller));
    let bug = json.parent().unwrap();
    assert_eq!(job.crash_index, (1, 3));
    assert_eq!(job.bad, head);
    assert_eq!(
        job.crash,
        "WARNING in kvm_mmu_notifier_invalidate_range_start"
    );
    assert_eq!(job.config, bug.join("config"));
    assert_eq!(
        job.syz,
        Some(bug.join("text?tag=ReproSyz&x=14b6d8e4b00000"))
    );
    assert_eq!(job.c, Some(bug.join("1672a7e4b00000")));
    assert_eq!(job.report, Some(bug.join("report.txt")));
    assert_eq!(job.syz_options, None);
    assert_eq!(
        job.syzkaller,
        Some(SyzkallerJob::Checkout {
            repo: syzkaller.clone(),
            commit: "dfa9a8ed6b12b102fe3625ca8fc786aa86d54a5a".into()
        })
    );
    // The options file is linked but not saved: named, with its link.
    assert_eq!(
        job.missing,
        [Missing {
            what: "reproducer options".into(),
            how: format!(
                "save https://syzkaller.appspot.com/text?tag=ReproOpts&x=1572a7e4b00000 as {}",
                bug.join("repro-opts").display()
            ),
        }]
    );
    assert_eq!(job.compiler, "gcc");
    let note = job.compiler_note.as_deref().unwrap();
    assert!(
        note.contains("gcc (Debian 12.2.0-14) 12.2.0")
            && note.contains("gcc (GCC) 10.2.1 20210217"),
        "{note}"
    );
}

#[test]
fn the_job_file_has_the_agreed_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let (linux, head) = linux(tmp.path());
    let json = bug_dir(tmp.path(), &head);
    std::fs::write(json.parent().unwrap().join("repro-opts"), "{\"procs\":1}\n").unwrap();
    let syzkaller = tmp.path().join("syzkaller");
    std::fs::create_dir_all(syzkaller.join(".git")).unwrap();
    let job = job(&json, &linux, Some(&syzkaller));
    assert!(job.missing.is_empty(), "{:?}", job.missing);
    let text = job.to_toml(json.parent().unwrap());
    let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
    let keys = |t: &toml::Table| t.keys().cloned().collect::<Vec<_>>().join(",");
    assert_eq!(
        keys(&table),
        "bad,crash,kernel,repo,reproducer,syzkaller,test_timeout"
    );
    assert_eq!(table["repo"].as_str(), Some(linux.to_str().unwrap()));
    assert_eq!(table["bad"].as_str(), Some(head.as_str()));
    let kernel = table["kernel"].as_table().unwrap();
    assert_eq!(keys(kernel), "compiler,config");
    assert_eq!(kernel["config"].as_str(), Some("config"));
    let reproducer = table["reproducer"].as_table().unwrap();
    assert_eq!(keys(reproducer), "c,syz,syz_options");
    assert_eq!(
        reproducer["syz"].as_str(),
        Some("text?tag=ReproSyz&x=14b6d8e4b00000")
    );
    assert_eq!(reproducer["syz_options"].as_str(), Some("repro-opts"));
    assert_eq!(table["test_timeout"].as_str(), Some("6m"));
    // The settings read it: the job runs as written.
    let settings = crate::settings::Settings::from_toml(
        &text,
        crate::settings::Door::Service,
        json.parent().unwrap(),
    )
    .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let kernel_job = settings.kernel().unwrap();
    assert!(kernel_job.syz.is_some() && kernel_job.reproducer.is_some());
    assert_eq!(settings.test_timeout.as_secs(), 360);
    let syz = table["syzkaller"].as_table().unwrap();
    assert_eq!(
        syz["commit"].as_str(),
        Some("dfa9a8ed6b12b102fe3625ca8fc786aa86d54a5a")
    );
    assert_eq!(syz["repo"].as_str(), Some(syzkaller.to_str().unwrap()));
    assert!(text.starts_with("# syzbot bug \"WARNING in kvm_mmu_notifier_invalidate_range_start\" (id 3e31b0fee9a3d8d3d4f0c1e0a2a8b6b2c6c9d3f1), crash 2 of 3\n"), "{text}");
}

#[test]
fn what_is_missing_is_named_in_the_job_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (linux, _) = linux(tmp.path());
    // A commit the repository does not have, no config, no syzkaller.
    let json = bug_dir(tmp.path(), "feedfacefeedfacefeedfacefeedfacefeedface");
    std::fs::remove_file(json.parent().unwrap().join("config")).unwrap();
    let job = job(&json, &linux, None);
    let what: Vec<&str> = job.missing.iter().map(|m| m.what.as_str()).collect();
    assert_eq!(
        what,
        [
            "kernel config",
            "reproducer options",
            "kernel commit",
            "syzkaller"
        ]
    );
    let text = job.to_toml(json.parent().unwrap());
    assert!(text.contains("#   - kernel config: save https://syzkaller.appspot.com/text?tag=KernelConfig&x=e9ea74f3b4d5a5f3 as "), "{text}");
    assert!(
        text.contains("#   - kernel commit: feedfacefeedfacefeedfacefeedfacefeedface is not in "),
        "{text}"
    );
    assert!(
        text.contains("(its tree: https://git.kernel.org/"),
        "{text}"
    );
    assert!(text.contains("#   - syzkaller: give a syzkaller checkout to build dfa9a8ed6b12b102fe3625ca8fc786aa86d54a5a"), "{text}");
    // The config is still named, where it should be saved.
    assert!(text.contains("\n[kernel]\nconfig = \"config\"\n"), "{text}");
    assert!(text.contains("\n[syzkaller]\n# repo = \"...\"  (missing: a syzkaller checkout)\ncommit = \"dfa9a8ed6b12b102fe3625ca8fc786aa86d54a5a\"\n"), "{text}");
    text.parse::<toml::Table>().unwrap();
}

#[test]
fn reproducers_rank_syz_and_c_then_c_then_syz() {
    let crash = |syz: bool, c: bool| SyzbotCrash {
        syz_reproducer: if syz { "/s".into() } else { String::new() },
        c_reproducer: if c { "/c".into() } else { String::new() },
        ..SyzbotCrash::default()
    };
    assert_eq!(
        best_crash(&[crash(true, false), crash(false, true)]),
        Some(1)
    );
    assert_eq!(
        best_crash(&[crash(false, true), crash(true, true)]),
        Some(1)
    );
    assert_eq!(
        best_crash(&[crash(false, false), crash(true, false)]),
        Some(1)
    );
    assert_eq!(
        best_crash(&[crash(false, false), crash(false, false)]),
        Some(0)
    );
    assert_eq!(best_crash(&[]), None);
}

#[test]
fn c_only_crash_needs_no_syzkaller() {
    let tmp = tempfile::tempdir().unwrap();
    let (linux, head) = linux(tmp.path());
    let json = tmp.path().join("bug.json");
    let bug: serde_json::Value = serde_json::from_str(&BUG.replace("COMMIT", &head)).unwrap();
    let only_c =
        serde_json::json!({"title": bug["title"], "id": "x", "crashes": [bug["crashes"][2]]});
    std::fs::write(&json, only_c.to_string()).unwrap();
    std::fs::write(tmp.path().join("config"), "").unwrap();
    std::fs::write(tmp.path().join("repro.c"), "").unwrap();
    let job = job(&json, &linux, None);
    assert_eq!(job.syzkaller, None);
    assert_eq!(job.syz, None);
    assert_eq!(job.c, Some(tmp.path().join("repro.c")));
    let text = job.to_toml(tmp.path());
    assert!(
        !text.contains("[syzkaller]") && text.contains("c = \"repro.c\""),
        "{text}"
    );
}

#[test]
fn a_directory_of_built_binaries_is_a_prebuilt_syzkaller() {
    let tmp = tempfile::tempdir().unwrap();
    let built = tmp.path().join("syzkaller/bin/linux_amd64");
    std::fs::create_dir_all(&built).unwrap();
    std::fs::write(built.join("syz-execprog"), "").unwrap();
    let mut missing = Vec::new();
    let dir = tmp.path().join("syzkaller");
    let job = syzkaller_job(Some(&dir), "abc", &mut missing);
    assert_eq!(job, SyzkallerJob::Prebuilt { dir: dir.clone() });
    assert!(missing.is_empty());
    let job = syzkaller_job(Some(tmp.path()), "abc", &mut missing);
    assert!(matches!(job, SyzkallerJob::Prebuilt { .. }));
    assert!(
        missing[0].how.contains("neither a git checkout"),
        "{:?}",
        missing
    );
}

#[test]
fn the_closest_compiler_is_chosen_and_a_difference_said() {
    let description = "gcc (GCC) 10.2.1 20210217, GNU ld (GNU Binutils for Debian) 2.35.2";
    let both = |name: &str| match name {
        "gcc-10" => Some("gcc-10 (Debian 10.2.1-6) 10.2.1 20210110".to_owned()),
        "gcc" => Some("gcc (Debian 12.2.0-14) 12.2.0".to_owned()),
        _ => None,
    };
    assert_eq!(
        choose_compiler(description, &both),
        (Some("gcc-10".into()), None)
    );
    let (name, note) = choose_compiler(description, &gcc12);
    assert_eq!(name.as_deref(), Some("gcc"));
    assert!(note.unwrap().contains("gcc (GCC) 10.2.1"));
    let clang = "Debian clang version 15.0.6, GNU ld (GNU Binutils for Debian) 2.40";
    let clangs =
        |name: &str| (name == "clang-15").then(|| "Debian clang version 15.0.6".to_owned());
    assert_eq!(
        choose_compiler(clang, &clangs),
        (Some("clang-15".into()), None)
    );
    assert_eq!(choose_compiler(clang, &|_: &str| None), (None, None));
    let (name, note) = choose_compiler("", &gcc12);
    assert_eq!(name.as_deref(), Some("gcc"));
    assert!(note.unwrap().contains("does not say which compiler"));
}

#[test]
fn bad_bug_files_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("bug.json");
    std::fs::write(&json, "<html>not json</html>").unwrap();
    let err = job_from_bug(&json, tmp.path(), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "syzbot bug {}: not a bug's JSON: ",
            json.display()
        )),
        "{err}"
    );
    std::fs::write(&json, r#"{"title":"x","crashes":[]}"#).unwrap();
    let err = job_from_bug(&json, tmp.path(), None)
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("no crashes listed"), "{err}");
    std::fs::write(&json, r#"{"title":"x","crashes":[{"title":5}]}"#).unwrap();
    let err = job_from_bug(&json, tmp.path(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("invalid type"), "{err}");
    let err = job_from_bug(&tmp.path().join("none.json"), tmp.path(), None).unwrap_err();
    assert!(err.to_string().contains("none.json"), "{err}");
}
