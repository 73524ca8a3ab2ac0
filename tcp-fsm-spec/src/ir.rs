//! The validated model of a spec file: what the parser and validator produce,
//! and what the interpreter, the emitters and the proc-macro consume.
//!
//! Every declaration is stored in a `Vec` and referred to by a typed index
//! (`StateId`, `EventId`, ...). The `table` resolves `state *` defaults: for
//! every (state, event) pair it lists the rows that apply, in priority order
//! (the state's own rows first, in source order, then the `state *` rows).

use crate::span::Span;

macro_rules! id_type {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {$(
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u16);
        impl $name {
            /// The index of the declaration in its `Vec`.
            pub fn index(self) -> usize {
                usize::from(self.0)
            }
        }
    )*};
}

id_type!(
    /// Index into [`Spec::states`].
    StateId,
    /// Index into [`Spec::events`].
    EventId,
    /// Index into [`Spec::actions`].
    ActionId,
    /// Index into [`Spec::guards`].
    GuardId,
    /// Index into [`Spec::errors`].
    ErrorId,
    /// Index into [`Spec::rows`].
    RowId,
);

/// A whole, validated spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// The file name diagnostics and row references use, e.g. `tcp.fsm`.
    pub source_name: String,
    /// `machine NAME`.
    pub machine: String,
    /// `initial STATE`.
    pub initial: StateId,
    pub states: Vec<StateDecl>,
    pub events: Vec<EventDecl>,
    pub actions: Vec<ActionDecl>,
    pub guards: Vec<GuardDecl>,
    pub errors: Vec<ErrorDecl>,
    /// All rows in source order, `state *` rows included.
    pub rows: Vec<Row>,
    /// `table[state.index() * events.len() + event.index()]`: the rows that
    /// apply to the pair, in priority order. Never empty in a valid spec.
    pub table: Vec<Vec<RowId>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StateDecl {
    /// Identifier, e.g. `SynSent`.
    pub name: String,
    /// Display name, e.g. `SYN_SENT` (the identifier when none is given).
    pub display: String,
    pub span: Span,
}

/// Where an event comes from: the analogue of the L41 lab's `stack()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    App,
    Segment,
    Timer,
}

impl Origin {
    /// `app`, `segment` or `timer`, as written in the spec.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::App => "app",
            Origin::Segment => "segment",
            Origin::Timer => "timer",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EventDecl {
    /// Identifier, e.g. `SynAck`.
    pub name: String,
    pub origin: Origin,
    /// Human label, e.g. `Rx SYN+ACK` (the identifier when none is given).
    pub label: String,
    pub span: Span,
}

impl EventDecl {
    /// `segment.SynAck`.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.origin.as_str(), self.name)
    }
}

/// Whether an action needs the received segment (`packet`) or not (`local`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Local,
    Packet,
}

/// The kind of an action's single argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A member of `events { timer { ... } }`.
    Timer,
    /// A member of `errors { ... }`.
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionDecl {
    pub name: String,
    pub kind: ActionKind,
    pub param: Option<ParamKind>,
    /// Label shown on DOT edges (e.g. `Tx ACK`); `None` keeps the action off edge labels.
    pub label: Option<String>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GuardDecl {
    pub name: String,
    /// The `//` comment on the declaration's line, if any, trimmed.
    pub doc: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ErrorDecl {
    pub name: String,
    pub span: Span,
}

/// The argument of an action use, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionArg {
    /// A timer event, e.g. `StartTimer(TimeWait)`.
    Timer(EventId),
    /// An error, e.g. `Fail(TimedOut)`.
    Error(ErrorId),
}

/// One action in a row's action list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ActionRef {
    pub action: ActionId,
    pub arg: Option<ActionArg>,
}

/// One term of a row's guard conjunction: `name` or `!name`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GuardTerm {
    pub guard: GuardId,
    pub negated: bool,
}

/// Where a row leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    State(StateId),
    /// `-> stay`: the state does not change.
    Stay,
    /// `-> impossible`: the spec claims no input reaches the row's cells
    /// (its `///` doc says why). It has no actions; an engine that reaches
    /// it anyway stays where it is and does nothing, and the conformance
    /// suite reports the claim broken.
    Impossible,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub id: RowId,
    /// `None` for rows in `state * { ... }`.
    pub state: Option<StateId>,
    pub event: EventId,
    /// Conjunction; empty means unguarded.
    pub guards: Vec<GuardTerm>,
    pub actions: Vec<ActionRef>,
    pub target: Target,
    /// The `///` lines before the row, joined with spaces, trimmed.
    pub doc: String,
    /// The first `RFC NNNN §X.Y` reference found in `doc`, e.g. `RFC 9293 §3.10.7.3`.
    pub rfc: Option<String>,
    /// 1-based line of the `on` keyword.
    pub line: u32,
    pub span: Span,
}

/// The result of looking up a (state, event) pair under given guard outcomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step<'a> {
    /// The next state (`Stay` already resolved to the current state).
    pub next: StateId,
    pub actions: &'a [ActionRef],
    pub row: RowId,
}
