//! `mcpgw validate [PATH]`: run the rules and print the findings in the chosen format.

use crate::validate::render::{self, HumanStyle};
use crate::validate::{self, Options};
use clap::{Args, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The project folder or its config/ folder
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 on warnings too
    #[arg(long)]
    pub deny_warnings: bool,
    /// Compare upstream ids and MCP operationIds with this git revision (rule MCP045)
    #[arg(long, value_name = "REV")]
    pub baseline: Option<String>,
    /// Judge the project as `mcpgw dev --local-idp` serves it: options only the real identity
    /// provider needs may be unset (D25 b)
    #[arg(long)]
    pub local_idp: bool,
    /// Read variables from this `.env`-style file too, after the project's `.env`
    /// (repeatable): for CI, where the project's `.env` is not checked in
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// Count the names in the project's `.env.example` as set by the deployment: their values
    /// are not checked, but a `$env(NAME)` that no source defines is still an error
    #[arg(long)]
    pub env_example: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Compiler-style report with source lines and carets
    Human,
    /// {"diagnostics": [...], "summary": {...}}
    Json,
    /// GitHub Actions workflow annotations
    Github,
    /// SARIF 2.1.0
    Sarif,
}

pub fn run(args: ValidateArgs, color: bool) -> anyhow::Result<u8> {
    let options = Options {
        process_env: true,
        baseline: args.baseline.clone(),
        local_idp: args.local_idp,
        env_files: args.env_file.clone(),
        env_example: args.env_example,
    };
    let report = match validate::validate_path(&args.path, &options) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot read the project: {e}");
            return Ok(2);
        }
    };
    let display_root = args.path.to_string_lossy().replace('\\', "/");
    let text = match args.format {
        Format::Human => render::human(&report, HumanStyle { color }),
        Format::Json => render::json(&report),
        Format::Github => render::github(&report, &display_root),
        Format::Sarif => render::sarif(&report, &display_root),
    };
    print!("{text}");
    let failed = report.has_errors()
        || (args.deny_warnings && report.count(crate::diag::Severity::Warning) > 0);
    Ok(if failed { 1 } else { 0 })
}
