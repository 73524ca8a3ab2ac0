//! The engines that decide what a connection does with an event. All drive
//! the same [`Tcb`] primitives and must be observably identical.
//!
//! - [`TableEngine`]: the classifier's events through the code `tcp_fsm!`
//!   generated from `tcp.fsm` (zero-cost: static outcome tables).
//! - [`InterpretedEngine`]: the same through the spec model's interpreter, so
//!   an edited spec runs without recompiling.
//! - [`PerStateEngine`]: hand-written from RFC 9293 §3.10.7, one function per
//!   state, independent of the table: the second opinion.

pub mod classifier;
pub mod interpreted;
pub mod ops;
pub mod per_state;
pub mod table;

pub use interpreted::{InterpretedEngine, InterpretedSpec, SpecBindError};
pub use per_state::PerStateEngine;
pub use table::TableEngine;

use crate::error::ConnectionError;
use crate::tcb::Tcb;
use crate::timer::TimerKind;
use crate::trace::EngineKind;
use crate::wire::Segment;

/// A user call of RFC 9293 §3.9.1 / §3.10.
#[derive(Clone, Copy, Debug)]
pub enum AppCall<'a> {
    PassiveOpen,
    ActiveOpen,
    Send(&'a [u8]),
    Receive,
    Close,
    Abort,
}

impl AppCall<'_> {
    /// The spec's app event name.
    pub fn spec_name(&self) -> &'static str {
        match self {
            AppCall::PassiveOpen => "PassiveOpen",
            AppCall::ActiveOpen => "ActiveOpen",
            AppCall::Send(_) => "Send",
            AppCall::Receive => "Receive",
            AppCall::Close => "Close",
            AppCall::Abort => "Abort",
        }
    }
}

/// What an engine does with each kind of input. `tcb.now` is set by the caller.
pub trait Engine {
    fn kind(&self) -> EngineKind;
    /// SEGMENT ARRIVES (RFC 9293 §3.10.7).
    fn segment_arrives(&mut self, tcb: &mut Tcb, seg: &Segment<'_>);
    /// A user call; `Ok(n)` is the number of bytes a SEND queued (0 otherwise).
    fn app_call(&mut self, tcb: &mut Tcb, call: AppCall<'_>) -> Result<usize, ConnectionError>;
    /// A timeout (RFC 9293 §3.10.8).
    fn timer_fires(&mut self, tcb: &mut Tcb, timer: TimerKind);
}

/// An engine chosen at run time (for tools); the type parameter of
/// `Connection` is the zero-cost choice.
pub enum AnyEngine {
    Table(TableEngine),
    PerState(PerStateEngine),
    Interpreted(InterpretedEngine),
}

impl AnyEngine {
    /// The table or per-state engine (the interpreted one needs a spec: use
    /// [`InterpretedEngine::new`]).
    pub fn builtin(kind: EngineKind) -> AnyEngine {
        match kind {
            EngineKind::Table => AnyEngine::Table(TableEngine),
            EngineKind::PerState => AnyEngine::PerState(PerStateEngine),
            EngineKind::Interpreted => AnyEngine::Interpreted(InterpretedEngine::real()),
        }
    }
}

impl Engine for AnyEngine {
    fn kind(&self) -> EngineKind {
        match self {
            AnyEngine::Table(e) => e.kind(),
            AnyEngine::PerState(e) => e.kind(),
            AnyEngine::Interpreted(e) => e.kind(),
        }
    }

    fn segment_arrives(&mut self, tcb: &mut Tcb, seg: &Segment<'_>) {
        match self {
            AnyEngine::Table(e) => e.segment_arrives(tcb, seg),
            AnyEngine::PerState(e) => e.segment_arrives(tcb, seg),
            AnyEngine::Interpreted(e) => e.segment_arrives(tcb, seg),
        }
    }

    fn app_call(&mut self, tcb: &mut Tcb, call: AppCall<'_>) -> Result<usize, ConnectionError> {
        match self {
            AnyEngine::Table(e) => e.app_call(tcb, call),
            AnyEngine::PerState(e) => e.app_call(tcb, call),
            AnyEngine::Interpreted(e) => e.app_call(tcb, call),
        }
    }

    fn timer_fires(&mut self, tcb: &mut Tcb, timer: TimerKind) {
        match self {
            AnyEngine::Table(e) => e.timer_fires(tcb, timer),
            AnyEngine::PerState(e) => e.timer_fires(tcb, timer),
            AnyEngine::Interpreted(e) => e.timer_fires(tcb, timer),
        }
    }
}
