//! Rebuild when a migration file is added, not only when an embedded one changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=platform");
}
