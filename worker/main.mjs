// PLACEHOLDER written by the Rust side of issue #16 so that `include_dir!` has a folder to
// embed. The JS worker (protocol v1, see the issue notes) is written by another change and
// replaces this file. Run as is, it says so and exits, so nothing pretends to work.
process.stderr.write("mcpgw: the custom-code worker is not built yet (worker/main.mjs is a placeholder)\n");
process.exit(1);
