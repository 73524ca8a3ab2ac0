//! Reads a JSON-lines trace (the records of `tcp_core::TraceEvent::to_json`)
//! into a DOT [`Overlay`]: how often each row was taken, from which state.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tcp_fsm_spec::{Overlay, RowId, Spec, StateId};

/// Why a trace could not be overlaid on a spec.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("cannot read trace {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Record {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// What reading a trace gave.
#[derive(Debug, Default)]
pub struct TraceOverlay {
    pub overlay: Overlay,
    /// State changes read.
    pub records: usize,
    /// Records with no spec row (e.g. from the per-state engine) that no
    /// single row of the spec explains; they are not drawn.
    pub unattributed: usize,
}

fn text_field<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    match v.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("field `{field}` is not a string")),
        None => Err(format!("missing field `{field}`")),
    }
}

fn state_field(spec: &Spec, v: &Value, field: &str) -> Result<StateId, String> {
    let name = text_field(v, field)?;
    spec.state_by_name(name).ok_or_else(|| {
        format!(
            "`{field}` is `{name}`, which is not a state of {}",
            spec.source_name
        )
    })
}

/// The row a `"row": "tcp.fsm:57"` field names.
fn row_by_location(spec: &Spec, location: &str) -> Result<RowId, String> {
    let (file, line) = location
        .rsplit_once(':')
        .ok_or_else(|| format!("row `{location}` is not of the form FILE:LINE"))?;
    let line: u32 = line
        .parse()
        .map_err(|_| format!("row `{location}` has no line number"))?;
    if file != spec.source_name {
        return Err(format!(
            "row `{location}` is from {file}, not from the spec drawn ({})",
            spec.source_name
        ));
    }
    spec.rows
        .iter()
        .find(|r| r.line == line)
        .map(|r| r.id)
        .ok_or_else(|| format!("no row of {} starts on line {line}", spec.source_name))
}

/// The one row of `(from, event)` that leads to `to`, for records without a
/// row (the per-state engine's): `None` when the event is not a spec event
/// or no single row explains the change.
fn row_by_transition(spec: &Spec, from: StateId, event: &str, to: StateId) -> Option<RowId> {
    let event = spec.event_by_name(event)?;
    let mut rows = spec
        .rows_for(from, event)
        .iter()
        .copied()
        .filter(|r| spec.next_state(spec.row(*r), from) == to);
    let first = rows.next()?;
    rows.next().is_none().then_some(first)
}

/// One record: the row and the state it was taken from, or `None` when the
/// record has no row and none can be inferred.
fn record(spec: &Spec, v: &Value) -> Result<Option<(StateId, RowId)>, String> {
    let from = state_field(spec, v, "previous_tcp_state")?;
    let to = state_field(spec, v, "tcp_state")?;
    let row = match v.get("row") {
        Some(Value::String(loc)) => row_by_location(spec, loc)?,
        Some(Value::Null) | None => {
            let event = text_field(v, "event").unwrap_or("");
            return Ok(row_by_transition(spec, from, event, to).map(|r| (from, r)));
        }
        Some(_) => return Err("field `row` is neither a string nor null".to_string()),
    };
    let r = spec.row(row);
    if !spec.rows_for(from, r.event).contains(&row) {
        return Err(format!(
            "row {} does not apply in state {}",
            spec.row_location(row),
            spec.state(from).display
        ));
    }
    let next = spec.next_state(r, from);
    if next != to {
        return Err(format!(
            "row {} leads {} to {}, the trace says {} (is the trace from another version of the spec?)",
            spec.row_location(row),
            spec.state(from).display,
            spec.state(next).display,
            spec.state(to).display
        ));
    }
    Ok(Some((from, row)))
}

/// Reads the trace at `path` against `spec`.
pub fn read_trace(spec: &Spec, path: &Path) -> Result<TraceOverlay, TraceError> {
    let text = std::fs::read_to_string(path).map_err(|source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    overlay_from_jsonl(spec, &text, path)
}

/// The overlay of a JSON-lines trace already in memory; `path` names it in
/// errors.
pub fn overlay_from_jsonl(
    spec: &Spec,
    text: &str,
    path: &Path,
) -> Result<TraceOverlay, TraceError> {
    let mut out = TraceOverlay::default();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |message: String| TraceError::Record {
            path: path.to_path_buf(),
            line: line_no,
            message,
        };
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| err(format!("not JSON: {e}")))?;
        if !v.is_object() {
            return Err(err("a trace record is a JSON object".to_string()));
        }
        out.records += 1;
        match record(spec, &v).map_err(err)? {
            Some((from, row)) => out.overlay.record(from, row),
            None => out.unattributed += 1,
        }
    }
    Ok(out)
}
