//! Network attacks: ports outside the allowlist, networking turned off.

use crate::project::*;

#[test]
fn connect_is_limited_to_allowed_ports() {
    let p = Project::new();
    let allowed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (ap, op) = (
        allowed.local_addr().unwrap().port(),
        other.local_addr().unwrap().port(),
    );
    let mut pol = p.policy();
    pol.net_enabled = true;
    pol.allow_tcp = true;
    pol.hosts = vec![("127.0.0.1".into(), vec![u32::from(ap)])];
    let c = |flavor, port: u16| {
        p.run(
            flavor,
            &pol,
            &input(b'c', &[b"127.0.0.1", port.to_string().as_bytes()]),
        )
    };
    assert_eq!(c(Flavor::Checked, ap).assert_ok().text(), "ok:0");
    assert_eq!(c(Flavor::KernelOnly, ap).assert_ok().text(), "ok:0");
    let out = c(Flavor::Checked, op);
    assert_eq!(out.assert_ok().text(), "err:1");
    assert_eq!(
        out.denied("os.net.tcp_connect_v1", "net.allow_hosts"),
        format!("127.0.0.1:{op}")
    );
    assert_eq!(
        c(Flavor::KernelOnly, op).assert_ok().text(),
        "err:1",
        "Landlock refuses the port (EACCES)"
    );
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'K', &[b"127.0.0.1", op.to_string().as_bytes()]),
    );
    assert_eq!(out.assert_ok().text(), format!("errno:{}", libc::EACCES));
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'c', &[b"localhost", ap.to_string().as_bytes()]),
    );
    assert_eq!(out.assert_ok().text(), "err:1");
    assert_eq!(
        out.denied("os.net.tcp_connect_v1", "net.allow_dns"),
        format!("localhost:{ap}")
    );
    assert_eq!(
        p.run(Flavor::Checked, &pol, &input(b'c', &[b"", b"80"]))
            .text(),
        "err:2",
        "an empty host is an invalid request"
    );
}

#[test]
fn with_networking_off_nothing_connects() {
    let p = Project::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let pol = p.policy();
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'c', &[b"127.0.0.1", port.as_bytes()]),
    );
    assert_eq!(out.assert_ok().text(), "err:1");
    assert_eq!(
        out.denied("os.net.tcp_connect_v1", "net.enabled"),
        format!("127.0.0.1:{port}")
    );
    let out = p.run(
        Flavor::KernelOnly,
        &pol,
        &input(b'c', &[b"127.0.0.1", port.as_bytes()]),
    );
    let text = out.assert_ok().text();
    assert!(
        text == "err:6" || text == "err:1",
        "the private netns has no way out: {text}"
    );
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'K', &[b"127.0.0.1", port.as_bytes()]),
    );
    assert_eq!(
        out.assert_ok().text(),
        format!("errno:{}", libc::EACCES),
        "Landlock: no TCP port is granted"
    );
    let ours = fs_err::read_link("/proc/self/ns/net").unwrap();
    let theirs = p.run(Flavor::KernelOnly, &pol, b"N").text();
    assert!(
        theirs.starts_with("net:[") && Path::new(&theirs) != ours,
        "a private network namespace: {theirs} vs {ours:?}"
    );
    // and without a sandbox the same connect works
    let out = Launch::new(hostile(Flavor::Plain), None, p.root())
        .run(&input(b'c', &[b"127.0.0.1", port.as_bytes()]));
    assert_eq!(out.assert_ok().text(), "ok:0");
}
