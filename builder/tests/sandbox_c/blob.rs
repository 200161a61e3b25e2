//! PolicyBlobV1: the strict decoder, intersection, encoding, the embedded ceiling.

use crate::project::*;

#[test]
fn test_encoder_matches_the_spec_reader() {
    let p = Project::new();
    let mut pol = p.policy().spawning(&["/usr/bin/echo"]);
    pol.hosts = vec![("127.0.0.1".into(), vec![80, 443])];
    pol.allow_keys = vec!["HOME".into()];
    let bytes = pol.to_bytes();
    let decoded =
        x07_spec::policy::blob::decode(&bytes).expect("the spec reads the test encoder's blob");
    assert_eq!(
        decoded.to_bytes(),
        bytes,
        "the spec writes the same bytes back"
    );
}

#[test]
fn decoder_reads_the_spec_test_vector() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/tests/data");
    let bin = data.join("policy_blob_v1.bin");
    let vector: Value =
        serde_json::from_str(&fs_err::read_to_string(data.join("policy_blob_v1.json")).unwrap())
            .unwrap();
    let out = Command::new(unit()).arg("dump").arg(&bin).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let dumped: Value = serde_json::from_slice(&out.stdout).expect("the dump is JSON");
    assert_eq!(dumped, vector["decoded"]);
    let out = Command::new(unit())
        .arg("roundtrip")
        .arg(&bin)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "same\n",
        "the C encoder writes the vector back byte for byte"
    );
}

#[test]
fn decoder_refuses_every_malformed_blob() {
    let p = Project::new();
    let good = p.policy().to_bytes();
    let mut relative = p.policy();
    relative.read_roots = vec!["ro".into()];
    let mut trailing_slash = p.policy();
    trailing_slash.write_roots = vec![format!("{}/", p.s("rw"))];
    let mut upper_host = p.policy();
    upper_host.hosts = vec![("Example.com".into(), vec![443])];
    let mut port0 = p.policy();
    port0.hosts = vec![("example.com".into(), vec![0])];
    let mut bad_bool = good.clone();
    bad_bool[72] = 2; // limits.core_dumps
    let mut bad_version = good.clone();
    bad_version[4] = 2;
    let mut weaker_bits = good.clone();
    weaker_bits[12] = 8;
    let mut huge_count = good.clone();
    let roots_at = 4 + 4 + 4 + 4 + 32 + 4 * 2 + 8 + 4 * 3 + 4 * 8 + 4 * 4;
    huge_count[roots_at..roots_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "bad magic"),
        (
            "bad magic",
            [b"X7P2".as_slice(), &good[4..]].concat(),
            "bad magic",
        ),
        ("truncated", good[..good.len() - 5].to_vec(), "end"),
        (
            "trailing bytes",
            [good.as_slice(), b"!"].concat(),
            "trailing bytes",
        ),
        ("unknown version", bad_version, "unknown version"),
        (
            "unknown accept_weaker bit",
            weaker_bits,
            "accept_weaker: unknown bits",
        ),
        (
            "boolean 2",
            bad_bool,
            "limits.core_dumps: a boolean is neither 0 nor 1",
        ),
        (
            "relative root",
            relative.to_bytes(),
            "fs.read_roots: a path is not absolute",
        ),
        (
            "trailing slash",
            trailing_slash.to_bytes(),
            "fs.write_roots: a path is not absolute",
        ),
        (
            "uppercase host",
            upper_host.to_bytes(),
            "net.hosts: a host is empty",
        ),
        ("port 0", port0.to_bytes(), "a port is not in 1..65535"),
        ("huge count", huge_count, "a list count runs past the end"),
    ];
    for (what, blob, why) in cases {
        let out = Launch::new(hostile(Flavor::Checked), Some(&blob), p.root()).run(b"0");
        assert_eq!(
            out.status.code(),
            Some(3),
            "{what}: must fail closed; stderr:\n{}",
            out.stderr
        );
        assert!(
            out.stderr.starts_with("x07: sandbox: cannot apply load_policy: the policy from --x07-policy-file is not a valid PolicyBlobV1")
                && out.stderr.contains(why),
            "{what}: stderr should say `{why}`:\n{}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{what}: solve must not run");
    }
}

#[test]
fn intersection_takes_the_narrower_side_of_everything() {
    let w = workdir();
    let mut a = TestPolicy::new(
        &[Path::new("/srv/a"), Path::new("/srv/b/deep")],
        &[Path::new("/srv/out")],
    );
    a.hosts = vec![
        ("example.com".into(), vec![80, 443]),
        ("10.0.0.1".into(), vec![22]),
    ];
    a.allow_keys = vec!["HOME".into(), "LANG".into()];
    a.deny_keys = vec!["SECRET".into()];
    a.deny_hidden = false;
    a.cpu_ms = 500;
    a.allow_execs = vec!["/usr/bin/echo".into(), "/opt/x/tool".into()];
    a.allow_exec_prefixes = vec!["/usr/lib/x07".into()];
    let mut b = TestPolicy::new(
        &[Path::new("/srv"), Path::new("/home")],
        &[Path::new("/srv/out/sub")],
    );
    b.hosts = vec![
        ("example.com".into(), vec![443, 8443]),
        ("10.0.0.2".into(), vec![22]),
    ];
    b.allow_keys = vec!["LANG".into(), "PATH".into()];
    b.deny_keys = vec!["TOKEN".into()];
    b.deny_hidden = true;
    b.mem_bytes = 1 << 20;
    b.allow_execs = vec!["/usr/lib/x07/run".into(), "/opt/x/tool".into()];
    b.allow_exec_prefixes = vec!["/usr/lib".into()];
    b.backend = 0;
    b.digest = [0xcd; 32];
    let (fa, fb) = (w.path().join("a.bin"), w.path().join("b.bin"));
    fs_err::write(&fa, a.to_bytes()).unwrap();
    fs_err::write(&fb, b.to_bytes()).unwrap();
    let out = Command::new(unit())
        .arg("intersect")
        .arg(&fa)
        .arg(&fb)
        .output()
        .unwrap();
    let p: Value = serde_json::from_slice(&out.stdout).expect("intersection dump");
    assert_eq!(p["backend"], "os", "the stronger backend wins");
    assert_eq!(
        p["digest"],
        format!("sha256:{}", "cd".repeat(32)),
        "the handed-over digest"
    );
    assert_eq!(p["limits"]["cpu_ms"], 500);
    assert_eq!(p["limits"]["mem_bytes"], 1 << 20);
    assert_eq!(
        p["fs"]["read_roots"],
        serde_json::json!(["/srv/a", "/srv/b/deep"]),
        "roots beneath a root of the other side"
    );
    assert_eq!(p["fs"]["write_roots"], serde_json::json!(["/srv/out/sub"]));
    assert_eq!(p["fs"]["deny_hidden"], true, "a deny flag is ORed");
    assert_eq!(
        p["net"]["allow_hosts"],
        serde_json::json!([{"host": "example.com", "ports": [443]}])
    );
    assert_eq!(p["env"]["allow_keys"], serde_json::json!(["LANG"]));
    assert_eq!(
        p["env"]["deny_keys"],
        serde_json::json!(["SECRET", "TOKEN"])
    );
    assert_eq!(
        p["process"]["allow_execs"],
        serde_json::json!(["/opt/x/tool", "/usr/lib/x07/run"])
    );
    assert_eq!(
        p["process"]["allow_exec_prefixes"],
        serde_json::json!(["/usr/lib/x07"])
    );
}

#[test]
fn helpers_match_component_wise_and_escape_json() {
    let out = Command::new(unit()).arg("helpers").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "beneath /a /a 1",
        "beneath /a /a/b 1",
        "beneath /a /ab 0",
        "beneath / /x 1",
        "beneath /a/b /a 0",
        "regex --x.* --xyz 1",
        "regex --x.* --y 0",
        "regex \\* * 1",
        "regex \\* a 0",
        "regex a*b aaab 1",
        "regex a*b b 1",
        "regex a*b ab  0",
        "regex ... abc 1",
        "regex ... ab 0",
        "regex .*  1",
        "normal '/' 1",
        "normal '/a/b' 1",
        "normal 'a' 0",
        "normal '/a/' 0",
        "normal '/a//b' 0",
        "normal '/a/./b' 0",
        "normal '/a/../b' 0",
        "normal '/.hidden/x' 1",
        "normal '' 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    let json = text.lines().find_map(|l| l.strip_prefix("json ")).unwrap();
    let s: String = serde_json::from_str(json).expect("always valid JSON");
    assert_eq!(s, "q\"\\\n\u{1}é\u{fffd}\u{fffd}\u{fffd}");
}

#[test]
fn an_embedded_policy_wins_over_a_wider_handed_over_one() {
    let p = Project::new();
    fs_err::create_dir(p.path("more")).unwrap();
    fs_err::write(p.path("more/m.txt"), "more").unwrap();
    let embedded = p.policy();
    let exe = hostile_embedded("hostile_embedded", &embedded.to_bytes());
    let mut wider = TestPolicy::new(&[&p.path("ro"), &p.path("more")], &[&p.path("rw")]);
    wider.digest = [0x11; 32];
    let blob = wider.to_bytes();
    let out = Launch::new(&exe, Some(&blob), p.root()).run(&read(&p.s("more/m.txt")));
    assert_eq!(
        out.assert_ok().text(),
        FS_POLICY_DENY,
        "the embedded ceiling holds"
    );
    assert_eq!(
        out.denied("os.fs.read_all_v1", "fs.read_roots"),
        p.s("more/m.txt")
    );
    let out =
        Launch::new(&exe, Some(&blob), p.root()).run(&input(b'R', &[p.s("more/m.txt").as_bytes()]));
    assert_eq!(
        out.assert_ok().text(),
        format!("errno:{}", libc::EACCES),
        "and the kernel layer follows it"
    );
    let sb = out.sandbox();
    assert_eq!(sb["policy_digest"], format!("sha256:{}", "11".repeat(32)));
    assert_eq!(
        sb["embedded_policy_digest"],
        format!("sha256:{}", "ab".repeat(32))
    );
    // alone, the embedded policy is enough to start
    let out = Launch::new(&exe, None, p.root()).run(&read(&p.s("ro/visible.txt")));
    assert_eq!(out.assert_ok().text(), "ok:visible");
}
