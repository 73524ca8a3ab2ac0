//! The connection state machine, generated at compile time from
//! `tcp-fsm-spec/tcp.fsm` by [`tcp_fsm_macros::tcp_fsm!`].
//!
//! The spec is the single source of truth for connection states (RFC 9293
//! §3.3.2 and the event processing of §3.10, with RFC 5961 and RFC 1337
//! adopted); editing one of its rows changes this module on the next build.
//!
//! What is here, all generated:
//! - [`State`] (with display names such as `SYN_SENT`), [`Event`] (flat, with
//!   [`Origin`]) and the typed groups [`AppEvent`], [`SegmentEvent`] and
//!   [`Timer`]; [`ErrorKind`] for `Fail(..)`.
//! - [`LocalAction`] (no segment needed) and [`PacketAction`] (needs the
//!   received segment), joined in [`Action`]; [`ActionName`] without
//!   arguments.
//! - [`process_event`]: a static cell table (the guards each (state, event)
//!   pair's rows test, and a multiply-shift hash of their outcome) and a
//!   static step table holding, for every outcome, the step of the first
//!   row in the spec's priority order that matches; guards asked through the
//!   [`Guards`] trait (once per event, as a [`GuardSet`]-style bit set), the
//!   actions as `&'static` slices. [`process_app_event`] and
//!   [`process_timer_event`] return a [`LocalStep`] whose actions are
//!   [`LocalAction`]s only; [`process_segment_event`] returns a [`Step`].
//! - [`ActionHandler`] with [`run_local_actions`] / [`run_actions`]: a packet
//!   action can only be run with the segment in hand.
//! - Metadata: [`ROWS`] (line, RFC section and doc of every row),
//!   [`STATES_BY_NAME`], [`EVENTS_BY_NAME`], [`ACTIONS_BY_NAME`],
//!   [`GUARD_NAMES`], [`SPEC_NAME`], [`SPEC_SOURCE`] and the Graphviz
//!   [`DOT`] drawing.
//!
//! Generated enum order is the spec's declaration order, which is the
//! index order of the spec model's IR: `State::index()` is a
//! `tcp_fsm_spec::StateId` index, and so on. The test
//! `tests/generated_vs_interpreter.rs` checks this module against the spec
//! model's run-time interpreter for every (state, event, guard outcome) cell.

tcp_fsm_macros::tcp_fsm!();
