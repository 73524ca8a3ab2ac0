//! Unit tests of the expansion: path resolution, error reporting, and
//! snapshots of the generated code (formatted with prettyplease).

use super::*;
use crate::generate::{generate, try_generate, GenerateError};
use tcp_fsm_spec::{ActionArg, ActionRef, Spec};

const SMALL: &str = include_str!("../tests/fixtures/small.fsm");

fn small_spec() -> Spec {
    tcp_fsm_spec::parse_spec("small.fsm", SMALL).unwrap()
}

fn real_spec() -> Spec {
    tcp_fsm_spec::real_spec()
}

/// The generated code, formatted; panics if it is not a valid Rust file.
fn pretty(tokens: TokenStream) -> String {
    let file: syn::File = syn::parse2(tokens).expect("generated code parses as a Rust file");
    prettyplease::unparse(&file)
}

fn no_env(_: &str) -> Option<String> {
    None
}

// ---------------------------------------------------------------- snapshots

#[test]
fn generated_real_spec() {
    let code = pretty(generate(&real_spec(), "/path/to/tcp.fsm"));
    insta::assert_snapshot!("generated_real_spec", code);
}

/// The slot hash multiplies by the whole cell only when every guard mask
/// fits 16 bits; a spec with a pair testing guards 16 and 17 gets the form
/// that takes the multiplier from the cell's high half (both checked
/// against their rows by tests/wide_guards.rs and the real-spec tests).
#[test]
fn generated_slot_hash_takes_the_one_multiply_form_only_for_narrow_masks() {
    let one_multiply = "wrapping_mul(cell)";
    let halves = "(cell >> 32) as u32";
    let real = pretty(generate(&real_spec(), "/path/to/tcp.fsm"));
    assert!(real.contains(one_multiply) && !real.contains(halves));
    let wide_src = include_str!("../tests/fixtures/wide_guards.fsm");
    let wide = tcp_fsm_spec::parse_spec("wide_guards.fsm", wide_src).unwrap();
    let wide = pretty(generate(&wide, "/path/to/wide_guards.fsm"));
    assert!(wide.contains(halves) && !wide.contains(one_multiply));
    assert!(
        wide.contains("if BY_ROWS[pair]"),
        "Busy x Probe tests 15 guards"
    );
}

#[test]
fn generated_small_spec() {
    let code = pretty(generate(&small_spec(), "/path/to/small.fsm"));
    insta::assert_snapshot!("generated_small_spec", code);
}

/// The `match` over (state, event) of the generated `fn name`: the one in
/// its nested `fn by_rows` (the pairs the static cell table leaves to the
/// rows).
fn dispatch_match(tokens: TokenStream, name: &str) -> syn::ExprMatch {
    let file: syn::File = syn::parse2(tokens).unwrap();
    let func = file
        .items
        .into_iter()
        .find_map(|item| match item {
            syn::Item::Fn(f) if f.sig.ident == name => Some(f),
            _ => None,
        })
        .unwrap();
    let by_rows = func
        .block
        .stmts
        .into_iter()
        .find_map(|stmt| match stmt {
            syn::Stmt::Item(syn::Item::Fn(f)) if f.sig.ident == "by_rows" => Some(f),
            _ => None,
        })
        .unwrap();
    by_rows
        .block
        .stmts
        .into_iter()
        .find_map(|stmt| match stmt {
            syn::Stmt::Expr(syn::Expr::Match(m), _) => Some(m),
            _ => None,
        })
        .unwrap()
}

#[test]
fn generated_real_spec_has_one_arm_per_live_row_and_pair_group() {
    let spec = real_spec();
    let m = dispatch_match(generate(&spec, "/path/to/tcp.fsm"), "process_event");
    // Count what the generator should emit: per event, per distinct cell
    // (states sharing a row list share arms), the rows up to the first
    // unguarded one; all but the last of them keep their guard.
    let (mut expected_arms, mut expected_guarded) = (0, 0);
    for e in 0..spec.events.len() {
        let mut seen: Vec<&Vec<tcp_fsm_spec::RowId>> = Vec::new();
        for s in 0..spec.states.len() {
            let cell = &spec.table[s * spec.events.len() + e];
            if seen.contains(&cell) {
                continue;
            }
            seen.push(cell);
            let live = cell
                .iter()
                .position(|r| spec.rows[r.index()].guards.is_empty())
                .map_or(cell.len(), |p| p + 1);
            expected_arms += live;
            expected_guarded += live - 1;
        }
    }
    assert_eq!(m.arms.len(), expected_arms);
    let guarded = m.arms.iter().filter(|a| a.guard.is_some()).count();
    assert_eq!(guarded, expected_guarded);
    assert!(
        m.arms.iter().all(|a| matches!(a.pat, syn::Pat::Tuple(_))),
        "no catch-all arm"
    );
    let code = pretty(generate(&spec, "/path/to/tcp.fsm"));
    assert!(!code.contains("panic!") && !code.contains("unreachable!"));
}

#[test]
fn generated_small_spec_drops_the_test_of_the_last_guarded_row() {
    let code = pretty(generate(&small_spec(), "/path/to/small.fsm"));
    // Locked x Push: `[has_key]` is tested, `[!has_key]` is the fallback.
    assert!(code.contains("(State::Locked, Event::Push) if guards.has_key() => {"));
    assert!(!code.contains("!guards.has_key()"));
}

// ---------------------------------------------------------------- generator errors

#[test]
fn generate_rejects_a_pair_whose_guards_are_not_covered() {
    let mut spec = small_spec();
    // Drop `on app.Push [!has_key]` from Locked x Push.
    let (locked, push) = (2, 0);
    let cell = &mut spec.table[locked * spec.events.len() + push];
    cell.pop();
    assert_eq!(
        try_generate(&spec, "x").unwrap_err(),
        GenerateError::NotTotal {
            state: "Locked".into(),
            event: "app.Push".into()
        }
    );
}

#[test]
fn generate_rejects_a_pair_without_rows() {
    let mut spec = small_spec();
    spec.table[0].clear();
    assert_eq!(
        try_generate(&spec, "x").unwrap_err(),
        GenerateError::EmptyPair {
            state: "Closed".into(),
            event: "app.Push".into()
        }
    );
}

#[test]
fn generate_rejects_a_table_of_the_wrong_size() {
    let mut spec = small_spec();
    spec.table.pop();
    assert_eq!(
        try_generate(&spec, "x").unwrap_err(),
        GenerateError::MalformedTable {
            found: 17,
            expected: 18
        }
    );
}

#[test]
fn generate_rejects_a_packet_action_in_an_app_row() {
    let mut spec = small_spec();
    let answer = spec.action_by_name("Answer").unwrap();
    let row = spec.table[0][0];
    spec.rows[row.index()].actions.push(ActionRef {
        action: answer,
        arg: None,
    });
    let err = try_generate(&spec, "x").unwrap_err();
    assert!(
        matches!(&err, GenerateError::PacketActionInLocalRow { action, event, .. }
            if action == "Answer" && event == "app.Push"),
        "{err:?}"
    );
}

#[test]
fn generate_rejects_a_wrong_argument_kind() {
    let mut spec = small_spec();
    let start = spec.action_by_name("StartTimer").unwrap();
    let row = spec.table[0][0];
    spec.rows[row.index()].actions.push(ActionRef {
        action: start,
        arg: Some(ActionArg::Error(tcp_fsm_spec::ErrorId(0))),
    });
    let err = try_generate(&spec, "x").unwrap_err();
    assert!(
        matches!(&err, GenerateError::BadArgument { action, .. } if action == "StartTimer"),
        "{err:?}"
    );
}

#[test]
fn generate_uses_raw_identifiers_for_keywords_and_rejects_the_rest() {
    let mut spec = small_spec();
    spec.guards[0].name = "type".into();
    let code = pretty(generate(&spec, "x"));
    assert!(code.contains("fn r#type(&self) -> bool;"), "{code}");

    spec.states[1].name = "Self".into();
    assert_eq!(
        try_generate(&spec, "x").unwrap_err(),
        GenerateError::NotAnIdentifier {
            kind: "state",
            name: "Self".into()
        }
    );
}

#[test]
fn generate_rejects_a_display_name_that_is_another_states_name() {
    let mut spec = small_spec();
    spec.states[0].display = "Open".into();
    let err = try_generate(&spec, "x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "the name `Open` would refer both to state `Closed` and to state `Open`"
    );
    // `generate` turns the failure into a compile_error!.
    let code = generate(&spec, "x").to_string();
    assert!(code.contains("compile_error"), "{code}");
    assert!(code.contains("tcp_fsm!: the name `Open`"), "{code}");
}

#[test]
fn generate_handles_groups_without_members() {
    let text = "machine M\ninitial A\nstates { A B }\nevents { app { Go } }\n\
                actions { local { Noop } }\n\
                state A { on app.Go / Noop -> B }\nstate B { on app.Go -> A }\n";
    let spec = tcp_fsm_spec::parse_spec("m.fsm", text).unwrap();
    let code = pretty(generate(&spec, "/path/to/m.fsm"));
    assert!(code.contains("pub enum Timer {}"), "{code}");
    assert!(code.contains("pub enum PacketAction {}"), "{code}");
    assert!(code.contains("pub enum ErrorKind {}"), "{code}");
    // The trait has no guard to ask: only the provided `guard_bits`, which
    // answers the empty set.
    let start = code.find("pub trait Guards {").expect("a Guards trait");
    let body = &code[start..start + code[start..].find("\n}\n").expect("its end")];
    assert_eq!(body.matches("fn ").count(), 1, "{body}");
    assert!(body.contains("let _ = mask;\n        0\n"), "{body}");
    assert!(code.contains("match event {}"), "{code}");
}

#[test]
fn generate_skips_guards_it_never_tests() {
    let mut spec = small_spec();
    // Make Closed x Knock's guarded row unguarded: `[friendly]` is no longer
    // tested anywhere, and the row after it is dead.
    let row = spec.table[3][0];
    spec.rows[row.index()].guards.clear();
    let code = pretty(generate(&spec, "x"));
    // No arm of the match tests it (`ask_each_guard` can still answer it
    // for a mask that holds it; no cell's mask does).
    assert!(!code.contains(") if guards.friendly()"), "{code}");
    assert!(
        code.contains("(State::Closed, Event::Knock) => {"),
        "{code}"
    );
}

// ---------------------------------------------------------------- paths

#[test]
fn relative_path_joins_the_manifest_dir() {
    let p = resolve("specs/a.fsm", Some("/crate"), no_env).unwrap();
    assert_eq!(p, Path::new("/crate/specs/a.fsm"));
}

#[test]
fn absolute_path_is_kept() {
    let p = resolve("/etc/a.fsm", Some("/crate"), no_env).unwrap();
    assert_eq!(p, Path::new("/etc/a.fsm"));
}

#[test]
fn env_prefix_is_expanded_with_and_without_braces() {
    let env = |name: &str| (name == "SPECS").then(|| "/data/specs".to_string());
    assert_eq!(
        resolve("$SPECS/a.fsm", Some("/crate"), env).unwrap(),
        Path::new("/data/specs/a.fsm")
    );
    assert_eq!(
        resolve("${SPECS}/a.fsm", Some("/crate"), env).unwrap(),
        Path::new("/data/specs/a.fsm")
    );
    // A relative value is relative to the manifest dir, like any path.
    let rel = |_: &str| Some("specs".to_string());
    assert_eq!(
        resolve("$X/a.fsm", Some("/crate"), rel).unwrap(),
        Path::new("/crate/specs/a.fsm")
    );
}

#[test]
fn env_prefix_errors() {
    assert_eq!(
        resolve("$MISSING/a.fsm", Some("/c"), no_env).unwrap_err(),
        ResolveError::MissingVar {
            path: "$MISSING/a.fsm".into(),
            var: "MISSING".into()
        }
    );
    for bad in ["$/a.fsm", "${X/a.fsm", "$X.fsm", "${1X}/a.fsm"] {
        assert_eq!(
            resolve(bad, Some("/c"), |_| Some("/v".into())).unwrap_err(),
            ResolveError::BadVar { path: bad.into() },
            "{bad}"
        );
    }
}

#[test]
fn relative_path_without_manifest_dir_is_an_error() {
    assert_eq!(
        resolve("a.fsm", None, no_env).unwrap_err(),
        ResolveError::NoManifestDir {
            path: "a.fsm".into()
        }
    );
}

#[test]
fn default_spec_path_is_the_real_spec() {
    let text = std::fs::read_to_string(default_spec_path()).unwrap();
    assert_eq!(text, tcp_fsm_spec::TCP_SPEC);
}

// ---------------------------------------------------------------- expand

fn input(path: &str) -> MacroInput {
    syn::parse_str(&format!("{path:?}")).unwrap()
}

fn fixtures_dir() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures")
}

/// The messages of the `compile_error!`s in an expansion.
fn compile_errors(tokens: &TokenStream) -> Vec<String> {
    let file: syn::File = syn::parse2(tokens.clone()).unwrap();
    file.items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Macro(m) if m.mac.path.segments.last()?.ident == "compile_error" => {
                Some(m.mac.parse_body::<LitStr>().ok()?.value())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn expand_reads_a_relative_spec() {
    let out = expand(&input("small.fsm"), Some(fixtures_dir()), no_env);
    assert!(compile_errors(&out).is_empty());
    let code = out.to_string();
    let abs = std::fs::canonicalize(Path::new(fixtures_dir()).join("small.fsm")).unwrap();
    let lit = format!("{:?}", abs.to_str().unwrap());
    assert!(code.contains(&format!("include_str ! ({lit})")), "{code}");
}

#[test]
fn expand_reports_an_unreadable_file_once_by_the_path_as_written() {
    let out = expand(&input("nope/missing.fsm"), Some(fixtures_dir()), no_env);
    let errors = compile_errors(&out);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("tcp_fsm!: cannot read spec file `nope/missing.fsm`: "),
        "{}",
        errors[0]
    );
}

#[test]
fn expand_reports_one_compile_error_per_diagnostic() {
    let out = expand(&input("misspelt_state.fsm"), Some(fixtures_dir()), no_env);
    let errors = compile_errors(&out);
    let text =
        std::fs::read_to_string(Path::new(fixtures_dir()).join("misspelt_state.fsm")).unwrap();
    let diags = tcp_fsm_spec::parse_spec("misspelt_state.fsm", &text).unwrap_err();
    assert_eq!(errors.len(), diags.len());
    assert!(errors.len() >= 2, "{errors:?}");
    for (msg, d) in errors.iter().zip(diags.iter()) {
        assert!(msg.starts_with(&d.headline("misspelt_state.fsm")), "{msg}");
        assert!(msg.starts_with("misspelt_state.fsm:"), "{msg}");
        assert!(msg.contains("error[E0002]"), "{msg}");
    }
}

#[test]
fn macro_input_accepts_nothing_or_one_string() {
    assert!(syn::parse_str::<MacroInput>("").unwrap().path.is_none());
    assert!(syn::parse_str::<MacroInput>("\"a.fsm\",")
        .unwrap()
        .path
        .is_some());
    assert!(syn::parse_str::<MacroInput>("a").is_err());
    assert!(syn::parse_str::<MacroInput>("\"a\" \"b\"").is_err());
}
