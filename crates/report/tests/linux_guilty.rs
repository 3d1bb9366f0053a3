//! Guilty files of syzkaller's symbolized reports in shared/testdata.

mod common;

#[test]
fn guilty_files_of_symbolized_reports() {
    let Some(dir) = common::testdata("linux-guilty") else {
        return;
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let (mut total, mut right) = (0, 0);
    for path in entries {
        let data = String::from_utf8_lossy(&std::fs::read(&path).expect("read file")).into_owned();
        let Some((header, report)) = data.split_once("\n\n") else {
            continue;
        };
        let Some(expected) = header.lines().find_map(|l| l.strip_prefix("FILE: ")) else {
            continue;
        };
        total += 1;
        let got = culprit_report::guilty_file(report);
        if got.as_deref() == Some(expected.trim()) {
            right += 1;
        } else {
            println!("MISMATCH {}: {got:?} != {expected:?}", path.display());
        }
    }
    let rate = 100.0 * right as f64 / total.max(1) as f64;
    println!("guilty files: {rate:.1}% ({right}/{total})");
    assert!(total >= 30, "only {total} guilty test files");
    assert!(rate >= 80.0, "guilty files {rate:.1}% < 80%");
}
