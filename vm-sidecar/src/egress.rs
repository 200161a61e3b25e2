//! The host half of a guest's network path: the egress proxy (docs/vm.md, "The network path").
//! The guest has no network device. Its agent relays TCP streams over the virtio-serial port
//! `x07.net`; this proxy, run by x07 for the one job, opens a stream only to an address and port
//! the policy allows — a listed IP, or an address x07 itself resolved on the host for a listed
//! name — and refuses everything else. The guest never chooses an address for a name: its
//! /etc/hosts holds what the host resolved.
//!
//! Frames (both ways): u32 stream id, u8 kind, u32 payload length (little endian), payload. Each
//! direction of a stream may have at most [`WINDOW`] bytes in flight that the receiver has not
//! acknowledged with a CREDIT, so neither side buffers more than that per stream.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs as _};
use std::os::fd::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use x07_spec::policy::net::Net;

/// Bytes one direction of a stream may have unacknowledged.
pub const WINDOW: u32 = 256 * 1024;
/// Largest DATA payload sent.
const CHUNK: usize = 32 * 1024;
/// Largest frame payload accepted.
const MAX_FRAME: u32 = 64 * 1024;
/// Most streams open at once.
const MAX_STREAMS: usize = 256;
/// How long opening a destination may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const OPEN: u8 = 1;
const DATA: u8 = 2;
const EOF: u8 = 3;
const CLOSE: u8 = 4;
const CREDIT: u8 = 5;
const OPENED: u8 = 16;

/// OPENED's refusal reasons.
const REFUSED_BY_POLICY: u8 = 1;
const UNREACHABLE: u8 = 2;

/// Where a job's streams may go: the policy's allowlist with every listed name resolved on the
/// host, once, when the job starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressRules {
    /// Every (address, port) a stream may open.
    allowed: BTreeSet<(IpAddr, u16)>,
    /// The guest's /etc/hosts: each listed name with the addresses the host resolved for it.
    names: BTreeMap<String, BTreeSet<IpAddr>>,
    /// For an address a listed name resolved to, on that name's port: the name's other addresses,
    /// tried in turn when it does not answer (the guest's connect has already succeeded, so the
    /// proxy falls back as the program's own connect would have).
    fallbacks: BTreeMap<(IpAddr, u16), BTreeSet<IpAddr>>,
    /// Entries that are neither a name nor one address (CIDR, ranges): not matched here, as the
    /// runtime does not match them either.
    pub unmatched: Vec<String>,
}

impl EgressRules {
    /// The rules of a policy's `net` section, or `None` when it opens no TCP stream at all.
    /// Names are resolved on the host (only with `allow_dns`); a name that does not resolve is
    /// left out, so the guest sees it as unknown.
    pub fn from_policy(net: &Net) -> Option<Self> {
        if !net.enabled || !net.allow_tcp {
            return None;
        }
        let mut rules = Self::default();
        for rule in &net.allow_hosts {
            let host = rule.host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = host.parse::<IpAddr>() {
                rules.allowed.extend(rule.ports.iter().map(|&p| (ip, p)));
                continue;
            }
            if host.contains('/')
                || host.contains('-') && host.split('-').all(|h| h.parse::<IpAddr>().is_ok())
            {
                rules.unmatched.push(rule.host.clone());
                continue;
            }
            if !net.allow_dns {
                rules.unmatched.push(rule.host.clone());
                continue;
            }
            let name = host.to_ascii_lowercase();
            for &port in &rule.ports {
                let Ok(addrs) = (name.as_str(), port).to_socket_addrs() else {
                    tracing::debug!(name, "an allowed name does not resolve on the host");
                    continue;
                };
                let ips: BTreeSet<IpAddr> = addrs.map(|a| canonical(a.ip())).collect();
                for &ip in &ips {
                    rules.allowed.insert((ip, port));
                    rules.names.entry(name.clone()).or_default().insert(ip);
                    let others = ips.iter().copied().filter(|o| *o != ip);
                    rules
                        .fallbacks
                        .entry((ip, port))
                        .or_default()
                        .extend(others);
                }
            }
        }
        Some(rules)
    }

    /// Whether a stream may open `addr`:`port`.
    pub fn allows(&self, addr: IpAddr, port: u16) -> bool {
        self.allowed.contains(&(canonical(addr), port))
    }

    /// Where a stream to an allowed `target` is opened, in order: the target, then the other
    /// addresses of the name it came from.
    fn candidates(&self, target: SocketAddr) -> Vec<SocketAddr> {
        let mut out = vec![target];
        if let Some(others) = self.fallbacks.get(&(target.ip(), target.port())) {
            out.extend(others.iter().map(|ip| SocketAddr::new(*ip, target.port())));
        }
        out
    }

    /// The guest's directives (`/x07/in/net`, read by the agent): its /etc/hosts lines, the
    /// addresses made local to the guest, the ports its relay listens on.
    pub fn guest_config(&self) -> String {
        let mut out = String::new();
        for (name, addrs) in &self.names {
            for a in addrs {
                out.push_str(&format!("hosts {a} {name}\n"));
            }
        }
        let addrs: BTreeSet<IpAddr> = self.allowed.iter().map(|(a, _)| *a).collect();
        for a in addrs {
            out.push_str(&format!("local {a}\n"));
        }
        let ports: BTreeSet<u16> = self.allowed.iter().map(|(_, p)| *p).collect();
        for p in ports {
            out.push_str(&format!("listen {p}\n"));
        }
        out
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// What the proxy did for one job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressStats {
    /// Streams opened, as `addr:port`.
    pub opened: Vec<String>,
    /// Streams refused, as `addr:port` (the policy does not allow them).
    pub refused: Vec<String>,
}

type Writer = Arc<Mutex<File>>;

/// One stream's host side: bytes for the destination, and how many the guest still accepts.
struct Stream {
    to_target: mpsc::Sender<ToTarget>,
    credit: Arc<(Mutex<Credit>, Condvar)>,
}

#[derive(Default)]
struct Credit {
    bytes: u32,
    closed: bool,
}

enum ToTarget {
    Data(Vec<u8>),
    Eof,
    Close,
}

/// A running egress proxy for one guest.
pub struct Egress {
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
    stats: Arc<Mutex<EgressStats>>,
    targets: Arc<Mutex<Vec<TcpStream>>>,
}

impl std::fmt::Debug for Egress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Egress").finish_non_exhaustive()
    }
}

fn mkfifo(path: &Path) -> std::io::Result<()> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(std::io::Error::other)?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl Egress {
    /// Starts the proxy for a guest whose state directory is `state`: makes the port's FIFOs
    /// there and returns the proxy with the qemu arguments that attach the port `x07.net` to them.
    pub fn start(state: &Path, rules: EgressRules) -> std::io::Result<(Self, Vec<String>)> {
        let base: PathBuf = state.join("net");
        let to_guest = base.with_extension("in");
        let from_guest = base.with_extension("out");
        mkfifo(&to_guest)?;
        mkfifo(&from_guest)?;
        // read-write opens never wait for the other end (qemu opens both the same way)
        let open = |p: &Path| {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(p)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        };
        let writer: Writer = Arc::new(Mutex::new(open(&to_guest)?));
        let reader_file = open(&from_guest)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new(EgressStats::default()));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let proxy = Proxy {
            rules: Arc::new(rules),
            writer,
            stats: stats.clone(),
            targets: targets.clone(),
            streams: Arc::new(Mutex::new(HashMap::new())),
        };
        let stop_reader = stop.clone();
        let reader = std::thread::spawn(move || proxy.read_loop(reader_file, &stop_reader));
        let args = vec![
            "-chardev".to_string(),
            format!("pipe,id=x07net,path={}", base.display()),
            "-device".to_string(),
            "virtserialport,chardev=x07net,name=x07.net".to_string(),
        ];
        Ok((
            Self {
                stop,
                reader: Some(reader),
                stats,
                targets,
            },
            args,
        ))
    }

    /// Stops the proxy once the guest is gone: every stream to a destination is shut down.
    pub fn finish(mut self) -> EgressStats {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        for t in self.targets.lock().expect("not poisoned").drain(..) {
            let _ = t.shutdown(Shutdown::Both);
        }
        self.stats.lock().expect("not poisoned").clone()
    }
}

#[derive(Clone)]
struct Proxy {
    rules: Arc<EgressRules>,
    writer: Writer,
    stats: Arc<Mutex<EgressStats>>,
    targets: Arc<Mutex<Vec<TcpStream>>>,
    streams: Arc<Mutex<HashMap<u32, Stream>>>,
}

fn send(writer: &Writer, id: u32, kind: u8, payload: &[u8]) -> bool {
    let mut frame = Vec::with_capacity(9 + payload.len());
    frame.extend_from_slice(&id.to_le_bytes());
    frame.push(kind);
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(payload);
    writer
        .lock()
        .expect("not poisoned")
        .write_all(&frame)
        .is_ok()
}

/// Waits until `fd` is readable or 100 ms pass; whether it is readable.
fn readable(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, 100) > 0 }
}

impl Proxy {
    fn read_loop(self, mut from_guest: File, stop: &AtomicBool) {
        let mut buf: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        while !stop.load(Ordering::SeqCst) {
            if !readable(from_guest.as_raw_fd()) {
                continue;
            }
            let n = match from_guest.read(&mut chunk) {
                Ok(0) => continue,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            buf.extend_from_slice(&chunk[..n]);
            let mut at = 0;
            while buf.len() - at >= 9 {
                let id = u32::from_le_bytes(buf[at..at + 4].try_into().expect("4 bytes"));
                let kind = buf[at + 4];
                let len = u32::from_le_bytes(buf[at + 5..at + 9].try_into().expect("4 bytes"));
                if len > MAX_FRAME {
                    tracing::warn!(
                        len,
                        "the guest sent an oversized frame; its network path is closed"
                    );
                    return;
                }
                if buf.len() - at < 9 + len as usize {
                    break;
                }
                let payload = buf[at + 9..at + 9 + len as usize].to_vec();
                self.from_guest(id, kind, payload);
                at += 9 + len as usize;
            }
            buf.drain(..at);
        }
        // the guest is gone: every stream ends
        for (_, s) in self.streams.lock().expect("not poisoned").drain() {
            let _ = s.to_target.send(ToTarget::Close);
            let (lock, cv) = &*s.credit;
            lock.lock().expect("not poisoned").closed = true;
            cv.notify_all();
        }
    }

    fn from_guest(&self, id: u32, kind: u8, payload: Vec<u8>) {
        match kind {
            OPEN => self.open(id, &payload),
            DATA | EOF | CLOSE => {
                let mut streams = self.streams.lock().expect("not poisoned");
                let Some(s) = streams.get(&id) else { return };
                let msg = match kind {
                    DATA => ToTarget::Data(payload),
                    EOF => ToTarget::Eof,
                    _ => ToTarget::Close,
                };
                let _ = s.to_target.send(msg);
                if kind == CLOSE {
                    if let Some(s) = streams.remove(&id) {
                        let (lock, cv) = &*s.credit;
                        lock.lock().expect("not poisoned").closed = true;
                        cv.notify_all();
                    }
                }
            }
            CREDIT if payload.len() == 4 => {
                let streams = self.streams.lock().expect("not poisoned");
                if let Some(s) = streams.get(&id) {
                    let n = u32::from_le_bytes(payload[..4].try_into().expect("4 bytes"));
                    let (lock, cv) = &*s.credit;
                    let mut c = lock.lock().expect("not poisoned");
                    c.bytes = c.bytes.saturating_add(n).min(WINDOW);
                    cv.notify_all();
                }
            }
            _ => {}
        }
    }

    /// OPEN: u8 family, the address, u16 port (network order).
    fn open(&self, id: u32, p: &[u8]) {
        let addr = match (p.first(), p.len()) {
            (Some(4), 7) => Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(p[1], p[2], p[3], p[4])),
                u16::from_be_bytes([p[5], p[6]]),
            )),
            (Some(6), 19) => {
                let octets: [u8; 16] = p[1..17].try_into().expect("16 bytes");
                Some(SocketAddr::new(
                    IpAddr::V6(Ipv6Addr::from(octets)),
                    u16::from_be_bytes([p[17], p[18]]),
                ))
            }
            _ => None,
        };
        let Some(addr) = addr else {
            send(&self.writer, id, OPENED, &[REFUSED_BY_POLICY]);
            return;
        };
        let target = SocketAddr::new(canonical(addr.ip()), addr.port());
        let full = self.streams.lock().expect("not poisoned").len() >= MAX_STREAMS;
        if full || !self.rules.allows(target.ip(), target.port()) {
            tracing::info!(%target, "egress refused");
            self.stats
                .lock()
                .expect("not poisoned")
                .refused
                .push(target.to_string());
            send(&self.writer, id, OPENED, &[REFUSED_BY_POLICY]);
            return;
        }
        let (tx, rx) = mpsc::channel();
        let credit = Arc::new((
            Mutex::new(Credit {
                bytes: WINDOW,
                closed: false,
            }),
            Condvar::new(),
        ));
        self.streams.lock().expect("not poisoned").insert(
            id,
            Stream {
                to_target: tx,
                credit: credit.clone(),
            },
        );
        let proxy = self.clone();
        std::thread::spawn(move || proxy.connect(id, target, rx, credit));
    }

    /// Opens the destination and relays both ways until either side ends.
    fn connect(
        self,
        id: u32,
        target: SocketAddr,
        rx: mpsc::Receiver<ToTarget>,
        credit: Arc<(Mutex<Credit>, Condvar)>,
    ) {
        let mut last_error = None;
        let mut stream = None;
        for candidate in self.rules.candidates(target) {
            match TcpStream::connect_timeout(&candidate, CONNECT_TIMEOUT) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let stream = match stream {
            Some(s) => s,
            None => {
                let e = last_error.map(|e| e.to_string()).unwrap_or_default();
                tracing::info!(%target, error = %e, "egress destination unreachable");
                self.streams.lock().expect("not poisoned").remove(&id);
                send(&self.writer, id, OPENED, &[UNREACHABLE]);
                return;
            }
        };
        self.stats
            .lock()
            .expect("not poisoned")
            .opened
            .push(target.to_string());
        if let Ok(c) = stream.try_clone() {
            self.targets.lock().expect("not poisoned").push(c);
        }
        if !send(&self.writer, id, OPENED, &[0]) {
            return;
        }
        let Ok(mut reading) = stream.try_clone() else {
            return;
        };
        let writer = self.writer.clone();
        let credit_r = credit.clone();
        // destination -> guest, within the guest's credit
        let down = std::thread::spawn(move || {
            let mut buf = vec![0u8; CHUNK];
            loop {
                let want = {
                    let (lock, cv) = &*credit_r;
                    let mut c = lock.lock().expect("not poisoned");
                    while c.bytes == 0 && !c.closed {
                        c = cv.wait(c).expect("not poisoned");
                    }
                    if c.closed {
                        return;
                    }
                    (c.bytes as usize).min(CHUNK)
                };
                match reading.read(&mut buf[..want]) {
                    Ok(0) => {
                        send(&writer, id, EOF, &[]);
                        return;
                    }
                    Ok(n) => {
                        credit_r.0.lock().expect("not poisoned").bytes -= n as u32;
                        if !send(&writer, id, DATA, &buf[..n]) {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        send(&writer, id, CLOSE, &[]);
                        return;
                    }
                }
            }
        });
        // guest -> destination; each write acknowledged with a CREDIT
        let mut writing = stream;
        for msg in rx {
            match msg {
                ToTarget::Data(bytes) => {
                    if writing.write_all(&bytes).is_err() {
                        send(&self.writer, id, CLOSE, &[]);
                        break;
                    }
                    send(
                        &self.writer,
                        id,
                        CREDIT,
                        &(bytes.len() as u32).to_le_bytes(),
                    );
                }
                ToTarget::Eof => {
                    let _ = writing.shutdown(Shutdown::Write);
                }
                ToTarget::Close => break,
            }
        }
        let _ = writing.shutdown(Shutdown::Both);
        {
            let (lock, cv) = &*credit;
            lock.lock().expect("not poisoned").closed = true;
            cv.notify_all();
        }
        let _ = down.join();
        self.streams.lock().expect("not poisoned").remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use x07_spec::policy::net::HostRule;

    fn net(hosts: &[(&str, &[u16])]) -> Net {
        Net {
            enabled: true,
            allow_dns: true,
            allow_tcp: true,
            allow_udp: false,
            allow_hosts: hosts
                .iter()
                .map(|(h, p)| HostRule {
                    host: h.to_string(),
                    ports: p.to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn addresses_and_resolved_names_are_allowed_on_their_ports_only() {
        let rules =
            EgressRules::from_policy(&net(&[("127.0.0.1", &[80, 81]), ("localhost", &[90])]))
                .expect("tcp is on");
        assert!(rules.allows("127.0.0.1".parse().unwrap(), 80));
        assert!(
            rules.allows("127.0.0.1".parse().unwrap(), 90),
            "localhost resolves to it"
        );
        assert!(rules.allows("::ffff:127.0.0.1".parse().unwrap(), 81));
        assert!(!rules.allows("127.0.0.1".parse().unwrap(), 82));
        assert!(!rules.allows("127.0.0.2".parse().unwrap(), 80));
        let config = rules.guest_config();
        assert!(config.contains("hosts 127.0.0.1 localhost\n"), "{config}");
        assert!(config.contains("local 127.0.0.1\n"), "{config}");
        assert!(
            config.contains("listen 80\nlisten 81\nlisten 90\n"),
            "{config}"
        );
    }

    #[test]
    fn ranges_are_reported_unmatched_and_no_tcp_means_no_rules() {
        let rules =
            EgressRules::from_policy(&net(&[("10.0.0.0/8", &[80]), ("10.0.0.1-10.0.0.9", &[80])]))
                .expect("tcp is on");
        assert_eq!(rules.unmatched, ["10.0.0.0/8", "10.0.0.1-10.0.0.9"]);
        assert!(!rules.allows("10.0.0.1".parse().unwrap(), 80));
        let mut off = net(&[("127.0.0.1", &[80])]);
        off.allow_tcp = false;
        assert_eq!(EgressRules::from_policy(&off), None);
    }
}
