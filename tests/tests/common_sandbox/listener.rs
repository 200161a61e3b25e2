//! A TCP listener on 127.0.0.1 that counts the connections it accepts, so a test can tell whether
//! a sandboxed program reached it. The accept thread stops when the listener is dropped.

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A loopback listener on a free port, counting accepted connections.
#[derive(Debug)]
pub struct LoopbackListener {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackListener {
    /// Binds 127.0.0.1 on a port the kernel picks and starts accepting.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (accepted, stop) = (accepted.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        // The connection is closed at once: only the fact that it arrived matters.
                        Ok(_) => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Ok(Self {
            addr,
            accepted,
            stop,
            thread: Some(thread),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections accepted so far. Waits briefly first, so that a connection the program made
    /// just before it exited is counted.
    pub fn accepted(&self) -> usize {
        std::thread::sleep(Duration::from_millis(50));
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for LoopbackListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// Run by the sandbox_walkthrough binary; the attack harness has no libtest, so there they are unused.
#[cfg(test)]
#[allow(unused_imports)]
mod tests {
    use super::*;

    #[test]
    fn counts_real_connections() {
        let listener = LoopbackListener::start().unwrap();
        assert_eq!(listener.accepted(), 0);
        drop(std::net::TcpStream::connect(("127.0.0.1", listener.port())).unwrap());
        assert_eq!(listener.accepted(), 1);
    }
}
