//! From a validated [`Spec`] to the Rust items of the engine.
//!
//! Generated enum order is the spec's declaration order, which is also the
//! order of the IR's `Vec`s: `State::index()` is a `StateId` index,
//! `Event::index()` an `EventId` index, `ActionName::index()` an `ActionId`
//! index, `ErrorKind::index()` an `ErrorId` index and `GUARD_NAMES[i]` the
//! guard with `GuardId` index `i`.

use crate::phf_map::{MapEntries, PhfMapError};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;
use tcp_fsm_spec::{
    ActionArg, ActionKind, ActionRef, DotOptions, EventId, GuardTerm, Origin, ParamKind, Row,
    RowId, Spec, StateId, Target,
};

/// At most this many distinct guards may appear in the rows of one
/// (state, event) pair: the totality check enumerates their outcomes.
const MAX_GUARDS_PER_PAIR: usize = 16;

/// The outcome tables of the dispatch take pairs whose rows test at most
/// this many distinct guards; the others are left to the generated `match`.
const MAX_PICKS: usize = 5;

/// Guards with an index below this have a bit in `Guards::guard_bits`.
const GUARD_BITS: usize = 32;

/// The widest slot hash the generator tries (2^this steps per pair).
const MAX_SLOT_BITS: u32 = 5;

/// The guards the rows of a pair test, each once, by index.
fn tested_guards(rows: &[&Row]) -> Vec<usize> {
    let mut guards: Vec<usize> = rows
        .iter()
        .flat_map(|r| r.guards.iter().map(|t| t.guard.index()))
        .collect();
    guards.sort_unstable();
    guards.dedup();
    guards
}

/// What the outcome tables need to know of one (state, event) pair.
struct PairPlan<'a> {
    state: usize,
    /// The rows that can match, in priority order.
    live: Vec<&'a Row>,
    /// The guards they test ([`tested_guards`]).
    picked: Vec<usize>,
    /// The row that decides each outcome of `picked`.
    outcome_rows: Vec<&'a Row>,
    /// Few enough guards, each with a bit, for the tables.
    fits: bool,
}

impl PairPlan<'_> {
    /// The pair's slot hash at `slot_bits`: `Some(None)` for a pair left to
    /// the `match` anyway, `None` for one that fits the tables but finds no
    /// multiplier at that width.
    fn hash(&self, slot_bits: u32) -> Option<Option<SlotHash>> {
        if self.fits {
            find_slot_hash(&self.picked, &self.outcome_rows, slot_bits).map(Some)
        } else {
            Some(None)
        }
    }
}

/// A pair's slot hash: outcome bits `x` go to slot `(x * magic) >> (32 - slot_bits)`,
/// `slot_bits` being the table's.
struct SlotHash {
    /// The picked guards' bits.
    mask: u32,
    magic: u32,
    /// For each slot, the outcome (index into the pair's outcome list) that
    /// lands there, if any.
    slots: Vec<Option<usize>>,
}

/// A multiplier that sends the outcomes of the guards `picked` (outcome `o`
/// sets bit `picked[b]` for each bit `b` of `o`) to slots such that two
/// outcomes whose rows differ never share one. Searched deterministically,
/// smallest table first (as for magic bitboards); `None` if there is none
/// within the budget, and the pair is left to the `match`.
fn find_slot_hash(picked: &[usize], outcome_rows: &[&Row], slot_bits: u32) -> Option<SlotHash> {
    if picked.is_empty() {
        return Some(SlotHash {
            mask: 0,
            magic: 0,
            slots: vec![Some(0)],
        });
    }
    if slot_bits == 0 {
        return None;
    }
    let keys: Vec<u32> = (0..outcome_rows.len() as u32)
        .map(|o| {
            picked
                .iter()
                .enumerate()
                .filter(|(b, _)| o & (1 << b) != 0)
                .fold(0u32, |x, (_, &g)| x | 1 << g)
        })
        .collect();
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        // xorshift64*
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        (rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    };
    let shift = 32 - slot_bits;
    for _ in 0..20_000 {
        // Sparse candidates, as for magic bitboards.
        let magic = next() & next() & next();
        let mut slots: Vec<Option<usize>> = vec![None; 1 << slot_bits];
        let fits = keys.iter().enumerate().all(|(o, &x)| {
            let slot = (x.wrapping_mul(magic) >> shift) as usize;
            match slots[slot] {
                None => {
                    slots[slot] = Some(o);
                    true
                }
                Some(other) => outcome_rows[other].id == outcome_rows[o].id,
            }
        });
        if fits {
            let mask = picked.iter().fold(0u32, |m, &g| m | 1 << g);
            return Some(SlotHash { mask, magic, slots });
        }
    }
    None
}

/// Why a spec that passed validation still cannot be turned into Rust.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GenerateError {
    #[error("the {kind} name `{name}` cannot be used as a Rust identifier")]
    NotAnIdentifier { kind: &'static str, name: String },
    #[error("{0}")]
    NameMap(#[from] PhfMapError),
    #[error("the spec has {0} rows; generated row numbers are `u16`")]
    TooManyRows(usize),
    #[error("the spec's table has {found} cells, expected {expected} (states x events)")]
    MalformedTable { found: usize, expected: usize },
    #[error("no row applies to state `{state}` on event `{event}`")]
    EmptyPair { state: String, event: String },
    #[error("the rows for state `{state}` on event `{event}` do not cover every guard outcome")]
    NotTotal { state: String, event: String },
    #[error(
        "the rows for state `{state}` on event `{event}` use more than {MAX_GUARDS_PER_PAIR} guards"
    )]
    TooManyGuards { state: String, event: String },
    #[error("{source_name}:{line}: action `{action}` has a wrong or missing argument")]
    BadArgument {
        source_name: String,
        line: u32,
        action: String,
    },
    #[error(
        "{source_name}:{line}: packet action `{action}` in a row of the non-segment event `{event}`"
    )]
    PacketActionInLocalRow {
        source_name: String,
        line: u32,
        action: String,
        event: String,
    },
}

/// The whole generated engine for `spec`, whose file is at `abs_path` (used
/// by `include_str!`, so cargo rebuilds when the file changes). A spec the
/// generator cannot handle becomes a `compile_error!`.
pub fn generate(spec: &Spec, abs_path: &str) -> TokenStream {
    match try_generate(spec, abs_path) {
        Ok(tokens) => tokens,
        Err(err) => {
            let msg = format!("tcp_fsm!: {err}");
            quote!(::core::compile_error!(#msg);)
        }
    }
}

/// [`generate`], with the failure as a value.
pub fn try_generate(spec: &Spec, abs_path: &str) -> Result<TokenStream, GenerateError> {
    let cx = Cx::new(spec)?;
    cx.check_table()?;
    let items = [
        cx.state_items(),
        cx.origin_items(),
        cx.event_items(),
        cx.group_items(Origin::App)?,
        cx.group_items(Origin::Segment)?,
        cx.group_items(Origin::Timer)?,
        cx.error_items(),
        cx.action_items()?,
        cx.guard_items(),
        cx.step_items(),
        cx.process_event()?,
        cx.process_local(Origin::App)?,
        cx.process_local(Origin::Timer)?,
        cx.process_segment(),
        cx.handler_items()?,
        cx.row_items()?,
        cx.name_maps()?,
        cx.spec_consts(abs_path),
    ];
    Ok(quote!(#(#items)*))
}

/// Identifiers and lookups shared by the item generators.
struct Cx<'a> {
    spec: &'a Spec,
    states: Vec<Ident>,
    events: Vec<Ident>,
    actions: Vec<Ident>,
    guards: Vec<Ident>,
    errors: Vec<Ident>,
}

/// Which dispatch function an arm list is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    /// `process_event`: every event, `Step`, `Action` values.
    Full,
    /// `process_app_event` / `process_timer_event`: one origin, `LocalStep`,
    /// `LocalAction` values.
    Local(Origin),
}

fn ident(kind: &'static str, name: &str) -> Result<Ident, GenerateError> {
    if let Ok(id) = syn::parse_str::<Ident>(name) {
        return Ok(id);
    }
    // Keywords such as `type` or `match` are fine as raw identifiers.
    syn::parse_str::<Ident>(&format!("r#{name}")).map_err(|_| GenerateError::NotAnIdentifier {
        kind,
        name: name.to_string(),
    })
}

fn doc(text: &str) -> TokenStream {
    let text = format!(" {text}");
    quote!(#[doc = #text])
}

fn docs(lines: &[String]) -> TokenStream {
    let attrs = lines.iter().map(|l| {
        if l.is_empty() {
            quote!(#[doc = ""])
        } else {
            doc(l)
        }
    });
    quote!(#(#attrs)*)
}

/// The step type a dispatch function of this flavor returns.
fn step_type(flavor: Flavor) -> TokenStream {
    match flavor {
        Flavor::Full => quote!(Step),
        Flavor::Local(_) => quote!(LocalStep),
    }
}

fn usize_lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// `self as usize` for a fieldless enum; an empty enum has no value to cast.
fn index_body(empty: bool) -> TokenStream {
    if empty {
        quote!(match self {})
    } else {
        quote!(self as usize)
    }
}

/// `match self { Enum::A => "A", ... }`, or `match self {}`.
fn str_match(enum_name: &Ident, variants: &[Ident], values: &[String]) -> TokenStream {
    quote!(match self { #(#enum_name::#variants => #values,)* })
}

fn origin_enum(origin: Origin) -> Ident {
    Ident::new(
        match origin {
            Origin::App => "AppEvent",
            Origin::Segment => "SegmentEvent",
            Origin::Timer => "Timer",
        },
        Span::call_site(),
    )
}

fn origin_variant(origin: Origin) -> Ident {
    Ident::new(
        match origin {
            Origin::App => "App",
            Origin::Segment => "Segment",
            Origin::Timer => "Timer",
        },
        Span::call_site(),
    )
}

impl<'a> Cx<'a> {
    fn new(spec: &'a Spec) -> Result<Self, GenerateError> {
        let collect = |kind, names: Vec<&str>| -> Result<Vec<Ident>, GenerateError> {
            names.into_iter().map(|n| ident(kind, n)).collect()
        };
        Ok(Cx {
            spec,
            states: collect(
                "state",
                spec.states.iter().map(|s| s.name.as_str()).collect(),
            )?,
            events: collect(
                "event",
                spec.events.iter().map(|e| e.name.as_str()).collect(),
            )?,
            actions: collect(
                "action",
                spec.actions.iter().map(|a| a.name.as_str()).collect(),
            )?,
            guards: collect(
                "guard",
                spec.guards.iter().map(|g| g.name.as_str()).collect(),
            )?,
            errors: collect(
                "error",
                spec.errors.iter().map(|e| e.name.as_str()).collect(),
            )?,
        })
    }

    fn source_name(&self) -> &str {
        &self.spec.source_name
    }

    fn events_of(&self, origin: Origin) -> Vec<usize> {
        (0..self.spec.events.len())
            .filter(|&e| self.spec.events[e].origin == origin)
            .collect()
    }

    fn local_actions(&self) -> Vec<usize> {
        self.actions_of(ActionKind::Local)
    }

    fn packet_actions(&self) -> Vec<usize> {
        self.actions_of(ActionKind::Packet)
    }

    fn actions_of(&self, kind: ActionKind) -> Vec<usize> {
        (0..self.spec.actions.len())
            .filter(|&a| self.spec.actions[a].kind == kind)
            .collect()
    }

    fn cell(&self, s: usize, e: usize) -> &'a [RowId] {
        &self.spec.table[s * self.spec.events.len() + e]
    }

    /// The rows of a cell that can match, in priority order: the rows after
    /// the first unguarded one can never be reached (the validator reports
    /// them as dead rows, E0006).
    fn live_rows(&self, s: usize, e: usize) -> Vec<&'a Row> {
        let mut out = Vec::new();
        for id in self.cell(s, e) {
            let row = &self.spec.rows[id.index()];
            out.push(row);
            if row.guards.is_empty() {
                break;
            }
        }
        out
    }

    /// Every pair has a row, and when the last live row of a pair is guarded
    /// the rows still cover every outcome of the guards they mention (so the
    /// generated code may take the last row without testing its guards).
    fn check_table(&self) -> Result<(), GenerateError> {
        let (ns, ne) = (self.spec.states.len(), self.spec.events.len());
        if self.spec.table.len() != ns * ne {
            return Err(GenerateError::MalformedTable {
                found: self.spec.table.len(),
                expected: ns * ne,
            });
        }
        if self.spec.rows.len() > usize::from(u16::MAX) + 1 {
            return Err(GenerateError::TooManyRows(self.spec.rows.len()));
        }
        for s in 0..ns {
            for e in 0..ne {
                let pair = || {
                    (
                        self.spec.states[s].name.clone(),
                        self.spec.events[e].qualified(),
                    )
                };
                let rows = self.live_rows(s, e);
                let Some(last) = rows.last() else {
                    let (state, event) = pair();
                    return Err(GenerateError::EmptyPair { state, event });
                };
                if last.guards.is_empty() {
                    continue;
                }
                let mentioned = tested_guards(&rows);
                if mentioned.len() > MAX_GUARDS_PER_PAIR {
                    let (state, event) = pair();
                    return Err(GenerateError::TooManyGuards { state, event });
                }
                for outcome in 0u32..(1u32 << mentioned.len()) {
                    let holds = |t: &GuardTerm| {
                        let bit = mentioned.iter().position(|&g| g == t.guard.index());
                        let value = bit.is_some_and(|b| outcome & (1 << b) != 0);
                        value != t.negated
                    };
                    if !rows.iter().any(|r| r.guards.iter().all(holds)) {
                        let (state, event) = pair();
                        return Err(GenerateError::NotTotal { state, event });
                    }
                }
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------ text

    /// One bullet of a row list in rustdoc.
    fn row_bullet(&self, row: &Row) -> String {
        let mut out = format!(
            "- `{}:{}` `{}`",
            self.source_name(),
            row.line,
            self.spec.row_text(row.id)
        );
        if !row.doc.is_empty() {
            out.push_str(&format!(": {}", row.doc));
        }
        out
    }

    // ------------------------------------------------------------ tokens

    fn state_path(&self, s: StateId) -> TokenStream {
        let id = &self.states[s.index()];
        quote!(State::#id)
    }

    fn event_path(&self, e: usize) -> TokenStream {
        let id = &self.events[e];
        quote!(Event::#id)
    }

    fn group_event_path(&self, e: usize) -> TokenStream {
        let ty = origin_enum(self.spec.events[e].origin);
        let id = &self.events[e];
        quote!(#ty::#id)
    }

    fn bad_argument(&self, row_line: u32, a: &ActionRef) -> GenerateError {
        GenerateError::BadArgument {
            source_name: self.source_name().to_string(),
            line: row_line,
            action: self.spec.actions[a.action.index()].name.clone(),
        }
    }

    /// `LocalAction::StartTimer(Timer::TimeWait)` (or `PacketAction::...`),
    /// checking the argument against the declaration.
    fn action_value(&self, row_line: u32, a: &ActionRef) -> Result<TokenStream, GenerateError> {
        let decl = &self.spec.actions[a.action.index()];
        let ty = match decl.kind {
            ActionKind::Local => quote!(LocalAction),
            ActionKind::Packet => quote!(PacketAction),
        };
        let id = &self.actions[a.action.index()];
        match (decl.param, a.arg) {
            (None, None) => Ok(quote!(#ty::#id)),
            (Some(ParamKind::Timer), Some(ActionArg::Timer(t))) if self.is_timer(t) => {
                let t = &self.events[t.index()];
                Ok(quote!(#ty::#id(Timer::#t)))
            }
            (Some(ParamKind::Error), Some(ActionArg::Error(err)))
                if err.index() < self.errors.len() =>
            {
                let err = &self.errors[err.index()];
                Ok(quote!(#ty::#id(ErrorKind::#err)))
            }
            _ => Err(self.bad_argument(row_line, a)),
        }
    }

    fn is_timer(&self, e: EventId) -> bool {
        self.spec
            .events
            .get(e.index())
            .is_some_and(|d| d.origin == Origin::Timer)
    }

    /// An element of a row's action slice for `flavor`.
    fn action_element(
        &self,
        flavor: Flavor,
        row: &Row,
        a: &ActionRef,
    ) -> Result<TokenStream, GenerateError> {
        let value = self.action_value(row.line, a)?;
        let kind = self.spec.actions[a.action.index()].kind;
        match (flavor, kind) {
            (Flavor::Full, ActionKind::Local) => Ok(quote!(Action::Local(#value))),
            (Flavor::Full, ActionKind::Packet) => Ok(quote!(Action::Packet(#value))),
            (Flavor::Local(_), ActionKind::Local) => Ok(value),
            (Flavor::Local(_), ActionKind::Packet) => Err(GenerateError::PacketActionInLocalRow {
                source_name: self.source_name().to_string(),
                line: row.line,
                action: self.spec.actions[a.action.index()].name.clone(),
                event: self.spec.events[row.event.index()].qualified(),
            }),
        }
    }

    fn row_actions(&self, flavor: Flavor, row: &Row) -> Result<TokenStream, GenerateError> {
        let elems = row
            .actions
            .iter()
            .map(|a| self.action_element(flavor, row, a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(quote!(&[#(#elems),*]))
    }

    /// `guards.a() && !guards.b()`.
    fn guard_condition(&self, terms: &[GuardTerm]) -> TokenStream {
        let parts = terms.iter().map(|t| {
            let g = &self.guards[t.guard.index()];
            if t.negated {
                quote!(!guards.#g())
            } else {
                quote!(guards.#g())
            }
        });
        quote!(#(#parts)&&*)
    }

    // ------------------------------------------------------------ states

    fn state_items(&self) -> TokenStream {
        let spec = self.spec;
        let ids = &self.states;
        let n = usize_lit(ids.len());
        let names: Vec<String> = spec.states.iter().map(|s| s.name.clone()).collect();
        let displays: Vec<String> = spec.states.iter().map(|s| s.display.clone()).collect();
        let variant_docs = spec.states.iter().enumerate().map(|(i, s)| {
            let mut lines = vec![format!(
                "`{}` (declared at `{}:{}`).",
                s.display,
                self.source_name(),
                s.span.line
            )];
            let own: Vec<&Row> = spec
                .rows
                .iter()
                .filter(|r| r.state.map(StateId::index) == Some(i))
                .collect();
            if !own.is_empty() {
                lines.push(String::new());
                lines.push(
                    "Its own rows, in priority order (events it has no row for use `state *`):"
                        .to_string(),
                );
                lines.push(String::new());
                lines.extend(own.iter().map(|r| self.row_bullet(r)));
            }
            docs(&lines)
        });
        let initial = &ids[spec.initial.index()];
        let state = Ident::new("State", Span::call_site());
        let name_match = str_match(&state, ids, &names);
        let display_match = str_match(&state, ids, &displays);
        let enum_doc = doc(&format!(
            "The connection states of machine `{}`, in the order of `{}`.",
            spec.machine,
            self.source_name()
        ));
        quote! {
            #enum_doc
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum State {
                #(#variant_docs #ids,)*
            }

            impl State {
                /// Every state in declaration order: `State::ALL[s.index()] == s`.
                pub const ALL: [State; #n] = [#(State::#ids),*];
                /// The spec's `initial` state.
                pub const INITIAL: State = State::#initial;
                /// The position in [`State::ALL`], equal to the spec model's `StateId` index.
                pub const fn index(self) -> usize {
                    self as usize
                }
                /// The identifier in the spec, e.g. `SynSent`.
                pub const fn name(self) -> &'static str {
                    #name_match
                }
                /// The display name, e.g. `SYN_SENT`.
                pub const fn display(self) -> &'static str {
                    #display_match
                }
                /// The state called `name` (identifier or display name).
                pub fn from_name(name: &str) -> ::core::option::Option<State> {
                    STATES_BY_NAME.get(name).copied()
                }
            }

            impl ::core::fmt::Display for State {
                /// The display name.
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(self.display())
                }
            }
        }
    }

    // ------------------------------------------------------------ events

    fn origin_items(&self) -> TokenStream {
        quote! {
            /// Where an event comes from: the application, a received segment, or a timer.
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum Origin {
                /// A user call (OPEN, SEND, RECEIVE, CLOSE, ABORT).
                App,
                /// A received segment, classified.
                Segment,
                /// A timer expiry.
                Timer,
            }

            impl Origin {
                /// Every origin.
                pub const ALL: [Origin; 3] = [Origin::App, Origin::Segment, Origin::Timer];
                /// `app`, `segment` or `timer`, as written in the spec.
                pub const fn as_str(self) -> &'static str {
                    match self {
                        Origin::App => "app",
                        Origin::Segment => "segment",
                        Origin::Timer => "timer",
                    }
                }
            }

            impl ::core::fmt::Display for Origin {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
        }
    }

    fn event_items(&self) -> TokenStream {
        let spec = self.spec;
        let ids = &self.events;
        let n = usize_lit(ids.len());
        let names: Vec<String> = spec.events.iter().map(|e| e.name.clone()).collect();
        let qualified: Vec<String> = spec.events.iter().map(|e| e.qualified()).collect();
        let labels: Vec<String> = spec.events.iter().map(|e| e.label.clone()).collect();
        let origins = spec.events.iter().map(|e| origin_variant(e.origin));
        let variant_docs = spec.events.iter().map(|e| {
            doc(&format!(
                "`{}`: {} (declared at `{}:{}`).",
                e.qualified(),
                e.label,
                self.source_name(),
                e.span.line
            ))
        });
        let event = Ident::new("Event", Span::call_site());
        let name_match = str_match(&event, ids, &names);
        let qualified_match = str_match(&event, ids, &qualified);
        let label_match = str_match(&event, ids, &labels);
        let index = index_body(ids.is_empty());
        let as_group = [Origin::App, Origin::Segment, Origin::Timer].map(|origin| {
            let fname = Ident::new(&format!("as_{}", origin.as_str()), Span::call_site());
            let ty = origin_enum(origin);
            let members: Vec<&Ident> = self
                .events_of(origin)
                .into_iter()
                .map(|e| &ids[e])
                .collect();
            let others: Vec<&Ident> = (0..ids.len())
                .filter(|&e| spec.events[e].origin != origin)
                .map(|e| &ids[e])
                .collect();
            let other_arm = if others.is_empty() {
                quote!()
            } else {
                quote!(#(Event::#others)|* => ::core::option::Option::None,)
            };
            let doc = doc(&format!(
                "The event as [`{ty}`], if its origin is `{}`.",
                origin.as_str()
            ));
            quote! {
                #doc
                pub const fn #fname(self) -> ::core::option::Option<#ty> {
                    match self {
                        #(Event::#members => ::core::option::Option::Some(#ty::#members),)*
                        #other_arm
                    }
                }
            }
        });
        quote! {
            /// Every event of the spec, flat: application calls, classified segments
            /// and timer expiries (names are unique across the three groups).
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum Event {
                #(#variant_docs #ids,)*
            }

            impl Event {
                /// Every event in declaration order: `Event::ALL[e.index()] == e`.
                pub const ALL: [Event; #n] = [#(Event::#ids),*];
                /// The position in [`Event::ALL`], equal to the spec model's `EventId` index.
                pub const fn index(self) -> usize {
                    #index
                }
                /// The identifier in the spec, e.g. `SynAck`.
                pub const fn name(self) -> &'static str {
                    #name_match
                }
                /// Origin and name, e.g. `segment.SynAck`.
                pub const fn qualified(self) -> &'static str {
                    #qualified_match
                }
                /// The human label, e.g. `Rx SYN+ACK`.
                pub const fn label(self) -> &'static str {
                    #label_match
                }
                /// Where the event comes from.
                pub const fn origin(self) -> Origin {
                    match self {
                        #(Event::#ids => Origin::#origins,)*
                    }
                }
                /// The event called `name` (`SynAck` or `segment.SynAck`).
                pub fn from_name(name: &str) -> ::core::option::Option<Event> {
                    EVENTS_BY_NAME.get(name).copied()
                }
                #(#as_group)*
            }

            impl ::core::fmt::Display for Event {
                /// The qualified name.
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(self.qualified())
                }
            }
        }
    }

    /// `AppEvent`, `SegmentEvent` or `Timer`.
    fn group_items(&self, origin: Origin) -> Result<TokenStream, GenerateError> {
        let ty = origin_enum(origin);
        let members = self.events_of(origin);
        let ids: Vec<&Ident> = members.iter().map(|&e| &self.events[e]).collect();
        let n = usize_lit(ids.len());
        let index = index_body(ids.is_empty());
        let variant_docs = members.iter().map(|&e| {
            let d = &self.spec.events[e];
            doc(&format!("`{}`: {}.", d.qualified(), d.label))
        });
        let enum_doc = match origin {
            Origin::App => "The `app` events: user calls (RFC 9293 §3.10.1-§3.10.6).",
            Origin::Segment => {
                "The `segment` events: what the classifier makes of a received segment."
            }
            Origin::Timer => "The `timer` events: which timer expired (RFC 9293 §3.10.8).",
        };
        let enum_doc = doc(enum_doc);
        let from_doc = doc(&format!(
            "The same event as an [`Event`] (`{}.*`).",
            origin.as_str()
        ));
        Ok(quote! {
            #enum_doc
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum #ty {
                #(#variant_docs #ids,)*
            }

            impl #ty {
                /// Every member of the group, in declaration order.
                pub const ALL: [#ty; #n] = [#(#ty::#ids),*];
                /// The position in `ALL` (within the group, not in [`Event::ALL`]).
                pub const fn index(self) -> usize {
                    #index
                }
                #from_doc
                pub const fn event(self) -> Event {
                    match self {
                        #(#ty::#ids => Event::#ids,)*
                    }
                }
                /// The identifier in the spec.
                pub const fn name(self) -> &'static str {
                    self.event().name()
                }
            }

            impl ::core::convert::From<#ty> for Event {
                fn from(event: #ty) -> Event {
                    event.event()
                }
            }

            impl ::core::fmt::Display for #ty {
                /// The qualified name of the event.
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(self.event().qualified())
                }
            }
        })
    }

    // ------------------------------------------------------------ errors

    fn error_items(&self) -> TokenStream {
        let ids = &self.errors;
        let n = usize_lit(ids.len());
        let names: Vec<String> = self.spec.errors.iter().map(|e| e.name.clone()).collect();
        let ty = Ident::new("ErrorKind", Span::call_site());
        let name_match = str_match(&ty, ids, &names);
        let index = index_body(ids.is_empty());
        let variant_docs = self.spec.errors.iter().map(|e| {
            doc(&format!(
                "`{}` (declared at `{}:{}`).",
                e.name,
                self.source_name(),
                e.span.line
            ))
        });
        quote! {
            /// The errors of the `errors` block: what `Fail(..)` reports to the user.
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum ErrorKind {
                #(#variant_docs #ids,)*
            }

            impl ErrorKind {
                /// Every error in declaration order.
                pub const ALL: [ErrorKind; #n] = [#(ErrorKind::#ids),*];
                /// The position in [`ErrorKind::ALL`], equal to the spec model's `ErrorId` index.
                pub const fn index(self) -> usize {
                    #index
                }
                /// The identifier in the spec, e.g. `ConnectionReset`.
                pub const fn name(self) -> &'static str {
                    #name_match
                }
            }

            impl ::core::fmt::Display for ErrorKind {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(self.name())
                }
            }
        }
    }

    // ------------------------------------------------------------ actions

    fn action_variant_doc(&self, a: usize) -> TokenStream {
        let d = &self.spec.actions[a];
        let mut text = format!("`{}`", d.name);
        match &d.label {
            Some(label) => text.push_str(&format!(", drawn as `{label}`")),
            None => text.push_str(", not drawn on edges"),
        }
        text.push_str(&format!(
            " (declared at `{}:{}`).",
            self.source_name(),
            d.span.line
        ));
        if d.kind == ActionKind::Packet {
            text.push_str(" Needs the received segment.");
        }
        doc(&text)
    }

    /// The payload type of an action's variant, if it takes an argument.
    fn action_payload(&self, a: usize) -> Option<TokenStream> {
        self.spec.actions[a].param.map(|p| match p {
            ParamKind::Timer => quote!(Timer),
            ParamKind::Error => quote!(ErrorKind),
        })
    }

    /// `LocalAction` or `PacketAction`.
    fn kind_enum(&self, kind: ActionKind, members: &[usize]) -> TokenStream {
        let ty = match kind {
            ActionKind::Local => Ident::new("LocalAction", Span::call_site()),
            ActionKind::Packet => Ident::new("PacketAction", Span::call_site()),
        };
        let enum_doc = match kind {
            ActionKind::Local => doc(
                "Actions that do not need the received segment: run by [`ActionHandler::process_action`].",
            ),
            ActionKind::Packet => doc(
                "Actions that need the received segment: run by [`ActionHandler::process_packet_action`].",
            ),
        };
        let variants = members.iter().map(|&a| {
            let id = &self.actions[a];
            let vdoc = self.action_variant_doc(a);
            match self.action_payload(a) {
                Some(p) => quote!(#vdoc #id(#p)),
                None => quote!(#vdoc #id),
            }
        });
        let pats: Vec<TokenStream> = members
            .iter()
            .map(|&a| {
                let id = &self.actions[a];
                if self.spec.actions[a].param.is_some() {
                    quote!(#ty::#id(..))
                } else {
                    quote!(#ty::#id)
                }
            })
            .collect();
        let names: Vec<&str> = members
            .iter()
            .map(|&a| self.spec.actions[a].name.as_str())
            .collect();
        let action_names: Vec<&Ident> = members.iter().map(|&a| &self.actions[a]).collect();
        let arg_arms = members.iter().map(|&a| {
            let id = &self.actions[a];
            match self.spec.actions[a].param {
                Some(ParamKind::Timer) => {
                    quote!(#ty::#id(arg) => ::core::option::Option::Some(ActionArg::Timer(arg)),)
                }
                Some(ParamKind::Error) => {
                    quote!(#ty::#id(arg) => ::core::option::Option::Some(ActionArg::Error(arg)),)
                }
                None => quote!(#ty::#id => ::core::option::Option::None,),
            }
        });
        quote! {
            #enum_doc
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum #ty {
                #(#variants,)*
            }

            impl #ty {
                /// The action's identifier in the spec, without its argument.
                pub const fn name(self) -> &'static str {
                    match self {
                        #(#pats => #names,)*
                    }
                }
                /// The action without its argument.
                pub const fn action_name(self) -> ActionName {
                    match self {
                        #(#pats => ActionName::#action_names,)*
                    }
                }
                /// The argument, for `StartTimer(..)`-like actions.
                pub const fn arg(self) -> ::core::option::Option<ActionArg> {
                    match self {
                        #(#arg_arms)*
                    }
                }
                /// The label drawn on DOT edges, if any.
                pub const fn label(self) -> ::core::option::Option<&'static str> {
                    self.action_name().label()
                }
            }

            impl ::core::fmt::Display for #ty {
                /// `Name` or `Name(Arg)`, as written in the spec.
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    match self.arg() {
                        ::core::option::Option::Some(arg) => {
                            ::core::write!(f, "{}({})", self.name(), arg.name())
                        }
                        ::core::option::Option::None => f.write_str(self.name()),
                    }
                }
            }
        }
    }

    fn action_items(&self) -> Result<TokenStream, GenerateError> {
        let spec = self.spec;
        let ids = &self.actions;
        let n = usize_lit(ids.len());
        let names: Vec<String> = spec.actions.iter().map(|a| a.name.clone()).collect();
        let ty = Ident::new("ActionName", Span::call_site());
        let name_match = str_match(&ty, ids, &names);
        let index = index_body(ids.is_empty());
        let labels = spec.actions.iter().map(|a| match &a.label {
            Some(l) => quote!(::core::option::Option::Some(#l)),
            None => quote!(::core::option::Option::None),
        });
        let packet = spec.actions.iter().map(|a| a.kind == ActionKind::Packet);
        let variant_docs = (0..ids.len()).map(|a| self.action_variant_doc(a));
        let local_enum = self.kind_enum(ActionKind::Local, &self.local_actions());
        let packet_enum = self.kind_enum(ActionKind::Packet, &self.packet_actions());
        Ok(quote! {
            /// The argument of an action: a timer or an error.
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum ActionArg {
                /// A member of the `timer` events, e.g. `StartTimer(TimeWait)`.
                Timer(Timer),
                /// A member of the `errors` block, e.g. `Fail(TimedOut)`.
                Error(ErrorKind),
            }

            impl ActionArg {
                /// The argument's identifier in the spec.
                pub const fn name(self) -> &'static str {
                    match self {
                        ActionArg::Timer(timer) => timer.name(),
                        ActionArg::Error(error) => error.name(),
                    }
                }
            }

            /// Every action of the spec without its argument (`StartTimer`, not
            /// `StartTimer(TimeWait)`): what [`ACTIONS_BY_NAME`] maps names to.
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum ActionName {
                #(#variant_docs #ids,)*
            }

            impl ActionName {
                /// Every action in declaration order.
                pub const ALL: [ActionName; #n] = [#(ActionName::#ids),*];
                /// The position in [`ActionName::ALL`], equal to the spec model's `ActionId` index.
                pub const fn index(self) -> usize {
                    #index
                }
                /// The identifier in the spec.
                pub const fn name(self) -> &'static str {
                    #name_match
                }
                /// The label drawn on DOT edges, if any.
                pub const fn label(self) -> ::core::option::Option<&'static str> {
                    match self {
                        #(ActionName::#ids => #labels,)*
                    }
                }
                /// Whether the action is declared under `packet` (needs the received segment).
                pub const fn is_packet(self) -> bool {
                    match self {
                        #(ActionName::#ids => #packet,)*
                    }
                }
                /// The action called `name`.
                pub fn from_name(name: &str) -> ::core::option::Option<ActionName> {
                    ACTIONS_BY_NAME.get(name).copied()
                }
            }

            impl ::core::fmt::Display for ActionName {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.write_str(self.name())
                }
            }

            #local_enum
            #packet_enum

            /// One action of a row: local, or needing the received segment.
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub enum Action {
                /// Run by [`ActionHandler::process_action`].
                Local(LocalAction),
                /// Run by [`ActionHandler::process_packet_action`], with the segment.
                Packet(PacketAction),
            }

            impl Action {
                /// The action's identifier in the spec, without its argument.
                pub const fn name(self) -> &'static str {
                    match self {
                        Action::Local(action) => action.name(),
                        Action::Packet(action) => action.name(),
                    }
                }
                /// The action without its argument.
                pub const fn action_name(self) -> ActionName {
                    match self {
                        Action::Local(action) => action.action_name(),
                        Action::Packet(action) => action.action_name(),
                    }
                }
                /// The argument, for `StartTimer(..)`-like actions.
                pub const fn arg(self) -> ::core::option::Option<ActionArg> {
                    match self {
                        Action::Local(action) => action.arg(),
                        Action::Packet(action) => action.arg(),
                    }
                }
                /// The label drawn on DOT edges, if any.
                pub const fn label(self) -> ::core::option::Option<&'static str> {
                    self.action_name().label()
                }
                /// Whether the action needs the received segment.
                pub const fn is_packet(self) -> bool {
                    ::core::matches!(self, Action::Packet(_))
                }
            }

            impl ::core::convert::From<LocalAction> for Action {
                fn from(action: LocalAction) -> Action {
                    Action::Local(action)
                }
            }

            impl ::core::convert::From<PacketAction> for Action {
                fn from(action: PacketAction) -> Action {
                    Action::Packet(action)
                }
            }

            impl ::core::fmt::Display for Action {
                /// `Name` or `Name(Arg)`, as written in the spec.
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    match self {
                        Action::Local(action) => ::core::fmt::Display::fmt(action, f),
                        Action::Packet(action) => ::core::fmt::Display::fmt(action, f),
                    }
                }
            }
        })
    }

    // ------------------------------------------------------------ guards

    fn guard_items(&self) -> TokenStream {
        let ids = &self.guards;
        let n = usize_lit(ids.len());
        let names: Vec<&str> = self.spec.guards.iter().map(|g| g.name.as_str()).collect();
        let methods = self.spec.guards.iter().zip(ids).map(|(g, id)| {
            let mut lines = Vec::new();
            if !g.doc.is_empty() {
                lines.push(g.doc.clone());
                lines.push(String::new());
            }
            lines.push(format!(
                "Guard `{}` (declared at `{}:{}`).",
                g.name,
                self.source_name(),
                g.span.line
            ));
            let d = docs(&lines);
            quote!(#d fn #id(&self) -> bool;)
        });
        let indices: Vec<Literal> = (0..ids.len()).map(usize_lit).collect();
        // Guards with a bit in `guard_bits` (the first GUARD_BITS).
        let bit_ids = &ids[..ids.len().min(GUARD_BITS)];
        let bit_indices = &indices[..bit_ids.len()];
        let (bits_body, ask_each) = if bit_ids.is_empty() {
            (quote!(let _ = mask; 0), quote!())
        } else {
            (
                quote! {
                    // Most pairs test no guard: no call at all for them.
                    if mask == 0 {
                        0
                    } else {
                        ask_each_guard(self, mask)
                    }
                },
                quote! {
                    /// [`Guards::guard_bits`] the long way: each guard of `mask`, in turn.
                    #[inline(never)]
                    fn ask_each_guard<G: Guards + ?Sized>(guards: &G, mask: u32) -> u32 {
                        let mut bits = 0u32;
                        #(
                            if mask & (1 << #bit_indices) != 0 && guards.#bit_ids() {
                                bits |= 1 << #bit_indices;
                            }
                        )*
                        bits
                    }
                },
            )
        };
        let set_methods = ids.iter().enumerate().map(|(i, id)| {
            if i < GUARD_BITS {
                let i = Literal::u32_unsuffixed(i as u32);
                quote!(fn #id(&self) -> bool { self.0 & (1 << #i) != 0 })
            } else {
                quote!(fn #id(&self) -> bool { false })
            }
        });
        quote! {
            /// The names of the guards, in declaration order: `GUARD_NAMES[i]` is the
            /// guard with the spec model's `GuardId` index `i`.
            pub const GUARD_NAMES: [&str; #n] = [#(#names),*];

            /// The conditions rows may test. The dispatch functions ask for the
            /// guards that the rows of the current (state, event) pair test, all
            /// at once through [`Guards::guard_bits`], and never for another;
            /// a pair decided by one unguarded row asks for none. Guards must be
            /// pure: which of them are asked, and how often, is not part of the
            /// contract.
            pub trait Guards {
                #(#methods)*

                /// The guards of `mask` (bit `i` is `GUARD_NAMES[i]`) that hold, as the
                /// same kind of bit set. The provided method asks each guard in `mask`
                /// in turn; bits outside `mask` are ignored by the caller.
                #[inline(always)]
                fn guard_bits(&self, mask: u32) -> u32 {
                    #bits_body
                }
            }

            #ask_each

            /// Guard `i` answers `self[i]` (order of [`GUARD_NAMES`]).
            impl Guards for [bool; #n] {
                #(fn #ids(&self) -> bool { self[#indices] })*
            }

            /// Guard outcomes as a bit set: bit `i` answers `GUARD_NAMES[i]`. It holds
            /// the first 32 guards; any later one answers false.
            #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
            pub struct GuardSet(pub u32);

            impl Guards for GuardSet {
                #(#set_methods)*

                #[inline]
                fn guard_bits(&self, mask: u32) -> u32 {
                    self.0 & mask
                }
            }

            /// Guards answered by a closure over the guard's index in [`GUARD_NAMES`].
            #[derive(Clone, Copy, Debug)]
            pub struct GuardFn<F>(pub F);

            impl<F: Fn(usize) -> bool> Guards for GuardFn<F> {
                #(fn #ids(&self) -> bool { (self.0)(#indices) })*
            }
        }
    }

    // ------------------------------------------------------------ dispatch

    fn step_items(&self) -> TokenStream {
        quote! {
            /// The outcome of [`process_event`]: the next state, the actions to run in
            /// order, and the spec row that decided (an index into [`ROWS`]).
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
            pub struct Step {
                /// The state after the event (`-> stay` already resolved).
                pub next: State,
                /// The row's actions, in order.
                pub actions: &'static [Action],
                /// The index of the row in [`ROWS`].
                pub row: u16,
            }

            /// The outcome of an `app` or `timer` event: such rows hold only local
            /// actions (the spec validator rejects packet actions there, E0008).
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
            pub struct LocalStep {
                /// The state after the event (`-> stay` already resolved).
                pub next: State,
                /// The row's actions, in order.
                pub actions: &'static [LocalAction],
                /// The index of the row in [`ROWS`].
                pub row: u16,
            }
        }
    }

    /// The events a dispatch function of this flavor takes, as indices.
    fn flavor_events(&self, flavor: Flavor) -> Vec<usize> {
        match flavor {
            Flavor::Full => (0..self.spec.events.len()).collect(),
            Flavor::Local(origin) => self.events_of(origin),
        }
    }

    /// The next state of `row` for the `states` one arm or cell covers: the
    /// target, or (for `stay` and `impossible`, which keep the state and run
    /// nothing) the one state, or `state` when the arm covers several.
    fn next_state_tokens(&self, row: &Row, states: &[usize]) -> TokenStream {
        match (row.target, states) {
            (Target::State(t), _) => self.state_path(t),
            (Target::Stay | Target::Impossible, [one]) => self.state_path(StateId(*one as u16)),
            (Target::Stay | Target::Impossible, _) => quote!(state),
        }
    }

    /// The arms of a flat `match (state, event)`, in priority order within
    /// each pair. States whose cell for an event is the same row list (the
    /// `state *` fallback) share arms through an or-pattern. The last live
    /// row of each pair is emitted without its guards: `check_table` proved
    /// they hold whenever the earlier rows fail, and this makes the match
    /// exhaustive without a catch-all arm. Returns the arms and whether any
    /// guard is called.
    fn dispatch_arms(&self, flavor: Flavor) -> Result<(Vec<TokenStream>, bool), GenerateError> {
        let events = self.flavor_events(flavor);
        let step = step_type(flavor);
        let mut arms = Vec::new();
        let mut uses_guards = false;
        for e in events {
            // Group the states by their cell's row list, in state order.
            let mut groups: Vec<(&[RowId], Vec<usize>)> = Vec::new();
            for s in 0..self.spec.states.len() {
                let cell = self.cell(s, e);
                match groups.iter_mut().find(|(c, _)| *c == cell) {
                    Some((_, states)) => states.push(s),
                    None => groups.push((cell, vec![s])),
                }
            }
            let event_pat = match flavor {
                Flavor::Full => self.event_path(e),
                Flavor::Local(_) => self.group_event_path(e),
            };
            for (_, states) in groups {
                let state_pats = states.iter().map(|&s| {
                    let id = &self.states[s];
                    quote!(State::#id)
                });
                let pattern = quote!((#(#state_pats)|*, #event_pat));
                let rows = self.live_rows(states[0], e);
                for (i, row) in rows.iter().enumerate() {
                    let last = i + 1 == rows.len();
                    let guard = if last || row.guards.is_empty() {
                        quote!()
                    } else {
                        uses_guards = true;
                        let cond = self.guard_condition(&row.guards);
                        quote!(if #cond)
                    };
                    let next = self.next_state_tokens(row, &states);
                    let actions = self.row_actions(flavor, row)?;
                    let row_no = Literal::u16_unsuffixed(row.id.0);
                    arms.push(quote! {
                        #pattern #guard => #step { next: #next, actions: #actions, row: #row_no },
                    });
                }
            }
        }
        Ok((arms, uses_guards))
    }

    /// The `match` of a dispatch function over `(state, event)`.
    fn dispatch_body(&self, flavor: Flavor, empty: bool) -> Result<TokenStream, GenerateError> {
        if empty {
            // No events of this kind: the event type is uninhabited.
            return Ok(quote! {
                let _ = (state, guards);
                match event {}
            });
        }
        let (arms, uses_guards) = self.dispatch_arms(flavor)?;
        let silence = if uses_guards {
            quote!()
        } else {
            quote!(let _ = guards;)
        };
        let (tables, any_by_rows, hashed, one_multiply) = self.outcome_tables(flavor)?;
        let step = step_type(flavor);
        let event_ty = match flavor {
            Flavor::Full => quote!(Event),
            Flavor::Local(origin) => {
                let ty = origin_enum(origin);
                quote!(#ty)
            }
        };
        // The `match` is called only when some pair needs it; otherwise it is
        // kept (unused at run time) as the readable form of the same rows.
        let fallback = if any_by_rows {
            quote! {
                if BY_ROWS[pair] {
                    return by_rows(state, event, guards);
                }
            }
        } else {
            quote!()
        };
        // The slot: the outcome of the pair's guards, as the bits they have in
        // the mask, hashed by the pair's multiplier (no guard: 0).
        let slot = if !hashed {
            // No pair tests a guard: one slot each.
            quote! {
                let _ = (cell, guards);
                let slot = 0;
            }
        } else if one_multiply {
            // Every mask is below 2^16, so `bits * mask` stays below 2^32 and
            // the top bits of `bits * cell` are those of `bits * magic`.
            quote! {
                let bits = u64::from(guards.guard_bits(cell as u32)) & cell;
                let slot = (bits.wrapping_mul(cell) >> (32 + SLOT_SHIFT)) as usize;
            }
        } else {
            quote! {
                let (mask, magic) = (cell as u32, (cell >> 32) as u32);
                let bits = guards.guard_bits(mask) & mask;
                let slot = (bits.wrapping_mul(magic) >> SLOT_SHIFT) as usize;
            }
        };
        let index = if hashed {
            quote!(pair * SLOTS + slot % SLOTS)
        } else {
            quote!(pair + slot)
        };
        let lookup = quote! {
            // One flat index per pair: the cell and the pair's run of slots.
            let pair = state.index() * EVENTS + event.index();
            #fallback
            let cell = CELLS[pair];
            #slot
            STEPS[#index]
        };
        Ok(quote! {
            #tables
            /// The rows as one flat `match` over (state, event): the pairs the
            /// tables leave to it (more than `MAX_PICKS` guards) and every other.
            #[allow(dead_code)]
            #[inline(never)]
            fn by_rows<G: Guards + ?Sized>(state: State, event: #event_ty, guards: &G) -> #step {
                #silence
                match (state, event) {
                    #(#arms)*
                }
            }
            #lookup
        })
    }

    /// The dispatch as data, by pair index `state * EVENTS + event`.
    /// `CELLS[pair]` holds the guards the pair's rows test (`mask`) and the
    /// multiplier of a multiply-shift hash that sends each outcome of those
    /// guards to one of the pair's `SLOTS` slots, which follow each other in
    /// `STEPS` from `pair * SLOTS`; the slot holds the step of the first row that
    /// matches under that outcome (decided here, at compile time, for every
    /// outcome). The multiplier is searched for each pair so that outcomes
    /// with different steps never share a slot; a pair without guards has
    /// multiplier 0 and every slot the same. A dispatch is two indexed
    /// loads, a mask, a multiply and a shift, with no branch on the state,
    /// the event or a guard, and no bounds check (the slot is below `SLOTS`
    /// by the shift). Returns the tables, whether a pair was left to the
    /// `match`, whether any pair has more than one slot, and whether every
    /// mask is below 2^16 (then one multiply by the whole cell hashes).
    #[allow(clippy::type_complexity)]
    fn outcome_tables(
        &self,
        flavor: Flavor,
    ) -> Result<(TokenStream, bool, bool, bool), GenerateError> {
        let events = self.flavor_events(flavor);
        let step = step_type(flavor);
        let mut pairs = Vec::new();
        for s in 0..self.spec.states.len() {
            for &e in &events {
                let live = self.live_rows(s, e);
                let picked = tested_guards(&live);
                // The first live row that matches under each outcome (bit b of
                // the outcome: guard picked[b] holds); check_table proved one does.
                let outcome_rows: Vec<&Row> = (0u32..(1 << picked.len().min(MAX_PICKS)))
                    .filter_map(|outcome| {
                        let holds = |t: &GuardTerm| {
                            let bit = picked.iter().position(|&g| g == t.guard.index());
                            bit.is_some_and(|b| outcome & (1 << b) != 0) != t.negated
                        };
                        live.iter()
                            .find(|r| r.guards.iter().all(holds))
                            .or(live.last())
                            .copied()
                    })
                    .collect();
                let fits = picked.len() <= MAX_PICKS && picked.iter().all(|&g| g < GUARD_BITS);
                pairs.push(PairPlan {
                    state: s,
                    live,
                    picked,
                    outcome_rows,
                    fits,
                });
            }
        }
        // One slot count for the whole table (a constant shift): the smallest
        // for which every pair that fits finds a multiplier.
        let fewest = pairs
            .iter()
            .filter(|p| p.fits)
            .map(|p| p.picked.len() as u32)
            .max();
        let (slot_bits, hashes) = (fewest.unwrap_or(0)..=MAX_SLOT_BITS)
            .find_map(|bits| {
                let hashes: Option<Vec<_>> = pairs.iter().map(|p| p.hash(bits)).collect();
                hashes.map(|h| (bits, h))
            })
            // No width suits every pair: the widest, and the pairs that still
            // find no multiplier (only) go to the `match`.
            .unwrap_or_else(|| {
                let hashes = pairs
                    .iter()
                    .map(|p| p.hash(MAX_SLOT_BITS).flatten())
                    .collect();
                (MAX_SLOT_BITS, hashes)
            });
        let n_slots = 1usize << slot_bits;
        let (mut any_by_rows, mut widest_mask) = (false, 0u32);
        let (mut cells, mut step_cells, mut by_rows_cells) = (Vec::new(), Vec::new(), Vec::new());
        for (pair, hash) in pairs.iter().zip(hashes) {
            let (s, outcome_rows) = (pair.state, &pair.outcome_rows);
            let Some(&last) = pair.live.last() else {
                continue;
            };
            let (mask, magic, by_rows, slot_rows): (u32, u32, bool, Vec<&Row>) = match hash {
                // Every slot holds the last row: never read, the match decides.
                None => (0, 0, true, vec![last; n_slots]),
                Some(h) => {
                    let mask = h.mask;
                    // Slots no outcome reaches hold the pair's last row.
                    let rows = (0..n_slots)
                        .map(|i| {
                            h.slots
                                .get(i)
                                .copied()
                                .flatten()
                                .map_or(last, |o| outcome_rows[o])
                        })
                        .collect();
                    (mask, h.magic, false, rows)
                }
            };
            any_by_rows |= by_rows;
            widest_mask = widest_mask.max(mask);
            for row in slot_rows {
                step_cells.push(self.step_tokens(flavor, row, s)?);
            }
            let mask = Literal::u64_unsuffixed(u64::from(mask));
            let magic = Literal::u64_unsuffixed(u64::from(magic));
            cells.push(quote!(#mask | #magic << 32));
            by_rows_cells.push(by_rows);
        }
        // The table lengths are written as the products they must be, so
        // that a pair the loop above skipped would fail to compile.
        let n_states = usize_lit(self.spec.states.len());
        let n_events = usize_lit(events.len());
        let n_slots_lit = usize_lit(n_slots);
        let by_rows_table = if any_by_rows {
            quote! {
                /// The pairs left to the `match` of `by_rows` (more guards
                /// than the slot hash takes).
                static BY_ROWS: [bool; #n_states * EVENTS] = [#(#by_rows_cells),*];
            }
        } else {
            quote!()
        };
        // A u32 shifted by 32 - slot_bits is below 2^slot_bits; with no slot
        // bits (no guarded pair) the product is always 0 and so is the slot.
        let shift = Literal::u32_unsuffixed(32 - slot_bits.max(1));
        let tables = quote! {
            /// Events per state: pair `(state, event)` is `state * EVENTS + event`.
            const EVENTS: usize = #n_events;
            /// Slots per pair.
            const SLOTS: usize = #n_slots_lit;
            /// The slot hash keeps the top bits of the product.
            const SLOT_SHIFT: u32 = #shift;
            /// How each (state, event) pair decides, by pair index: the low half
            /// holds the guards the pair's rows test (bit `i`: `GUARD_NAMES[i]`),
            /// the high half the multiplier of the slot hash
            /// `(bits * magic) >> SLOT_SHIFT`.
            static CELLS: [u64; #n_states * EVENTS] = [#(#cells),*];
            #by_rows_table
            /// The step of every slot of every pair (`SLOTS` per pair, in pair
            /// order), as `CELLS` hashes it.
            static STEPS: [#step; #n_states * EVENTS * SLOTS] = [#(#step_cells),*];
        };
        Ok((tables, any_by_rows, n_slots > 1, widest_mask < 1 << 16))
    }

    /// `Step { next, actions, row }` of `row` taken in state `s`.
    fn step_tokens(
        &self,
        flavor: Flavor,
        row: &Row,
        s: usize,
    ) -> Result<TokenStream, GenerateError> {
        let step = step_type(flavor);
        let next = self.next_state_tokens(row, &[s]);
        let actions = self.row_actions(flavor, row)?;
        let row_no = Literal::u16_unsuffixed(row.id.0);
        Ok(quote!(#step { next: #next, actions: #actions, row: #row_no }))
    }

    fn process_event(&self) -> Result<TokenStream, GenerateError> {
        let body = self.dispatch_body(Flavor::Full, self.spec.events.is_empty())?;
        let mut lines = vec![
            "The transition for `event` in `state`, as data: the pair's cell names the".to_string(),
            "guards its rows test, and their outcome indexes a static table of steps".to_string(),
            "(next state, actions as a `&'static` slice, row) computed at compile time".to_string(),
            "from the rows in the spec's priority order. Pairs whose rows test more than"
                .to_string(),
            format!(
                "{MAX_PICKS} guards go through one flat `match` over (state, event) instead. Total"
            ),
            "by construction: every pair ends in a row without guards to test.".to_string(),
        ];
        let wildcard: Vec<&Row> = self
            .spec
            .rows
            .iter()
            .filter(|r| r.state.is_none())
            .collect();
        if !wildcard.is_empty() {
            lines.push(String::new());
            lines.push(
                "Rows of `state *`, which apply to every state that has no row of its own for the event:"
                    .to_string(),
            );
            lines.push(String::new());
            lines.extend(wildcard.iter().map(|r| self.row_bullet(r)));
        }
        let d = docs(&lines);
        Ok(quote! {
            #d
            #[inline]
            pub fn process_event<G: Guards + ?Sized>(state: State, event: Event, guards: &G) -> Step {
                #body
            }
        })
    }

    fn process_local(&self, origin: Origin) -> Result<TokenStream, GenerateError> {
        let ty = origin_enum(origin);
        let fname = Ident::new(
            &format!("process_{}_event", origin.as_str()),
            Span::call_site(),
        );
        let body = self.dispatch_body(Flavor::Local(origin), self.events_of(origin).is_empty())?;
        let d = doc(&format!(
            "[`process_event`] for `{}` events, typed: their rows hold only local actions.",
            origin.as_str()
        ));
        Ok(quote! {
            #d
            #[inline]
            pub fn #fname<G: Guards + ?Sized>(state: State, event: #ty, guards: &G) -> LocalStep {
                #body
            }
        })
    }

    fn process_segment(&self) -> TokenStream {
        quote! {
            /// [`process_event`] for `segment` events; their rows may hold packet actions,
            /// which [`run_actions`] runs with the segment.
            #[inline]
            pub fn process_segment_event<G: Guards + ?Sized>(
                state: State,
                event: SegmentEvent,
                guards: &G,
            ) -> Step {
                process_event(state, event.event(), guards)
            }
        }
    }

    /// The arms of `run_row` (every row with actions; `local`: only the rows
    /// of `app` and `timer` events, whose actions are all local).
    fn row_action_arms(&self, local: bool) -> Result<Vec<TokenStream>, GenerateError> {
        let mut arms = Vec::new();
        for row in &self.spec.rows {
            if row.actions.is_empty() {
                continue;
            }
            let origin = self.spec.events[row.event.index()].origin;
            if local && origin == Origin::Segment {
                continue;
            }
            let calls = row
                .actions
                .iter()
                .map(|a| {
                    let value = self.action_value(row.line, a)?;
                    Ok(match self.spec.actions[a.action.index()].kind {
                        ActionKind::Local => quote!(handler.process_action(#value);),
                        ActionKind::Packet if !local => {
                            quote!(handler.process_packet_action(#value, segment);)
                        }
                        ActionKind::Packet => {
                            return Err(GenerateError::PacketActionInLocalRow {
                                source_name: self.source_name().to_string(),
                                line: row.line,
                                action: self.spec.actions[a.action.index()].name.clone(),
                                event: self.spec.events[row.event.index()].qualified(),
                            })
                        }
                    })
                })
                .collect::<Result<Vec<_>, GenerateError>>()?;
            let index = Literal::u16_unsuffixed(row.id.0);
            arms.push(quote!(#index => { #(#calls)* }));
        }
        Ok(arms)
    }

    fn handler_items(&self) -> Result<TokenStream, GenerateError> {
        let row_arms = self.row_action_arms(false)?;
        let local_arms = self.row_action_arms(true)?;
        let (silence_rows, silence_local) = (
            if row_arms.is_empty() {
                quote!(let _ = (handler, segment);)
            } else {
                quote!()
            },
            if local_arms.is_empty() {
                quote!(let _ = handler;)
            } else {
                quote!()
            },
        );
        Ok(quote! {
            /// Runs the actions of spec row `row` (a `Step::row`), in order: the
            /// table engine's `ProcessAction` / `ProcessPacketAction` calls of that
            /// row, compiled straight-line, one arm per row, so that a handler whose
            /// methods inline runs the row's TCB operations with no per-action
            /// dispatch. The same actions as `Step::actions`, in the same order.
            #[inline]
            pub fn run_row<H: ActionHandler + ?Sized>(handler: &mut H, row: u16, segment: &H::Segment) {
                #silence_rows
                match row {
                    #(#row_arms)*
                    _ => {}
                }
            }

            /// [`run_row`] for a row of an `app` or `timer` event (a `LocalStep::row`):
            /// such rows hold local actions only. Any other row runs nothing.
            #[inline(always)]
            pub fn run_local_row<H: ActionHandler + ?Sized>(handler: &mut H, row: u16) {
                #silence_local
                match row {
                    #(#local_arms)*
                    _ => {}
                }
            }

            /// Runs actions: the table engine's `ProcessAction` / `ProcessPacketAction`.
            /// Packet actions can only be run with a segment in hand.
            pub trait ActionHandler {
                /// The received segment packet actions read.
                type Segment: ?Sized;
                /// Runs an action that does not need the received segment.
                fn process_action(&mut self, action: LocalAction);
                /// Runs an action that needs the received segment.
                fn process_packet_action(&mut self, action: PacketAction, segment: &Self::Segment);
            }

            /// Runs the actions of an `app` or `timer` step, in order.
            #[inline]
            pub fn run_local_actions<H: ActionHandler + ?Sized>(handler: &mut H, actions: &[LocalAction]) {
                for &action in actions {
                    handler.process_action(action);
                }
            }

            /// Runs the actions of a `segment` step, in order, giving packet actions the segment.
            #[inline]
            pub fn run_actions<H: ActionHandler + ?Sized>(
                handler: &mut H,
                actions: &[Action],
                segment: &H::Segment,
            ) {
                for &action in actions {
                    match action {
                        Action::Local(action) => handler.process_action(action),
                        Action::Packet(action) => handler.process_packet_action(action, segment),
                    }
                }
            }
        })
    }

    // ------------------------------------------------------------ metadata

    fn row_items(&self) -> Result<TokenStream, GenerateError> {
        let n = usize_lit(self.spec.rows.len());
        let rows = self
            .spec
            .rows
            .iter()
            .map(|row| {
                let index = Literal::u16_unsuffixed(row.id.0);
                let line = Literal::u32_unsuffixed(row.line);
                let state = match row.state {
                    Some(s) => {
                        let p = self.state_path(s);
                        quote!(::core::option::Option::Some(#p))
                    }
                    None => quote!(::core::option::Option::None),
                };
                let target = match row.target {
                    Target::State(s) => {
                        let p = self.state_path(s);
                        quote!(::core::option::Option::Some(#p))
                    }
                    Target::Stay | Target::Impossible => quote!(::core::option::Option::None),
                };
                let impossible = row.target == Target::Impossible;
                let event = self.event_path(row.event.index());
                let actions = self.row_actions(Flavor::Full, row)?;
                let rfc = row.rfc.clone().unwrap_or_default();
                let doc = &row.doc;
                let text = self.spec.row_text(row.id);
                Ok(quote! {
                    RowInfo {
                        index: #index,
                        line: #line,
                        state: #state,
                        event: #event,
                        target: #target,
                        impossible: #impossible,
                        actions: #actions,
                        text: #text,
                        rfc: #rfc,
                        doc: #doc,
                    }
                })
            })
            .collect::<Result<Vec<_>, GenerateError>>()?;
        Ok(quote! {
            /// Metadata of one spec row.
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
            pub struct RowInfo {
                /// The row's index in [`ROWS`] (what `Step::row` holds).
                pub index: u16,
                /// 1-based line of the row's `on` keyword in the spec file.
                pub line: u32,
                /// The row's state; `None` for a `state *` row.
                pub state: ::core::option::Option<State>,
                /// The row's event.
                pub event: Event,
                /// Where the row leads; `None` for `-> stay` and `-> impossible`.
                pub target: ::core::option::Option<State>,
                /// `-> impossible`: the spec claims no input reaches the row.
                pub impossible: bool,
                /// The row's actions, in order.
                pub actions: &'static [Action],
                /// The row as written in the spec (normalized), e.g. `on app.Close / SendFin -> FinWait1`.
                pub text: &'static str,
                /// The first `RFC NNNN §X.Y` reference of the row's doc, or `""`.
                pub rfc: &'static str,
                /// The row's `///` doc, or `""`.
                pub doc: &'static str,
            }

            impl RowInfo {
                /// `file:line` of the row, e.g. `tcp.fsm:57`.
                pub fn location(&self) -> ::std::string::String {
                    ::std::format!("{}:{}", SPEC_NAME, self.line)
                }
            }

            /// Every row of the spec in source order (`state *` rows included).
            pub static ROWS: [RowInfo; #n] = [#(#rows),*];

            /// The row with index `row` (as in `Step::row`), if there is one.
            pub fn row_info(row: u16) -> ::core::option::Option<&'static RowInfo> {
                ROWS.get(usize::from(row))
            }
        })
    }

    fn name_maps(&self) -> Result<TokenStream, GenerateError> {
        let mut states = MapEntries::default();
        for (i, s) in self.spec.states.iter().enumerate() {
            let what = format!("state `{}`", s.name);
            let v = self.state_path(StateId(i as u16));
            states.insert(&s.name, &what, v.clone())?;
            states.insert(&s.display, &what, v)?;
        }
        let mut events = MapEntries::default();
        for (i, e) in self.spec.events.iter().enumerate() {
            let what = format!("event `{}`", e.qualified());
            let v = self.event_path(i);
            events.insert(&e.name, &what, v.clone())?;
            events.insert(&e.qualified(), &what, v)?;
        }
        let mut actions = MapEntries::default();
        for (a, id) in self.spec.actions.iter().zip(&self.actions) {
            actions.insert(
                &a.name,
                &format!("action `{}`", a.name),
                quote!(ActionName::#id),
            )?;
        }
        let (states, events, actions) =
            (states.to_tokens(), events.to_tokens(), actions.to_tokens());
        let phf = quote!(::tcp_fsm_spec::__private::phf);
        Ok(quote! {
            /// States by identifier (`SynSent`) and by display name (`SYN_SENT`).
            pub static STATES_BY_NAME: #phf::Map<&'static str, State> = #states;
            /// Events by name (`SynAck`) and by qualified name (`segment.SynAck`).
            pub static EVENTS_BY_NAME: #phf::Map<&'static str, Event> = #events;
            /// Actions by name (`StartTimer`), without arguments.
            pub static ACTIONS_BY_NAME: #phf::Map<&'static str, ActionName> = #actions;
        })
    }

    fn spec_consts(&self, abs_path: &str) -> TokenStream {
        let name = self.source_name();
        let machine = &self.spec.machine;
        let dot = tcp_fsm_spec::dot::to_dot(self.spec, &DotOptions::default());
        quote! {
            /// The file name rows and diagnostics refer to, e.g. `tcp.fsm`.
            pub const SPEC_NAME: &str = #name;
            /// The spec's `machine` name.
            pub const MACHINE_NAME: &str = #machine;
            /// The spec text this code was generated from. Being an `include_str!`, it
            /// also makes cargo rebuild the crate when the spec file changes.
            pub const SPEC_SOURCE: &str = ::core::include_str!(#abs_path);
            /// The machine as a Graphviz DOT graph (the spec model's emitter, default options).
            pub const DOT: &str = #dot;
        }
    }
}
