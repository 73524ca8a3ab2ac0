//! `tcpfsm diff OLD NEW [--dot FILE]`: the cells of the table whose next
//! state or actions differ between two specs, and optionally NEW's diagram
//! with the changed edges marked.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use tcp_fsm_spec::dot::edge_label;
use tcp_fsm_spec::{load_spec, DotOptions, EventId, RowId, Spec, StateId};

use super::spec_cmds::{emit, SpecCmdError};

/// Pairs with more distinct guards (old and new together) than this are
/// compared row by row instead of cell by cell.
const MAX_CELL_GUARDS: usize = 16;

/// One side of a changed cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellSide {
    pub row: RowId,
    pub next: StateId,
    /// `Discard -> stay`, `DeleteTcb -> CLOSED`.
    pub text: String,
    /// `tcp.fsm:392`.
    pub location: String,
}

/// A (state, event, guard outcome) cell whose next state or actions differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CellChange {
    /// Display name, e.g. `TIME_WAIT`.
    pub state: String,
    /// Qualified, e.g. `segment.Rst`.
    pub event: String,
    /// `seq_exact, !in_window`, or `-`.
    pub guards: String,
    pub old: CellSide,
    pub new: CellSide,
    /// The state in NEW.
    pub new_state: StateId,
}

/// Everything `diff` compares.
#[derive(Clone, Debug, Default)]
pub struct SpecDiff {
    pub changes: Vec<CellChange>,
    pub cells_compared: usize,
    /// Names only one side declares.
    pub only_old: Vec<String>,
    pub only_new: Vec<String>,
}

fn side(spec: &Spec, state: StateId, row: RowId) -> CellSide {
    let r = spec.row(row);
    let next = spec.next_state(r, state);
    let target = if next == state {
        "stay".to_string()
    } else {
        spec.state(next).display.clone()
    };
    let actions: Vec<String> = r.actions.iter().map(|a| spec.action_ref_name(a)).collect();
    let text = if actions.is_empty() {
        format!("-> {target}")
    } else {
        format!("{} -> {target}", actions.join(", "))
    };
    CellSide {
        row,
        next,
        text,
        location: spec.row_location(row),
    }
}

/// What a cell does, by name (ids differ between specs).
fn behaviour(spec: &Spec, state: StateId, row: RowId) -> (String, Vec<String>) {
    let r = spec.row(row);
    let next = spec.state(spec.next_state(r, state)).name.clone();
    (
        next,
        r.actions.iter().map(|a| spec.action_ref_name(a)).collect(),
    )
}

/// The guard names a pair's rows use, in first-use order.
fn guard_names(spec: &Spec, state: StateId, event: EventId) -> Vec<String> {
    spec.pair_guards(state, event)
        .into_iter()
        .map(|g| spec.guard(g).name.clone())
        .collect()
}

/// Compares every (state, event) pair both specs declare, under every
/// outcome of the guards either uses.
pub fn diff_specs(old: &Spec, new: &Spec) -> SpecDiff {
    let mut out = SpecDiff::default();
    for s in &old.states {
        if new.state_by_name(&s.name).is_none() {
            out.only_old.push(format!("state {}", s.name));
        }
    }
    for s in &new.states {
        if old.state_by_name(&s.name).is_none() {
            out.only_new.push(format!("state {}", s.name));
        }
    }
    for e in &old.events {
        if new.event_by_name(&e.qualified()).is_none() {
            out.only_old.push(format!("event {}", e.qualified()));
        }
    }
    for e in &new.events {
        if old.event_by_name(&e.qualified()).is_none() {
            out.only_new.push(format!("event {}", e.qualified()));
        }
    }
    for ns in new.state_ids() {
        let Some(os) = old.state_by_name(&new.state(ns).name) else {
            continue;
        };
        for ne in new.event_ids() {
            let Some(oe) = old.event_by_name(&new.event(ne).qualified()) else {
                continue;
            };
            let mut names = guard_names(old, os, oe);
            for g in guard_names(new, ns, ne) {
                if !names.contains(&g) {
                    names.push(g);
                }
            }
            let base = |guards: String, o: RowId, n: RowId| CellChange {
                state: new.state(ns).display.clone(),
                event: new.event(ne).qualified(),
                guards,
                old: side(old, os, o),
                new: side(new, ns, n),
                new_state: ns,
            };
            if names.len() > MAX_CELL_GUARDS {
                // Too many outcomes to enumerate: compare the rows themselves.
                out.cells_compared += 1;
                let rows = |spec: &Spec, s, e| -> Vec<String> {
                    spec.rows_for(s, e)
                        .iter()
                        .map(|r| spec.row_text(*r))
                        .collect()
                };
                let (o_rows, n_rows) = (old.rows_for(os, oe), new.rows_for(ns, ne));
                if rows(old, os, oe) != rows(new, ns, ne) {
                    if let (Some(o), Some(n)) = (o_rows.first(), n_rows.first()) {
                        out.changes.push(base("(rows differ)".to_string(), *o, *n));
                    }
                }
                continue;
            }
            let k = names.len();
            for bits in 0..(1u32 << k) {
                // All-true first, as `Spec::cells` orders outcomes.
                let outcome: Vec<bool> = (0..k).map(|i| (bits >> (k - 1 - i)) & 1 == 0).collect();
                let value = |spec: &Spec, g: tcp_fsm_spec::GuardId| {
                    let name = &spec.guard(g).name;
                    names
                        .iter()
                        .position(|n| n == name)
                        .is_some_and(|i| outcome[i])
                };
                let o = old.lookup(os, oe, |g| value(old, g));
                let n = new.lookup(ns, ne, |g| value(new, g));
                out.cells_compared += 1;
                if o.row.index() >= old.rows.len() || n.row.index() >= new.rows.len() {
                    continue;
                }
                if behaviour(old, os, o.row) != behaviour(new, ns, n.row) {
                    let guards = if k == 0 {
                        "-".to_string()
                    } else {
                        names
                            .iter()
                            .zip(&outcome)
                            .map(|(g, v)| format!("{}{g}", if *v { "" } else { "!" }))
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    out.changes.push(base(guards, o.row, n.row));
                }
            }
        }
    }
    out
}

/// The changes as a Markdown table, with a summary line.
pub fn render_diff(diff: &SpecDiff, old_name: &str, new_name: &str) -> String {
    let mut out = String::new();
    for n in &diff.only_old {
        let _ = writeln!(out, "only in {old_name}: {n}");
    }
    for n in &diff.only_new {
        let _ = writeln!(out, "only in {new_name}: {n}");
    }
    if diff.changes.is_empty() {
        let _ = writeln!(
            out,
            "no cell changed ({} cells compared)",
            diff.cells_compared
        );
        return out;
    }
    let _ = writeln!(out, "| state | event | guards | old → new |");
    let _ = writeln!(out, "|---|---|---|---|");
    for c in &diff.changes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} ({}) → {} ({}) |",
            c.state, c.event, c.guards, c.old.text, c.old.location, c.new.text, c.new.location
        );
    }
    let _ = writeln!(
        out,
        "{} of {} cells changed",
        diff.changes.len(),
        diff.cells_compared
    );
    out
}

/// A DOT string literal.
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Marks one edge line of `to_dot`'s output as changed: red, bold, its
/// label prefixed `CHANGED:`.
fn mark_edge_line(line: &str) -> String {
    let mut out = line.replacen("[label=\"", "[label=\"CHANGED: ", 1);
    for (from, to) in [
        (", color=black,", ", color=red,"),
        (", color=blue,", ", color=red,"),
        (", color=darkgreen,", ", color=red,"),
        (", color=grey,", ", color=red,"),
    ] {
        out = out.replacen(from, to, 1);
    }
    out.replacen(
        ", style=solid",
        ", style=bold, penwidth=2.5, fontcolor=red",
        1,
    )
}

/// NEW's diagram with the edges of changed cells marked: changed
/// transitions red and bold (`CHANGED:`), changed cells that now stay as
/// red self-loops, and transitions OLD had and the cell no longer takes as
/// dashed red edges (`REMOVED:`).
pub fn diff_dot(old: &Spec, new: &Spec, diff: &SpecDiff) -> String {
    let base = tcp_fsm_spec::to_dot(new, &DotOptions::default());
    let mut marked: BTreeSet<(StateId, RowId)> = BTreeSet::new();
    let mut extra: Vec<String> = Vec::new();
    let mut seen_extra: BTreeSet<String> = BTreeSet::new();
    let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
    for c in &diff.changes {
        let s = c.new_state;
        let from = quote(&new.state(s).name);
        if c.new.next != s {
            if marked.insert((s, c.new.row)) {
                let prefix = format!("    {from} -> {} [", quote(&new.state(c.new.next).name));
                let loc_tail = format!("({})\"];", c.new.location);
                let loc_only = format!("tooltip={}];", quote(&c.new.location));
                if let Some(l) = lines.iter_mut().find(|l| {
                    l.starts_with(&prefix) && (l.ends_with(&loc_tail) || l.ends_with(&loc_only))
                }) {
                    *l = mark_edge_line(l);
                }
            }
        } else {
            let label = format!("CHANGED: {}", edge_label(new, new.row(c.new.row)));
            let line = format!(
                "    {from} -> {from} [label={}, color=red, fontcolor=red, style=bold, penwidth=2.5, tooltip={}];",
                quote(&label),
                quote(&c.new.location)
            );
            if seen_extra.insert(line.clone()) {
                extra.push(line);
            }
        }
        let old_state = old.state_by_name(&new.state(s).name);
        let was = old.state(c.old.next).name.clone();
        if let (Some(os), Some(was_new)) = (old_state, new.state_by_name(&was)) {
            if c.old.next != os && was_new != c.new.next {
                let label = format!("REMOVED: {}", edge_label(old, old.row(c.old.row)));
                let line = format!(
                    "    {from} -> {} [label={}, color=red, fontcolor=red, style=dashed, tooltip={}];",
                    quote(&new.state(was_new).name),
                    quote(&label),
                    quote(&c.old.location)
                );
                if seen_extra.insert(line.clone()) {
                    extra.push(line);
                }
            }
        }
    }
    // Before the closing brace.
    let close = lines
        .iter()
        .rposition(|l| l.trim() == "}")
        .unwrap_or(lines.len());
    for (i, l) in extra.into_iter().enumerate() {
        lines.insert(close + i, l);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// `tcpfsm diff OLD NEW [--dot FILE]`.
pub fn diff(old_path: &Path, new_path: &Path, dot: Option<&Path>) -> ExitCode {
    let old = load_spec(old_path);
    let new = load_spec(new_path);
    let (old, new) = match (old, new) {
        (Ok(o), Ok(n)) => (o, n),
        (o, n) => {
            // Report every problem of both files, then fail once.
            let mut code = ExitCode::SUCCESS;
            for r in [o.err(), n.err()].into_iter().flatten() {
                code = SpecCmdError::Load(r).report();
            }
            return code;
        }
    };
    let d = diff_specs(&old, &new);
    let text = render_diff(
        &d,
        &old_path.display().to_string(),
        &new_path.display().to_string(),
    );
    let result = emit(text.as_bytes(), None).and_then(|()| match dot {
        Some(path) => emit(diff_dot(&old, &new, &d).as_bytes(), Some(path)),
        None => Ok(()),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}
