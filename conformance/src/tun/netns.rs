//! Private network namespaces for the kernel-peer tests (DESIGN
//! "Conformance" item 5: no traffic ever leaves the namespace).
//!
//! A network namespace is an attribute of a *thread* on Linux. [`NetNs::new`]
//! has a short-lived thread call `unshare(CLONE_NEWNET)` and open its
//! `/proc/thread-self/ns/net`; that descriptor keeps the namespace alive.
//! Threads enter it with `setns(2)` ([`NetNs::spawn`]); threads they start
//! inherit it, and so do processes they spawn. The namespace is anonymous
//! (nothing under `/run/netns`): when the last descriptor, thread, socket
//! and device in it are gone, the kernel destroys it, so not even a killed
//! test leaves it behind. [`run_isolated`] checks that this process holds no
//! reference to it afterwards.
//!
//! Sysctls under `/proc/sys/net` and the tables under
//! `/proc/thread-self/net` are those of the namespace of the thread that
//! reads them (not `/proc/self/net`, which is the main thread's).

use std::fs::{self, File};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::panic::{self, AssertUnwindSafe};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use thiserror::Error;

/// Errors of creating, entering and checking a namespace.
#[derive(Debug, Error)]
pub enum NetnsError {
    #[error("unshare(CLONE_NEWNET) failed: {0} (needs root or CAP_SYS_ADMIN)")]
    Unshare(#[source] io::Error),
    #[error("setns(CLONE_NEWNET) failed: {0}")]
    Setns(#[source] io::Error),
    #[error("cannot open or inspect the namespace: {0}")]
    Open(#[source] io::Error),
    #[error("cannot start a thread: {0}")]
    Thread(#[source] io::Error),
    #[error("the namespace thread panicked before returning the namespace")]
    ThreadPanicked,
    #[error("cannot write sysctl {path}: {source}")]
    Sysctl {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("sysctl {path} reads {actual:?} after writing {wanted:?}")]
    SysctlMismatch {
        path: String,
        wanted: String,
        actual: String,
    },
    #[error("interfaces left in the namespace at the end: {0:?}")]
    DevicesLeft(Vec<String>),
    #[error("this process still refers to network namespace net:[{inode}] after it was released: {refs:?}")]
    Leaked { inode: u64, refs: Vec<String> },
    #[error("cannot set up the namespace: {0}")]
    Device(#[from] super::device::DeviceError),
}

/// An anonymous network namespace, kept alive by a descriptor.
#[derive(Debug)]
pub struct NetNs {
    fd: OwnedFd,
    inode: u64,
}

impl NetNs {
    /// A fresh, empty namespace (only `lo`, down). The calling thread stays
    /// where it is.
    pub fn new() -> Result<NetNs, NetnsError> {
        let handle = std::thread::Builder::new()
            .name("tcpfsm-unshare".into())
            .spawn(|| -> Result<OwnedFd, NetnsError> {
                // SAFETY: unshare(2) only changes this thread's namespaces.
                if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                    return Err(NetnsError::Unshare(io::Error::last_os_error()));
                }
                let f = File::open("/proc/thread-self/ns/net").map_err(NetnsError::Open)?;
                Ok(OwnedFd::from(f))
            })
            .map_err(NetnsError::Thread)?;
        let fd = handle.join().map_err(|_| NetnsError::ThreadPanicked)??;
        let inode = File::from(fd.try_clone().map_err(NetnsError::Open)?)
            .metadata()
            .map_err(NetnsError::Open)?
            .ino();
        Ok(NetNs { fd, inode })
    }

    /// The namespace's inode number (as in `net:[INODE]`).
    pub fn inode(&self) -> u64 {
        self.inode
    }

    /// Moves the *calling thread* into the namespace, for good. Meant for
    /// threads made for it ([`NetNs::spawn`] does this).
    pub fn enter_current_thread(&self) -> Result<(), NetnsError> {
        // SAFETY: setns(2) with a namespace descriptor we own.
        if unsafe { libc::setns(self.fd.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(NetnsError::Setns(io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Runs `f` on a new thread inside the namespace.
    pub fn spawn<T, F>(
        &self,
        name: &str,
        f: F,
    ) -> Result<JoinHandle<Result<T, NetnsError>>, NetnsError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let fd = self.fd.try_clone().map_err(NetnsError::Open)?;
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                // SAFETY: as in `enter_current_thread`.
                if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return Err(NetnsError::Setns(io::Error::last_os_error()));
                }
                drop(fd);
                Ok(f())
            })
            .map_err(NetnsError::Thread)
    }
}

/// The inode of the calling thread's network namespace.
pub fn current_inode() -> io::Result<u64> {
    Ok(fs::metadata("/proc/thread-self/ns/net")?.ino())
}

/// Writes a sysctl of the calling thread's namespace: `path` is relative to
/// `/proc/sys` (`net/ipv4/tcp_invalid_ratelimit`).
pub fn write_sysctl(path: &str, value: &str) -> Result<(), NetnsError> {
    let full = format!("/proc/sys/{path}");
    fs::write(&full, value).map_err(|source| NetnsError::Sysctl { path: full, source })
}

/// Reads a sysctl of the calling thread's namespace, trimmed.
pub fn read_sysctl(path: &str) -> Result<String, NetnsError> {
    let full = format!("/proc/sys/{path}");
    fs::read_to_string(&full)
        .map(|s| s.trim().to_string())
        .map_err(|source| NetnsError::Sysctl { path: full, source })
}

/// Writes a sysctl and reads it back.
pub fn set_sysctl_checked(path: &str, value: &str) -> Result<(), NetnsError> {
    write_sysctl(path, value)?;
    let actual = read_sysctl(path)?;
    if actual != value {
        return Err(NetnsError::SysctlMismatch {
            path: path.to_string(),
            wanted: value.to_string(),
            actual,
        });
    }
    Ok(())
}

/// Every place in this process that refers to namespace `net:[inode]`: a
/// thread inside it (`/proc/self/task/*/ns/net`) or an open descriptor of
/// it (`/proc/self/fd/*`). Kernel objects (sockets, devices) pin a
/// namespace too, but only through descriptors, which this sees.
pub fn process_references(inode: u64) -> Vec<String> {
    let target = format!("net:[{inode}]");
    let mut refs = Vec::new();
    if let Ok(tasks) = fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            let link = t.path().join("ns/net");
            if fs::read_link(&link).is_ok_and(|l| l.as_os_str() == target.as_str()) {
                refs.push(format!("thread {}", t.file_name().to_string_lossy()));
            }
        }
    }
    if let Ok(fds) = fs::read_dir("/proc/self/fd") {
        for f in fds.flatten() {
            if fs::read_link(f.path()).is_ok_and(|l| l.as_os_str() == target.as_str()) {
                refs.push(format!("fd {}", f.file_name().to_string_lossy()));
            }
        }
    }
    refs
}

/// Waits (up to `limit`: an exiting thread leaves its namespace a moment
/// after `join` returns) until nothing in this process refers to `inode`.
pub fn wait_released(inode: u64, limit: Duration) -> Result<(), NetnsError> {
    let start = Instant::now();
    loop {
        let refs = process_references(inode);
        if refs.is_empty() {
            return Ok(());
        }
        if start.elapsed() >= limit {
            return Err(NetnsError::Leaked { inode, refs });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Setup common to every isolated run, done inside the namespace: `lo` up
/// and `net.ipv4.tcp_invalid_ratelimit = 0`, so that Linux answers every
/// invalid segment (challenge ACKs, RFC 5961) instead of one per 500 ms.
pub fn prepare_namespace() -> Result<(), NetnsError> {
    super::device::loopback_up()?;
    set_sysctl_checked("net/ipv4/tcp_invalid_ratelimit", "0")
}

/// Runs `body` on a thread inside a fresh private namespace (prepared by
/// [`prepare_namespace`]) and cleans up, even when `body` panics:
/// * after `body`, only `lo` may be left in the namespace (every TUN device
///   `body` made was closed), else [`NetnsError::DevicesLeft`];
/// * after the namespace is released, no thread or descriptor of this
///   process may refer to it, else [`NetnsError::Leaked`].
///
/// A panic in `body` is re-raised after the checks (whose failures are then
/// printed, not returned).
pub fn run_isolated<T, F>(name: &str, body: F) -> Result<T, NetnsError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = NetNs::new()?;
    let inode = ns.inode();
    let handle = ns.spawn(name, move || -> Result<_, NetnsError> {
        prepare_namespace()?;
        let outcome = panic::catch_unwind(AssertUnwindSafe(body));
        // Closing a TUN descriptor unregisters the device, but the kernel
        // finishes that asynchronously (it waits for the last references,
        // `netdev_wait_allrefs`), which on a loaded machine can outlast the
        // close: give it the same 2 s the namespace release gets.
        let deadline = Instant::now() + Duration::from_secs(2);
        let left = loop {
            let left: Vec<String> = super::device::interface_names()
                .map_err(NetnsError::Open)?
                .into_iter()
                .filter(|n| n != "lo")
                .collect();
            if left.is_empty() || Instant::now() >= deadline {
                break left;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok((outcome, left))
    })?;
    let joined = handle.join();
    drop(ns);
    let released = wait_released(inode, Duration::from_secs(2));
    let (outcome, left) = match joined {
        Ok(Ok(Ok(v))) => v,
        Ok(Ok(Err(e))) | Ok(Err(e)) => {
            released?;
            return Err(e);
        }
        Err(p) => panic::resume_unwind(p),
    };
    match outcome {
        Ok(v) => {
            released?;
            if !left.is_empty() {
                return Err(NetnsError::DevicesLeft(left));
            }
            Ok(v)
        }
        Err(p) => {
            if let Err(e) = released {
                eprintln!("tcpfsm netns cleanup after a panic: {e}");
            }
            if !left.is_empty() {
                eprintln!("tcpfsm netns cleanup after a panic: devices left: {left:?}");
            }
            panic::resume_unwind(p)
        }
    }
}
