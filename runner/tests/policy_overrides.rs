//! `x07 run` policy overrides: host spec syntax (hostile input is refused with a clear message),
//! every merge rule of run-policy.md §3, the preconditions, and the derived policy file (name,
//! content, idempotence).

use std::path::{Path, PathBuf};

use x07_runner::policy::derive::{derivation_hex8, derived_policy_id, GENERATED_DIR};
use x07_runner::policy::host_spec::{host_file_lines, parse_allow, parse_deny, DenyPorts};
use x07_runner::policy::{
    derive_policy, DeriveError, DeriveRequest, OverrideError, PolicyOverrides, TOOLCHAIN_VERSION,
};
use x07_spec::policy::{HostRule, Template};
use x07_spec::{Policy, PolicyId, WriteOutcome};

fn rule(host: &str, ports: &[u16]) -> HostRule {
    HostRule {
        host: host.into(),
        ports: ports.to_vec(),
    }
}

fn hosts(p: &Policy) -> Vec<(String, Vec<u16>)> {
    p.net
        .allow_hosts
        .iter()
        .map(|r| (r.host.clone(), r.ports.clone()))
        .collect()
}

fn h(host: &str, ports: &[u16]) -> (String, Vec<u16>) {
    (host.to_string(), ports.to_vec())
}

fn allow(specs: &[&str]) -> PolicyOverrides {
    PolicyOverrides {
        allow_hosts: specs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn with_deny(mut o: PolicyOverrides, specs: &[&str]) -> PolicyOverrides {
    o.deny_hosts = specs.iter().map(|s| s.to_string()).collect();
    o
}

/// Checks preconditions, normalises (host files relative to `root`) and applies.
fn merge_in(root: &Path, base: &Policy, o: &PolicyOverrides) -> Result<Policy, OverrideError> {
    o.check_preconditions(base)?;
    o.normalize(root)?.apply(base)
}

fn merge(base: &Policy, o: &PolicyOverrides) -> Result<Policy, OverrideError> {
    merge_in(Path::new("/nonexistent"), base, o)
}

fn http() -> Policy {
    Template::HttpClient.policy()
}

/// A net-enabled base without DNS, with two hosts already allowed.
fn base_with_hosts() -> Policy {
    let mut p = http();
    p.net.allow_dns = false;
    p.net.allow_hosts = vec![rule("Zeta.example", &[8443]), rule("10.0.0.1", &[80, 22])];
    p
}

// ---- host spec syntax ----------------------------------------------------------------------------

#[test]
fn well_formed_specs_parse_to_lowercase_hosts_and_port_sets() {
    let s = parse_allow("EXAMPLE.com:443,80,443").unwrap();
    assert_eq!(s.host.as_str(), "example.com");
    assert_eq!(s.ports.iter().copied().collect::<Vec<_>>(), vec![80, 443]);
    for (spec, host) in [
        ("[::1]:443", "::1"),
        ("[2001:DB8::/32]:443", "2001:db8::/32"),
        ("10.0.0.0/8:443", "10.0.0.0/8"),
        ("10.0.0.1-10.0.0.9:80", "10.0.0.1-10.0.0.9"),
        ("xn--bcher-kva.example:443", "xn--bcher-kva.example"),
        ("localhost:8080", "localhost"),
        ("_svc.example.com:1", "_svc.example.com"),
        ("127.0.0.1:65535", "127.0.0.1"),
    ] {
        assert_eq!(
            parse_allow(spec)
                .unwrap_or_else(|e| panic!("{spec}: {e}"))
                .host
                .as_str(),
            host
        );
    }
    let ports64 = format!(
        "a.com:{}",
        (1..=64)
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(parse_allow(&ports64).unwrap().ports.len(), 64);
    assert_eq!(parse_deny("Example.com:*").unwrap().ports, DenyPorts::All);
    assert_eq!(parse_deny("[::1]:*").unwrap().host.as_str(), "::1");
    assert_eq!(
        parse_deny("a.com:80,81").unwrap().ports,
        DenyPorts::Some([80, 81].into_iter().collect())
    );
}

#[test]
fn hostile_specs_are_refused_with_a_clear_message() {
    let long_host = format!("{}:443", "a".repeat(256));
    let long_label = format!("{}.com:443", "a".repeat(64));
    let ports65 = format!(
        "a.com:{}",
        (1..=65)
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let cases: Vec<(&str, &str)> = vec![
        ("", "is empty"),
        (" a.com:443", "whitespace"),
        ("a.com:443 ", "whitespace"),
        ("a.com :443", "whitespace"),
        ("a.com:443\n", "whitespace"),
        ("a.com:443;rm -rf /", "whitespace"),
        ("a.com:443;b.com:80", "`;`"),
        ("a.com\u{0}:443", "control"),
        ("a.com\u{7}:443", "control"),
        ("a.com", "no `:PORT`"),
        (":443", "host is empty"),
        ("a.com:", "empty port"),
        ("a.com:443,", "empty port"),
        ("a.com:,443", "empty port"),
        ("a.com:443,,80", "empty port"),
        ("a.com:0", "out of range"),
        ("a.com:65536", "out of range"),
        ("a.com:99999999", "not a port number"),
        ("a.com:+80", "not a port number"),
        ("a.com:0x50", "not a port number"),
        ("a.com:-1", "not a port number"),
        ("a.com:*", "only valid for --deny-host"),
        ("a.com:80,*", "must stand alone"),
        ("*.a.com:443", "wildcards are not supported"),
        ("*:443", "wildcards are not supported"),
        ("a.com:443:80", "more than one `:`"),
        ("a::b:443", "more than one `:`"),
        ("::1:443", "in brackets"),
        ("[::1]443", "`:PORT` right after `]`"),
        ("[::1:443", "without a closing `]`"),
        ("[]:443", "host is empty"),
        ("[a.com]:443", "must hold an IPv6 address"),
        ("[::1%eth0]:443", "must hold an IPv6 address"),
        ("[::1]:", "empty port"),
        ("[::1]/64:443", "`:PORT` right after `]`"),
        (&long_host, "at most 255"),
        (&long_label, "longer than 63"),
        (&ports65, "at most 64"),
        ("exämple.com:443", "xn--"),
        ("a,b.com:443", "must not contain ','"),
        ("user@a.com:443", "must not contain '@'"),
        ("http://a.com:443", "more than one `:`"),
        ("a.com/path:443", "not a CIDR"),
        ("10.0.0.0/33:443", "not a CIDR"),
        ("10.0.0.0/:443", "not a CIDR"),
        ("a..com:443", "empty label"),
        (".a.com:443", "empty label"),
        ("a.com.:443", "empty label"),
        ("-a.com:443", "starts or ends with `-`"),
    ];
    assert!(cases.len() >= 40);
    for (spec, needle) in &cases {
        let err = parse_allow(spec).expect_err(spec);
        let text = err.to_string();
        assert!(
            text.contains(needle),
            "{spec:?}: `{text}` should mention {needle:?}"
        );
        assert!(
            text.starts_with(&format!("`{}`", spec.escape_debug())),
            "{text}"
        );
    }
    // The same syntax rules hold for deny specs; only `*` differs.
    for spec in [
        "a.com",
        "a.com:",
        "a.com:0",
        "*.a.com:*",
        "a.com:*,80",
        "::1:*",
        "a b:*",
    ] {
        assert!(parse_deny(spec).is_err(), "{spec}");
    }
}

#[test]
fn host_files_take_one_spec_per_line_with_comments_and_blank_lines() {
    let text =
        "# allowlist\n\nexample.com:443   # the API\r\n   example.com:80\n#example.org:1\n \t \n";
    let lines = host_file_lines(text);
    let got: Vec<(usize, &str)> = lines.iter().map(|l| (l.line, l.spec.as_str())).collect();
    assert_eq!(got, vec![(3, "example.com:443"), (4, "example.com:80")]);
}

// ---- merge rules ---------------------------------------------------------------------------------

#[test]
fn hosts_are_lowercased_and_ports_unioned_per_host() {
    let p = merge(
        &http(),
        &allow(&["Example.COM:443", "example.com:80,443", "EXAMPLE.com:8080"]),
    )
    .unwrap();
    assert_eq!(hosts(&p), vec![h("example.com", &[80, 443, 8080])]);
    // With a base entry for the same host (written in another case), the ports join it.
    let p = merge(&base_with_hosts(), &allow(&["zeta.EXAMPLE:443"])).unwrap();
    assert_eq!(
        hosts(&p),
        vec![h("zeta.example", &[443, 8443]), h("10.0.0.1", &[22, 80])]
    );
}

#[test]
fn base_order_is_kept_and_new_hosts_are_appended_in_the_order_first_named() {
    let p = merge(
        &base_with_hosts(),
        &allow(&["c.example:1", "b.example:2", "c.example:3", "a.example:4"]),
    )
    .unwrap();
    let names: Vec<String> = hosts(&p).into_iter().map(|(h, _)| h).collect();
    assert_eq!(
        names,
        vec![
            "zeta.example",
            "10.0.0.1",
            "c.example",
            "b.example",
            "a.example"
        ]
    );
}

#[test]
fn host_files_come_before_flags_and_report_their_line() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(dir.path().join(".x07")).unwrap();
    fs_err::write(
        dir.path().join(".x07/allow.txt"),
        "# dev hosts\nfile.example:443\n\nflag.example:80 # also a flag\n",
    )
    .unwrap();
    let o = PolicyOverrides {
        allow_hosts: vec!["flag.example:443".into()],
        allow_host_files: vec![PathBuf::from(".x07/allow.txt")],
        ..Default::default()
    };
    let p = merge_in(dir.path(), &http(), &o).unwrap();
    assert_eq!(
        hosts(&p),
        vec![h("file.example", &[443]), h("flag.example", &[80, 443])]
    );

    fs_err::write(
        dir.path().join("deny.txt"),
        "flag.example:80\nfile.example:*\n",
    )
    .unwrap();
    let o = PolicyOverrides {
        deny_host_files: vec!["deny.txt".into()],
        ..o
    };
    assert_eq!(
        hosts(&merge_in(dir.path(), &http(), &o).unwrap()),
        vec![h("flag.example", &[443])]
    );

    fs_err::write(
        dir.path().join("bad.txt"),
        "ok.example:443\n\nbad.example:*\n",
    )
    .unwrap();
    let o = PolicyOverrides {
        allow_host_files: vec!["bad.txt".into()],
        ..Default::default()
    };
    let err = merge_in(dir.path(), &http(), &o).unwrap_err();
    assert_eq!(err.code(), "X07-POLICY-0005");
    let text = err.to_string();
    assert!(
        text.contains("bad.txt:3:") && text.contains("only valid for --deny-host"),
        "{text}"
    );

    let o = PolicyOverrides {
        allow_host_files: vec!["missing.txt".into()],
        ..Default::default()
    };
    let err = merge_in(dir.path(), &http(), &o).unwrap_err();
    assert_eq!((err.code(), err.exit_code()), ("X07-POLICY-0006", 2));
    assert!(err.to_string().contains("missing.txt"), "{err}");
    fs_err::write(dir.path().join("binary.txt"), [0xffu8, 0xfe, b'\n']).unwrap();
    let o = PolicyOverrides {
        allow_host_files: vec!["binary.txt".into()],
        ..Default::default()
    };
    assert!(merge_in(dir.path(), &http(), &o)
        .unwrap_err()
        .to_string()
        .contains("not UTF-8"));
}

#[test]
fn deny_wins_whatever_the_order() {
    // A port list removes those ports.
    let p = merge(
        &http(),
        &with_deny(allow(&["example.com:80,443"]), &["example.com:80"]),
    )
    .unwrap();
    assert_eq!(hosts(&p), vec![h("example.com", &[443])]);
    // `*` drops the host, base hosts included.
    let p = merge(
        &base_with_hosts(),
        &with_deny(
            allow(&["example.com:443"]),
            &["EXAMPLE.com:*", "zeta.example:*"],
        ),
    )
    .unwrap();
    assert_eq!(hosts(&p), vec![h("10.0.0.1", &[22, 80])]);
    // A host left without ports is dropped.
    let p = merge(
        &base_with_hosts(),
        &with_deny(PolicyOverrides::default(), &["10.0.0.1:22,80"]),
    )
    .unwrap();
    assert_eq!(hosts(&p), vec![h("zeta.example", &[8443])]);
    // `*` absorbs port denies given before or after it.
    let p = merge(
        &http(),
        &with_deny(
            allow(&["a.example:1,2"]),
            &["a.example:1", "a.example:*", "a.example:2"],
        ),
    )
    .unwrap();
    assert_eq!(hosts(&p), vec![]);
    // Denying a host that is not allowed changes nothing.
    let p = merge(
        &base_with_hosts(),
        &with_deny(
            PolicyOverrides::default(),
            &["other.example:*", "zeta.example:1"],
        ),
    )
    .unwrap();
    assert_eq!(
        hosts(&p),
        vec![h("zeta.example", &[8443]), h("10.0.0.1", &[22, 80])]
    );
}

#[test]
fn allow_dns_is_turned_on_only_for_added_dns_names() {
    let base = base_with_hosts();
    assert!(
        merge(&base, &allow(&["api.example:443"]))
            .unwrap()
            .net
            .allow_dns
    );
    for ip_only in [
        "10.0.0.2:443",
        "[::1]:443",
        "[fe80::1]:443",
        "192.168.0.0/16:80",
        "10.0.0.1-10.0.0.5:80",
    ] {
        assert!(
            !merge(&base, &allow(&[ip_only])).unwrap().net.allow_dns,
            "{ip_only} needs no DNS"
        );
    }
    // A name that is denied again does not turn DNS on; the base's own names do not either.
    assert!(
        !merge(
            &base,
            &with_deny(allow(&["api.example:443"]), &["api.example:*"])
        )
        .unwrap()
        .net
        .allow_dns
    );
    assert!(
        !merge(
            &base,
            &with_deny(PolicyOverrides::default(), &["10.0.0.1:22"])
        )
        .unwrap()
        .net
        .allow_dns
    );
    // A base with DNS on keeps it.
    assert!(
        merge(&http(), &allow(&["10.0.0.2:443"]))
            .unwrap()
            .net
            .allow_dns
    );
}

#[test]
fn roots_are_appended_without_duplicates() {
    let o = PolicyOverrides {
        allow_read_roots: vec![
            "data".into(),
            "data/".into(),
            ".".into(),
            "/srv/shared".into(),
        ],
        allow_write_roots: vec!["tmp".into(), "out/".into(), "tmp".into()],
        ..Default::default()
    };
    let p = merge(&Template::Cli.policy(), &o).unwrap();
    assert_eq!(p.fs.read_roots, vec![".", "data", "/srv/shared"]);
    assert_eq!(p.fs.write_roots, vec!["out", "tmp"]);
    for (root, needle) in [("", "must not be empty"), ("a;b", "';'"), ("a\nb", "'\\n'")] {
        let o = PolicyOverrides {
            allow_write_roots: vec![root.into()],
            ..Default::default()
        };
        let err = merge(&Template::Cli.policy(), &o).unwrap_err();
        assert_eq!(err.code(), "X07-POLICY-0007");
        assert!(
            err.to_string().contains("--allow-write-root") && err.to_string().contains(needle),
            "{err}"
        );
    }
}

#[test]
fn limits_hold_after_the_merge() {
    let ports = |range: std::ops::RangeInclusive<u16>| {
        range.map(|p| p.to_string()).collect::<Vec<_>>().join(",")
    };
    let mut base = http();
    base.net.allow_hosts = vec![rule("a.example", &(1..=60).collect::<Vec<_>>())];
    let ok = merge(&base, &allow(&[&format!("a.example:{}", ports(61..=64))])).unwrap();
    assert_eq!(ok.net.allow_hosts[0].ports.len(), 64);
    let err = merge(&base, &allow(&[&format!("a.example:{}", ports(61..=65))])).unwrap_err();
    assert_eq!((err.code(), err.exit_code()), ("X07-POLICY-0009", 2));
    assert!(
        err.to_string()
            .contains("the ports of `a.example` would hold 65 entries; at most 64"),
        "{err}"
    );
    // Denying brings it back under the limit.
    let fine = with_deny(
        allow(&[&format!("a.example:{}", ports(61..=65))]),
        &["a.example:1"],
    );
    assert_eq!(
        merge(&base, &fine).unwrap().net.allow_hosts[0].ports.len(),
        64
    );

    let mut base = http();
    base.net.allow_hosts = (0..250)
        .map(|i| rule(&format!("h{i}.example"), &[443]))
        .collect();
    let six: Vec<String> = (0..6).map(|i| format!("n{i}.example:443")).collect();
    let six: Vec<&str> = six.iter().map(String::as_str).collect();
    assert_eq!(
        merge(&base, &allow(&six)).unwrap().net.allow_hosts.len(),
        256
    );
    let seven: Vec<String> = (0..7).map(|i| format!("n{i}.example:443")).collect();
    let seven: Vec<&str> = seven.iter().map(String::as_str).collect();
    let err = merge(&base, &allow(&seven)).unwrap_err();
    assert!(
        err.to_string()
            .contains("net.allow_hosts would hold 257 entries; at most 256"),
        "{err}"
    );

    let o = PolicyOverrides {
        allow_read_roots: (0..128).map(|i| format!("r{i}")).collect(),
        ..Default::default()
    };
    let err = merge(&Template::Cli.policy(), &o).unwrap_err();
    assert!(
        err.to_string()
            .contains("fs.read_roots would hold 129 entries; at most 128"),
        "{err}"
    );
}

#[test]
fn preconditions_need_networking_tcp_and_filesystem_in_the_base() {
    // --allow-host against the cli base (networking off): the walkthrough's 4.2.
    let err = merge(&Template::Cli.policy(), &allow(&["example.com:443"])).unwrap_err();
    assert_eq!((err.code(), err.exit_code()), ("X07-POLICY-0008", 2));
    let text = err.to_string();
    assert!(
        text.contains("--allow-host need networking")
            && text.contains("`sandbox.cli.base` has net.enabled=false"),
        "{text}"
    );
    assert!(
        text.contains("x07 policy init --template http-client"),
        "{text}"
    );
    // Deny flags and host files need it too, even when they name nothing.
    let deny_only = with_deny(PolicyOverrides::default(), &["example.com:*"]);
    assert!(matches!(
        merge(&Template::Cli.policy(), &deny_only),
        Err(OverrideError::NetDisabled { .. })
    ));
    let file_only = PolicyOverrides {
        allow_host_files: vec!["empty.txt".into()],
        ..Default::default()
    };
    assert!(matches!(
        merge(&Template::Cli.policy(), &file_only),
        Err(OverrideError::NetDisabled { .. })
    ));
    // Networking on but TCP off.
    let mut no_tcp = http();
    no_tcp.net.allow_tcp = false;
    let err = merge(&no_tcp, &allow(&["example.com:443"])).unwrap_err();
    assert!(err.to_string().contains("net.allow_tcp=false"), "{err}");
    // Root flags against a base without filesystem access (worker).
    let o = PolicyOverrides {
        allow_read_roots: vec!["data".into()],
        ..Default::default()
    };
    let err = merge(&Template::Worker.policy(), &o).unwrap_err();
    assert_eq!(err.code(), "X07-POLICY-0008");
    assert!(
        err.to_string()
            .contains("--allow-read-root need filesystem access")
            && err.to_string().contains("fs.enabled=false"),
        "{err}"
    );
    // Preconditions are checked before any spec is parsed.
    assert!(matches!(
        merge(&Template::Cli.policy(), &allow(&["not a spec"])),
        Err(OverrideError::NetDisabled { .. })
    ));
}

#[test]
fn normalized_overrides_hash_the_same_whatever_the_flag_order() {
    let a = with_deny(
        allow(&["b.example:443", "a.example:80,443"]),
        &["c.example:*", "a.example:80"],
    );
    let b = with_deny(
        allow(&["a.example:443,80", "B.example:443"]),
        &["A.example:80", "c.example:*"],
    );
    let root = Path::new("/");
    assert_eq!(
        a.normalize(root).unwrap().canonical_json(),
        b.normalize(root).unwrap().canonical_json()
    );
    let json = String::from_utf8(a.normalize(root).unwrap().canonical_json()).unwrap();
    assert_eq!(
        json,
        r#"{"allow_hosts":[{"host":"a.example","ports":[80,443]},{"host":"b.example","ports":[443]}],"allow_read_roots":[],"allow_write_roots":[],"deny_hosts":[{"all_ports":false,"host":"a.example","ports":[80]},{"all_ports":true,"host":"c.example","ports":[]}]}"#
    );
}

// ---- derived policy files --------------------------------------------------------------------------

struct Project {
    dir: tempfile::TempDir,
    base: PathBuf,
}

impl Project {
    fn with_base(policy: &Policy) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join(".x07/policies/base/base.policy.json");
        fs_err::create_dir_all(base.parent().unwrap()).unwrap();
        fs_err::write(&base, policy.to_file_bytes().unwrap()).unwrap();
        Self { dir, base }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn derive(
        &self,
        o: &PolicyOverrides,
    ) -> Result<x07_runner::policy::DerivedPolicy, DeriveError> {
        self.derive_with(o, TOOLCHAIN_VERSION)
    }

    fn derive_with(
        &self,
        o: &PolicyOverrides,
        toolchain: &str,
    ) -> Result<x07_runner::policy::DerivedPolicy, DeriveError> {
        derive_policy(&DeriveRequest {
            project_root: self.root(),
            base_path: &self.base,
            overrides: o,
            toolchain_version: toolchain,
        })
    }
}

#[test]
fn the_derived_file_is_named_by_base_id_and_hash_and_holds_the_merged_policy() {
    let project = Project::with_base(&http());
    let o = allow(&["example.com:443"]);
    let d = project.derive(&o).unwrap();
    let base_bytes = fs_err::read(&project.base).unwrap();
    let hex8 = derivation_hex8(
        TOOLCHAIN_VERSION,
        &base_bytes,
        &o.normalize(project.root()).unwrap().canonical_json(),
    );
    assert_eq!(d.hex8, hex8);
    assert_eq!(hex8.len(), 8);
    assert!(hex8
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let expected = project
        .root()
        .join(GENERATED_DIR)
        .join(format!("sandbox.http-client.base.g{hex8}.policy.json"));
    assert_eq!(d.path, expected);
    assert_eq!(d.written, WriteOutcome::Created);

    let on_disk = Policy::load(&d.path).unwrap();
    assert_eq!(on_disk, d.policy);
    assert_eq!(
        fs_err::read(&d.path).unwrap(),
        d.policy.to_file_bytes().unwrap(),
        "canonical bytes"
    );
    assert_eq!(
        on_disk.policy_id.as_str(),
        format!("sandbox.http-client.base.g{hex8}")
    );
    assert_eq!(hosts(&on_disk), vec![h("example.com", &[443])]);
    let notes = on_disk.notes.clone().unwrap();
    let base_notes = http().notes.unwrap();
    assert!(notes.starts_with(&format!("{base_notes}\n")), "{notes}");
    assert!(
        notes.ends_with(&format!("Derived by x07 run from .x07/policies/base/base.policy.json with command-line overrides (g{hex8}).")),
        "{notes}"
    );
    // Everything else is the base's.
    let mut expect = http();
    expect.policy_id = on_disk.policy_id.clone();
    expect.notes = Some(notes);
    expect.net.allow_hosts = vec![rule("example.com", &[443])];
    assert_eq!(on_disk, expect);
}

#[test]
fn the_derived_file_is_rewritten_only_when_its_content_changes() {
    let project = Project::with_base(&http());
    let o = allow(&["example.com:443"]);
    let first = project.derive(&o).unwrap();
    let mtime = fs_err::metadata(&first.path).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let second = project
        .derive(&allow(&["EXAMPLE.COM:443", "example.com:443"]))
        .unwrap();
    assert_eq!(
        second.path, first.path,
        "the same effective overrides give the same file"
    );
    assert_eq!(second.written, WriteOutcome::Unchanged);
    assert_eq!(
        fs_err::metadata(&first.path).unwrap().modified().unwrap(),
        mtime,
        "an unchanged file is not rewritten"
    );
    // A hand-edited derived file is put back.
    fs_err::write(&first.path, b"{}").unwrap();
    assert_eq!(project.derive(&o).unwrap().written, WriteOutcome::Replaced);
    assert_eq!(Policy::load(&first.path).unwrap(), first.policy);
    // No temporary files are left behind.
    let names: Vec<String> = fs_err::read_dir(project.root().join(GENERATED_DIR))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn the_hash_covers_overrides_base_bytes_toolchain_and_format() {
    let project = Project::with_base(&http());
    let a = project.derive(&allow(&["example.com:443"])).unwrap();
    let b = project.derive(&allow(&["example.com:80"])).unwrap();
    let c = project
        .derive_with(&allow(&["example.com:443"]), "9.9.9")
        .unwrap();
    assert_ne!(a.hex8, b.hex8);
    assert_ne!(a.hex8, c.hex8, "a new toolchain derives a new file");
    // The same policy written differently (pretty-printed) is other base bytes.
    let pretty = serde_json::to_vec_pretty(&http()).unwrap();
    fs_err::write(&project.base, pretty).unwrap();
    let d = project.derive(&allow(&["example.com:443"])).unwrap();
    assert_ne!(a.hex8, d.hex8);
    assert_eq!(d.policy.net, a.policy.net);
    // The parts are length-prefixed: moving bytes between parts changes the hash.
    assert_ne!(
        derivation_hex8("1", b"2x", b"{}"),
        derivation_hex8("12", b"x", b"{}")
    );
}

#[test]
fn long_base_ids_are_shortened_to_fit_64_characters() {
    let mut base = http();
    base.policy_id = PolicyId::new("p".repeat(64)).unwrap();
    let project = Project::with_base(&base);
    let d = project.derive(&allow(&["example.com:443"])).unwrap();
    let id = d.policy.policy_id.as_str();
    assert_eq!(id.len(), 64);
    assert_eq!(id, format!("{}.g{}", "p".repeat(54), d.hex8));
    assert_eq!(
        d.path.file_name().unwrap().to_str().unwrap(),
        format!("{}.g{}.policy.json", "p".repeat(64), d.hex8)
    );
    assert_eq!(
        derived_policy_id(&PolicyId::new("short").unwrap(), "0123abcd").as_str(),
        "short.g0123abcd"
    );
}

#[test]
fn notes_that_cannot_take_the_derivation_line_are_an_error_not_truncated() {
    let mut base = http();
    base.notes = Some("n".repeat(4090));
    let project = Project::with_base(&base);
    let err = project.derive(&allow(&["example.com:443"])).unwrap_err();
    assert_eq!((err.code(), err.exit_code()), ("X07-POLICY-0010", 2));
    let text = err.to_string();
    assert!(
        text.contains("notes has 4090 characters")
            && text.contains("at most 4096")
            && text.contains("base.policy.json"),
        "{text}"
    );
    assert!(
        !project.root().join(GENERATED_DIR).exists(),
        "nothing is written"
    );
    // Without notes the line is the whole of notes.
    base.notes = None;
    let project = Project::with_base(&base);
    let d = project.derive(&allow(&["example.com:443"])).unwrap();
    assert!(d
        .policy
        .notes
        .unwrap()
        .starts_with("Derived by x07 run from "));
}

#[test]
fn bad_base_policies_fail_with_their_own_codes() {
    let project = Project::with_base(&http());
    let o = allow(&["example.com:443"]);
    fs_err::write(
        &project.base,
        b"{\"schema_version\": \"x07.run-os-policy@0.1.0\"}",
    )
    .unwrap();
    let err = project.derive(&o).unwrap_err();
    assert_eq!((err.code(), err.exit_code()), ("X07-POLICY-SCHEMA-0001", 3));
    assert!(
        err.to_string()
            .contains("policy_id: required field is missing"),
        "{err}"
    );
    fs_err::write(&project.base, b"{ not json").unwrap();
    assert_eq!(project.derive(&o).unwrap_err().exit_code(), 3);
    fs_err::remove_file(&project.base).unwrap();
    let err = project.derive(&o).unwrap_err();
    assert_eq!((err.code(), err.exit_code()), ("X07-POLICY-0004", 2));
    assert!(err.to_string().contains("base.policy.json"), "{err}");
}

/// Step 4 and 5 of the sandbox policy walkthrough, on the http-client base.
#[test]
fn walkthrough_overrides_give_the_documented_policies() {
    let project = Project::with_base(&http());
    let run = |o: PolicyOverrides| project.derive(&o).unwrap().policy;
    assert_eq!(
        hosts(&run(allow(&["example.com:443"]))),
        vec![h("example.com", &[443])]
    );
    assert_eq!(
        hosts(&run(allow(&["example.com:80,443"]))),
        vec![h("example.com", &[80, 443])]
    );
    assert_eq!(
        hosts(&run(with_deny(
            allow(&["example.com:80,443"]),
            &["example.com:80"]
        ))),
        vec![h("example.com", &[443])]
    );
    assert_eq!(
        hosts(&run(with_deny(
            allow(&["example.com:443"]),
            &["example.com:*"]
        ))),
        vec![]
    );
    let tmp = run(PolicyOverrides {
        allow_write_roots: vec!["tmp".into()],
        ..Default::default()
    });
    assert_eq!(tmp.fs.write_roots, vec!["out", "tmp"]);
    // On the cli base, --allow-host is rejected (4.2).
    let cli = Project::with_base(&Template::Cli.policy());
    let err = cli.derive(&allow(&["example.com:443"])).unwrap_err();
    assert_eq!((err.code(), err.exit_code()), ("X07-POLICY-0008", 2));
    assert!(!cli.root().join(GENERATED_DIR).exists());
}
