//! The policy blob (version 3): the strict decoder, intersection, encoding, the embedded ceiling.

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

/// Where the fixed test vector of this file lives (PolicyBlob version 3, with seccomp programs).
fn vector_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sandbox_c/data")
        .join(name)
}

const VECTOR_ROOT: &str = "/x07-test-vector/proj";

/// The policy of the vector: every list non-empty, relative and absolute paths, `..`, an uppercase
/// host, paths that do not exist (so resolution is lexical on every machine).
fn vector_policy() -> Value {
    serde_json::json!({
        "schema_version": "x07.run-os-policy@0.1.0",
        "policy_id": "vector.v2",
        "notes": "test vector for PolicyBlob version 2",
        "limits": {"cpu_ms": 1500, "wall_ms": 3000, "mem_bytes": 5368709120u64, "fds": 64, "procs": 8, "core_dumps": true},
        "fs": {"enabled": true, "read_roots": [".", "data/../assets/", "/srv/x07-vector/ro"], "write_roots": ["out"],
               "deny_hidden": true, "allow_symlinks": false, "allow_mkdir": true, "allow_remove": false,
               "allow_rename": true, "allow_walk": false, "allow_glob": true,
               "max_read_bytes": 1048576, "max_write_bytes": 0, "max_entries": 100, "max_depth": 7},
        "net": {"enabled": true, "allow_dns": true, "allow_tcp": true, "allow_udp": false,
                "allow_hosts": [{"host": "Example.COM", "ports": [443, 80]}, {"host": "10.0.0.1", "ports": [8080]},
                                {"host": "::1", "ports": [65535]}]},
        "env": {"enabled": true, "allow_keys": ["HOME", "LANG"], "deny_keys": ["SECRET"]},
        "time": {"enabled": true, "allow_monotonic": true, "allow_wall_clock": false, "allow_sleep": true,
                 "max_sleep_ms": 250, "allow_local_tzid": true},
        "threads": {"enabled": true, "max_workers": 2, "max_blocking": 1, "max_queue": 10},
        "process": {"enabled": true, "allow_spawn": true, "max_live": 2, "max_spawns": 5, "allow_exec": false,
                    "allow_exit": true, "allow_execs": ["tools/run", "/opt/x07-vector/bin/../bin/tool"],
                    "allow_exec_prefixes": ["deps/x07/"], "allow_args_regex_lite": ["--x.*", "\\*"],
                    "allow_env_keys": ["PATH"], "max_exe_bytes": 512, "max_args": 8, "max_arg_bytes": 128,
                    "max_env": 4, "max_env_key_bytes": 32, "max_env_val_bytes": 64, "max_runtime_ms": 1000,
                    "max_stdout_bytes": 4096, "max_stderr_bytes": 2048, "max_total_bytes": 6144,
                    "max_stdin_bytes": 16, "kill_on_drop": true, "kill_tree": false, "allow_cwd": true,
                    "allow_cwd_roots": ["out/work"]}
    })
}

/// One `struct sock_filter` (code, jt, jf, k), little-endian as the kernel reads it on x86_64 and
/// aarch64.
fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Vec<u8> {
    [&code.to_le_bytes()[..], &[jt, jf], &k.to_le_bytes()].concat()
}

/// The vector's seccomp list: two programs of different lengths (the layout, not a real filter).
fn vector_filters() -> Vec<Vec<u8>> {
    vec![
        [
            insn(0x20, 0, 0, 4),           // ld [arch]
            insn(0x15, 1, 0, 0xc000_003e), // jeq AUDIT_ARCH_X86_64, +1
            insn(0x06, 0, 0, 0x8000_0000), // ret KILL_PROCESS
            insn(0x06, 0, 0, 0x7fff_0000), // ret ALLOW
        ]
        .concat(),
        insn(0x06, 0, 0, 0x7fff_0000),
    ]
}

fn vector_blob() -> x07_spec::policy::blob::PolicyBlob {
    use x07_spec::policy::blob::{AcceptWeaker, BlobBackend, PolicyBlob};
    let policy = x07_spec::Policy::decode(vector_policy()).unwrap();
    let mut blob = PolicyBlob::resolve(
        &policy,
        Path::new(VECTOR_ROOT),
        None,
        BlobBackend::Os,
        AcceptWeaker::NO_LANDLOCK_NET
            .union(AcceptWeaker::NO_PIDS_CGROUP)
            .union(AcceptWeaker::NO_USERNS),
    )
    .unwrap();
    blob.syscall_filters = vector_filters();
    blob
}

/// The fixed vector `tests/sandbox_c/data/policy_blob_v3.{bin,json}`: the spec's encoder writes it,
/// the spec's and the C runtime's decoders read it identically, and the C encoder writes it back
/// byte for byte. Regenerate it with `X07_BLESS=1`.
#[test]
fn decoder_reads_the_test_vector() {
    let blob = vector_blob();
    let bytes = blob.to_bytes();
    let expected = serde_json::json!({
        "about": "PolicyBlob version 3 test vector: `policy` encoded with project root `project_root`, backend os, accept_weaker 11 and the seccomp programs of `decoded.syscall_filters` gives policy_blob_v3.bin; `decoded` is what a reader must return. Layout: docs/internals/sandbox.md.",
        "project_root": VECTOR_ROOT,
        "policy": vector_policy(),
        "decoded": serde_json::to_value(&blob).unwrap(),
    });
    let (bin, json) = (
        vector_file("policy_blob_v3.bin"),
        vector_file("policy_blob_v3.json"),
    );
    if std::env::var_os("X07_BLESS").is_some() {
        fs_err::create_dir_all(vector_file("")).unwrap();
        fs_err::write(&bin, &bytes).unwrap();
        let mut text = serde_json::to_vec_pretty(&expected).unwrap();
        text.push(b'\n');
        fs_err::write(&json, text).unwrap();
    }
    let on_disk = fs_err::read(&bin).expect("run with X07_BLESS=1 to create the vector");
    assert_eq!(
        bytes, on_disk,
        "the spec's encoder no longer writes the vector; a layout change needs a new version"
    );
    let vector: Value = serde_json::from_str(&fs_err::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(vector, expected);
    assert_eq!(x07_spec::policy::blob::decode(&on_disk).unwrap(), blob);

    // The layout, independently of any encoder: version 3, and the seccomp list (u32 count, then
    // per program a u32 instruction count and 8 bytes per instruction) right before the end marker.
    assert_eq!(&on_disk[..4], b"X7P1");
    assert_eq!(on_disk[4..8], 3u32.to_le_bytes(), "version 3");
    assert_eq!(on_disk[12..16], 11u32.to_le_bytes(), "accept_weaker");
    let filters = vector_filters();
    let mut tail = 2u32.to_le_bytes().to_vec();
    for f in &filters {
        tail.extend_from_slice(&((f.len() / 8) as u32).to_le_bytes());
        tail.extend_from_slice(f);
    }
    tail.extend_from_slice(b"X7PE");
    assert_eq!(tail.len(), 4 + 4 + 32 + 4 + 8 + 4);
    assert!(
        on_disk.ends_with(&tail),
        "the seccomp list closes the blob, just before X7PE"
    );
    assert_eq!(
        vector["decoded"]["syscall_filters"],
        serde_json::json!(filters)
    );
    assert_eq!(vector["decoded"]["accept_weaker"], 11);

    // The C runtime's decoder and encoder.
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
    // A version 1 blob (the same bytes without the seccomp list) is refused.
    let mut v1 = on_disk[..on_disk.len() - tail.len()].to_vec();
    v1[4..8].copy_from_slice(&1u32.to_le_bytes());
    v1.extend_from_slice(b"X7PE");
    let w = workdir();
    fs_err::write(w.path().join("v1.bin"), &v1).unwrap();
    let out = Command::new(unit())
        .arg("dump")
        .arg(w.path().join("v1.bin"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "error: header: unknown version (expected 3) at byte 8\n"
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
    let mut old_version = good.clone();
    old_version[4] = 1; // version 1 had no seccomp list (and 2 no db)
    let mut bad_version = good.clone();
    bad_version[4] = 4;
    let mut weaker_bits = good.clone();
    weaker_bits[12] = 16; // 8 is no_userns now
    let ret_allow = vec![6u8, 0, 0, 0, 0, 0, 0xff, 0x7f];
    let mut five_programs = p.policy();
    five_programs.seccomp = Some(vec![ret_allow.clone(); 5]);
    let mut empty_program = p.policy();
    empty_program.seccomp = Some(vec![ret_allow.clone(), Vec::new()]);
    let mut huge_program = p.policy();
    huge_program.seccomp = Some(vec![ret_allow.repeat(4097)]);
    // a program whose instruction count runs past the end of the blob
    let mut past_end = p.policy();
    past_end.seccomp = Some(vec![ret_allow.clone()]);
    let mut past_end = past_end.to_bytes();
    let count_at = past_end.len() - 4 - 8 - 4;
    past_end[count_at..count_at + 4].copy_from_slice(&1000u32.to_le_bytes());
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
        (
            "version 1",
            old_version,
            "header: unknown version (expected 3), at byte 8",
        ),
        (
            "unknown version",
            bad_version,
            "header: unknown version (expected 3), at byte 8",
        ),
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
        (
            "five seccomp programs",
            five_programs.to_bytes(),
            "seccomp: more than 4 seccomp programs",
        ),
        (
            "empty seccomp program",
            empty_program.to_bytes(),
            "seccomp: a seccomp program needs 1 to 4096 instructions",
        ),
        (
            "4097 instructions",
            huge_program.to_bytes(),
            "seccomp: a seccomp program needs 1 to 4096 instructions",
        ),
        (
            "program past the end",
            past_end,
            "seccomp: the blob ends early",
        ),
    ];
    for (what, blob, why) in cases {
        // refused by the launcher (before any namespace or cgroup) and by the program itself
        for launcher in [true, false] {
            let mut l = Launch::new(hostile(Flavor::Checked), Some(&blob), p.root());
            l.launcher = Some(launcher);
            let out = l.run(b"0");
            assert_eq!(
                out.status.code(),
                Some(3),
                "{what} (launcher {launcher}): must fail closed; stderr:\n{}",
                out.stderr
            );
            assert!(
                out.stderr.starts_with("x07: sandbox: cannot apply load_policy: the policy from --x07-policy-file is not a valid PolicyBlobV1")
                    && out.stderr.contains(why)
                    && out.stderr.lines().count() == 1,
                "{what} (launcher {launcher}): stderr should say `{why}`:\n{}",
                out.stderr
            );
            assert!(out.stdout.is_empty(), "{what}: solve must not run");
        }
    }
    // well-formed, but backend os without a seccomp program: the launcher does not run it
    let mut no_program = p.policy();
    no_program.seccomp = Some(Vec::new());
    let blob = no_program.to_bytes();
    let out = Launch::new(hostile(Flavor::Checked), Some(&blob), p.root()).run(b"0");
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "x07: sandbox: cannot apply seccomp: the policy carries no seccomp program: re-run with an x07 \
         that writes PolicyBlob version 2\n"
    );
    assert!(out.stdout.is_empty());
    // and a launcher that only runs backend os
    let mut none = p.policy();
    none.backend = 0;
    let blob = none.to_bytes();
    let mut l = Launch::new(hostile(Flavor::Checked), Some(&blob), p.root());
    l.launcher = Some(true);
    let out = l.run(b"0");
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert_eq!(
        out.stderr,
        "x07: sandbox: cannot apply load_policy: the launcher applies backend os only\n"
    );
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
    let b_program = [6u8, 0, 0, 0, 0, 0, 0xff, 0x7f].to_vec(); // ret ALLOW
    b.seccomp = Some(vec![b_program.clone()]);
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
    let mut programs = x07_spec::policy::blob::decode(&a.to_bytes())
        .unwrap()
        .syscall_filters;
    assert!(!programs.is_empty());
    programs.push(b_program);
    assert_eq!(
        p["syscall_filters"],
        serde_json::json!(programs),
        "every seccomp program of both sides, in order: the kernel applies them all"
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

/// The embedded policy is the program's ceiling: its in-process checks use the intersection with
/// the handed-over policy. The launcher has no embedded policy (bundles come later): it applies the
/// handed-over one to the kernel layer.
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
        "the embedded ceiling holds in-process"
    );
    assert_eq!(
        out.denied("os.fs.read_all_v1", "fs.read_roots"),
        p.s("more/m.txt")
    );
    let sb = out.sandbox();
    assert_eq!(
        sb["policy_digest"],
        format!("sha256:{}", "11".repeat(32)),
        "the launcher applied the handed-over policy"
    );
    assert_eq!(
        sb.get("embedded_policy_digest"),
        None,
        "the launcher has no embedded policy: {sb}"
    );
    assert_eq!(
        Launch::new(&exe, Some(&blob), p.root())
            .run(&read(&p.s("ro/visible.txt")))
            .assert_ok()
            .text(),
        "ok:visible",
        "what both policies grant"
    );
    // the kernel layer follows the handed-over policy: `more` is in the new root and readable by
    // a program that bypasses the builtins ...
    let out =
        Launch::new(&exe, Some(&blob), p.root()).run(&input(b'R', &[p.s("more/m.txt").as_bytes()]));
    assert_eq!(out.assert_ok().text(), "ok:more");
    // ... and what neither policy grants is not there at all
    let out = Launch::new(&exe, Some(&blob), p.root())
        .run(&input(b'R', &[p.s("outside/secret.txt").as_bytes()]));
    assert_eq!(
        out.assert_ok().text(),
        format!("errno:{}", libc::ENOENT),
        "outside every root: not in the new root"
    );
    // alone, the embedded policy (backend os) does not start the program outside the launcher
    let out = Launch::new(&exe, None, p.root()).run(&read(&p.s("ro/visible.txt")));
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "x07: sandbox: cannot apply verify: this program was built for run-os-sandboxed with \
             backend os and must be started by x07's launcher"
        ) && out.stderr.lines().count() == 1,
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "solve must not run");
    // nor with the wider policy handed over directly
    let mut l = Launch::new(&exe, Some(&blob), p.root());
    l.launcher = Some(false);
    let out = l.run(&read(&p.s("ro/visible.txt")));
    assert_eq!(out.status.code(), Some(3), "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("x07: sandbox: cannot apply verify: "),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "solve must not run");
}
