//! The project's own crash samples (tests/samples/): always run.

use culprit_report::{first, parse, CrashType};

fn sample(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/samples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn kernel_warning_from_a_tinyconfig_kernel() {
    let log = sample("warning-tinyconfig.log");
    let reports = parse(&log);
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r.title, "WARNING in demo_write");
    assert_eq!(r.kind, CrashType::Warning);
    assert_eq!(r.frame.as_deref(), Some("demo_write"));
    assert!(!r.corrupted);
    let text = std::str::from_utf8(&log).unwrap();
    assert!(text[r.start..].starts_with("[    1.206122] WARNING: CPU: 0"));
    assert!(text[..r.end].ends_with("---[ end trace 0000000000000000 ]---\n"));
    assert!(r.text.starts_with("WARNING: CPU: 0 PID: 41"), "{}", r.text);
    assert!(r.text.contains(" vfs_write+0xb5/0x290\n"));
    assert!(!r.text.contains("greatest stack depth"));
}

#[test]
fn kasan_report_leaves_other_cpus_out() {
    let r = first(&sample("kasan-interleaved.log")).expect("a report");
    assert_eq!(r.title, "KASAN: slab-use-after-free Read in demo_release");
    assert_eq!(r.alt_titles, vec!["bad-access in demo_release".to_string()]);
    assert_eq!(r.kind, CrashType::KasanUseAfterFreeRead);
    assert!(!r.text.contains("e1000"), "{}", r.text);
    assert!(!r.text.contains("some_other_cpu_func"), "{}", r.text);
    assert!(r.text.contains("Allocated by task 5070:"));
}

#[test]
fn clean_boot_is_no_crash() {
    assert_eq!(parse(&sample("clean-boot.log")), vec![]);
}

#[test]
fn user_space_sanitizers() {
    let asan = first(&sample("asan-heap-uaf.log")).expect("asan");
    assert_eq!(
        asan.title,
        "AddressSanitizer: heap-use-after-free Read in lookup_entry"
    );
    assert_eq!(asan.kind, CrashType::MemorySafetyBug);
    assert!(asan.text.contains("SUMMARY: AddressSanitizer"));
    let lsan = first(&sample("lsan-leak.log")).expect("lsan");
    assert_eq!(lsan.title, "LeakSanitizer: memory leak in make_buffer");
    assert_eq!(lsan.kind, CrashType::Leak);
    let ubsan = first(&sample("ubsan-overflow.log")).expect("ubsan");
    assert_eq!(ubsan.title, "UBSan: signed integer overflow in add_all");
}

#[test]
fn user_space_panics_and_signals() {
    let rust = first(&sample("rust-panic.log")).expect("rust panic");
    assert_eq!(
        rust.title,
        "panic in src/parser.rs: index out of bounds: the len is NUM but the index is NUM"
    );
    assert_eq!(rust.frame.as_deref(), Some("src/parser.rs"));
    let go = first(&sample("go-panic.log")).expect("go panic");
    assert_eq!(
        go.title,
        "panic: runtime error: index out of range [NUM] with length NUM"
    );
    let segv = first(&sample("segfault.log")).expect("segfault");
    assert_eq!(segv.title, "Segmentation fault in demo");
}

#[test]
fn titles_do_not_depend_on_volatile_parts() {
    let a = sample("asan-heap-uaf.log");
    let b = String::from_utf8(a.clone())
        .unwrap()
        .replace("31337", "999")
        .replace("0x55f4d3a1b2c7", "0x1234");
    assert_eq!(first(&a).unwrap().title, first(b.as_bytes()).unwrap().title);
}

#[test]
fn bad_input_never_panics() {
    let inputs: [&[u8]; 6] = [
        b"",
        b"\xff\xfe\x00BUG: KASAN:",
        b"WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2\n",
        b"[",
        b"INFO: task x blocked for more than 1 seconds.\nCall Trace:\n ? \n",
        b"thread 'x' panicked at",
    ];
    for input in inputs {
        for r in parse(input) {
            assert!(r.start <= r.end && r.end <= input.len());
        }
    }
}

#[test]
fn symbolized_warning_is_named_after_the_function_not_its_inlined_callees() {
    // Symbolizers repeat the header and RIP lines once per inlined function;
    // the title names the function the PC is really in, as syzbot does.
    let r = first(&sample("warning-symbolized-inline.log")).expect("a report");
    assert_eq!(r.title, "WARNING in demo_ioctl");
    assert_eq!(r.frame.as_deref(), Some("demo_ioctl"));
    assert!(!r.corrupted, "{:?}", r.corrupted_reason);
}
