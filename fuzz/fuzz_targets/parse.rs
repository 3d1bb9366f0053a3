//! Feeds arbitrary bytes to the crash parser: it must never panic, and what
//! it returns must be consistent with its input; crash identities of what
//! it finds must relate to themselves.
#![no_main]

use culprit_report::{relate, Identity};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let reports = culprit_report::parse(data);
    for report in &reports {
        assert!(report.start <= report.end && report.end <= data.len());
        assert!(!report.title.is_empty());
        let id = Identity::of(report);
        assert!(relate(&id, &id).is_some(), "{id:?}");
    }
    if let [a, b, ..] = reports.as_slice() {
        let _ = relate(&Identity::of(a), &Identity::of(b));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = culprit_report::guilty_file(text);
        for word in text.split_whitespace().take(64) {
            let _ = culprit_report::generic_class(word);
        }
    }
});
