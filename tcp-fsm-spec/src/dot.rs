//! Graphviz DOT output of a spec: the state diagram, labelled the way the
//! RFC 9293 diagram and the L41 lab label it (`Rx SYN+ACK / Tx ACK`).
//!
//! The output is deterministic: nodes in state declaration order, edges
//! sorted by (from, to, event, row). Optionally a trace overlay marks the
//! edges taken (bold, with counts) and greys the others.

use crate::ir::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What to draw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DotOptions {
    /// Also draw rows that do not change the state (`-> stay`, or a target
    /// equal to the state). Off by default: the diagram then shows only
    /// transitions, like the RFC's.
    pub include_self_loops: bool,
    /// Edges taken by a trace.
    pub overlay: Option<Overlay>,
}

/// How often rows were taken, e.g. counted from a trace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overlay {
    /// Times each row was taken, from whatever state.
    pub taken: BTreeMap<RowId, u64>,
    /// Times each row was taken from a given state. A `state *` row is drawn
    /// once per state it applies to; when this map has any entry for the
    /// row, each of those edges gets its own count from here (0 when
    /// absent). Otherwise the edge falls back to `taken`.
    pub taken_from: BTreeMap<(StateId, RowId), u64>,
}

impl Overlay {
    /// Records one taking of `row` from `from`.
    pub fn record(&mut self, from: StateId, row: RowId) {
        *self.taken.entry(row).or_insert(0) += 1;
        *self.taken_from.entry((from, row)).or_insert(0) += 1;
    }

    /// How often the edge of `row` out of `from` was taken.
    pub fn count(&self, from: StateId, row: RowId) -> u64 {
        if self.taken_from.keys().any(|(_, r)| *r == row) {
            self.taken_from.get(&(from, row)).copied().unwrap_or(0)
        } else {
            self.taken.get(&row).copied().unwrap_or(0)
        }
    }
}

/// A DOT string literal: quotes, backslashes and newlines escaped.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
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

fn origin_colour(origin: Origin) -> &'static str {
    match origin {
        Origin::App => "blue",
        Origin::Segment => "black",
        Origin::Timer => "darkgreen",
    }
}

/// `Rx SYN+ACK [ack_acceptable] / Tx ACK`: the event label, the guards, and
/// the labels of the row's labelled actions.
pub fn edge_label(spec: &Spec, row: &Row) -> String {
    let mut label = spec.event(row.event).label.clone();
    if !row.guards.is_empty() {
        label.push(' ');
        label.push_str(&spec.guards_text(&row.guards));
    }
    let acts: Vec<&str> = row
        .actions
        .iter()
        .filter_map(|a| spec.action(a.action).label.as_deref())
        .collect();
    if !acts.is_empty() {
        label.push_str(" / ");
        label.push_str(&acts.join(", "));
    }
    label
}

/// The spec as a Graphviz digraph.
pub fn to_dot(spec: &Spec, opts: &DotOptions) -> String {
    // One edge per (from state, row) that applies, i.e. per distinct row of
    // the resolved table (a `state *` row gives an edge from each state it
    // applies to).
    let mut edges: Vec<(StateId, StateId, EventId, RowId)> = Vec::new();
    for s in spec.state_ids() {
        for e in spec.event_ids() {
            for &r in spec.rows_for(s, e) {
                let row = spec.row(r);
                // An impossible row is no transition (GRAMMAR.md).
                if row.target == Target::Impossible {
                    continue;
                }
                let to = spec.next_state(row, s);
                if to == s && !opts.include_self_loops {
                    continue;
                }
                edges.push((s, to, e, r));
            }
        }
    }
    edges.sort();
    edges.dedup();

    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&spec.machine));
    let _ = writeln!(out, "    rankdir=TB;");
    let _ = writeln!(
        out,
        "    node [shape=box, style=rounded, fontname=\"Helvetica\"];"
    );
    let _ = writeln!(out, "    edge [fontname=\"Helvetica\", fontsize=10];");
    let _ = writeln!(out, "    __start [shape=point, width=0.15, label=\"\"];");
    for s in spec.state_ids() {
        let st = spec.state(s);
        let _ = writeln!(
            out,
            "    {} [label={}, tooltip={}];",
            quote(&st.name),
            quote(&st.display),
            quote(&format!(
                "{} ({}:{})",
                st.name, spec.source_name, st.span.line
            ))
        );
    }
    let _ = writeln!(
        out,
        "    __start -> {};",
        quote(&spec.state(spec.initial).name)
    );
    for (from, to, _, r) in edges {
        let row = spec.row(r);
        let origin = spec.event(row.event).origin;
        let mut label = edge_label(spec, row);
        let mut colour = origin_colour(origin);
        let mut style = "solid";
        let mut extra = String::new();
        if let Some(ov) = &opts.overlay {
            let n = ov.count(from, r);
            if n > 0 {
                let _ = write!(label, " (×{n})");
                style = "bold";
                extra.push_str(", penwidth=2.5");
            } else {
                colour = "grey";
                extra.push_str(", fontcolor=grey");
            }
        }
        let tooltip = if row.doc.is_empty() {
            spec.row_location(r)
        } else {
            format!("{} ({})", row.doc, spec.row_location(r))
        };
        let _ = writeln!(
            out,
            "    {} -> {} [label={}, color={colour}, style={style}{extra}, tooltip={}];",
            quote(&spec.state(from).name),
            quote(&spec.state(to).name),
            quote(&label),
            quote(&tooltip)
        );
    }
    out.push_str("}\n");
    out
}
