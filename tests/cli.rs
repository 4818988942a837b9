//! The `mcpgw` binary as users run it: help, exit codes, output formats, init, completions.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn mcpgw() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcpgw"));
    cmd.env_remove("NO_COLOR").env("CI", "true");
    cmd
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/cli/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn help_lists_every_subcommand_with_examples() {
    let out = mcpgw()
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let help = String::from_utf8(out).unwrap();
    for sub in [
        "dev",
        "validate",
        "init",
        "oauth",
        "upstream",
        "completions",
    ] {
        assert!(
            help.contains(&format!("  {sub}")),
            "--help lacks {sub}:\n{help}"
        );
    }
    for args in [
        &["dev", "--help"][..],
        &["validate", "--help"],
        &["init", "--help"],
        &["oauth", "walk", "--help"],
        &["upstream", "probe", "--help"],
        &["upstream", "mock", "--help"],
        &["completions", "--help"],
    ] {
        mcpgw()
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"));
    }
}

#[test]
fn usage_errors_exit_2() {
    mcpgw().arg("frobnicate").assert().code(2);
    mcpgw()
        .args(["validate", "--format", "xml"])
        .assert()
        .code(2);
}

#[test]
fn validate_exit_codes() {
    mcpgw()
        .args(["validate", &fixture("clean")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("✓ valid"));
    mcpgw()
        .args(["validate", &fixture("warning-only")])
        .assert()
        .code(0);
    mcpgw()
        .args(["validate", "--deny-warnings", &fixture("warning-only")])
        .assert()
        .code(1);
    mcpgw()
        .args(["validate", &fixture("broken")])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("✗ invalid"));
    mcpgw()
        .args(["validate", &fixture("does-not-exist")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such folder"));
    let empty = tempfile::tempdir().unwrap();
    mcpgw()
        .args(["validate", empty.path().to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a Zuplo project"));
}

/// A copy of the clean fixture in a temp folder, for tests that break one of its files.
fn clean_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(&fixture("clean")).to_path_buf();
    let copy = |from: &Path, to: &Path| {
        for entry in walk_files(from) {
            let rel = entry.strip_prefix(from).unwrap();
            let dest = to.join(rel);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(&entry, &dest).unwrap();
        }
    };
    copy(&src, dir.path());
    dir
}

fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Issue #13: a FIFO, a folder, a device or a symbolic-link loop where a config file belongs is
/// refused at once, naming the file (exit 2); nothing blocks, nothing is silently skipped.
#[cfg(unix)]
#[test]
fn validate_refuses_config_files_that_are_not_regular_files() {
    type Make = fn(&Path);
    let cases: [(&str, Make); 4] = [
        ("a FIFO", |p| {
            let made = std::process::Command::new("mkfifo")
                .arg(p)
                .status()
                .unwrap();
            assert!(made.success(), "mkfifo");
        }),
        ("a folder", |p| std::fs::create_dir(p).unwrap()),
        ("a device", |p| {
            std::os::unix::fs::symlink("/dev/zero", p).unwrap();
        }),
        ("Too many levels of symbolic links", |p| {
            std::os::unix::fs::symlink(p, p).unwrap();
        }),
    ];
    for (what, make) in cases {
        let dir = clean_copy();
        let routes = dir.path().join("config/routes.oas.json");
        std::fs::remove_file(&routes).unwrap();
        make(&routes);
        let started = std::time::Instant::now();
        mcpgw()
            .args(["validate", dir.path().to_str().unwrap()])
            .timeout(std::time::Duration::from_secs(20))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("routes.oas.json"))
            .stderr(predicate::str::contains(what));
        assert!(
            started.elapsed().as_secs() < 10,
            "{what}: not refused promptly"
        );
    }
}

#[test]
fn validate_accepts_the_config_folder() {
    let a = mcpgw()
        .args(["validate", "--format", "json", &fixture("broken")])
        .output()
        .unwrap();
    let b = mcpgw()
        .args([
            "validate",
            "--format",
            "json",
            &format!("{}/config", fixture("broken")),
        ])
        .output()
        .unwrap();
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(b.status.code(), Some(1));
}

#[test]
fn human_output_is_plain_when_piped_and_has_source_and_caret() {
    let out = mcpgw()
        .args(["validate", &fixture("broken")])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains('\x1b'),
        "escape codes in piped output:\n{text}"
    );
    assert!(text.contains("error[MCP003]"), "{text}");
    assert!(text.contains(" --> zuplo.jsonc:5:24"), "{text}");
    assert!(text.contains("^^^^^^^^^^^^"), "{text}");
    let colored = mcpgw()
        .args(["--color", "always", "validate", &fixture("broken")])
        .output()
        .unwrap();
    assert!(String::from_utf8(colored.stdout).unwrap().contains('\x1b'));
}

#[test]
fn json_output_has_the_exact_shape() {
    let out = mcpgw()
        .args(["validate", "--format", "json", &fixture("broken")])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["diagnostics", "summary"]);
    let d = &v["diagnostics"][0];
    let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "rule", "name", "severity", "file", "line", "column", "message", "help"
        ]
    );
    assert_eq!(d["rule"], "MCP003");
    assert_eq!(d["file"], "zuplo.jsonc");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(5), Some(24))
    );
    let s = &v["summary"];
    assert_eq!(s["errors"], 1);
    assert_eq!(s["files"], 4);
}

#[test]
fn github_annotations_name_the_path_as_given() {
    let dir = fixture("broken");
    let out = mcpgw()
        .args(["validate", "--format", "github", &dir])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!(
            "::error file={dir}/zuplo.jsonc,line=5,col=24,title=MCP003 compatibility-date-unknown::"
        )),
        "{text}"
    );
}

#[test]
fn sarif_is_2_1_0_with_rules_and_results() {
    let out = mcpgw()
        .args(["validate", "--format", "sarif", &fixture("broken")])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "mcpgw");
    assert!(run["tool"]["driver"]["rules"].as_array().unwrap().len() >= 77);
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "MCP003");
    assert_eq!(result["level"], "error");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(5), Some(24))
    );
    let idx = result["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], "MCP003");
}

#[test]
fn every_template_inits_and_validates_clean() {
    for t in mcpgw::templates::TEMPLATES {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("gw");
        mcpgw()
            .args(["init", target.to_str().unwrap(), "--template", t.name])
            .assert()
            .success();
        let out = mcpgw()
            .args(["validate", "--format", "json", target.to_str().unwrap()])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["diagnostics"],
            serde_json::json!([]),
            "template {} is not clean: {v:#}",
            t.name
        );
        assert_eq!(out.status.code(), Some(0));
        let gitignore = std::fs::read_to_string(target.join(".gitignore")).unwrap();
        for line in mcpgw::templates::GITIGNORE_LINES {
            assert!(
                gitignore.lines().any(|l| l == line),
                "{}: .gitignore lacks {line}",
                t.name
            );
        }
    }
}

#[test]
fn init_refuses_to_overwrite_and_merges_gitignore() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join(".gitignore"), "node_modules/\n.env\n").unwrap();
    mcpgw()
        .args(["init", root.to_str().unwrap(), "--template", "quickstart"])
        .assert()
        .success();
    let gitignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    assert_eq!(gitignore, "node_modules/\n.env\n.mcpgw/\n.zuplo-local/\n");

    let before = std::fs::read_to_string(root.join("config/policies.json")).unwrap();
    std::fs::write(root.join("zuplo.jsonc"), "{}").unwrap();
    mcpgw()
        .args([
            "init",
            root.to_str().unwrap(),
            "--template",
            "multi-upstream",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusing to overwrite"));
    assert_eq!(
        std::fs::read_to_string(root.join("config/policies.json")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_to_string(root.join("zuplo.jsonc")).unwrap(),
        "{}"
    );
    mcpgw()
        .args(["init", root.to_str().unwrap(), "--template", "nope"])
        .assert()
        .code(2);
}

#[test]
fn committed_completions_are_fresh() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        ("bash", "mcpgw.bash"),
        ("zsh", "_mcpgw"),
        ("fish", "mcpgw.fish"),
        ("powershell", "_mcpgw.ps1"),
    ] {
        let out = mcpgw().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        let path = dir.join(file);
        if std::env::var_os("UPDATE_EXPECT").is_some() {
            std::fs::write(&path, &out.stdout).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "completions/{file} is stale: run UPDATE_EXPECT=1 cargo test --test cli"
        );
    }
}

#[test]
fn the_bundled_example_is_the_quickstart_template_and_templates_hold_no_state() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (rel, contents) in mcpgw::templates::files("quickstart").unwrap() {
        let example =
            std::fs::read(root.join("examples/quickstart").join(&rel)).unwrap_or_default();
        assert!(
            example == contents,
            "examples/quickstart/{rel} differs from the quickstart template"
        );
    }
    for t in mcpgw::templates::TEMPLATES {
        for (rel, _) in mcpgw::templates::files(t.name).unwrap() {
            assert!(
                !rel.starts_with(".mcpgw/") && rel != ".env",
                "template {} embeds {rel}",
                t.name
            );
        }
    }
}

/// Issue #15 point 4: CI validates a checkout with no `.env`. Without flags the unset variables
/// are errors; with `--env-example` the names of `.env.example` count as set by the deployment
/// (their placeholder values are not judged); a name it lacks is still an error at its
/// position; `--env-file` supplies real values, which are judged.
#[test]
fn validate_in_ci_without_secrets() {
    let dir = fixture("ci-env");
    mcpgw()
        .args(["validate", &dir])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("is not set"));
    mcpgw()
        .args(["validate", &dir, "--env-example"])
        .assert()
        .success()
        .stdout(predicate::str::contains("0 errors"));

    // a variable that neither .env.example nor the environment defines
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(Path::new(&dir), tmp.path());
    let policies = tmp.path().join("config/policies.json");
    let text = std::fs::read_to_string(&policies)
        .unwrap()
        .replace("\"abc\"", "\"$env(CI_ENV_TEST_NOT_IN_EXAMPLE)\"");
    std::fs::write(&policies, text).unwrap();
    let out = mcpgw()
        .args(["validate", "--env-example", "--format", "json"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let missing = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["rule"] == "MCP009")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(missing["severity"], "error");
    assert_eq!(
        (missing["file"].as_str(), missing["line"].as_u64()),
        (Some("config/policies.json"), Some(11))
    );

    // --env-file values are real: a bad one is judged
    let env_file = tmp.path().join("ci.env");
    std::fs::write(
        &env_file,
        "CI_ENV_TEST_API_URL=not a url\nCI_ENV_TEST_AUTH0_DOMAIN=acme.us.auth0.com\nCI_ENV_TEST_AUTH0_CLIENT_SECRET=s\n",
    )
    .unwrap();
    mcpgw()
        .args(["validate", &dir, "--env-file"])
        .arg(&env_file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not an http(s) URL"));
    std::fs::write(
        &env_file,
        "CI_ENV_TEST_API_URL=https://api.example.com/mcp\nCI_ENV_TEST_AUTH0_DOMAIN=acme.us.auth0.com\nCI_ENV_TEST_AUTH0_CLIENT_SECRET=s\n",
    )
    .unwrap();
    mcpgw()
        .args(["validate", &dir, "--env-file"])
        .arg(&env_file)
        .assert()
        .success();
    mcpgw()
        .args(["validate", &dir, "--env-file", "/nonexistent/ci.env"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/nonexistent/ci.env"));
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
