//! Documentation generated from the code stays fresh: `docs/rules.md` lists every rule of the
//! catalogue. Set `UPDATE_EXPECT=1` to regenerate.

use mcpgw::diag::rules;
use std::path::Path;

fn rules_markdown() -> String {
    let mut out = String::from(
        "# Validation rules\n\n\
         Generated from `src/diag/rules.rs` by `tests/docs.rs`; do not edit by hand.\n\n\
         `MCP001`–`MCP077` are the rules of SPEC §2 with the same numbers. `MCP1xx` are mcpgw's own:\n\
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
