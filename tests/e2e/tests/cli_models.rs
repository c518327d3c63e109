//! `promptmeter models` through the real binary: the catalog with prices per million tokens and
//! windows, filters, JSON, and the snapshot regeneration command.

use std::process::{Command, Output};

use promptmeter_e2e::{bin_path, workspace_root};

fn run(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(bin_path())
        .args(args)
        .current_dir(home.path())
        .env("XDG_CONFIG_HOME", home.path())
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .output()
        .expect("run promptmeter")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn table_for_a_filter() {
    let out = run(&["models", "claude-opus-4-8"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&out));
}

#[test]
fn json_for_one_model() {
    let out = run(&["models", "gpt-5.4", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = v
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "gpt-5.4")
        .expect("gpt-5.4 listed");
    insta::assert_json_snapshot!(m);
}

#[test]
fn alias_filter_resolves_to_the_entry() {
    let out = run(&["models", "openrouter/anthropic/claude-sonnet-4.5", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["id"], "claude-sonnet-4-5");
    assert_eq!(v[0]["prices"]["input"], "3");
    assert_eq!(v[0]["tokenizer"]["exact"], false);
}

#[test]
fn whole_catalog_lists_every_family() {
    let out = run(&["models", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    for id in ["claude-sonnet-4-5", "gpt-5", "gemini-2.5-pro", "gemini/gemini-2.5-pro"] {
        assert!(ids.contains(&id), "{id}");
    }
}

#[test]
fn unknown_filter_is_an_error() {
    let out = run(&["models", "no-such-model-xyz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no model matches"));
}

#[test]
fn snapshot_regeneration_reproduces_the_bundled_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("snapshot.json");
    let full = workspace_root().join("tests/data/litellm-model-prices.json");
    let out = run(&[
        "models",
        "--snapshot-from",
        full.to_str().unwrap(),
        "--write",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let bundled = std::fs::read_to_string(workspace_root().join("server/core/data/catalog-snapshot.json")).unwrap();
    assert!(
        std::fs::read_to_string(&target).unwrap() == bundled,
        "regenerated snapshot differs from the bundled one"
    );
}
