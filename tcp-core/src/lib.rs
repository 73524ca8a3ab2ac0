//! A sans-IO TCP: RFC 9293 with RFC 5961, RFC 1337, RFC 6298, RFC 7323,
//! RFC 2018/6675 and pluggable congestion control. Every input takes `now`;
//! nothing here touches a clock, a socket or a thread.

pub mod buffer;
pub mod cc;
pub mod config;
pub mod connection;
pub mod endpoint;
pub mod engine;
pub mod error;
pub mod fsm;
pub mod isn;
pub mod rtt;
pub mod sack;
pub mod seq;
pub mod state;
pub mod tcb;
pub mod time;
pub mod timer;
pub mod trace;
pub mod wire;

pub use config::Config;
pub use connection::Connection;
pub use endpoint::{ConnHandle, Endpoint, Transmit};
pub use engine::{AnyEngine, Engine, InterpretedEngine, PerStateEngine, TableEngine};
pub use error::{ConnectionError, EndpointError, InputError};
pub use state::TcpState;
pub use tcb::ConnEvent;
pub use time::{Duration, Instant};
pub use trace::{EngineKind, TraceEvent, TraceOrigin};
