//! `promptmeter demo` cleans up after itself however it is stopped: its temporary config and
//! ledger are gone after Ctrl-C (SIGINT) and after SIGTERM (what `kill` and supervisors send).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use promptmeter_e2e::bin_path;

fn stopped_by(signal: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin_path())
        .args(["demo", "--port", "0", "--speed", "20"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let dir: PathBuf = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.split("Temporary ledger: ").nth(1).map(|d| PathBuf::from(d.trim())))
        .expect("the demo names its temporary ledger");
    assert!(dir.starts_with(tmp.path()), "{}", dir.display());
    // Let the session run a little (requests land in the ledger).
    let start = Instant::now();
    while !dir.join("ledger.sqlite").exists() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(dir.join("ledger.sqlite").exists());
    std::thread::spawn(move || for _ in lines {});
    let ok = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{signal}: {status}");
    assert!(!dir.exists(), "{signal} left {} behind", dir.display());
}

#[test]
fn sigterm_removes_the_temporary_ledger() {
    stopped_by("-TERM");
}

#[test]
fn ctrl_c_removes_the_temporary_ledger() {
    stopped_by("-INT");
}
