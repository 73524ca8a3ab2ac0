//! The spec as a Markdown table with one line per cell (state, event, guard
//! outcome): what to review when a row changes.

use crate::ir::*;
use std::fmt::Write as _;

/// Escapes `|` so a value stays in its table column.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// One line per [`Spec::cells`] entry, in that order: state, event, guard
/// outcome, next state, actions, row location, RFC section.
pub fn to_markdown(spec: &Spec) -> String {
    let cells = spec.cells();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# `{}` transition table ({})\n",
        spec.machine, spec.source_name
    );
    let _ = writeln!(
        out,
        "{} states, {} events, {} rows, {} cells. Initial state: {}. \
         Rows marked `*` come from `state *`.\n",
        spec.states.len(),
        spec.events.len(),
        spec.rows.len(),
        cells.len(),
        spec.state(spec.initial).display
    );
    out.push_str("| State | Event | Guards | Next | Actions | Row | RFC |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for c in &cells {
        let row = spec.row(c.row);
        let guards: Vec<String> = c
            .guards
            .iter()
            .zip(&c.outcome)
            .map(|(g, v)| {
                let bang = if *v { "" } else { "!" };
                format!("{bang}{}", spec.guard(*g).name)
            })
            .collect();
        let next = spec.next_state(row, c.state);
        let next = match row.target {
            Target::Stay => format!("{} (stay)", spec.state(next).display),
            Target::Impossible => "impossible".to_string(),
            Target::State(_) => spec.state(next).display.clone(),
        };
        let actions: Vec<String> = row
            .actions
            .iter()
            .map(|a| spec.action_ref_name(a))
            .collect();
        let star = if row.state.is_none() { " `*`" } else { "" };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {}{} | {} |",
            cell(&spec.state(c.state).display),
            cell(&spec.event(c.event).qualified()),
            cell(&guards.join(", ")),
            cell(&next),
            cell(&actions.join(", ")),
            spec.row_location(c.row),
            star,
            cell(row.rfc.as_deref().unwrap_or("")),
        );
    }
    out
}
