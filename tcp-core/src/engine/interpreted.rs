//! The interpreted engine: the classifier's events through the spec model's
//! run-time interpreter (`Spec::lookup`), so that a `Connection` can run an
//! edited spec loaded at run time, without recompiling.

use std::sync::{Arc, OnceLock};

use tcp_fsm_spec::{ActionArg, ActionKind, EventId, GuardId, RowId, Spec, StateId};

use super::classifier::{classify, SegmentClass};
use super::ops::{run_local, run_packet, Effects, LocalOp, PacketOp};
use super::{AppCall, Engine};
use crate::error::ConnectionError;
use crate::state::TcpState;
use crate::tcb::Tcb;
use crate::timer::TimerKind;
use crate::trace::{EngineKind, TraceOrigin};
use crate::wire::{Flags, Segment};

/// Why a spec cannot drive the data path.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecBindError {
    #[error("the spec has no state `{0}`; the data path needs the 11 states of RFC 9293")]
    MissingState(&'static str),
    #[error("the spec has no event `{0}`, which the data path produces")]
    MissingEvent(String),
    #[error("the data path does not implement action `{0}`")]
    UnknownAction(String),
    #[error("the data path does not implement guard `{0}`")]
    UnknownGuard(String),
    #[error("state `{0}` is not one of the 11 states of RFC 9293")]
    UnknownState(String),
}

#[derive(Clone, Copy, Debug)]
enum BoundAction {
    Local(LocalOp),
    Packet(PacketOp),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BoundGuard {
    AckAcceptable,
    SeqExact,
    InWindow,
    PassiveOpen,
    RetriesExhausted,
    SynFlag,
    FinFlag,
    Rfc5961Rst,
    Rfc5961Syn,
    DupAck,
}

/// A spec bound to the data path: every name resolved once.
#[derive(Debug)]
pub struct InterpretedSpec {
    spec: Spec,
    state_ids: [StateId; 11],
    tcp_states: Vec<TcpState>,
    segment_events: [EventId; 13],
    app_events: [EventId; 6],
    timer_events: [EventId; 6],
    actions: Vec<BoundAction>,
    guards: Vec<BoundGuard>,
    row_locations: Vec<String>,
    event_names: Vec<String>,
}

impl InterpretedSpec {
    /// Resolves every state, event, action and guard the data path needs.
    pub fn bind(spec: Spec) -> Result<InterpretedSpec, SpecBindError> {
        let mut state_ids = [StateId(0); 11];
        for (i, s) in TcpState::ALL.into_iter().enumerate() {
            state_ids[i] = spec
                .state_by_name(s.display())
                .or_else(|| spec.state_by_name(&format!("{s:?}")))
                .ok_or(SpecBindError::MissingState(s.display()))?;
        }
        let tcp_states = spec
            .states
            .iter()
            .map(|d| {
                TcpState::from_name(&d.display)
                    .or_else(|| TcpState::from_name(&d.name))
                    .ok_or_else(|| SpecBindError::UnknownState(d.name.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let event = |q: String| spec.event_by_name(&q).ok_or(SpecBindError::MissingEvent(q));
        let mut segment_events = [EventId(0); 13];
        for (i, c) in SegmentClass::ALL.into_iter().enumerate() {
            segment_events[i] = event(format!("segment.{}", c.spec_name()))?;
        }
        let mut app_events = [EventId(0); 6];
        let calls = [
            AppCall::PassiveOpen,
            AppCall::ActiveOpen,
            AppCall::Send(&[]),
            AppCall::Receive,
            AppCall::Close,
            AppCall::Abort,
        ];
        for (i, c) in calls.iter().enumerate() {
            app_events[i] = event(format!("app.{}", c.spec_name()))?;
        }
        let mut timer_events = [EventId(0); 6];
        for (i, t) in TimerKind::ALL.into_iter().enumerate() {
            timer_events[i] = event(format!("timer.{}", t.spec_name()))?;
        }
        let actions = spec
            .actions
            .iter()
            .map(|a| {
                let unknown = || SpecBindError::UnknownAction(a.name.clone());
                Ok(match a.kind {
                    ActionKind::Packet => {
                        BoundAction::Packet(PacketOp::from_spec(&a.name).ok_or_else(unknown)?)
                    }
                    // Arguments are bound per use; check the name with a representative argument.
                    ActionKind::Local => {
                        let probe = match a.name.as_str() {
                            "StartTimer" | "StopTimer" => Some("Retransmission"),
                            "Fail" => Some("TimedOut"),
                            _ => None,
                        };
                        BoundAction::Local(LocalOp::from_spec(&a.name, probe).ok_or_else(unknown)?)
                    }
                })
            })
            .collect::<Result<Vec<_>, SpecBindError>>()?;
        let guards = spec
            .guards
            .iter()
            .map(|g| {
                Ok(match g.name.as_str() {
                    "ack_acceptable" => BoundGuard::AckAcceptable,
                    "seq_exact" => BoundGuard::SeqExact,
                    "in_window" => BoundGuard::InWindow,
                    "passive_open" => BoundGuard::PassiveOpen,
                    "retries_exhausted" => BoundGuard::RetriesExhausted,
                    "syn_flag" => BoundGuard::SynFlag,
                    "fin_flag" => BoundGuard::FinFlag,
                    "rfc5961_rst" => BoundGuard::Rfc5961Rst,
                    "rfc5961_syn" => BoundGuard::Rfc5961Syn,
                    "dup_ack" => BoundGuard::DupAck,
                    other => return Err(SpecBindError::UnknownGuard(other.to_string())),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let row_locations = spec.rows.iter().map(|r| spec.row_location(r.id)).collect();
        let event_names = spec.events.iter().map(|e| e.qualified()).collect();
        Ok(InterpretedSpec {
            spec,
            state_ids,
            tcp_states,
            segment_events,
            app_events,
            timer_events,
            actions,
            guards,
            row_locations,
            event_names,
        })
    }

    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    fn op(&self, action: &tcp_fsm_spec::ActionRef) -> Option<BoundAction> {
        let bound = *self.actions.get(action.action.index())?;
        Some(match (bound, action.arg) {
            (BoundAction::Local(_), Some(arg)) => {
                let name = &self.spec.actions[action.action.index()].name;
                let arg_name = match arg {
                    ActionArg::Timer(e) => self.spec.events[e.index()].name.as_str(),
                    ActionArg::Error(e) => self.spec.errors[e.index()].name.as_str(),
                };
                BoundAction::Local(LocalOp::from_spec(name, Some(arg_name))?)
            }
            (b, _) => b,
        })
    }
}

/// The real spec, bound once per process.
fn real_spec() -> Arc<InterpretedSpec> {
    static REAL: OnceLock<Arc<InterpretedSpec>> = OnceLock::new();
    REAL.get_or_init(|| {
        let bound = InterpretedSpec::bind(tcp_fsm_spec::real_spec());
        // The real spec is ours and a test binds it; failing here is a build defect.
        Arc::new(bound.expect("tcp.fsm binds to the data path"))
    })
    .clone()
}

/// One table lookup, as a [`LookupObserver`] sees it: which cell of the spec
/// (`tcp_fsm_spec::Cell`) the engine used.
#[derive(Clone, Copy, Debug)]
pub struct Lookup<'a> {
    pub state: StateId,
    pub event: EventId,
    /// The row the lookup chose.
    pub row: RowId,
    /// The distinct guards of the pair, in `Spec::pair_guards` order (the
    /// order of `Cell::guards`).
    pub guards: &'a [GuardId],
    /// The value of each of `guards`, evaluated before the row's actions ran.
    pub values: &'a [bool],
}

/// Called once per lookup by an engine built with
/// [`InterpretedEngine::with_observer`] (coverage and mutation tools).
pub type LookupObserver = Arc<dyn Fn(&Lookup<'_>) + Send + Sync>;

/// The engine that interprets a spec at run time.
#[derive(Clone)]
pub struct InterpretedEngine {
    spec: Arc<InterpretedSpec>,
    /// Only when set are all of a pair's guards evaluated (guards are pure
    /// functions of the TCB and the segment, so this changes nothing); the
    /// lookup itself stays lazy either way.
    observer: Option<LookupObserver>,
}

impl std::fmt::Debug for InterpretedEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InterpretedEngine")
            .field("spec", &self.spec)
            .field("observer", &self.observer.as_ref().map(|_| "<observer>"))
            .finish()
    }
}

impl InterpretedEngine {
    pub fn new(spec: Arc<InterpretedSpec>) -> InterpretedEngine {
        InterpretedEngine {
            spec,
            observer: None,
        }
    }

    /// Interprets the real `tcp.fsm`.
    pub fn real() -> InterpretedEngine {
        InterpretedEngine {
            spec: real_spec(),
            observer: None,
        }
    }

    /// The same engine, reporting every lookup (state, event, chosen row and
    /// the values of all the pair's guards) to `observer`.
    pub fn with_observer(mut self, observer: LookupObserver) -> InterpretedEngine {
        self.observer = Some(observer);
        self
    }

    pub fn bound_spec(&self) -> &Arc<InterpretedSpec> {
        &self.spec
    }

    fn guard(
        &self,
        tcb: &Tcb,
        seg: Option<&Segment<'_>>,
        timer: Option<TimerKind>,
        g: GuardId,
    ) -> bool {
        let Some(kind) = self.spec.guards.get(g.index()) else {
            return false;
        };
        match kind {
            BoundGuard::AckAcceptable => seg.is_some_and(|s| tcb.ack_acceptable(s)),
            BoundGuard::SeqExact => seg.is_some_and(|s| tcb.seq_exact(s)),
            BoundGuard::InWindow => seg.is_some_and(|s| tcb.in_window(s)),
            BoundGuard::PassiveOpen => tcb.passive_open,
            BoundGuard::RetriesExhausted => timer.is_some_and(|t| tcb.retries_exhausted(t)),
            BoundGuard::SynFlag => seg.is_some_and(|s| s.header.flags.contains(Flags::SYN)),
            BoundGuard::FinFlag => seg.is_some_and(|s| s.header.flags.contains(Flags::FIN)),
            BoundGuard::Rfc5961Rst => tcb.config.rfc5961_rst,
            BoundGuard::Rfc5961Syn => tcb.config.rfc5961_syn,
            BoundGuard::DupAck => seg.is_some_and(|s| tcb.dup_ack(s)),
        }
    }

    /// Looks up and runs one event; returns whether a Discard ran.
    fn run(
        &self,
        tcb: &mut Tcb,
        event: EventId,
        seg: Option<&Segment<'_>>,
        timer: Option<TimerKind>,
        fx: &mut Effects<'_>,
        origin: TraceOrigin,
    ) {
        let bound = &*self.spec;
        let state = bound.state_ids[tcb.state.index()];
        let step = bound
            .spec
            .lookup(state, event, |g| self.guard(tcb, seg, timer, g));
        if let Some(observer) = &self.observer {
            let guards = bound.spec.pair_guards(state, event);
            let values: Vec<bool> = guards
                .iter()
                .map(|g| self.guard(tcb, seg, timer, *g))
                .collect();
            observer(&Lookup {
                state,
                event,
                row: step.row,
                guards: &guards,
                values: &values,
            });
        }
        let next = bound
            .tcp_states
            .get(step.next.index())
            .copied()
            .unwrap_or(tcb.state);
        for action in step.actions {
            match bound.op(action) {
                Some(BoundAction::Local(op)) => run_local(tcb, fx, op),
                Some(BoundAction::Packet(op)) => {
                    if let Some(s) = seg {
                        run_packet(tcb, op, s);
                    }
                }
                None => {}
            }
        }
        if next != tcb.state {
            let row = tcb
                .config
                .trace
                .then(|| bound.row_locations[step.row.index()].clone());
            tcb.transition(next, &bound.event_names[event.index()], origin, row);
        }
    }
}

impl Engine for InterpretedEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Interpreted
    }

    fn segment_arrives(&mut self, tcb: &mut Tcb, seg: &Segment<'_>) {
        classify(tcb, seg, |tcb, class| {
            let event = self.spec.segment_events[class as usize];
            let mut fx = Effects::internal();
            self.run(tcb, event, Some(seg), None, &mut fx, TraceOrigin::Segment);
            // The row decides whether processing goes on (Discard, DeleteTcb).
            fx.segment_done
        });
    }

    fn app_call(&mut self, tcb: &mut Tcb, call: AppCall<'_>) -> Result<usize, ConnectionError> {
        let index = match call {
            AppCall::PassiveOpen => 0,
            AppCall::ActiveOpen => 1,
            AppCall::Send(_) => 2,
            AppCall::Receive => 3,
            AppCall::Close => 4,
            AppCall::Abort => 5,
        };
        let data = match call {
            AppCall::Send(d) => d,
            _ => &[],
        };
        let mut fx = Effects::for_app(data);
        self.run(
            tcb,
            self.spec.app_events[index],
            None,
            None,
            &mut fx,
            TraceOrigin::App,
        );
        match fx.call_error {
            Some(e) => Err(e),
            None => Ok(fx.queued),
        }
    }

    fn timer_fires(&mut self, tcb: &mut Tcb, timer: TimerKind) {
        let mut fx = Effects::internal();
        self.run(
            tcb,
            self.spec.timer_events[timer.index()],
            None,
            Some(timer),
            &mut fx,
            TraceOrigin::Timer,
        );
    }
}
