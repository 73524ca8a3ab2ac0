//! Name lookups and the run-time interpreter of a validated [`Spec`].
//!
//! The interpreter is the reference the generated `match` of the
//! `tcp_fsm!` macro is checked against, cell by cell ([`Spec::cells`]).

use crate::ir::*;

/// One cell of the table: a (state, event) pair under one outcome of the
/// pair's guards, and the row that handles it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    pub state: StateId,
    pub event: EventId,
    /// The distinct guards the pair's applicable rows use, in first-use order.
    pub guards: Vec<GuardId>,
    /// `outcome[i]` is the value of `guards[i]` in this cell.
    pub outcome: Vec<bool>,
    /// The row [`Spec::lookup`] chooses for this outcome.
    pub row: RowId,
}

/// The `RowId` of [`Spec::lookup`]'s answer for a pair with no rows at all,
/// which only a hand-built, unvalidated `Spec` can have.
pub const NO_ROW: RowId = RowId(u16::MAX);

fn id16(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

impl Spec {
    /// A state by identifier (`SynSent`) or display name (`SYN_SENT`).
    pub fn state_by_name(&self, name: &str) -> Option<StateId> {
        let pos = self
            .states
            .iter()
            .position(|s| s.name == name)
            .or_else(|| self.states.iter().position(|s| s.display == name))?;
        Some(StateId(id16(pos)))
    }

    /// An event by qualified (`segment.SynAck`) or bare (`SynAck`) name.
    /// Event names are unique across origins, so a bare name is unambiguous.
    pub fn event_by_name(&self, name: &str) -> Option<EventId> {
        let pos = match name.split_once('.') {
            Some((origin, bare)) => self
                .events
                .iter()
                .position(|e| e.name == bare && e.origin.as_str() == origin)?,
            None => self.events.iter().position(|e| e.name == name)?,
        };
        Some(EventId(id16(pos)))
    }

    pub fn action_by_name(&self, name: &str) -> Option<ActionId> {
        let pos = self.actions.iter().position(|a| a.name == name)?;
        Some(ActionId(id16(pos)))
    }

    pub fn guard_by_name(&self, name: &str) -> Option<GuardId> {
        let pos = self.guards.iter().position(|g| g.name == name)?;
        Some(GuardId(id16(pos)))
    }

    pub fn error_by_name(&self, name: &str) -> Option<ErrorId> {
        let pos = self.errors.iter().position(|e| e.name == name)?;
        Some(ErrorId(id16(pos)))
    }

    pub fn state(&self, id: StateId) -> &StateDecl {
        &self.states[id.index()]
    }

    pub fn event(&self, id: EventId) -> &EventDecl {
        &self.events[id.index()]
    }

    pub fn action(&self, id: ActionId) -> &ActionDecl {
        &self.actions[id.index()]
    }

    pub fn guard(&self, id: GuardId) -> &GuardDecl {
        &self.guards[id.index()]
    }

    pub fn error(&self, id: ErrorId) -> &ErrorDecl {
        &self.errors[id.index()]
    }

    pub fn row(&self, id: RowId) -> &Row {
        &self.rows[id.index()]
    }

    /// Every state id, in declaration order.
    pub fn state_ids(&self) -> impl Iterator<Item = StateId> + '_ {
        (0..self.states.len()).map(|i| StateId(id16(i)))
    }

    /// Every event id, in declaration order.
    pub fn event_ids(&self) -> impl Iterator<Item = EventId> + '_ {
        (0..self.events.len()).map(|i| EventId(id16(i)))
    }

    /// The rows that apply to the pair, in priority order (the state's own
    /// rows, or else the `state *` rows). Empty for ids out of range.
    pub fn rows_for(&self, state: StateId, event: EventId) -> &[RowId] {
        if event.index() >= self.events.len() {
            return &[];
        }
        self.table
            .get(state.index() * self.events.len() + event.index())
            .map_or(&[], Vec::as_slice)
    }

    /// The distinct guards the pair's rows use, in first-use order.
    pub fn pair_guards(&self, state: StateId, event: EventId) -> Vec<GuardId> {
        distinct_guards(self.rows_for(state, event).iter().map(|r| self.row(*r)))
    }

    /// The state a row leads to when taken in `from` (`stay` resolved).
    pub fn next_state(&self, row: &Row, from: StateId) -> StateId {
        match row.target {
            Target::State(s) => s,
            Target::Stay | Target::Impossible => from,
        }
    }

    /// Looks up the pair: the first applicable row whose guard conjunction
    /// holds. Guards are evaluated lazily, in the order the rows use them,
    /// each at most once per lookup (for the first 64 guards of the spec).
    ///
    /// A validated spec is total (E0009), so some row always matches. Should
    /// a hand-built table have no match, the pair's last row is returned; a
    /// pair with no rows at all gives a step that stays, with no actions and
    /// the row [`NO_ROW`]. This never panics.
    pub fn lookup(
        &self,
        state: StateId,
        event: EventId,
        mut guard: impl FnMut(GuardId) -> bool,
    ) -> Step<'_> {
        let rows = self.rows_for(state, event);
        let (mut known, mut value) = (0u64, 0u64);
        let mut eval = |g: GuardId| -> bool {
            let bit = 1u64.checked_shl(u32::from(g.0)).unwrap_or(0);
            if bit != 0 && known & bit != 0 {
                return value & bit != 0;
            }
            let v = guard(g);
            known |= bit;
            if v {
                value |= bit;
            }
            v
        };
        let chosen = rows
            .iter()
            .copied()
            .filter_map(|id| self.rows.get(id.index()))
            .find(|row| row.guards.iter().all(|t| eval(t.guard) != t.negated))
            .or_else(|| rows.last().and_then(|id| self.rows.get(id.index())));
        match chosen {
            Some(row) => Step {
                next: self.next_state(row, state),
                actions: &row.actions,
                row: row.id,
            },
            None => Step {
                next: state,
                actions: &[],
                row: NO_ROW,
            },
        }
    }

    /// Every (state, event, guard outcome) cell, state-major, events in
    /// declaration order, outcomes counting down from all-true (for guards
    /// `[a, b]`: `[true, true]`, `[true, false]`, `[false, true]`,
    /// `[false, false]`). A pair without guards gives one cell with empty
    /// `guards` and `outcome`.
    pub fn cells(&self) -> Vec<Cell> {
        let mut cells = Vec::new();
        for state in self.state_ids() {
            for event in self.event_ids() {
                let guards = self.pair_guards(state, event);
                for outcome in outcomes(guards.len()) {
                    let step = self.lookup(state, event, |g| {
                        guards
                            .iter()
                            .position(|x| *x == g)
                            .is_some_and(|i| outcome[i])
                    });
                    cells.push(Cell {
                        state,
                        event,
                        guards: guards.clone(),
                        outcome,
                        row: step.row,
                    });
                }
            }
        }
        cells
    }

    /// `tcp.fsm:57`: the file and the line of the row's `on`.
    pub fn row_location(&self, row: RowId) -> String {
        match self.rows.get(row.index()) {
            Some(r) => format!("{}:{}", self.source_name, r.line),
            None => format!("{}:?", self.source_name),
        }
    }

    /// `StartTimer(TimeWait)`, `SendAck`.
    pub fn action_ref_name(&self, a: &ActionRef) -> String {
        let name = &self.action(a.action).name;
        match a.arg {
            None => name.clone(),
            Some(ActionArg::Timer(e)) => format!("{name}({})", self.event(e).name),
            Some(ActionArg::Error(e)) => format!("{name}({})", self.error(e).name),
        }
    }

    /// `[ack_acceptable, !seq_exact]`, or an empty string when unguarded.
    pub fn guards_text(&self, terms: &[GuardTerm]) -> String {
        if terms.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = terms
            .iter()
            .map(|t| {
                let bang = if t.negated { "!" } else { "" };
                format!("{bang}{}", self.guard(t.guard).name)
            })
            .collect();
        format!("[{}]", parts.join(", "))
    }

    /// The row as it could be written in the spec:
    /// `on segment.SynAck [ack_acceptable] / SendAck -> Established`.
    pub fn row_text(&self, id: RowId) -> String {
        let row = self.row(id);
        let mut s = format!("on {}", self.event(row.event).qualified());
        if !row.guards.is_empty() {
            s.push(' ');
            s.push_str(&self.guards_text(&row.guards));
        }
        if !row.actions.is_empty() {
            let acts: Vec<String> = row
                .actions
                .iter()
                .map(|a| self.action_ref_name(a))
                .collect();
            s.push_str(" / ");
            s.push_str(&acts.join(", "));
        }
        s.push_str(" -> ");
        match row.target {
            Target::Stay => s.push_str("stay"),
            Target::Impossible => s.push_str("impossible"),
            Target::State(t) => s.push_str(&self.state(t).name),
        }
        s
    }
}

/// The distinct guards of `rows`, in first-use order.
pub(crate) fn distinct_guards<'a>(rows: impl Iterator<Item = &'a Row>) -> Vec<GuardId> {
    let mut out: Vec<GuardId> = Vec::new();
    for row in rows {
        for t in &row.guards {
            if !out.contains(&t.guard) {
                out.push(t.guard);
            }
        }
    }
    out
}

/// All `2^k` outcomes of `k` guards, from all-true down to all-false.
pub(crate) fn outcomes(k: usize) -> impl Iterator<Item = Vec<bool>> {
    let n = 1u64
        .checked_shl(u32::try_from(k).unwrap_or(u32::MAX))
        .unwrap_or(0);
    (0..n).map(move |i| (0..k).map(|b| (i >> (k - 1 - b)) & 1 == 0).collect())
}

/// Whether the row's guard conjunction holds when `guards[i]` is `outcome[i]`.
pub(crate) fn row_holds(row: &Row, guards: &[GuardId], outcome: &[bool]) -> bool {
    row.guards.iter().all(|t| {
        let v = guards
            .iter()
            .position(|g| *g == t.guard)
            .is_some_and(|i| outcome[i]);
        v != t.negated
    })
}
