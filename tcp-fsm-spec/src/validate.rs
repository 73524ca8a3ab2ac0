//! From the syntax tree to the validated [`Spec`]: name resolution and every
//! rule of GRAMMAR.md ("Validation"), E0002 to E0009.
//!
//! Every check runs even after errors, so all problems are reported at once.
//! The checks that look at the whole table (E0005 unreachable states, E0009
//! totality) are skipped where an earlier error made the table incomplete
//! (a syntax error anywhere, or a broken row for the pair), because they
//! would only repeat that error in another form.

use crate::ast::{self, File, Item, RowAst, StateSel, TargetAst};
use crate::diagnostic::{did_you_mean, Diagnostic};
use crate::interp::{distinct_guards, outcomes, row_holds};
use crate::ir::*;
use crate::span::Span;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The most distinct guards one (state, event) pair may use: totality is
/// checked by enumerating all `2^k` outcomes.
pub const MAX_GUARDS_PER_PAIR: usize = 16;

/// Validates a parsed file. `syntax_ok` is false when the lexer or parser
/// reported errors (the whole-table checks are then skipped). Returns the
/// spec when no diagnostic was produced here.
pub fn validate(
    source_name: &str,
    file: &File,
    syntax_ok: bool,
) -> (Option<Spec>, Vec<Diagnostic>) {
    let mut v = Validator {
        source_name,
        diags: Vec::new(),
        spec: Spec {
            source_name: source_name.to_string(),
            machine: String::new(),
            initial: StateId(0),
            states: Vec::new(),
            events: Vec::new(),
            actions: Vec::new(),
            guards: Vec::new(),
            errors: Vec::new(),
            rows: Vec::new(),
            table: Vec::new(),
        },
        state_names: HashMap::new(),
        event_names: HashMap::new(),
        action_names: HashMap::new(),
        guard_names: HashMap::new(),
        error_names: HashMap::new(),
        block_headers: HashMap::new(),
        broken: Broken::default(),
    };
    let ok = v.run(file, syntax_ok);
    let Validator { spec, diags, .. } = v;
    (ok.then_some(spec), diags)
}

/// Where earlier errors left the table incomplete.
#[derive(Default)]
struct Broken {
    /// Pairs with a broken row (`None` state = a `state *` row).
    pairs: BTreeSet<(Option<StateId>, EventId)>,
    /// Blocks with a row whose event could not be resolved.
    blocks: BTreeSet<Option<StateId>>,
    /// Some row's target state could not be resolved.
    target: bool,
    /// Targets of broken rows that did resolve: still edges for reachability.
    edges: Vec<(Option<StateId>, StateId)>,
}

/// Guard outcomes the `state *` rows for one event leave uncovered.
struct StarGap {
    uncovered: Vec<Vec<bool>>,
    guards: Vec<GuardId>,
    /// The states that use those rows.
    states: Vec<StateId>,
}

struct Validator<'a> {
    source_name: &'a str,
    diags: Vec<Diagnostic>,
    spec: Spec,
    state_names: HashMap<String, StateId>,
    event_names: HashMap<String, EventId>,
    action_names: HashMap<String, ActionId>,
    guard_names: HashMap<String, GuardId>,
    error_names: HashMap<String, ErrorId>,
    /// The header span of each state's (first) block; `None` = `state *`.
    block_headers: HashMap<Option<StateId>, Span>,
    broken: Broken,
}

/// A 16-bit index for the `len`-th declaration, if it fits.
fn id_for(len: usize) -> Option<u16> {
    u16::try_from(len).ok().filter(|i| *i != u16::MAX)
}

/// The first `RFC <digits> §<digits and dots>` in `doc`, e.g. `RFC 9293 §3.10.7.3`.
pub fn find_rfc(doc: &str) -> Option<String> {
    let mut rest = doc;
    while let Some(i) = rest.find("RFC ") {
        let after = &rest[i + 4..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            if let Some(sec) = after[digits..].strip_prefix(" §") {
                let len = sec.len()
                    - sec
                        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
                        .len();
                let section = sec[..len].trim_end_matches('.');
                if section.starts_with(|c: char| c.is_ascii_digit()) {
                    return Some(format!("RFC {} §{section}", &after[..digits]));
                }
            }
        }
        rest = &rest[i + 4..];
    }
    None
}

impl Validator<'_> {
    /// `file:line:col` of a span, for notes.
    fn loc(&self, span: Span) -> String {
        format!("{}:{}:{}", self.source_name, span.line, span.col)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn run(&mut self, file: &File, syntax_ok: bool) -> bool {
        self.declarations(file);
        self.machine_and_initial(file);
        let initial_ok = self.spec.initial.index() < self.spec.states.len();
        self.rows(file);
        self.build_table();
        if syntax_ok && initial_ok && !self.broken.target {
            self.reachability();
        }
        self.dead_rows_and_totality(syntax_ok);
        self.diags.is_empty()
    }

    // ------------------------------------------------------------ declarations

    /// Reports a duplicate declaration block (the contents are still used).
    fn block_once(&mut self, seen: &mut HashMap<String, Span>, what: &str, span: Span) {
        if let Some(first) = seen.get(what) {
            let note = format!("the first {what} is at {}", self.loc(*first));
            self.push(Diagnostic::new("E0003", span, format!("duplicate {what}")).note(note));
        } else {
            seen.insert(what.to_string(), span);
        }
    }

    /// Reports a duplicate name (`first`: where it was declared before);
    /// returns whether the name is new.
    fn new_name(&mut self, first: Option<Span>, kind: &str, ident: &ast::Ident) -> bool {
        if let Some(prev) = first {
            let note = format!("first declared at {}", self.loc(prev));
            self.push(
                Diagnostic::new(
                    "E0003",
                    ident.span,
                    format!("duplicate {kind} `{}`", ident.name),
                )
                .note(note),
            );
            return false;
        }
        true
    }

    fn too_many(&mut self, kind: &str, span: Span) {
        self.push(Diagnostic::new(
            "E0001",
            span,
            format!("too many {kind} (at most {})", u16::MAX - 1),
        ));
    }

    fn declarations(&mut self, file: &File) {
        let mut blocks: HashMap<String, Span> = HashMap::new();
        let mut displays: HashMap<String, Span> = HashMap::new();
        for item in &file.items {
            match item {
                Item::States { keyword, decls } => {
                    self.block_once(&mut blocks, "`states` block", *keyword);
                    for d in decls {
                        let first = self
                            .state_names
                            .get(&d.ident.name)
                            .map(|s| self.spec.states[s.index()].span);
                        let fresh = self.new_name(first, "state", &d.ident);
                        if !fresh {
                            continue;
                        }
                        let Some(id) = id_for(self.spec.states.len()) else {
                            self.too_many("states", d.ident.span);
                            continue;
                        };
                        let display = d
                            .label
                            .as_ref()
                            .map_or(d.ident.name.clone(), |l| l.value.clone());
                        let display_span = d.label.as_ref().map_or(d.ident.span, |l| l.span);
                        if let Some(first) = displays.get(&display) {
                            let note = format!("first used at {}", self.loc(*first));
                            self.push(
                                Diagnostic::new(
                                    "E0003",
                                    display_span,
                                    format!("duplicate state display name \"{display}\""),
                                )
                                .note(note),
                            );
                        } else {
                            displays.insert(display.clone(), display_span);
                        }
                        self.state_names.insert(d.ident.name.clone(), StateId(id));
                        self.spec.states.push(StateDecl {
                            name: d.ident.name.clone(),
                            display,
                            span: d.ident.span,
                        });
                    }
                }
                Item::Events { keyword, groups } => {
                    self.block_once(&mut blocks, "`events` block", *keyword);
                    let mut group_seen: HashMap<String, Span> = HashMap::new();
                    for g in groups {
                        let what = format!("`{}` group in `events`", g.origin.as_str());
                        self.block_once(&mut group_seen, &what, g.span);
                        for d in &g.decls {
                            if let Some(prev) = self.event_names.get(&d.ident.name) {
                                let e = &self.spec.events[prev.index()];
                                let note = format!(
                                    "event names must be unique across the app, segment and timer groups; `{}` is first declared at {}",
                                    e.qualified(),
                                    self.loc(e.span)
                                );
                                self.push(
                                    Diagnostic::new(
                                        "E0003",
                                        d.ident.span,
                                        format!("duplicate event `{}`", d.ident.name),
                                    )
                                    .note(note),
                                );
                                continue;
                            }
                            let Some(id) = id_for(self.spec.events.len()) else {
                                self.too_many("events", d.ident.span);
                                continue;
                            };
                            self.event_names.insert(d.ident.name.clone(), EventId(id));
                            self.spec.events.push(EventDecl {
                                name: d.ident.name.clone(),
                                origin: g.origin,
                                label: d
                                    .label
                                    .as_ref()
                                    .map_or(d.ident.name.clone(), |l| l.value.clone()),
                                span: d.ident.span,
                            });
                        }
                    }
                }
                Item::Errors { keyword, decls } => {
                    self.block_once(&mut blocks, "`errors` block", *keyword);
                    for ident in decls {
                        let first = self
                            .error_names
                            .get(&ident.name)
                            .map(|e| self.spec.errors[e.index()].span);
                        let fresh = self.new_name(first, "error", ident);
                        if !fresh {
                            continue;
                        }
                        let Some(id) = id_for(self.spec.errors.len()) else {
                            self.too_many("errors", ident.span);
                            continue;
                        };
                        self.error_names.insert(ident.name.clone(), ErrorId(id));
                        self.spec.errors.push(ErrorDecl {
                            name: ident.name.clone(),
                            span: ident.span,
                        });
                    }
                }
                Item::Actions { keyword, groups } => {
                    self.block_once(&mut blocks, "`actions` block", *keyword);
                    let mut group_seen: HashMap<String, Span> = HashMap::new();
                    for g in groups {
                        let what = match g.kind {
                            ActionKind::Local => "`local` group in `actions`",
                            ActionKind::Packet => "`packet` group in `actions`",
                        };
                        self.block_once(&mut group_seen, what, g.span);
                        for d in &g.decls {
                            let first = self
                                .action_names
                                .get(&d.ident.name)
                                .map(|a| self.spec.actions[a.index()].span);
                            let fresh = self.new_name(first, "action", &d.ident);
                            if !fresh {
                                continue;
                            }
                            let Some(id) = id_for(self.spec.actions.len()) else {
                                self.too_many("actions", d.ident.span);
                                continue;
                            };
                            self.action_names.insert(d.ident.name.clone(), ActionId(id));
                            self.spec.actions.push(ActionDecl {
                                name: d.ident.name.clone(),
                                kind: g.kind,
                                param: d.param,
                                label: d.label.as_ref().map(|l| l.value.clone()),
                                span: d.ident.span,
                            });
                        }
                    }
                }
                Item::Guards { keyword, decls } => {
                    self.block_once(&mut blocks, "`guards` block", *keyword);
                    for d in decls {
                        let first = self
                            .guard_names
                            .get(&d.ident.name)
                            .map(|g| self.spec.guards[g.index()].span);
                        let fresh = self.new_name(first, "guard", &d.ident);
                        if !fresh {
                            continue;
                        }
                        let Some(id) = id_for(self.spec.guards.len()) else {
                            self.too_many("guards", d.ident.span);
                            continue;
                        };
                        self.guard_names.insert(d.ident.name.clone(), GuardId(id));
                        self.spec.guards.push(GuardDecl {
                            name: d.ident.name.clone(),
                            doc: d.doc.clone(),
                            span: d.ident.span,
                        });
                    }
                }
                Item::Machine { .. } | Item::Initial { .. } | Item::StateBlock(_) => {}
            }
        }
    }

    /// An "unknown state" error with a suggestion.
    fn unknown_state(&mut self, ident: &ast::Ident, what: &str) {
        let suggestion = did_you_mean(
            &ident.name,
            self.spec.states.iter().map(|s| s.name.as_str()),
        );
        let mut d = Diagnostic::new(
            "E0002",
            ident.span,
            format!("unknown {what} `{}`", ident.name),
        );
        if let Some(s) = suggestion {
            d = d.help(format!("did you mean `{s}`?"));
        } else if let Some(s) = self.spec.states.iter().find(|s| s.display == ident.name) {
            d = d.help(format!(
                "`{}` is the display name of `{}`: use the identifier",
                s.display, s.name
            ));
        }
        self.push(d);
    }

    fn machine_and_initial(&mut self, file: &File) {
        let origin = Span {
            line: 1,
            col: 1,
            start: 0,
            end: 0,
        };
        let mut machine: Option<Span> = None;
        let mut initial: Option<Span> = None;
        for item in &file.items {
            match item {
                Item::Machine { keyword, name } => {
                    if let Some(first) = machine {
                        let note = format!("the machine is first named at {}", self.loc(first));
                        self.push(
                            Diagnostic::new("E0004", *keyword, "repeated `machine`").note(note),
                        );
                    } else {
                        machine = Some(*keyword);
                        self.spec.machine = name.name.clone();
                    }
                }
                Item::Initial { keyword, name } => {
                    if let Some(first) = initial {
                        let note =
                            format!("the initial state is first given at {}", self.loc(first));
                        self.push(
                            Diagnostic::new(
                                "E0004",
                                *keyword,
                                "repeated `initial`: a machine has exactly one initial state",
                            )
                            .note(note),
                        );
                    } else {
                        initial = Some(*keyword);
                        match self.state_names.get(&name.name) {
                            Some(id) => self.spec.initial = *id,
                            None => {
                                self.unknown_state(name, "initial state");
                                self.spec.initial = StateId(u16::MAX);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if machine.is_none() {
            self.push(
                Diagnostic::new("E0004", origin, "no `machine` declaration")
                    .help("name the machine at the top of the file: `machine NAME`"),
            );
        }
        if initial.is_none() {
            self.spec.initial = StateId(u16::MAX);
            self.push(
                Diagnostic::new("E0004", origin, "no `initial` state")
                    .help("say where the machine starts: `initial STATE`"),
            );
        }
    }

    // ------------------------------------------------------------ rows

    fn rows(&mut self, file: &File) {
        for item in &file.items {
            let Item::StateBlock(block) = item else {
                continue;
            };
            // `Some(Some(id))` a known state, `Some(None)` `state *`, `None` unknown.
            let owner: Option<Option<StateId>> = match &block.selector {
                StateSel::Any(_) => Some(None),
                StateSel::Named(ident) => match self.state_names.get(&ident.name) {
                    Some(id) => Some(Some(*id)),
                    None => {
                        self.unknown_state(ident, "state");
                        None
                    }
                },
            };
            if let Some(owner) = owner {
                if let Some(first) = self.block_headers.get(&owner) {
                    let what = match &block.selector {
                        StateSel::Any(_) => "state *".to_string(),
                        StateSel::Named(i) => format!("state {}", i.name),
                    };
                    let note = format!("the first `{what}` block is at {}", self.loc(*first));
                    self.push(
                        Diagnostic::new("E0003", block.header, format!("duplicate block `{what}`"))
                            .note(note)
                            .help("merge the rows into one block"),
                    );
                } else {
                    self.block_headers.insert(owner, block.header);
                }
            }
            for row in &block.rows {
                self.row(owner, row);
            }
        }
    }

    /// Resolves one row; adds it to the spec when everything resolves.
    fn row(&mut self, owner: Option<Option<StateId>>, row: &RowAst) {
        let mut ok = row.complete && owner.is_some() && row.origin.is_some();
        let event = row
            .origin
            .and_then(|origin| self.resolve_event(origin, &row.event));
        if event.is_none() {
            ok = false;
            if let Some(owner) = owner {
                self.broken.blocks.insert(owner);
            }
        }
        let mut guards = Vec::new();
        for term in &row.guards {
            match self.guard_names.get(&term.ident.name) {
                Some(g) => guards.push(GuardTerm {
                    guard: *g,
                    negated: term.negated,
                }),
                None => {
                    ok = false;
                    let suggestion = did_you_mean(
                        &term.ident.name,
                        self.spec.guards.iter().map(|g| g.name.as_str()),
                    );
                    let mut d = Diagnostic::new(
                        "E0002",
                        term.ident.span,
                        format!("unknown guard `{}`", term.ident.name),
                    );
                    if let Some(s) = suggestion {
                        d = d.help(format!("did you mean `{s}`?"));
                    }
                    self.push(d);
                }
            }
        }
        let mut actions = Vec::new();
        for use_ in &row.actions {
            match self.resolve_action(use_, event) {
                Some(a) => actions.push(a),
                None => ok = false,
            }
        }
        // E0010: an impossible row does nothing.
        if let Some(TargetAst::Impossible(_)) = &row.target {
            if let Some(first) = row.actions.first() {
                let d = Diagnostic::new(
                    "E0010",
                    first.ident.span,
                    "an `impossible` row has actions".to_string(),
                )
                .note("`-> impossible` claims no input reaches the row; it has nothing to do")
                .help("drop the actions, or give the row a target state or `stay`");
                self.push(d);
                ok = false;
            }
        }
        let target = match &row.target {
            Some(TargetAst::Stay(_)) => Some(Target::Stay),
            Some(TargetAst::Impossible(_)) => Some(Target::Impossible),
            Some(TargetAst::State(ident)) => match self.state_names.get(&ident.name) {
                Some(s) => Some(Target::State(*s)),
                None => {
                    self.unknown_state(ident, "state");
                    self.broken.target = true;
                    None
                }
            },
            None => None,
        };
        if !ok || target.is_none() {
            if let (Some(owner), Some(e)) = (owner, event) {
                self.broken.pairs.insert((owner, e));
            }
            if let (Some(owner), Some(Target::State(t))) = (owner, target) {
                self.broken.edges.push((owner, t));
            }
            return;
        }
        let (Some(owner), Some(event), Some(target)) = (owner, event, target) else {
            return;
        };
        let Some(id) = id_for(self.spec.rows.len()) else {
            self.too_many("rows", row.span);
            return;
        };
        let doc = row.doc.join(" ").trim().to_string();
        self.spec.rows.push(Row {
            id: RowId(id),
            state: owner,
            event,
            guards,
            actions,
            target,
            rfc: find_rfc(&doc),
            doc,
            line: row.on.line,
            span: row.span,
        });
    }

    fn resolve_event(&mut self, origin: Origin, ident: &ast::Ident) -> Option<EventId> {
        let qualified = format!("{}.{}", origin.as_str(), ident.name);
        if let Some(id) = self.event_names.get(&ident.name) {
            let e = &self.spec.events[id.index()];
            if e.origin == origin {
                return Some(*id);
            }
            let help = format!(
                "`{}` is a {} event: did you mean `{}`?",
                e.name,
                e.origin.as_str(),
                e.qualified()
            );
            self.push(
                Diagnostic::new("E0002", ident.span, format!("unknown event `{qualified}`"))
                    .help(help),
            );
            return None;
        }
        let suggestion = did_you_mean(
            &ident.name,
            self.spec
                .events
                .iter()
                .filter(|e| e.origin == origin)
                .map(|e| e.name.as_str()),
        )
        .or_else(|| {
            did_you_mean(
                &ident.name,
                self.spec.events.iter().map(|e| e.name.as_str()),
            )
        });
        let mut d = Diagnostic::new("E0002", ident.span, format!("unknown event `{qualified}`"));
        if let Some(s) = suggestion {
            let e = &self.spec.events[self.event_names[s].index()];
            d = d.help(format!("did you mean `{}`?", e.qualified()));
        }
        self.push(d);
        None
    }

    /// Resolves an action use and checks its argument (E0007) and that a
    /// packet action is in a segment row (E0008).
    fn resolve_action(
        &mut self,
        use_: &ast::ActionUse,
        event: Option<EventId>,
    ) -> Option<ActionRef> {
        let Some(&action) = self.action_names.get(&use_.ident.name) else {
            let suggestion = did_you_mean(
                &use_.ident.name,
                self.spec.actions.iter().map(|a| a.name.as_str()),
            );
            let mut d = Diagnostic::new(
                "E0002",
                use_.ident.span,
                format!("unknown action `{}`", use_.ident.name),
            );
            if let Some(s) = suggestion {
                d = d.help(format!("did you mean `{s}`?"));
            }
            self.push(d);
            return None;
        };
        let decl = self.spec.actions[action.index()].clone();
        let mut ok = true;
        if decl.kind == ActionKind::Packet {
            if let Some(e) = event {
                let e = &self.spec.events[e.index()];
                if e.origin != Origin::Segment {
                    let d = Diagnostic::new(
                        "E0008",
                        use_.ident.span,
                        format!(
                            "packet action `{}` in a row for `{}`, which is not a segment event",
                            decl.name,
                            e.qualified()
                        ),
                    )
                    .note("`packet` actions need the received segment; only rows of `segment` events have one");
                    self.push(d);
                    ok = false;
                }
            }
        }
        let arg = match (decl.param, &use_.arg) {
            (None, None) => None,
            (None, Some(arg)) => {
                let d = Diagnostic::new(
                    "E0007",
                    arg.span,
                    format!("action `{}` takes no argument", decl.name),
                )
                .help(format!("write `{}` without `({})`", decl.name, arg.name));
                self.push(d);
                return None;
            }
            (Some(kind), None) => {
                let (what, example) = match kind {
                    ParamKind::Timer => (
                        "a timer",
                        self.spec
                            .events
                            .iter()
                            .find(|e| e.origin == Origin::Timer)
                            .map(|e| e.name.clone()),
                    ),
                    ParamKind::Error => {
                        ("an error", self.spec.errors.first().map(|e| e.name.clone()))
                    }
                };
                let mut d = Diagnostic::new(
                    "E0007",
                    use_.span,
                    format!("action `{}` needs {what} as its argument", decl.name),
                );
                if let Some(ex) = example {
                    d = d.help(format!("e.g. `{}({ex})`", decl.name));
                }
                self.push(d);
                return None;
            }
            (Some(kind), Some(arg)) => Some(self.resolve_arg(&decl, kind, arg)?),
        };
        ok.then_some(ActionRef { action, arg })
    }

    fn resolve_arg(
        &mut self,
        decl: &ActionDecl,
        kind: ParamKind,
        arg: &ast::Ident,
    ) -> Option<ActionArg> {
        let as_timer = self
            .event_names
            .get(&arg.name)
            .copied()
            .filter(|e| self.spec.events[e.index()].origin == Origin::Timer);
        let as_event = self.event_names.get(&arg.name).copied();
        let as_error = self.error_names.get(&arg.name).copied();
        let wanted = match kind {
            ParamKind::Timer => "a timer",
            ParamKind::Error => "an error",
        };
        match (kind, as_timer, as_error) {
            (ParamKind::Timer, Some(t), _) => return Some(ActionArg::Timer(t)),
            (ParamKind::Error, _, Some(e)) => return Some(ActionArg::Error(e)),
            _ => {}
        }
        // Known name of the wrong kind: E0007.
        let actual = if as_error.is_some() {
            Some("an error".to_string())
        } else if let Some(e) = as_event {
            let e = &self.spec.events[e.index()];
            Some(if e.origin == Origin::Timer {
                "a timer".to_string()
            } else {
                format!("a {} event", e.origin.as_str())
            })
        } else {
            None
        };
        if let Some(actual) = actual {
            self.push(
                Diagnostic::new(
                    "E0007",
                    arg.span,
                    format!(
                        "wrong argument kind: `{}` takes {wanted}, but `{}` is {actual}",
                        decl.name, arg.name
                    ),
                )
                .note(format!(
                    "`{}` is declared as `{}({})`",
                    decl.name,
                    decl.name,
                    match kind {
                        ParamKind::Timer => "timer",
                        ParamKind::Error => "error",
                    }
                )),
            );
            return None;
        }
        let candidates: Vec<&str> = match kind {
            ParamKind::Timer => self
                .spec
                .events
                .iter()
                .filter(|e| e.origin == Origin::Timer)
                .map(|e| e.name.as_str())
                .collect(),
            ParamKind::Error => self.spec.errors.iter().map(|e| e.name.as_str()).collect(),
        };
        let suggestion = did_you_mean(&arg.name, candidates);
        let what = match kind {
            ParamKind::Timer => "timer",
            ParamKind::Error => "error",
        };
        let mut d = Diagnostic::new("E0002", arg.span, format!("unknown {what} `{}`", arg.name));
        if let Some(s) = suggestion {
            d = d.help(format!("did you mean `{s}`?"));
        }
        self.push(d);
        None
    }

    // ------------------------------------------------------------ table

    fn build_table(&mut self) {
        let n_events = self.spec.events.len();
        let mut table = vec![Vec::new(); self.spec.states.len() * n_events];
        let mut star: Vec<Vec<RowId>> = vec![Vec::new(); n_events];
        for row in &self.spec.rows {
            match row.state {
                Some(s) => table[s.index() * n_events + row.event.index()].push(row.id),
                None => star[row.event.index()].push(row.id),
            }
        }
        for (i, rows) in table.iter_mut().enumerate() {
            if rows.is_empty() {
                rows.clone_from(&star[i % n_events]);
            }
        }
        self.spec.table = table;
    }

    /// Whether the pair uses the `state *` rows (it has no rows of its own).
    fn uses_star(&self, s: StateId, e: EventId) -> bool {
        !self
            .spec
            .rows
            .iter()
            .any(|r| r.state == Some(s) && r.event == e)
    }

    // ------------------------------------------------------------ E0005

    fn reachability(&mut self) {
        let spec = &self.spec;
        let n = spec.states.len();
        let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
        for s in spec.state_ids() {
            for e in spec.event_ids() {
                for r in spec.rows_for(s, e) {
                    if let Target::State(t) = spec.row(*r).target {
                        edges[s.index()].insert(t.index());
                    }
                }
            }
        }
        for (from, to) in &self.broken.edges {
            match from {
                Some(f) => {
                    edges[f.index()].insert(to.index());
                }
                None => edges.iter_mut().for_each(|set| {
                    set.insert(to.index());
                }),
            }
        }
        let mut seen = vec![false; n];
        let mut stack = vec![spec.initial.index()];
        seen[spec.initial.index()] = true;
        while let Some(s) = stack.pop() {
            for t in &edges[s] {
                if !seen[*t] {
                    seen[*t] = true;
                    stack.push(*t);
                }
            }
        }
        let initial = spec.states[spec.initial.index()].name.clone();
        let mut found = Vec::new();
        for (i, st) in spec.states.iter().enumerate() {
            if seen[i] {
                continue;
            }
            let from: Vec<&str> = (0..n)
                .filter(|f| *f != i && edges[*f].contains(&i))
                .map(|f| spec.states[f].name.as_str())
                .collect();
            let mut d = Diagnostic::new(
                "E0005",
                st.span,
                format!(
                    "state `{}` is unreachable from the initial state `{initial}`",
                    st.name
                ),
            );
            d = if from.is_empty() {
                d.note(format!("no row of another state leads to `{}`", st.name))
            } else {
                d.note(format!(
                    "only unreachable states lead to it: {}",
                    from.join(", ")
                ))
            };
            found.push(d.help(format!(
                "add a row ending in `-> {}`, or remove the state",
                st.name
            )));
        }
        self.diags.extend(found);
    }

    // ------------------------------------------------------------ E0006, E0009

    fn pair_name(&self, s: Option<StateId>, e: EventId) -> String {
        let state = s.map_or("*", |s| self.spec.states[s.index()].name.as_str());
        format!("({state}, {})", self.spec.events[e.index()].qualified())
    }

    fn outcome_text(&self, guards: &[GuardId], outcome: &[bool]) -> String {
        guards
            .iter()
            .zip(outcome)
            .map(|(g, v)| format!("{} = {v}", self.spec.guards[g.index()].name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn dead_rows_and_totality(&mut self, syntax_ok: bool) {
        let spec = &self.spec;
        let mut reported_dead: BTreeSet<RowId> = BTreeSet::new();
        let mut out: Vec<Diagnostic> = Vec::new();
        // Star-row gaps, per event: the outcomes left uncovered and the states.
        let mut star_gaps: BTreeMap<EventId, StarGap> = BTreeMap::new();
        let mut too_many_reported: BTreeSet<Vec<RowId>> = BTreeSet::new();
        for s in spec.state_ids() {
            for e in spec.event_ids() {
                let ids = spec.rows_for(s, e).to_vec();
                let star = self.uses_star(s, e);
                let owner = if star { None } else { Some(s) };
                let skip_total = !syntax_ok
                    || self.broken.pairs.contains(&(Some(s), e))
                    || self.broken.blocks.contains(&Some(s))
                    || (star
                        && (self.broken.pairs.contains(&(None, e))
                            || self.broken.blocks.contains(&None)));
                if ids.is_empty() {
                    if !skip_total {
                        let span = self
                            .block_headers
                            .get(&Some(s))
                            .copied()
                            .unwrap_or(spec.states[s.index()].span);
                        out.push(Diagnostic::new(
                            "E0009",
                            span,
                            format!(
                                "{} is not covered: add a row, a `state *` default or `-> stay`",
                                self.pair_name(Some(s), e)
                            ),
                        ));
                    }
                    continue;
                }
                let rows: Vec<&Row> = ids.iter().map(|r| spec.row(*r)).collect();
                let guards = distinct_guards(rows.iter().copied());
                if guards.len() > MAX_GUARDS_PER_PAIR {
                    if too_many_reported.insert(ids.clone()) {
                        out.push(Diagnostic::new(
                            "E0009",
                            rows[0].span,
                            format!(
                                "{} uses {} distinct guards: at most {MAX_GUARDS_PER_PAIR} can be checked for totality",
                                self.pair_name(owner, e),
                                guards.len()
                            ),
                        ));
                    }
                    continue;
                }
                // For each outcome, the first row that matches.
                let mut chosen_in: Vec<Vec<usize>> = vec![Vec::new(); rows.len()];
                let mut uncovered: Vec<Vec<bool>> = Vec::new();
                let all: Vec<Vec<bool>> = outcomes(guards.len()).collect();
                for (oi, outcome) in all.iter().enumerate() {
                    match rows.iter().position(|r| row_holds(r, &guards, outcome)) {
                        Some(i) => chosen_in[i].push(oi),
                        None => uncovered.push(outcome.clone()),
                    }
                }
                for (i, row) in rows.iter().enumerate() {
                    if !chosen_in[i].is_empty() || !reported_dead.insert(row.id) {
                        continue;
                    }
                    out.push(self.dead_row(owner, e, &rows[..i], row, &guards, &all));
                }
                if uncovered.is_empty() || skip_total {
                    continue;
                }
                if star {
                    let entry = star_gaps.entry(e).or_insert_with(|| StarGap {
                        uncovered: uncovered.clone(),
                        guards: guards.clone(),
                        states: Vec::new(),
                    });
                    entry.states.push(s);
                    continue;
                }
                let last = rows[rows.len() - 1];
                let mut d = self.gap(Some(s), e, last.span, &guards, &uncovered);
                if spec.rows.iter().any(|r| r.state.is_none() && r.event == e) {
                    d = d.note(format!(
                        "the `state *` rows for `{}` do not apply here: a state's own rows for an event replace them",
                        spec.events[e.index()].qualified()
                    ));
                }
                out.push(d);
            }
        }
        for (
            e,
            StarGap {
                uncovered,
                guards,
                states,
            },
        ) in star_gaps
        {
            let Some(last) = self
                .spec
                .rows
                .iter()
                .rev()
                .find(|r| r.state.is_none() && r.event == e)
            else {
                continue;
            };
            let pairs: Vec<String> = states.iter().map(|s| self.pair_name(Some(*s), e)).collect();
            let d = self
                .gap(None, e, last.span, &guards, &uncovered)
                .note(format!("this leaves {} uncovered", pairs.join(", ")));
            out.push(d);
        }
        self.diags.extend(out);
    }

    /// E0009 for guard outcomes no row matches.
    fn gap(
        &self,
        s: Option<StateId>,
        e: EventId,
        span: Span,
        guards: &[GuardId],
        uncovered: &[Vec<bool>],
    ) -> Diagnostic {
        let first = self.outcome_text(guards, &uncovered[0]);
        let mut msg = format!("{} is not covered when {first}", self.pair_name(s, e));
        if uncovered.len() > 1 {
            msg.push_str(&format!(
                " (and {} more guard outcomes)",
                uncovered.len() - 1
            ));
        }
        let mut d = Diagnostic::new("E0009", span, msg);
        const SHOWN: usize = 8;
        for o in uncovered.iter().skip(1).take(SHOWN) {
            d = d.note(format!(
                "no row matches when {}",
                self.outcome_text(guards, o)
            ));
        }
        if uncovered.len() > SHOWN + 1 {
            d = d.note(format!("... and {} more", uncovered.len() - SHOWN - 1));
        }
        let q = self.spec.events[e.index()].qualified();
        d.help(format!(
            "add an unguarded row after the guarded ones, e.g. `on {q} -> stay`"
        ))
    }

    /// E0006 for a row that no guard outcome selects.
    fn dead_row(
        &self,
        s: Option<StateId>,
        e: EventId,
        earlier: &[&Row],
        row: &Row,
        guards: &[GuardId],
        all: &[Vec<bool>],
    ) -> Diagnostic {
        let mut d = Diagnostic::new(
            "E0006",
            row.span,
            format!(
                "dead row: it can never be chosen for {}",
                self.pair_name(s, e)
            ),
        );
        let own: Vec<&Vec<bool>> = all.iter().filter(|o| row_holds(row, guards, o)).collect();
        if own.is_empty() {
            return d
                .note("its guards contradict each other: no outcome satisfies them all")
                .help("remove the row or fix its guards");
        }
        let mut shadowing: BTreeSet<usize> = BTreeSet::new();
        for o in own {
            if let Some(i) = earlier.iter().position(|r| row_holds(r, guards, o)) {
                shadowing.insert(i);
            }
        }
        let lines: Vec<String> = shadowing
            .iter()
            .map(|i| earlier[*i].line.to_string())
            .collect();
        d = if lines.len() == 1 {
            d.note(format!(
                "the earlier row at {}:{} already matches whenever this one does",
                self.source_name, lines[0]
            ))
        } else {
            d.note(format!(
                "the earlier rows at lines {} of {} together match whenever this one does",
                lines.join(", "),
                self.source_name
            ))
        };
        d.help("remove it, or put the more specific row first")
    }
}

#[cfg(test)]
mod tests {
    use super::find_rfc;

    #[test]
    fn find_rfc_takes_the_first_section_reference() {
        assert_eq!(
            find_rfc("RFC 9293 §3.10.7.4 + RFC 5961 §3.2: RST").as_deref(),
            Some("RFC 9293 §3.10.7.4")
        );
        assert_eq!(
            find_rfc("see RFC 1337 §3 (x).").as_deref(),
            Some("RFC 1337 §3")
        );
        assert_eq!(
            find_rfc("RFC 793 without section, RFC 1122 §4.2.").as_deref(),
            Some("RFC 1122 §4.2")
        );
        assert_eq!(find_rfc("RFC §1, RFC x §2"), None);
        assert_eq!(find_rfc(""), None);
    }
}
