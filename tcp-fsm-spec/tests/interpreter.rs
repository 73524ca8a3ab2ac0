//! The run-time interpreter of the IR (`Spec::lookup`, `Spec::cells`) and
//! the name lookups, on the real spec.

use std::cell::RefCell;
use tcp_fsm_spec::*;

fn ids(spec: &Spec, state: &str, event: &str) -> (StateId, EventId) {
    (
        spec.state_by_name(state).unwrap(),
        spec.event_by_name(event).unwrap(),
    )
}

fn action_names(spec: &Spec, step: &Step<'_>) -> Vec<String> {
    step.actions
        .iter()
        .map(|a| spec.action_ref_name(a))
        .collect()
}

/// The 1-based line of the first line of tcp.fsm containing `needle`.
fn line_of(needle: &str) -> u32 {
    let i = TCP_SPEC
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in tcp.fsm"));
    u32::try_from(i + 1).unwrap()
}

#[test]
fn syn_sent_segment_syn_ack_acceptable_enters_established() {
    let spec = real_spec();
    let (s, e) = ids(&spec, "SynSent", "segment.SynAck");
    let ack_acceptable = spec.guard_by_name("ack_acceptable").unwrap();
    let step = spec.lookup(s, e, |g| g == ack_acceptable);
    assert_eq!(spec.state(step.next).name, "Established");
    assert_eq!(
        action_names(&spec, &step),
        ["RecordSyn", "AcceptAck", "SendAck", "SignalEstablished"]
    );
    assert_eq!(
        spec.row(step.row).rfc.as_deref(),
        Some("RFC 9293 §3.10.7.3")
    );
    assert_eq!(
        spec.row_location(step.row),
        format!("tcp.fsm:{}", line_of("on segment.SynAck [ack_acceptable]"))
    );
}

#[test]
fn syn_sent_segment_syn_ack_unacceptable_stays_and_sends_rst() {
    let spec = real_spec();
    let (s, e) = ids(&spec, "SYN_SENT", "SynAck");
    let step = spec.lookup(s, e, |_| false);
    assert_eq!(step.next, s, "`stay` resolves to the current state");
    assert_eq!(action_names(&spec, &step), ["SendRstReply", "Discard"]);
}

#[test]
fn established_app_passive_open_uses_the_state_star_default() {
    let spec = real_spec();
    let (s, e) = ids(&spec, "Established", "app.PassiveOpen");
    let step = spec.lookup(s, e, |_| panic!("unguarded pair"));
    assert_eq!(spec.row(step.row).state, None, "a `state *` row");
    assert_eq!(step.next, s);
    assert_eq!(action_names(&spec, &step), ["Fail(ConnectionExists)"]);
}

#[test]
fn established_timer_retransmission_exhausted_closes() {
    let spec = real_spec();
    let (s, e) = ids(&spec, "Established", "timer.Retransmission");
    let step = spec.lookup(s, e, |g| spec.guard(g).name == "retries_exhausted");
    assert_eq!(spec.state(step.next).name, "Closed");
    assert_eq!(action_names(&spec, &step), ["Fail(TimedOut)", "DeleteTcb"]);
    let step = spec.lookup(s, e, |_| false);
    assert_eq!(action_names(&spec, &step), ["Retransmit"]);
}

#[test]
fn syn_received_timer_retransmission_uses_its_own_rows_not_state_star() {
    let spec = real_spec();
    let (s, e) = ids(&spec, "SynReceived", "timer.Retransmission");
    for r in spec.rows_for(s, e) {
        assert_eq!(spec.row(*r).state, Some(s));
    }
}

#[test]
fn time_wait_segment_rst_is_ignored() {
    // RFC 1337 §3: no TIME-WAIT assassination.
    let spec = real_spec();
    let (s, e) = ids(&spec, "TimeWait", "segment.Rst");
    let step = spec.lookup(s, e, |_| true);
    assert_eq!(step.next, s);
    assert_eq!(action_names(&spec, &step), ["Discard"]);
}

#[test]
fn time_wait_timer_time_wait_deletes_the_tcb() {
    let spec = real_spec();
    let (s, e) = ids(&spec, "TIME_WAIT", "timer.TimeWait");
    let step = spec.lookup(s, e, |_| false);
    assert_eq!(spec.state(step.next).name, "Closed");
    assert_eq!(action_names(&spec, &step), ["DeleteTcb"]);
}

#[test]
fn time_wait_segment_unacceptable_every_outcome_is_handled() {
    let spec = real_spec();
    let (s, e) = ids(&spec, "TimeWait", "segment.Unacceptable");
    let fin = spec.guard_by_name("fin_flag").unwrap();
    let syn = spec.guard_by_name("syn_flag").unwrap();
    // RFC 5961 §4 on (the default): the guard `rfc5961_syn` holds.
    let rfc5961_syn = spec.guard_by_name("rfc5961_syn").unwrap();
    let with = |f: bool, y: bool| {
        let step = spec.lookup(s, e, |g| {
            (g == fin && f) || (g == syn && y) || g == rfc5961_syn
        });
        action_names(&spec, &step)
    };
    assert_eq!(
        with(true, false),
        ["SendAck", "StartTimer(TimeWait)", "Discard"]
    );
    assert_eq!(with(false, true), ["SendChallengeAck", "Discard"]);
    assert_eq!(with(false, false), ["SendAck", "Discard"]);
}

#[test]
fn lookup_evaluates_guards_lazily_in_order_and_once() {
    let spec = real_spec();
    let calls = RefCell::new(Vec::new());
    let record = |g: GuardId, value: bool| {
        calls.borrow_mut().push(spec.guard(g).name.clone());
        value
    };

    // Unguarded pair: no guard is evaluated.
    let (s, e) = ids(&spec, "Closed", "app.ActiveOpen");
    spec.lookup(s, e, |g| record(g, true));
    assert!(calls.borrow().is_empty());

    // SYN-RECEIVED, RST: rows [seq_exact, passive_open], [seq_exact],
    // [in_window, rfc5961_rst], [in_window, passive_open], [in_window],
    // unguarded. With seq_exact false, passive_open is never needed for the
    // first two rows and seq_exact is asked once although two rows use it.
    let (s, e) = ids(&spec, "SynReceived", "segment.Rst");
    let step = spec.lookup(s, e, |g| {
        record(
            g,
            matches!(spec.guard(g).name.as_str(), "in_window" | "rfc5961_rst"),
        )
    });
    assert_eq!(*calls.borrow(), ["seq_exact", "in_window", "rfc5961_rst"]);
    assert_eq!(action_names(&spec, &step), ["SendChallengeAck", "Discard"]);

    // With seq_exact and passive_open true, the first row wins at once.
    calls.borrow_mut().clear();
    let step = spec.lookup(s, e, |g| record(g, true));
    assert_eq!(*calls.borrow(), ["seq_exact", "passive_open"]);
    assert_eq!(spec.state(step.next).name, "Listen");
}

#[test]
fn names_resolve_by_identifier_display_name_and_qualified_event() {
    let spec = real_spec();
    assert_eq!(
        spec.state_by_name("SYN_RCVD"),
        spec.state_by_name("SynReceived")
    );
    assert!(spec.state_by_name("SynReceived").is_some());
    assert_eq!(spec.state_by_name("Nowhere"), None);
    assert_eq!(
        spec.event_by_name("segment.SynAck"),
        spec.event_by_name("SynAck")
    );
    assert!(spec.event_by_name("SynAck").is_some());
    assert_eq!(spec.event_by_name("app.SynAck"), None);
    assert_eq!(
        spec.event_by_name("timer.TimeWait"),
        spec.event_by_name("TimeWait")
    );
    let a = spec.action_by_name("SendChallengeAck").unwrap();
    assert_eq!(spec.action(a).label.as_deref(), Some("Tx challenge ACK"));
    assert_eq!(
        spec.action(spec.action_by_name("QueueText").unwrap()).kind,
        ActionKind::Packet
    );
    assert_eq!(spec.action_by_name("Nothing"), None);
    let g = spec.guard_by_name("seq_exact").unwrap();
    assert_eq!(spec.guard(g).doc, "SEG.SEQ = RCV.NXT");
    assert_eq!(spec.guard_by_name("nothing"), None);
}

#[test]
fn rows_for_lists_own_rows_in_order_and_is_empty_out_of_range() {
    let spec = real_spec();
    let (s, e) = ids(&spec, "SynReceived", "segment.Rst");
    let texts: Vec<String> = spec
        .rows_for(s, e)
        .iter()
        .map(|r| spec.row_text(*r))
        .collect();
    assert_eq!(
        texts,
        [
            "on segment.Rst [seq_exact, passive_open] / DeleteTcb -> Listen",
            "on segment.Rst [seq_exact] / Fail(ConnectionRefused), DeleteTcb -> Closed",
            "on segment.Rst [in_window, rfc5961_rst] / SendChallengeAck, Discard -> stay",
            "on segment.Rst [in_window, passive_open] / DeleteTcb -> Listen",
            "on segment.Rst [in_window] / Fail(ConnectionRefused), DeleteTcb -> Closed",
            "on segment.Rst / Discard -> stay",
        ]
    );
    assert!(spec.rows_for(StateId(500), e).is_empty());
    assert!(spec.rows_for(s, EventId(500)).is_empty());
}

#[test]
fn cells_enumerate_guard_outcomes_true_first() {
    let spec = real_spec();
    let (s, e) = ids(&spec, "SynSent", "segment.SynAck");
    let cells: Vec<Cell> = spec
        .cells()
        .into_iter()
        .filter(|c| c.state == s && c.event == e)
        .collect();
    let ack = spec.guard_by_name("ack_acceptable").unwrap();
    assert_eq!(cells.len(), 2);
    assert_eq!(cells[0].guards, [ack]);
    assert_eq!(cells[0].outcome, [true]);
    assert_eq!(
        spec.state(spec.next_state(spec.row(cells[0].row), s)).name,
        "Established"
    );
    assert_eq!(cells[1].outcome, [false]);
    assert_eq!(spec.next_state(spec.row(cells[1].row), s), s);

    let (s, e) = ids(&spec, "Closed", "app.PassiveOpen");
    let plain: Vec<Cell> = spec
        .cells()
        .into_iter()
        .filter(|c| c.state == s && c.event == e)
        .collect();
    assert_eq!(plain.len(), 1);
    assert!(plain[0].guards.is_empty() && plain[0].outcome.is_empty());

    let (s, e) = ids(&spec, "SynReceived", "segment.Rst");
    let rst: Vec<Vec<bool>> = spec
        .cells()
        .into_iter()
        .filter(|c| c.state == s && c.event == e)
        .map(|c| c.outcome)
        .collect();
    // Guards in first-use order: seq_exact, passive_open, in_window, rfc5961_rst.
    assert_eq!(rst.len(), 16);
    assert_eq!(rst[0], [true, true, true, true]);
    assert_eq!(rst[1], [true, true, true, false]);
    assert_eq!(rst[15], [false, false, false, false]);
}

#[test]
fn cells_agree_with_lookup_for_every_outcome() {
    let spec = real_spec();
    for c in spec.cells() {
        let step = spec.lookup(c.state, c.event, |g| {
            c.outcome[c.guards.iter().position(|x| *x == g).unwrap()]
        });
        assert_eq!(step.row, c.row);
        assert_eq!(step.next, spec.next_state(spec.row(c.row), c.state));
    }
}

#[test]
fn lookup_on_a_hand_built_table_without_a_match_does_not_panic() {
    let mut spec = real_spec();
    let (s, e) = ids(&spec, "SynSent", "segment.SynAck");
    let idx = s.index() * spec.events.len() + e.index();
    // Keep only the guarded row: no row matches when the guard is false.
    let guarded = spec.table[idx][0];
    spec.table[idx] = vec![guarded];
    let step = spec.lookup(s, e, |_| false);
    assert_eq!(step.row, guarded, "falls back to the pair's last row");
    // No rows at all: stays, no actions.
    spec.table[idx].clear();
    let step = spec.lookup(s, e, |_| true);
    assert_eq!(step.next, s);
    assert!(step.actions.is_empty());
    assert_eq!(spec.row_location(step.row), "tcp.fsm:?");
}
