//! Conformance tooling for tcpfsm: the simulator, the differential harness,
//! scenarios, the packetdrill-subset interpreter and real-peer harnesses.
pub mod sim;
pub mod packetdrill;
