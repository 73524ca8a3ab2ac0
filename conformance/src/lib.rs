//! Conformance tooling for tcpfsm: the simulator, the differential harness,
//! scenarios, the packetdrill-subset interpreter and real-peer harnesses.
pub mod coverage;
pub mod lab;
pub mod lockstep;
pub mod mutation;
pub mod packetdrill;
pub mod scenario;
pub mod sim;
pub mod smoltcp_peer;
pub mod strategies;
pub mod tun;
