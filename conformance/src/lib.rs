//! Conformance tooling for tcpfsm: the simulator, the differential harness,
//! scenarios, the packetdrill-subset interpreter and real-peer harnesses.
pub mod sim;
pub mod packetdrill;
pub mod lockstep;
pub mod scenario;
pub mod strategies;
pub mod tun;
pub mod coverage;
pub mod mutation;
pub mod smoltcp_peer;
pub mod lab;
