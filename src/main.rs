//! The `mcpgw` binary: parse the command line, run, map the outcome to an exit code
//! (0 ok, 1 findings or a failed check, 2 usage or I/O errors).

fn main() -> std::process::ExitCode {
    mcpgw::cli::main()
}
