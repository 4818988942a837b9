//! The documentation stays fresh: `docs/rules.md` is generated from the rule catalogue (set
//! `UPDATE_EXPECT=1` to regenerate); README.md starts with the run and test commands, has a
//! section per command and links every docs/ page; every local link resolves; every option the
//! docs show exists; the `oauth walk` transcript in docs/oauth-walk.md has the walk's steps and
//! sends the requests of tests/golden/walk-quickstart.txt; source paths the docs name exist.

use mcpgw::diag::rules;
use std::path::{Path, PathBuf};

fn rules_markdown() -> String {
    let mut out = String::from(
        "# Validation rules\n\n\
         Generated from `src/diag/rules.rs` by `tests/docs.rs`; do not edit by hand.\n\n\
         `MCP001`–`MCP077` are the rules of SPEC §2 with the same numbers, `MCP078`–`MCP088` those\n\
         of SPEC §15.15 (the MCP Server handler). `MCP1xx` are mcpgw's own:\n\
         what `mcpgw dev` cannot run (D11), JSON Schema checks of other policies (D13), and shape\n\
         checks the gateway makes at boot.\n\n\
         | id | name | severity | checks | fix |\n|---|---|---|---|---|\n",
    );
    for r in rules::ALL {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} |\n",
            r.code,
            r.name,
            r.severity.as_str(),
            r.summary.replace('|', "\\|"),
            r.help.replace('|', "\\|")
        ));
    }
    out
}

#[test]
fn rules_doc_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
    let expected = rules_markdown();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "docs/rules.md is stale: run UPDATE_EXPECT=1 cargo test --test docs"
    );
}

// ---------------------------------------------------------------------------------------------
// README.md and docs/*.md: the README's first commands, links, command sections, flags, and
// the oauth walk transcript against the golden requests.

/// The README's opening commands: `.ci/run` runs "the README's test command".
const README_COMMANDS: [&str; 2] = [
    "cargo run --release -- dev examples/quickstart --with-mock",
    "scripts/test.sh",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// README.md and every docs/*.md, as (path relative to the root, text).
fn doc_files() -> Vec<(String, String)> {
    let mut files = vec![("README.md".to_string(), read("README.md"))];
    let mut pages: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    pages.sort();
    for p in pages {
        let text = read(&p);
        files.push((p, text));
    }
    files
}

/// A fenced code block's lines.
struct Fence {
    lines: Vec<String>,
}

/// Splits markdown into prose (fenced blocks blanked out, line count kept) and fenced blocks.
fn split_fences(text: &str) -> (String, Vec<Fence>) {
    let mut prose = String::new();
    let mut fences = Vec::new();
    let mut open: Option<Fence> = None;
    for line in text.lines() {
        let fence_line = line.trim_start().starts_with("```");
        match open.take() {
            None if fence_line => open = Some(Fence { lines: Vec::new() }),
            None => prose.push_str(line),
            Some(f) if fence_line => fences.push(f),
            Some(mut f) => {
                f.lines.push(line.to_string());
                open = Some(f);
            }
        }
        prose.push('\n');
    }
    assert!(open.is_none(), "an unclosed ``` fence");
    (prose, fences)
}

/// Inline code spans of prose (single backticks; may run over a line break).
fn code_spans(prose: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut rest = prose;
    while let Some(start) = rest.find('`') {
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let after = &rest[start + ticks..];
        let close = "`".repeat(ticks);
        match after.find(&close) {
            Some(end) => {
                spans.push(after[..end].replace('\n', " "));
                rest = &after[end + ticks..];
            }
            None => break,
        }
    }
    spans
}

/// Prose with inline code removed (a `[x](y)` inside code is not a link).
fn without_code(prose: &str) -> String {
    let mut out = String::new();
    let mut in_code = false;
    for c in prose.chars() {
        if c == '`' {
            in_code = !in_code;
        } else if !in_code {
            out.push(c);
        }
    }
    out
}

/// The targets of `[text](target)` links and `![alt](target)` images in prose.
fn link_targets(prose: &str) -> Vec<String> {
    let text = without_code(prose);
    let mut out = Vec::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("](") {
        let after = &rest[i + 2..];
        let end = after.find(')').unwrap_or(after.len());
        let target = after[..end].trim();
        // `[text](target "title")`
        let target = target.split_whitespace().next().unwrap_or("");
        out.push(target.to_string());
        rest = &after[end..];
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors a markdown file offers (duplicates get -1, -2 … as on GitHub).
fn anchors(text: &str) -> Vec<String> {
    let (prose, _) = split_fences(text);
    let mut seen: Vec<String> = Vec::new();
    for line in prose.lines() {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') {
            let base = slug(&line[hashes..]);
            let mut anchor = base.clone();
            let mut n = 0;
            while seen.contains(&anchor) {
                n += 1;
                anchor = format!("{base}-{n}");
            }
            seen.push(anchor);
        }
    }
    seen
}

/// Every broken local link of `file` (relative to the root) with text `text`.
fn broken_links(file: &str, text: &str) -> Vec<String> {
    let (prose, _) = split_fences(text);
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let mut broken = Vec::new();
    for target in link_targets(&prose) {
        if target.is_empty() {
            broken.push(format!("{file}: an empty link target"));
            continue;
        }
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let (path, fragment) = match target.split_once('#') {
            Some((p, f)) => (p, Some(f)),
            None => (target.as_str(), None),
        };
        let resolved = if path.is_empty() {
            root().join(file)
        } else {
            root().join(dir).join(path)
        };
        if !resolved.exists() {
            broken.push(format!("{file}: `{target}` does not exist"));
            continue;
        }
        if let Some(fragment) = fragment {
            let is_md = resolved.extension().is_some_and(|e| e == "md");
            let offered = if path.is_empty() {
                anchors(text)
            } else if is_md {
                anchors(&std::fs::read_to_string(&resolved).unwrap())
            } else {
                Vec::new()
            };
            if !offered.iter().any(|a| a == fragment) {
                broken.push(format!(
                    "{file}: `{target}`: no heading with anchor #{fragment}"
                ));
            }
        }
    }
    broken
}

#[test]
fn readme_starts_with_the_run_and_test_commands() {
    let readme = read("README.md");
    let (_, fences) = split_fences(&readme);
    let first = fences.first().expect("README.md has no code block");
    assert_eq!(
        first.lines, README_COMMANDS,
        "README.md's first code block must be exactly the run and the test commands"
    );
    // nothing but the title before it
    let before = &readme[..readme.find("```").unwrap()];
    assert!(
        before.lines().filter(|l| !l.trim().is_empty()).count() == 1 && before.starts_with("# "),
        "README.md must start with its title and then the two commands, found:\n{before}"
    );
    // the commands work on a fresh clone: the example project and the script are in the repo
    assert!(root().join("examples/quickstart/zuplo.jsonc").is_file());
    let script = root().join("scripts/test.sh");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&script).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "scripts/test.sh is not executable");
    }
    assert!(
        read(".ci/run")
            .lines()
            .any(|l| l.trim_start().starts_with(README_COMMANDS[1])),
        ".ci/run must run the README's test command ({})",
        README_COMMANDS[1]
    );
}

#[test]
fn every_local_link_in_the_readme_and_docs_resolves() {
    let mut broken = Vec::new();
    for (file, text) in doc_files() {
        broken.extend(broken_links(&file, &text));
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_check_finds_broken_links() {
    let text = "# Title\n\n## What works\n\nSee [a](docs/dev.md), [b](docs/nope.md), \
                [c](#what-works), [d](#nowhere), [e](docs/dev.md#what-works), \
                [f](docs/dev.md#nowhere), [g](https://example.com/x), `[h](not-a-link.md)`.\n\
                ```\n[i](inside-a-fence.md)\n```\n";
    let broken = broken_links("README.md", text);
    assert_eq!(broken.len(), 3, "{broken:#?}");
    assert!(broken[0].contains("docs/nope.md"));
    assert!(broken[1].contains("#nowhere"));
    assert!(broken[2].contains("docs/dev.md#nowhere"));
    assert_eq!(
        slug("`--oauth`: the mock, behind (its) AS"),
        "--oauth-the-mock-behind-its-as"
    );
}

#[test]
fn the_flag_check_finds_unknown_flags() {
    let (path, tail) =
        command_of("$ mcpgw upstream mock --oauth --no-such-flag 1 # --comment").unwrap();
    assert_eq!(path, ["upstream", "mock"]);
    let known = long_flags(&as_strs(&path)).unwrap();
    let unknown: Vec<String> = flags_in(tail.split(" #").next().unwrap())
        .into_iter()
        .filter(|f| !known.contains(f))
        .collect();
    assert_eq!(unknown, ["no-such-flag"]);
    assert_eq!(
        flags_in("[--with-mock[=ADDR]] --prm-at path|root"),
        ["with-mock", "prm-at"]
    );
    assert!(command_of("cargo run --release -- dev").is_none());
}

#[test]
fn every_docs_page_is_linked_from_the_readme() {
    let readme = read("README.md");
    let (prose, _) = split_fences(&readme);
    let linked = link_targets(&prose);
    let missing: Vec<String> = doc_files()
        .into_iter()
        .map(|(f, _)| f)
        .filter(|f| {
            f.starts_with("docs/") && !linked.iter().any(|t| t.split('#').next() == Some(f))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's documentation index does not link {missing:?}"
    );
}

/// Every leaf command: ["dev"], ["oauth", "walk"] …
fn leaf_commands(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    if subs.is_empty() && !path.is_empty() {
        out.push(path);
        return;
    }
    for s in subs {
        let mut p = path.clone();
        p.push(s.get_name().to_string());
        leaf_commands(s, p, out);
    }
}

fn cli() -> clap::Command {
    use clap::CommandFactory as _;
    mcpgw::cli::Cli::command()
}

/// Every command the binary has, as its words after `mcpgw`.
fn commands() -> Vec<Vec<String>> {
    let mut leaves = Vec::new();
    leaf_commands(&cli(), Vec::new(), &mut leaves);
    leaves
}

#[test]
fn the_readme_has_a_section_for_every_command() {
    let readme = read("README.md");
    let leaves = commands();
    assert!(leaves.len() >= 7, "{leaves:?}");
    let missing: Vec<String> = leaves
        .iter()
        .map(|p| format!("## `mcpgw {}`", p.join(" ")))
        .filter(|h| !readme.lines().any(|l| l == h))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md lacks the sections {missing:?}"
    );
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The long flags a command accepts, with the global ones.
fn long_flags(path: &[&str]) -> Option<Vec<String>> {
    let mut cmd = cli();
    let mut flags: Vec<String> = vec!["help".into(), "version".into()];
    flags.extend(
        cmd.get_arguments()
            .filter(|a| a.is_global_set())
            .filter_map(|a| a.get_long().map(String::from)),
    );
    for name in path {
        cmd = cmd.find_subcommand(name)?.clone();
    }
    flags.extend(
        cmd.get_arguments()
            .filter_map(|a| a.get_long().map(String::from)),
    );
    Some(flags)
}

/// `--flag` words of a command line or code span.
fn flags_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == '[' || c == ']' || c == '(' || c == ')')
        .filter_map(|w| w.strip_prefix("--"))
        .map(|w| {
            w.split(['=', '|', ',', '`'])
                .next()
                .unwrap_or("")
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Which command a `mcpgw …` text (optionally after `$ `) runs, and the rest of it.
fn command_of(text: &str) -> Option<(Vec<String>, &str)> {
    let text = text.trim();
    let mut rest = text
        .strip_prefix("$ ")
        .unwrap_or(text)
        .strip_prefix("mcpgw ")?;
    let words: Vec<&str> = rest.split_whitespace().collect();
    let path = commands()
        .into_iter()
        .find(|p| words.len() >= p.len() && words[..p.len()] == p[..])?;
    for w in &path {
        rest = rest.trim_start().strip_prefix(w.as_str()).unwrap();
    }
    Some((path, rest))
}

/// Command pages: every `--flag` in their inline code is an option of that command.
const COMMAND_PAGES: [(&str, &[&str]); 6] = [
    ("docs/dev.md", &["dev"]),
    ("docs/validate.md", &["validate"]),
    ("docs/init.md", &["init"]),
    ("docs/oauth-walk.md", &["oauth", "walk"]),
    ("docs/probe.md", &["upstream", "probe"]),
    ("docs/mock.md", &["upstream", "mock"]),
];

#[test]
fn every_flag_the_docs_show_exists() {
    let mut unknown = Vec::new();
    let mut checked = 0;
    let mut check = |file: &str, path: &[&str], text: &str| {
        let known =
            long_flags(path).unwrap_or_else(|| panic!("no command mcpgw {}", path.join(" ")));
        for f in flags_in(text) {
            checked += 1;
            if !known.contains(&f) {
                unknown.push(format!(
                    "{file}: `mcpgw {} --{f}` ({})",
                    path.join(" "),
                    text.trim()
                ));
            }
        }
    };
    for (file, text) in doc_files() {
        let (prose, fences) = split_fences(&text);
        let page = COMMAND_PAGES.iter().find(|(p, _)| *p == file);
        for span in code_spans(&prose) {
            if let Some((path, tail)) = command_of(&span) {
                check(&file, &as_strs(&path), tail);
            } else if let Some((_, path)) = page {
                check(&file, path, &span);
            }
        }
        for fence in &fences {
            for line in &fence.lines {
                // `$ mcpgw …`, `mcpgw …`, and the CI recipe's `run: mcpgw validate …`
                let line = line.trim().trim_start_matches("run: ");
                let line = line.split(" #").next().unwrap();
                if let Some((path, tail)) = command_of(line) {
                    check(&file, &as_strs(&path), tail);
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} flags found: is the parser broken?"
    );
    assert!(
        unknown.is_empty(),
        "the docs show options that do not exist:\n{}",
        unknown.join("\n")
    );
}

/// The `oauth walk` transcript in docs/oauth-walk.md: the fenced block with every step.
fn walk_transcript() -> Vec<String> {
    let (_, fences) = split_fences(&read("docs/oauth-walk.md"));
    fences
        .into_iter()
        .find(|f| f.lines.iter().any(|l| l.starts_with("10. ")))
        .expect("docs/oauth-walk.md has no whole transcript (a block with step 10)")
        .lines
}

#[test]
fn the_walk_transcript_has_the_steps_of_the_walk() {
    let kinds = mcpgw::walk::StepKind::ALL;
    let headings: Vec<String> = walk_transcript()
        .into_iter()
        .filter(|l| {
            l.split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .collect();
    let expected: Vec<String> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{}. {} ✓", i + 1, k.title()))
        .collect();
    assert_eq!(
        headings, expected,
        "docs/oauth-walk.md's transcript is stale: run `mcpgw oauth walk --route /mcp/mock-v1` \
         against `mcpgw dev examples/quickstart --with-mock` and paste it"
    );
}

#[test]
fn the_walk_transcript_sends_the_golden_requests() {
    // `$ curl … \` continued lines; the last one is the URL
    let lines = walk_transcript();
    let mut requests = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if let Some(first) = line.strip_prefix("$ curl ") {
            let method = if first.contains("-X POST") {
                "POST"
            } else {
                "GET"
            };
            while lines[i].trim_end().ends_with('\\') {
                i += 1;
            }
            let url = lines[i].trim().trim_matches('\'');
            let path = url
                .split_once("://")
                .map_or(url, |(_, r)| &r[r.find('/').unwrap_or(r.len())..]);
            let path = path.split('?').next().unwrap();
            requests.push(format!("{method} {path}"));
        }
        i += 1;
    }
    let golden: Vec<String> = read("tests/golden/walk-quickstart.txt")
        .lines()
        .filter(|l| !l.starts_with(' '))
        .map(|l| l.split('?').next().unwrap().to_string())
        .collect();
    assert!(golden.len() > 10, "{golden:?}");
    assert_eq!(
        requests, golden,
        "docs/oauth-walk.md's transcript no longer sends what tests/golden/walk-quickstart.txt \
         records: rerun the walk and paste its transcript"
    );
}

#[test]
fn source_paths_named_in_the_docs_exist() {
    // `src/…`, `tests/…`, `scripts/…`, `benches/…` in inline code or as plain words
    let mut missing = Vec::new();
    for (file, text) in doc_files() {
        for word in text.split(|c: char| c.is_whitespace() || "`()[],;:".contains(c)) {
            let word = word.trim_end_matches('.');
            let is_path = ["src/", "tests/", "scripts/", "benches/", "examples/"]
                .iter()
                .any(|p| word.starts_with(p));
            // `<case>`, `…`, globs, and state that `mcpgw dev` creates (`.mcpgw/`) are not files
            if !is_path
                || word.contains('<')
                || word.contains('…')
                || word.contains('*')
                || word.contains(".mcpgw")
            {
                continue;
            }
            if !root().join(word).exists() {
                missing.push(format!("{file}: {word}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the docs name files that do not exist:\n{}",
        missing.join("\n")
    );
}
