//! The syntax tree of a `.fsm` file, before names are resolved.
//!
//! Names are kept as written (with their spans) so that validation can point
//! at them. Parts the parser could not make sense of are left out (and a
//! syntax error reported); a row missing a required part has `complete: false`.

use crate::ir::{ActionKind, Origin, ParamKind};
use crate::span::Span;

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal with its span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrLit {
    pub value: String,
    pub span: Span,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `machine NAME`
    Machine { keyword: Span, name: Ident },
    /// `initial STATE`
    Initial { keyword: Span, name: Ident },
    /// `states { A = "A" B }`
    States {
        keyword: Span,
        decls: Vec<LabeledDecl>,
    },
    /// `events { app { .. } segment { .. } timer { .. } }`
    Events {
        keyword: Span,
        groups: Vec<EventGroup>,
    },
    /// `errors { E1 E2 }`
    Errors { keyword: Span, decls: Vec<Ident> },
    /// `actions { local { .. } packet { .. } }`
    Actions {
        keyword: Span,
        groups: Vec<ActionGroup>,
    },
    /// `guards { g1 // doc }`
    Guards {
        keyword: Span,
        decls: Vec<GuardDeclAst>,
    },
    /// `state NAME { rows }` or `state * { rows }`
    StateBlock(StateBlock),
}

/// `IDENT ('=' STRING)?`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabeledDecl {
    pub ident: Ident,
    pub label: Option<StrLit>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventGroup {
    pub origin: Origin,
    /// The span of the origin keyword.
    pub span: Span,
    pub decls: Vec<LabeledDecl>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionGroup {
    pub kind: ActionKind,
    /// The span of `local` / `packet`.
    pub span: Span,
    pub decls: Vec<ActionDeclAst>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionDeclAst {
    pub ident: Ident,
    pub param: Option<ParamKind>,
    pub label: Option<StrLit>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardDeclAst {
    pub ident: Ident,
    /// The `//` comment on the same line, trimmed; empty when none.
    pub doc: String,
}

/// Which state a `state` block is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateSel {
    Named(Ident),
    /// `state *`; the span of the `*`.
    Any(Span),
}

#[derive(Clone, Debug, PartialEq)]
pub struct StateBlock {
    pub selector: StateSel,
    /// From `state` to the state name (or `*`): where "this state's rows"
    /// diagnostics point.
    pub header: Span,
    pub rows: Vec<RowAst>,
}

/// `on ORIGIN.EVENT [guards] / actions -> TARGET`
#[derive(Clone, Debug, PartialEq)]
pub struct RowAst {
    /// The `///` lines before the row, in order.
    pub doc: Vec<String>,
    /// The span of `on`.
    pub on: Span,
    /// `None` when the origin was not `app`, `segment` or `timer` (a syntax
    /// error was reported).
    pub origin: Option<Origin>,
    pub event: Ident,
    pub guards: Vec<GuardTermAst>,
    pub actions: Vec<ActionUse>,
    pub target: Option<TargetAst>,
    /// From `on` to the last token of the row.
    pub span: Span,
    /// False when a syntax error cut the row short: validation resolves what
    /// is there (to report unknown names) but does not use the row.
    pub complete: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardTermAst {
    pub negated: bool,
    pub ident: Ident,
    /// Including the `!`.
    pub span: Span,
}

/// `NAME` or `NAME(ARG)` in a row's action list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionUse {
    pub ident: Ident,
    pub arg: Option<Ident>,
    /// The whole use, including the argument.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetAst {
    State(Ident),
    /// `stay`, with its span.
    Stay(Span),
    /// `impossible`, with its span.
    Impossible(Span),
}
