//! `culprit bisect --html FILE`: the bisection page of a single-machine
//! run as one self-contained file (the dashboard's page, finished).

mod common;

use common::{bisect_args, culprit, TestRepo};

#[test]
fn the_page_of_a_run_has_the_steps_the_range_the_culprit_and_the_mail() {
    let mut repo = TestRepo::new();
    let h = repo.linear(12, 7, "BUG");
    let work = tempfile::tempdir().unwrap();
    let html = work.path().join("page.html");
    let (path, workdir) = (
        repo.path().display().to_string(),
        work.path().join("w").display().to_string(),
    );
    let html_arg = html.display().to_string();
    let mut args = bisect_args(&path, &workdir, "HEAD");
    // bayes: its suspects make the second picture.
    args.extend(["--good", &h[0], "--strategy", "bayes", "--html", &html_arg]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let page = std::fs::read_to_string(&html).expect("the page is written");
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(
        page.contains(&format!("<code>{}</code> commit 7", h[7])),
        "no culprit"
    );
    assert!(page.contains("<svg id=\"range\""), "no range picture");
    assert!(page.contains("<svg id=\"suspects\""), "no suspects picture");
    let rows = page.matches("<tr><td>").count();
    assert_eq!(
        rows,
        r.json()["steps"].as_array().map_or(0, Vec::len),
        "steps table"
    );
    assert!(
        page.contains(&format!("Fixes: {} (&quot;commit 7&quot;)", &h[7][..12])),
        "no mail"
    );
    assert!(page.contains("WARNING in foo"), "no crash");
    assert!(page.contains("is the first bad commit"), "no log");
    // Self-contained: no script, nothing fetched.
    for fetching in ["<script", "src=", "href=", "<link", "url("] {
        assert!(!page.contains(fetching), "not self-contained: {fetching}");
    }

    // A file that cannot be written is bad input, found before bisecting.
    let mut args = bisect_args(&path, &workdir, "HEAD");
    args.extend(["--good", &h[0], "--html", "/nonexistent/dir/page.html"]);
    let r = culprit(repo.home.path(), &args);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("--html /nonexistent/dir/page.html"),
        "{}",
        r.stderr
    );
}
