//! `mcpgw init [DIR] --template NAME`: write a project from a template.

use crate::templates::{self, TEMPLATES};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to create the project in
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Template name (see --list)
    #[arg(long, short, default_value = "quickstart")]
    pub template: String,
    /// List the templates
    #[arg(long)]
    pub list: bool,
}

pub fn run(args: InitArgs, color: bool) -> anyhow::Result<u8> {
    let paint = |s: &str, code: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    if args.list {
        let width = TEMPLATES.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for t in TEMPLATES {
            println!("{}  {}", paint(&format!("{:width$}", t.name), "1"), t.about);
        }
        return Ok(0);
    }
    if !TEMPLATES.iter().any(|t| t.name == args.template) {
        eprintln!(
            "error: unknown template {:?}; one of: {}",
            args.template,
            TEMPLATES
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
        return Ok(2);
    }
    let outcome = match templates::init(&args.dir, &args.template) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let dir = args.dir.display();
    println!(
        "{} {dir} from template {}",
        paint("Created", "1;32"),
        args.template
    );
    for f in &outcome.written {
        println!("  {} {f}", paint("+", "32"));
    }
    if !outcome.gitignore_added.is_empty() {
        println!(
            "  {} .gitignore: added {}",
            paint("~", "33"),
            outcome.gitignore_added.join(", ")
        );
    }
    println!();
    if outcome.env_created {
        println!(
            "Fill in the placeholders in {dir}/.env (it is git-ignored; .env.example is the template to commit)."
        );
    }
    let dev_args = crate::templates::TEMPLATES
        .iter()
        .find(|t| t.name == args.template)
        .map_or("", |t| t.dev_args);
    let dev = format!("mcpgw dev {dir} {dev_args}");
    println!("Next:\n  mcpgw validate {dir}\n  {}", dev.trim_end());
    Ok(0)
}
