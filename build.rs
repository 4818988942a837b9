//! Rebuild when a template changes: `include_dir!` embeds `templates/` but stable Rust cannot
//! tell cargo which files it read.
fn main() {
    println!("cargo:rerun-if-changed=templates");
}
