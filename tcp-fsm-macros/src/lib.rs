//! `tcp_fsm!`: loads a spec through `tcp-fsm-spec` and emits the engine.
//!
//! This crate is thin on purpose: lexing, parsing, validation, diagnostics
//! and DOT live in the pure `tcp-fsm-spec` crate; this one resolves the
//! spec's path, turns diagnostics into `compile_error!`s and writes out the
//! generated items (see [`tcp_fsm!`] for the list).

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use std::path::{Path, PathBuf};
use syn::parse::{Parse, ParseStream};
use syn::LitStr;

mod generate;
mod phf_map;

#[cfg(test)]
mod tests;

/// Compiles a `.fsm` spec into a match-based state machine engine.
///
/// ```
/// mod fsm {
///     tcp_fsm_macros::tcp_fsm!(); // the real tcp.fsm
/// }
/// use fsm::{process_event, Event, State};
///
/// let no_guards = [false; fsm::GUARD_NAMES.len()];
/// let step = process_event(State::Closed, Event::ActiveOpen, &no_guards);
/// assert_eq!(step.next, State::SynSent);
/// assert_eq!(fsm::ROWS[usize::from(step.row)].rfc, "RFC 9293 §3.10.1");
/// ```
///
/// ```text
/// tcp_fsm_macros::tcp_fsm!("specs/lab.fsm");    // relative to the invoking crate
/// tcp_fsm_macros::tcp_fsm!("$OUT_DIR/gen.fsm"); // an environment variable prefix
/// ```
///
/// # Which file
/// - No argument: the real spec, `tcp-fsm-spec/tcp.fsm` of this workspace.
/// - A relative path: resolved against the *invoking* crate's
///   `CARGO_MANIFEST_DIR` (read from the environment at expansion time).
/// - An absolute path: used as is.
/// - A path starting with `$NAME` or `${NAME}`: the value of the environment
///   variable `NAME` at expansion time replaces the prefix (for instance
///   `OUT_DIR` for a spec written by a build script; the crate's UI tests use
///   a variable of their own). Cargo does not track such variables: the
///   spec *file* is tracked (see below), the variable's value is not.
///
/// The file is read and validated while the macro expands; the generated
/// `SPEC_SOURCE` is an `include_str!` of its absolute path, so cargo
/// rebuilds the crate whenever the spec changes. A spec with problems
/// becomes one `compile_error!` per diagnostic, each starting with
/// `file.fsm:LINE:COL: error[CODE]: ...`; an unreadable file becomes one
/// `compile_error!` naming the path as written.
///
/// # What it generates
/// In the invoking module, all `pub`: the enums `State`, `Origin`, `Event`,
/// `AppEvent`, `SegmentEvent`, `Timer`, `ErrorKind`, `ActionArg`,
/// `ActionName`, `LocalAction`, `PacketAction`, `Action`; the traits
/// `Guards` and `ActionHandler`; the structs `Step`, `LocalStep`,
/// `RowInfo`, `GuardFn`; the functions `process_event`,
/// `process_app_event`, `process_timer_event`, `process_segment_event`,
/// `run_local_actions`, `run_actions`, `row_info`; the statics `ROWS`,
/// `STATES_BY_NAME`, `EVENTS_BY_NAME`, `ACTIONS_BY_NAME`; the constants
/// `GUARD_NAMES`, `SPEC_NAME`, `MACHINE_NAME`, `SPEC_SOURCE`, `DOT`.
///
/// The invoking crate must depend on `tcp-fsm-spec` (the name maps are
/// `::tcp_fsm_spec::__private::phf::Map`s); it needs no `phf` of its own.
#[proc_macro]
pub fn tcp_fsm(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    let input = match syn::parse::<MacroInput>(input) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error().into(),
    };
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").ok();
    expand(&input, manifest_dir.as_deref(), |name| {
        std::env::var(name).ok()
    })
    .into()
}

/// `tcp_fsm!()` or `tcp_fsm!("path")`.
struct MacroInput {
    path: Option<LitStr>,
}

impl Parse for MacroInput {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Ok(MacroInput { path: None });
        }
        let path: LitStr = input.parse()?;
        let _: Option<syn::Token![,]> = input.parse()?;
        if !input.is_empty() {
            return Err(input.error("expected a single string literal: the spec file's path"));
        }
        Ok(MacroInput { path: Some(path) })
    }
}

/// Why the spec's path could not be turned into a file name.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
enum ResolveError {
    #[error("spec path `{path}`: environment variable `{var}` is not set")]
    MissingVar { path: String, var: String },
    #[error("spec path `{path}`: `$` must be followed by an environment variable name")]
    BadVar { path: String },
    #[error("spec path `{path}` is relative, but CARGO_MANIFEST_DIR is not set")]
    NoManifestDir { path: String },
}

/// Why the spec could not be loaded (its diagnostics aside).
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("{0}")]
    Resolve(#[from] ResolveError),
    #[error("cannot read spec file `{shown}`: {source}")]
    Read {
        shown: String,
        #[source]
        source: std::io::Error,
    },
    #[error("spec file `{shown}`: the absolute path is not valid UTF-8")]
    NonUtf8Path { shown: String },
}

/// The real spec of this workspace, located from this crate's own manifest
/// directory when the macro crate is compiled.
fn default_spec_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tcp-fsm-spec")
        .join(tcp_fsm_spec::SPEC_FILE_NAME)
}

/// Expands a leading `$NAME` / `${NAME}` and makes a relative path relative
/// to `manifest_dir`.
fn resolve(
    given: &str,
    manifest_dir: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<PathBuf, ResolveError> {
    let expanded = match given.strip_prefix('$') {
        None => given.to_string(),
        Some(rest) => {
            let (var, tail) = match rest.strip_prefix('{') {
                Some(braced) => braced.split_once('}').ok_or_else(|| ResolveError::BadVar {
                    path: given.to_string(),
                })?,
                None => {
                    let end = rest
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(rest.len());
                    rest.split_at(end)
                }
            };
            let valid_name = var
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            let valid_tail = tail.is_empty() || tail.starts_with('/') || tail.starts_with('\\');
            if !valid_name || !valid_tail {
                return Err(ResolveError::BadVar {
                    path: given.to_string(),
                });
            }
            let value = env(var).ok_or_else(|| ResolveError::MissingVar {
                path: given.to_string(),
                var: var.to_string(),
            })?;
            format!("{value}{tail}")
        }
    };
    let path = PathBuf::from(expanded);
    if path.is_absolute() {
        return Ok(path);
    }
    match manifest_dir {
        Some(dir) => Ok(Path::new(dir).join(path)),
        None => Err(ResolveError::NoManifestDir {
            path: given.to_string(),
        }),
    }
}

/// A spec file read from disk: its text, canonical path and file name.
struct SpecFile {
    text: String,
    abs_path: String,
    source_name: String,
}

fn read_spec(path: &Path, shown: &str) -> Result<SpecFile, LoadError> {
    let read_err = |source| LoadError::Read {
        shown: shown.to_string(),
        source,
    };
    let abs = std::fs::canonicalize(path).map_err(read_err)?;
    let text = std::fs::read_to_string(&abs).map_err(read_err)?;
    let abs_path = abs
        .to_str()
        .ok_or_else(|| LoadError::NonUtf8Path {
            shown: shown.to_string(),
        })?
        .to_string();
    let source_name = abs
        .file_name()
        .map_or_else(|| shown.to_string(), |n| n.to_string_lossy().into_owned());
    Ok(SpecFile {
        text,
        abs_path,
        source_name,
    })
}

fn compile_error(span: Span, message: &str) -> TokenStream {
    quote_spanned!(span=> ::core::compile_error!(#message);)
}

/// The whole expansion: the generated items, or the `compile_error!`s.
fn expand(
    input: &MacroInput,
    manifest_dir: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> TokenStream {
    let span = input
        .path
        .as_ref()
        .map_or_else(Span::call_site, LitStr::span);
    let file = match &input.path {
        None => {
            let path = default_spec_path();
            read_spec(&path, &path.display().to_string())
        }
        Some(lit) => {
            let given = lit.value();
            resolve(&given, manifest_dir, env)
                .map_err(LoadError::from)
                .and_then(|path| read_spec(&path, &given))
        }
    };
    let file = match file {
        Ok(file) => file,
        Err(err) => return compile_error(span, &format!("tcp_fsm!: {err}")),
    };
    match tcp_fsm_spec::parse_spec(&file.source_name, &file.text) {
        Ok(spec) => generate::generate(&spec, &file.abs_path),
        Err(diags) => diags
            .iter()
            .map(|d| {
                let text = d.render(&diags.source_name, &diags.source);
                compile_error(span, text.trim_end())
            })
            .collect(),
    }
}
