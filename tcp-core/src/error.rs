//! Typed errors, one enum per operation family.

use thiserror::Error;

/// Errors of the connection-level calls (`connect`, `send`, `recv`, `close`, ...)
/// and errors a connection reports asynchronously. The first seven are the
/// RFC 9293 §3.10 user-call errors named in `tcp.fsm`'s `errors` block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Error)]
pub enum ConnectionError {
    #[error("connection does not exist")]
    ConnectionDoesNotExist,
    #[error("connection already exists")]
    ConnectionExists,
    #[error("connection closing")]
    ConnectionClosing,
    #[error("connection refused")]
    ConnectionRefused,
    #[error("connection reset")]
    ConnectionReset,
    #[error("foreign socket unspecified")]
    ForeignSocketUnspecified,
    #[error("connection timed out")]
    TimedOut,
    /// Nothing to read yet / no room to write yet: try again after an event.
    #[error("operation would block")]
    WouldBlock,
}

impl ConnectionError {
    /// Maps a spec error name (`ConnectionReset`) to the error.
    pub fn from_spec_name(name: &str) -> Option<ConnectionError> {
        Some(match name {
            "ConnectionDoesNotExist" => ConnectionError::ConnectionDoesNotExist,
            "ConnectionExists" => ConnectionError::ConnectionExists,
            "ConnectionClosing" => ConnectionError::ConnectionClosing,
            "ConnectionRefused" => ConnectionError::ConnectionRefused,
            "ConnectionReset" => ConnectionError::ConnectionReset,
            "ForeignSocketUnspecified" => ConnectionError::ForeignSocketUnspecified,
            "TimedOut" => ConnectionError::TimedOut,
            _ => return None,
        })
    }
}

/// Errors of the endpoint (demux) layer.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum EndpointError {
    #[error("address {0} already in use")]
    AddressInUse(std::net::SocketAddr),
    #[error("no ephemeral port left for {0}")]
    NoEphemeralPort(std::net::IpAddr),
    #[error("no local address of the right family for {0}")]
    NoLocalAddress(std::net::SocketAddr),
    /// No such connection: never made here, or finished and freed.
    #[error("unknown connection handle {0} (never made here, or its connection is gone)")]
    UnknownHandle(crate::endpoint::ConnHandle),
    #[error("port {0} is not listening")]
    NotListening(u16),
    /// RFC 1122 §4.2.3.10: TCP connections are between unicast addresses.
    #[error("{0} is a multicast address: TCP connects unicast addresses only")]
    MulticastAddress(std::net::SocketAddr),
    #[error(transparent)]
    Connection(#[from] ConnectionError),
}

/// Why an arriving packet was dropped before reaching a connection.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum InputError {
    #[error("malformed packet: {0}")]
    Malformed(#[from] crate::wire::WireError),
    #[error("bad TCP checksum")]
    BadChecksum,
    #[error("packet is not addressed to this endpoint")]
    NotForUs,
    /// RFC 1122 §4.2.3.10: a segment from or to a multicast address is
    /// silently discarded.
    #[error("segment from or to a multicast address")]
    Multicast,
}
