//! Trace events: one per state change, from every engine (DESIGN "Traces").

use crate::state::TcpState;
use crate::time::Instant;

/// What triggered a transition: the analogue of the L41 lab's `stack()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TraceOrigin {
    Segment,
    App,
    Timer,
}

impl TraceOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            TraceOrigin::Segment => "segment",
            TraceOrigin::App => "app",
            TraceOrigin::Timer => "timer",
        }
    }
}

/// Which engine produced a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EngineKind {
    Table,
    PerState,
    Interpreted,
}

impl EngineKind {
    pub const ALL: [EngineKind; 3] = [
        EngineKind::Table,
        EngineKind::PerState,
        EngineKind::Interpreted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Table => "table",
            EngineKind::PerState => "per-state",
            EngineKind::Interpreted => "interpreted",
        }
    }

    pub fn from_name(name: &str) -> Option<EngineKind> {
        match name {
            "table" => Some(EngineKind::Table),
            "per-state" | "per_state" | "perstate" => Some(EngineKind::PerState),
            "interpreted" => Some(EngineKind::Interpreted),
            _ => None,
        }
    }
}

/// A state change. `event` is the spec event (`segment.SynAck`) for the
/// table-driven engines and the engine's own description of the trigger for
/// the per-state engine; `row` is the spec row (`tcp.fsm:57`) where one applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    pub timestamp: Instant,
    pub local_port: u16,
    pub foreign_port: u16,
    pub previous_tcp_state: TcpState,
    pub tcp_state: TcpState,
    pub event: String,
    pub origin: TraceOrigin,
    pub row: Option<String>,
    pub engine: EngineKind,
}

impl TraceEvent {
    /// One JSON object (a JSON-lines record) in the design's field order.
    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(200);
        s.push_str("{\"timestamp\":");
        s.push_str(&format!("{:.9}", self.timestamp.as_secs_f64()));
        s.push_str(&format!(
            ",\"local_port\":{},\"foreign_port\":{},\"previous_tcp_state\":\"{}\",\"tcp_state\":\"{}\",\"event\":",
            self.local_port,
            self.foreign_port,
            self.previous_tcp_state.display(),
            self.tcp_state.display()
        ));
        push_json_string(&mut s, &self.event);
        s.push_str(",\"origin\":\"");
        s.push_str(self.origin.as_str());
        s.push_str("\",\"row\":");
        match &self.row {
            Some(r) => push_json_string(&mut s, r),
            None => s.push_str("null"),
        }
        s.push_str(",\"engine\":\"");
        s.push_str(self.engine.as_str());
        s.push_str("\"}");
        s
    }
}

fn push_json_string(out: &mut String, v: &str) {
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_event_renders_design_json_fields_in_order() {
        let t = TraceEvent {
            timestamp: Instant::from_millis(1500),
            local_port: 49152,
            foreign_port: 5001,
            previous_tcp_state: TcpState::SynSent,
            tcp_state: TcpState::Established,
            event: "segment.SynAck".into(),
            origin: TraceOrigin::Segment,
            row: Some("tcp.fsm:57".into()),
            engine: EngineKind::Table,
        };
        assert_eq!(
            t.to_json(),
            "{\"timestamp\":1.500000000,\"local_port\":49152,\"foreign_port\":5001,\"previous_tcp_state\":\"SYN_SENT\",\"tcp_state\":\"ESTABLISHED\",\"event\":\"segment.SynAck\",\"origin\":\"segment\",\"row\":\"tcp.fsm:57\",\"engine\":\"table\"}"
        );
    }
}
