//! Feeds arbitrary bytes to the crash parser: it must never panic, and what
//! it returns must be consistent with its input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for report in culprit_report::parse(data) {
        assert!(report.start <= report.end && report.end <= data.len());
        assert!(!report.title.is_empty());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = culprit_report::guilty_file(text);
    }
});
