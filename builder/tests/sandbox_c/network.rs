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
    let out = c(Flavor::KernelOnly, ap);
    assert_eq!(out.assert_ok().text(), "ok:0");
    let restrictions = out.sandbox()["restrictions"].clone();
    let has = |name: &str| restrictions.as_array().unwrap().iter().any(|r| r == name);
    assert!(
        has("landlock_net") && has("seccomp") && !has("netns"),
        "networking on: the host's network, Landlock's port rules: {restrictions}"
    );
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
    assert_eq!(
        out.assert_ok().text(),
        "err:1",
        "seccomp refuses socket() with EPERM: policy_denied"
    );
    assert!(out.denials().is_empty(), "no in-process check ran");
    let out = p.run(
        Flavor::Checked,
        &pol,
        &input(b'K', &[b"127.0.0.1", port.as_bytes()]),
    );
    assert_eq!(
        out.assert_ok().text(),
        format!("socket errno:{}", libc::EPERM),
        "seccomp: no socket at all without networking"
    );
    // and were a socket to get through, it would be in a network namespace of its own
    let ours = fs_err::read_link("/proc/self/ns/net").unwrap();
    let out = p.run(Flavor::KernelOnly, &pol, b"N");
    let theirs = out.text();
    assert!(
        theirs.starts_with("net:[") && Path::new(&theirs) != ours,
        "a private network namespace: {theirs} vs {ours:?}"
    );
    let restrictions = out.sandbox()["restrictions"].clone();
    assert!(
        restrictions
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "netns"),
        "{restrictions}"
    );
    // and without a sandbox the same connect works
    let out = Launch::new(hostile(Flavor::Plain), None, p.root())
        .run(&input(b'c', &[b"127.0.0.1", port.as_bytes()]));
    assert_eq!(out.assert_ok().text(), "ok:0");
}
