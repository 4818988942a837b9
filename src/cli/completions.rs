//! `mcpgw completions SHELL`: shell completion scripts generated from the clap definitions.

use clap::Args;
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish
    pub shell: Shell,
}

pub fn run(args: CompletionsArgs) -> anyhow::Result<u8> {
    let mut out = std::io::stdout();
    clap_complete::generate(args.shell, &mut super::command(), "mcpgw", &mut out);
    Ok(0)
}

/// The completion script for one shell, as `mcpgw completions SHELL` prints it.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut super::command(), "mcpgw", &mut buf);
    buf
}
