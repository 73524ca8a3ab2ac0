//! Compile-pass and compile-fail cases of `tcp_fsm!`, run by trybuild.
//!
//! trybuild compiles each `tests/ui/**.rs` file as a binary of a project it
//! generates under `$CARGO_TARGET_DIR/tests/trybuild/`, so in those files
//! `CARGO_MANIFEST_DIR` is that generated project, not this crate, and a
//! relative spec path would depend on where the target directory is. The UI
//! files therefore name their fixtures as `$TCP_FSM_FIXTURES/<file>.fsm`:
//! the macro expands a leading `$NAME` from the environment at expansion
//! time, and this test sets `TCP_FSM_FIXTURES` to this crate's
//! `tests/fixtures` before trybuild starts cargo (which passes its
//! environment down to rustc, where the macro runs). Diagnostics name specs
//! by file name and unreadable paths as written, so the `.stderr` files hold
//! no machine-specific path. Relative paths proper are tested in
//! `tests/relative_path.rs`, whose crate is this one.

#[test]
fn ui() {
    // Edition 2021: `set_var` is safe; this is the only test of this binary,
    // so no other thread reads the environment meanwhile.
    std::env::set_var(
        "TCP_FSM_FIXTURES",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"),
    );
    std::env::remove_var("TCP_FSM_UNSET_FOR_TESTS");
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
