//! The dashboard in a real browser: headless Chromium driven through
//! chromium-driver (WebDriver). It submits a job with the dashboard's
//! form, watches the bisection page take log lines and new steps without
//! reloading (server-sent events), saves a screenshot of the finished
//! page (`target/service-dashboard.png`, or `$CULPRIT_SCREENSHOT`), and
//! cancels a waiting job with the dashboard's button.

mod svc;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use svc::Service;

fn find(names: &[&str]) -> Option<PathBuf> {
    names.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// chromedriver on a free port, killed at the end.
struct Driver {
    child: Child,
    host: String,
    session: String,
}

impl Driver {
    fn start(chromium: &Path, driver: &Path, profile: &Path) -> Driver {
        let port = culprit_service::local::free_port().expect("port");
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver");
        // Owned by a Driver at once: a failure below still stops it.
        let mut driver = Driver {
            child,
            host: format!("127.0.0.1:{port}"),
            session: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while svc::request(&driver.host, "GET", "/status", &[], b"").is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1200,2400",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let answer = driver.call("POST", "/session", &capabilities);
        driver.session = answer["sessionId"].as_str().expect("session").to_owned();
        driver
    }

    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = if method == "GET" {
            String::new()
        } else {
            body.to_string()
        };
        let (status, text) = svc::request(
            &self.host,
            method,
            path,
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .expect("WebDriver request");
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_eq!(status, 200, "WebDriver {method} {path}: {text}");
        value["value"].clone()
    }

    fn session(&self, method: &str, path: &str, body: Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), &body)
    }

    fn go(&self, url: &str) {
        self.session("POST", "/url", json!({"url": url}));
    }

    fn element(&self, css: &str) -> String {
        let found = self.session(
            "POST",
            "/element",
            json!({"using": "css selector", "value": css}),
        );
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("element")
            .to_owned()
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.session(
            "POST",
            &format!("/element/{element}/value"),
            json!({"text": text}),
        );
    }

    fn click(&self, css: &str) {
        let element = self.element(css);
        self.session("POST", &format!("/element/{element}/click"), json!({}));
    }

    fn script(&self, script: &str) -> Value {
        self.session(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
    }

    fn url(&self) -> String {
        self.session("GET", "/url", Value::Null)
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    fn screenshot(&self) -> Vec<u8> {
        let data = self.session("GET", "/screenshot", Value::Null);
        base64_decode(data.as_str().expect("screenshot"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = svc::request(
                &self.host,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                b"",
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let digits: Vec<u8> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n =
            chunk.iter().fold(0u32, |acc, d| acc << 6 | u32::from(*d)) << (6 * (4 - chunk.len()));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

/// The test stored in the repository: a kernel-style WARNING when `code.c`
/// has the bug.
const TEST_SH: &str = r#"if grep -q BUG code.c; then
  cat <<'EOR'
------------[ cut here ]------------
WARNING: CPU: 0 PID: 1 at kernel/foo.c:10 foo+0x10/0x20 kernel/foo.c:10
Modules linked in:
CPU: 0 PID: 1 Comm: a.out Not tainted 6.1.0 #1
RIP: 0010:foo+0x10/0x20 kernel/foo.c:10
Call Trace:
 <TASK>
 bar+0x1/0x2 kernel/bar.c:1
 do_syscall_64+0x35/0xb0 arch/x86/entry/common.c:80
 entry_SYSCALL_64_after_hwframe+0x44/0xae
 </TASK>
EOR
  exit 1
fi
exit 0
"#;

#[test]
fn the_dashboard_submits_a_job_and_its_page_updates_live() {
    let (Some(chromium), Some(chromedriver)) = (
        find(&["/usr/bin/chromium", "/usr/lib/chromium/chromium"]),
        find(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]),
    ) else {
        println!("SKIPPED: the browser test: chromium and chromium-driver are not installed (bash scripts/deps.sh)");
        return;
    };
    let Some(mut service) = Service::start("the browser test") else {
        return;
    };
    let repo = service.dir.path().join("repo");
    let h = svc::history(&repo, 40, |i| {
        let bug = if i >= 27 { "BUG\n" } else { "" };
        vec![
            ("code.c".into(), format!("int f{i};\n{bug}")),
            ("test.sh".into(), TEST_SH.into()),
        ]
    });
    service.worker("browser-worker", &[], &[]);
    let job = svc::generic_job(&repo, &h[39], &h[0], "sleep 0.25; sh test.sh", "");
    let driver = Driver::start(
        &chromium,
        &chromedriver,
        &service.dir.path().join("profile"),
    );
    driver.go(&format!("http://{}/", service.http));
    driver.type_into("#job", &job);
    driver.type_into("#apitoken", svc::TOKEN);
    driver.click("#submit");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !driver.url().contains("/jobs/") {
        assert!(
            Instant::now() < deadline,
            "the form did not lead to the job's page"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A mark the page keeps until it is loaded again.
    driver.script("window.culpritMark = 42;");
    let mut log_lengths = Vec::new();
    let mut rows_seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let last = loop {
        let seen = driver.script(
            "return {mark: window.culpritMark, log: document.getElementById('log').textContent.length,\
             state: document.getElementById('state').textContent,\
             rows: document.querySelectorAll('#steps tr').length,\
             culprit: (document.getElementById('culprit') || {textContent: ''}).textContent};",
        );
        assert_eq!(seen["mark"], 42, "the page was loaded again: {seen}");
        log_lengths.push(seen["log"].as_u64().unwrap_or(0));
        rows_seen.push(seen["rows"].as_u64().unwrap_or(0));
        if seen["state"] == "done" && !seen["culprit"].as_str().unwrap_or("").is_empty() {
            break seen;
        }
        assert!(Instant::now() < deadline, "the page did not finish: {seen}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        last["culprit"].as_str().unwrap_or("").contains(&h[27]),
        "{last}"
    );
    let mut growth: Vec<u64> = log_lengths.clone();
    growth.dedup();
    assert!(
        growth.len() >= 3,
        "the log did not grow live: {log_lengths:?}"
    );
    assert!(growth.windows(2).all(|w| w[0] <= w[1]), "{log_lengths:?}");
    let mut rows: Vec<u64> = rows_seen.clone();
    rows.dedup();
    assert!(
        rows.len() >= 3,
        "the steps table did not grow live: {rows_seen:?}"
    );
    // The finished page, as a reader sees it, from the top.
    driver.script("window.scrollTo(0, 0);");
    let png = driver.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let path = std::env::var_os("CULPRIT_SCREENSHOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/service-dashboard.png")
        });
    std::fs::write(&path, png).expect("screenshot written");
    println!("screenshot: {}", path.display());
    // Back on the dashboard: the queue counts the job as done, and a
    // waiting job is cancelled with its button (the token typed below).
    let waiting = service.submit_ok(&svc::generic_job(&repo, &h[39], &h[0], "sleep 5", ""));
    driver.go(&format!("http://{}/", service.http));
    driver.type_into("#apitoken", svc::TOKEN);
    let counts = driver.script("return document.getElementById('counts').textContent;");
    assert!(
        counts.as_str().unwrap_or("").contains("done (1)"),
        "{counts}"
    );
    // Found and clicked at once: the table is redrawn every 2 seconds.
    let clicked = driver.script(&format!(
        "var b = document.querySelector('button[data-cancel=\"{waiting}\"]'); if (b) {{ b.click(); }} return !!b;"
    ));
    assert_eq!(clicked, true, "no cancel button for job {waiting}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while service.get_json(&format!("/api/jobs/{waiting}"))["cancel_requested"] != true {
        assert!(Instant::now() < deadline, "the cancel button did nothing");
        std::thread::sleep(Duration::from_millis(50));
    }
}
