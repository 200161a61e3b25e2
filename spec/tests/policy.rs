//! Run policies: the eight templates, the loader and the JSON Schema agree on what is valid, and
//! every rejection names the field.

use std::path::Path;

use jsonschema::{Registry, Validator};
use serde_json::{json, Value};
use x07_spec::policy::{InitStatus, PolicyInitReport, PolicyInitReportVersion, Template};
use x07_spec::schemas::SCHEMAS;
use x07_spec::{
    canonical_file_bytes, schema, DocumentError, Policy, PolicyId, POLICY_SCHEMA_VERSION,
};

fn validator(name: &str) -> Validator {
    let mut registry = Registry::new();
    for s in SCHEMAS {
        let contents: Value = serde_json::from_str(s.text).unwrap();
        registry = registry
            .add(format!("https://x07.io/spec/{}", s.file_name), contents)
            .unwrap();
    }
    let registry = registry.prepare().unwrap();
    let schema_value: Value = serde_json::from_str(schema(name).unwrap()).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(&registry)
        .build(&schema_value)
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"))
}

fn schema_errors(v: &Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn parse(doc: &Value) -> Result<Policy, DocumentError> {
    Policy::from_slice(
        &serde_json::to_vec(doc).unwrap(),
        Path::new("p.policy.json"),
    )
}

fn template_json(t: Template) -> Value {
    serde_json::from_slice(&t.policy().to_file_bytes().unwrap()).unwrap()
}

fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap_or_else(|| panic!("{pointer}")) {
        Value::Object(map) => {
            map.insert(key.to_string(), new);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = new,
        _ => panic!("{pointer}"),
    }
    v
}

fn without(mut v: Value, pointer: &str, key: &str) -> Value {
    v.pointer_mut(pointer)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key);
    v
}

#[test]
fn every_template_is_valid_for_the_schema_and_the_loader_and_round_trips() {
    let v = validator(POLICY_SCHEMA_VERSION);
    for t in Template::ALL {
        let policy = t.policy();
        assert_eq!(policy.problems(), vec![], "{t}");
        let doc = template_json(t);
        let errors = schema_errors(&v, &doc);
        assert!(
            errors.is_empty(),
            "{t} template does not validate: {errors:#?}"
        );
        let bytes = policy.to_file_bytes().unwrap();
        assert_eq!(
            bytes,
            canonical_file_bytes(&doc).unwrap(),
            "{t}: file bytes are JCS + newline"
        );
        assert_eq!(*bytes.last().unwrap(), b'\n');
        let back = Policy::from_slice(&bytes, Path::new("t.json")).unwrap();
        assert_eq!(back, policy, "{t} round-trips");
        assert_eq!(policy.policy_id.as_str(), format!("sandbox.{t}.base"));
        assert_eq!(
            t.default_rel_path(),
            format!(".x07/policies/base/{t}.sandbox.base.policy.json")
        );
        assert_eq!(t.as_str().parse::<Template>().unwrap(), t);
    }
    assert_eq!(Template::NAMES.len(), 8);
    assert!("worker-parallel".parse::<Template>().is_ok());
    let err = "lambda".parse::<Template>().unwrap_err().to_string();
    assert!(
        err.contains("unknown policy template `lambda`") && err.contains("worker-parallel"),
        "{err}"
    );
}

/// The values of the template table (run-policy.md §1), one row per template.
#[test]
fn templates_carry_the_table_values() {
    const MIB: u64 = 1024 * 1024;
    // (template, cpu, wall, mem, fds, procs, fs on, write roots, net on, env keys, wall clock, sleep ms, unsafe/ffi)
    #[allow(clippy::type_complexity)]
    let rows: [(
        Template,
        u32,
        u32,
        u64,
        u32,
        u32,
        bool,
        &[&str],
        bool,
        &[&str],
        bool,
        Option<u32>,
        bool,
    ); 8] = [
        (
            Template::Cli,
            60_000,
            120_000,
            512 * MIB,
            128,
            16,
            true,
            &["out"],
            false,
            &[],
            true,
            None,
            false,
        ),
        (
            Template::HttpClient,
            180_000,
            300_000,
            1024 * MIB,
            256,
            32,
            true,
            &["out"],
            true,
            &[],
            true,
            Some(5000),
            true,
        ),
        (
            Template::WebService,
            180_000,
            600_000,
            1024 * MIB,
            512,
            64,
            true,
            &["out"],
            true,
            &["PORT", "HOST", "LOG_LEVEL"],
            true,
            Some(1000),
            true,
        ),
        (
            Template::FsTool,
            90_000,
            180_000,
            512 * MIB,
            256,
            16,
            true,
            &["src", "out"],
            false,
            &[],
            true,
            None,
            false,
        ),
        (
            Template::SqliteApp,
            120_000,
            300_000,
            1024 * MIB,
            256,
            32,
            true,
            &["out"],
            false,
            &[],
            true,
            None,
            true,
        ),
        (
            Template::PostgresClient,
            120_000,
            300_000,
            1024 * MIB,
            256,
            32,
            true,
            &["out"],
            false,
            &[],
            true,
            None,
            true,
        ),
        (
            Template::Worker,
            300_000,
            300_000,
            1024 * MIB,
            64,
            16,
            false,
            &[],
            false,
            &[],
            false,
            Some(5000),
            false,
        ),
        (
            Template::WorkerParallel,
            300_000,
            300_000,
            1024 * MIB,
            128,
            1024,
            false,
            &[],
            false,
            &[],
            false,
            Some(5000),
            false,
        ),
    ];
    for (
        t,
        cpu,
        wall,
        mem,
        fds,
        procs,
        fs_on,
        writes,
        net_on,
        env_keys,
        wall_clock,
        sleep,
        native,
    ) in rows
    {
        let p = t.policy();
        let l = &p.limits;
        assert_eq!(
            (
                l.cpu_ms,
                l.wall_ms,
                l.mem_bytes,
                l.fds,
                l.procs,
                l.core_dumps
            ),
            (cpu, wall, mem, fds, procs, false),
            "{t} limits"
        );
        assert_eq!(p.fs.enabled, fs_on, "{t}");
        assert!(p.fs.deny_hidden, "{t}: every template denies hidden files");
        assert_eq!(
            p.fs.write_roots,
            writes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{t}"
        );
        assert_eq!(p.fs.read_roots.is_empty(), !fs_on, "{t}");
        assert_eq!(
            (
                p.net.enabled,
                p.net.allow_dns,
                p.net.allow_tcp,
                p.net.allow_udp
            ),
            (net_on, net_on, net_on, false),
            "{t}"
        );
        assert!(
            p.net.allow_hosts.is_empty(),
            "{t}: templates start with no hosts"
        );
        assert_eq!(p.env.enabled, !env_keys.is_empty(), "{t}");
        assert_eq!(
            p.env.allow_keys,
            env_keys.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{t}"
        );
        assert!(p.time.allow_monotonic, "{t}");
        assert_eq!(p.time.allow_wall_clock, wall_clock, "{t}");
        assert_eq!(
            (p.time.allow_sleep, p.time.max_sleep_ms),
            (sleep.is_some(), sleep.unwrap_or(0)),
            "{t}"
        );
        assert_eq!(
            (p.language.allow_unsafe, p.language.allow_ffi),
            (native, native),
            "{t}"
        );
        let th = &p.threads;
        assert_eq!(
            (th.enabled, th.max_workers, th.max_blocking, th.max_queue),
            (true, 0, 4, 1024),
            "{t}"
        );
        let pr = &p.process;
        assert!(pr.enabled && pr.allow_exit, "{t}");
        assert_eq!(
            (
                pr.max_stdout_bytes,
                pr.max_stderr_bytes,
                pr.max_total_bytes,
                pr.max_stdin_bytes
            ),
            (
                10 * 1024 * 1024,
                10 * 1024 * 1024,
                16 * 1024 * 1024,
                1024 * 1024
            ),
            "{t} child caps"
        );
        let spawns = t == Template::WorkerParallel;
        assert_eq!((pr.allow_spawn, pr.allow_exec), (spawns, spawns), "{t}");
    }
    let cli = Template::Cli.policy().fs;
    assert!(
        cli.allow_mkdir
            && cli.allow_rename
            && cli.allow_walk
            && cli.allow_glob
            && !cli.allow_remove
    );
    assert_eq!(
        (cli.max_read_bytes, cli.max_write_bytes),
        (64 << 20, 64 << 20)
    );
    let http = Template::HttpClient.policy().fs;
    assert!(!http.allow_glob);
    assert_eq!(http.max_write_bytes, 256 << 20);
    let fs_tool = Template::FsTool.policy().fs;
    assert_eq!(
        (fs_tool.max_write_bytes, fs_tool.max_entries),
        (256 << 20, 200_000)
    );

    let sqlite = Template::SqliteApp.policy().db.unwrap();
    assert!(sqlite.enabled && sqlite.drivers.sqlite && !sqlite.drivers.postgres);
    let s = sqlite.sqlite.unwrap();
    assert_eq!(s.allow_paths, vec!["out/app.sqlite".to_string()]);
    assert!(s.allow_create && s.allow_in_memory && !s.readonly_only);
    let pg = Template::PostgresClient.policy().db.unwrap();
    assert!(pg.enabled && pg.drivers.postgres && !pg.drivers.sqlite);
    let n = pg.net.unwrap();
    assert!(n.allow_dns.is_empty() && n.allow_cidrs.is_empty() && n.allow_ports.is_empty());
    assert!(n.require_tls && n.require_verify);
    for t in [
        Template::Cli,
        Template::HttpClient,
        Template::WebService,
        Template::FsTool,
        Template::Worker,
        Template::WorkerParallel,
    ] {
        assert!(t.policy().db.is_none(), "{t} has no db section");
    }

    let wp = Template::WorkerParallel.policy().process;
    assert_eq!(wp.allow_exec_prefixes, vec!["deps/x07/".to_string()]);
    assert_eq!(
        (wp.max_live, wp.max_spawns, wp.max_runtime_ms),
        (16, 64, 60_000)
    );
}

#[test]
fn absent_optional_fields_take_their_defaults_and_are_written_out() {
    let minimal = json!({
        "schema_version": "x07.run-os-policy@0.1.0",
        "policy_id": "min",
        "limits": {"cpu_ms": 1000, "wall_ms": 2000, "mem_bytes": 1048576, "fds": 0, "procs": 0},
        "fs": {"enabled": true, "read_roots": ["."], "write_roots": [], "deny_hidden": true},
        "net": {"enabled": false, "allow_dns": false, "allow_tcp": false, "allow_udp": false, "allow_hosts": []},
        "env": {"enabled": false, "allow_keys": [], "deny_keys": []},
        "time": {"enabled": false, "allow_monotonic": false, "allow_wall_clock": false, "allow_sleep": false,
                 "max_sleep_ms": 0, "allow_local_tzid": false},
        "process": {"enabled": false, "allow_spawn": false, "max_live": 0, "max_spawns": 0, "allow_exec": false,
                    "allow_exit": false}
    });
    let v = validator(POLICY_SCHEMA_VERSION);
    assert_eq!(schema_errors(&v, &minimal), Vec::<String>::new());
    let p = parse(&minimal).unwrap();
    assert!(!p.limits.core_dumps);
    assert_eq!(
        (
            p.fs.max_read_bytes,
            p.fs.max_write_bytes,
            p.fs.max_entries,
            p.fs.max_depth
        ),
        (16 << 20, 16 << 20, 10_000, 64)
    );
    assert!(!p.fs.allow_symlinks && !p.fs.allow_glob);
    assert!(!p.language.allow_unsafe && !p.language.allow_ffi);
    assert_eq!(
        (
            p.threads.enabled,
            p.threads.max_workers,
            p.threads.max_blocking,
            p.threads.max_queue
        ),
        (true, 0, 4, 1024)
    );
    assert!(p.process.kill_on_drop && p.process.kill_tree && !p.process.allow_cwd);
    assert_eq!(
        (
            p.process.max_exe_bytes,
            p.process.max_args,
            p.process.max_env_key_bytes
        ),
        (4096, 64, 256)
    );
    assert!(p.db.is_none() && p.notes.is_none());
    // The written form spells every default out and is itself valid.
    let written: Value = serde_json::to_value(&p).unwrap();
    assert_eq!(written["threads"]["max_queue"], 1024);
    assert_eq!(written["fs"]["max_depth"], 64);
    assert!(written.get("db").is_none() && written.get("notes").is_none());
    assert_eq!(schema_errors(&v, &written), Vec::<String>::new());
    assert_eq!(parse(&written).unwrap(), p);
    // Null means absent for optional fields.
    assert_eq!(
        parse(&with(minimal.clone(), "/threads", Value::Null)).unwrap(),
        p
    );
    // A db section may leave its limits and sub-sections out.
    let db = with(
        minimal,
        "/db",
        json!({"enabled": true, "drivers": {"sqlite": true, "postgres": false, "mysql": false}}),
    );
    assert_eq!(schema_errors(&v, &db), Vec::<String>::new());
    let parsed = parse(&db).unwrap().db.unwrap();
    assert!(!parsed.drivers.redis && parsed.sqlite.is_none() && parsed.max_live_conns == 0);
}

/// A net-enabled policy with one host, a db section and spawning, for the rejection cases.
fn rich() -> Value {
    let mut doc = template_json(Template::WorkerParallel);
    doc["net"] = json!({"enabled": true, "allow_dns": true, "allow_tcp": true, "allow_udp": false,
                        "allow_hosts": [{"host": "example.com", "ports": [443]}]});
    doc["fs"] = template_json(Template::Cli)["fs"].clone();
    doc["db"] = template_json(Template::PostgresClient)["db"].clone();
    doc["env"] = json!({"enabled": true, "allow_keys": ["HOME"], "deny_keys": []});
    doc
}

#[test]
fn schema_and_loader_reject_the_same_bad_policies_and_the_loader_names_the_field() {
    let v = validator(POLICY_SCHEMA_VERSION);
    let base = rich();
    assert_eq!(schema_errors(&v, &base), Vec::<String>::new());
    parse(&base).unwrap();
    let many = |n: usize, f: &dyn Fn(usize) -> Value| Value::Array((0..n).map(f).collect());
    let host = |h: Value| with(rich(), "/net/allow_hosts/0/host", h);
    let ports = |p: Value| with(rich(), "/net/allow_hosts/0/ports", p);
    let spawn = with(
        with(rich(), "/process/allow_exec_prefixes", json!([])),
        "/process/allow_execs",
        json!([]),
    );
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            without(rich(), "", "limits"),
            "limits",
            "required field is missing",
        ),
        (
            without(rich(), "/process", "allow_exit"),
            "process.allow_exit",
            "required field is missing",
        ),
        (
            without(rich(), "/net/allow_hosts/0", "ports"),
            "net.allow_hosts[0].ports",
            "required field is missing",
        ),
        (with(rich(), "/extra", json!(1)), "extra", "unknown field"),
        (
            with(rich(), "/fs/allow_everything", json!(true)),
            "fs.allow_everything",
            "unknown field",
        ),
        (
            with(rich(), "/schema_version", json!("x07.run-os-policy@0.2.0")),
            "schema_version",
            "unsupported schema_version",
        ),
        (
            with(rich(), "/schema_version", json!(" x07.run-os-policy@0.1.0")),
            "schema_version",
            "unsupported schema_version",
        ),
        (
            with(rich(), "/policy_id", json!("bad id")),
            "policy_id",
            "must be 1 to 64 characters",
        ),
        (
            with(rich(), "/policy_id", json!("a".repeat(65))),
            "policy_id",
            "must be 1 to 64 characters",
        ),
        (
            with(rich(), "/policy_id", json!("../etc")),
            "policy_id",
            "must be 1 to 64 characters",
        ),
        (
            with(rich(), "/notes", json!("n".repeat(4097))),
            "notes",
            "at most 4096",
        ),
        (
            with(rich(), "/limits/cpu_ms", json!(0)),
            "limits.cpu_ms",
            "from 1 to 600000",
        ),
        (
            with(rich(), "/limits/wall_ms", json!(600_001)),
            "limits.wall_ms",
            "from 1 to 600000",
        ),
        (
            with(rich(), "/limits/mem_bytes", json!(1000)),
            "limits.mem_bytes",
            "1 MiB to 16 GiB",
        ),
        (
            with(rich(), "/limits/mem_bytes", json!(17_179_869_185u64)),
            "limits.mem_bytes",
            "1 MiB to 16 GiB",
        ),
        (
            with(rich(), "/limits/fds", json!(1025)),
            "limits.fds",
            "from 0 to 1024",
        ),
        (
            with(rich(), "/limits/procs", json!(-1)),
            "limits.procs",
            "expected u32",
        ),
        (
            with(rich(), "/fs/enabled", json!("yes")),
            "fs.enabled",
            "expected a boolean",
        ),
        (
            with(
                rich(),
                "/fs/read_roots",
                many(129, &|i| json!(format!("r{i}"))),
            ),
            "fs.read_roots",
            "at most 128",
        ),
        (
            with(rich(), "/fs/write_roots", json!(["out;rm -rf"])),
            "fs.write_roots[0]",
            "must not contain `;`",
        ),
        (
            with(rich(), "/fs/read_roots", json!([".", " ", ""])),
            "fs.read_roots[2]",
            "must not be empty",
        ),
        (
            with(rich(), "/fs/read_roots", json!(["a\u{0}b"])),
            "fs.read_roots[0]",
            "NUL",
        ),
        (
            ports(json!([])),
            "net.allow_hosts[0].ports",
            "at least one port",
        ),
        (
            ports(json!([443, 0])),
            "net.allow_hosts[0].ports[1]",
            "port 0",
        ),
        (
            ports(json!([65536])),
            "net.allow_hosts[0].ports[0]",
            "expected u16",
        ),
        (
            ports(json!("*")),
            "net.allow_hosts[0].ports",
            "expected an array",
        ),
        (
            ports(many(65, &|i| json!(1000 + i))),
            "net.allow_hosts[0].ports",
            "at most 64",
        ),
        (
            host(json!("a b.com")),
            "net.allow_hosts[0].host",
            "must not contain",
        ),
        (
            host(json!("a.com;b.com")),
            "net.allow_hosts[0].host",
            "must not contain",
        ),
        (
            host(json!("exämple.com")),
            "net.allow_hosts[0].host",
            "xn--",
        ),
        (
            host(json!("")),
            "net.allow_hosts[0].host",
            "must not be empty",
        ),
        (
            host(json!("a".repeat(256))),
            "net.allow_hosts[0].host",
            "at most 255",
        ),
        (
            with(
                rich(),
                "/net/allow_hosts",
                many(
                    257,
                    &|i| json!({"host": format!("h{i}.example"), "ports": [443]}),
                ),
            ),
            "net.allow_hosts",
            "at most 256",
        ),
        (
            with(rich(), "/db/drivers/postgres", json!(false)),
            "db.drivers",
            "no driver is allowed",
        ),
        (
            with(rich(), "/db/net/allow_ports", json!([5432, 0])),
            "db.net.allow_ports[1]",
            "port 0",
        ),
        (
            with(rich(), "/db/net/allow_dns", json!(["db;evil"])),
            "db.net.allow_dns[0]",
            "must not contain `;`",
        ),
        (
            with(rich(), "/env/allow_keys", json!(["A=B"])),
            "env.allow_keys[0]",
            "must not contain `=`",
        ),
        (
            with(rich(), "/time/max_sleep_ms", json!(86_400_001)),
            "time.max_sleep_ms",
            "from 0 to 86400000",
        ),
        (
            with(rich(), "/threads/max_workers", json!(257)),
            "threads.max_workers",
            "from 0 to 256",
        ),
        (
            with(rich(), "/threads/max_blocking", json!(4097)),
            "threads.max_blocking",
            "from 0 to 4096",
        ),
        (
            with(rich(), "/language/allow_ffi", json!("true")),
            "language.allow_ffi",
            "expected a boolean",
        ),
        (spawn, "process.allow_execs", "allow_spawn is true"),
        (
            with(rich(), "/process/max_runtime_ms", json!(0)),
            "process.max_runtime_ms",
            "greater than 0",
        ),
        (
            with(rich(), "/process/max_live", json!(0)),
            "process.max_live",
            "greater than 0",
        ),
        (
            with(rich(), "/process/allow_cwd", json!(true)),
            "process.allow_cwd_roots",
            "allow_cwd is true",
        ),
        (
            with(rich(), "/process/allow_args_regex_lite", json!(["*a"])),
            "process.allow_args_regex_lite[0]",
            "nothing to repeat",
        ),
        (
            with(rich(), "/process/allow_args_regex_lite", json!(["a**"])),
            "process.allow_args_regex_lite[0]",
            "nothing to repeat",
        ),
        (
            with(rich(), "/process/allow_args_regex_lite", json!(["a\\"])),
            "process.allow_args_regex_lite[0]",
            "trailing",
        ),
        (
            with(rich(), "/process/max_args", json!(4_294_967_296u64)),
            "process.max_args",
            "expected u32",
        ),
        (
            with(rich(), "/process/allow_exec_prefixes", json!(["deps;x"])),
            "process.allow_exec_prefixes[0]",
            "must not contain `;`",
        ),
    ];
    assert!(cases.len() >= 30);
    for (doc, field, needle) in &cases {
        assert!(
            !v.is_valid(doc),
            "the schema should reject {field} ({needle}):\n{doc:#}"
        );
        let err = parse(doc).expect_err(&format!("the loader should reject {field} ({needle})"));
        let DocumentError::Schema { file, error } = &err else {
            panic!("{field}: unexpected {err:?}")
        };
        assert_eq!(file, Path::new("p.policy.json"));
        assert_eq!(error.field.as_str(), *field, "{err}");
        assert!(
            error.message.contains(needle),
            "{field}: `{}` should mention {needle:?}",
            error.message
        );
        assert!(
            err.to_string()
                .starts_with(&format!("p.policy.json: {field}: ")),
            "{err}"
        );
    }
    // Valid edge values pass both.
    for doc in [
        with(
            rich(),
            "/process/allow_args_regex_lite",
            json!(["--flag", "a.*", "\\**", "x*y*"]),
        ),
        ports(many(64, &|i| json!(1000 + i))),
        host(json!("10.0.0.0/8")),
        host(json!("10.0.0.1-10.0.0.9")),
        host(json!("EXAMPLE.com")),
        host(json!("a".repeat(255))),
        with(rich(), "/notes", json!("é".repeat(4096))),
        with(rich(), "/limits/mem_bytes", json!(17_179_869_184u64)),
    ] {
        assert_eq!(schema_errors(&v, &doc), Vec::<String>::new());
        parse(&doc).unwrap();
    }
}

#[test]
fn problems_lists_every_problem_in_field_order() {
    let mut policy = parse(&rich()).unwrap();
    policy.threads.max_queue = 1_000_001;
    policy.limits.cpu_ms = 0;
    let fields: Vec<String> = policy
        .problems()
        .iter()
        .map(|e| e.field.as_str().to_string())
        .collect();
    assert_eq!(fields, vec!["limits.cpu_ms", "threads.max_queue"]);
    assert_eq!(
        policy.validate().unwrap_err().field.as_str(),
        "limits.cpu_ms"
    );
}

#[test]
fn malformed_json_and_missing_files_name_the_file() {
    let err = Policy::from_slice(b"{\n \"schema_version\": ,", Path::new("base.json")).unwrap_err();
    assert!(err.to_string().starts_with("base.json:2:"), "{err}");
    let err = Policy::load(Path::new("/nonexistent/x07/p.json")).unwrap_err();
    assert!(
        matches!(err, DocumentError::Read { .. })
            && err.to_string().contains("/nonexistent/x07/p.json"),
        "{err}"
    );
    let err = Policy::from_slice(b"[1]", Path::new("base.json")).unwrap_err();
    assert!(err.to_string().contains("expected a JSON object"), "{err}");
}

#[test]
fn serde_deserialize_validates_too() {
    let good: Policy = serde_json::from_value(rich()).unwrap();
    assert_eq!(good.policy_id.as_str(), "sandbox.worker-parallel.base");
    let bad =
        serde_json::from_value::<Policy>(with(rich(), "/limits/cpu_ms", json!(0))).unwrap_err();
    assert!(bad.to_string().contains("limits.cpu_ms"), "{bad}");
}

#[test]
fn digest_is_the_sha256_of_the_canonical_json() {
    let p = Template::Cli.policy();
    let bytes = p.to_file_bytes().unwrap();
    let jcs = &bytes[..bytes.len() - 1];
    assert_eq!(p.digest().unwrap(), x07_spec::Sha256Digest::of(jcs));
    let mut other = p.clone();
    other.limits.cpu_ms += 1;
    assert_ne!(other.digest().unwrap(), p.digest().unwrap());
}

#[test]
fn init_report_schema_accepts_every_template_and_status() {
    let v = validator("x07.policy.init.report@0.1.0");
    for (t, status) in Template::ALL.into_iter().zip(
        [
            InitStatus::Created,
            InitStatus::Unchanged,
            InitStatus::Overwritten,
            InitStatus::ExistsDifferent,
        ]
        .into_iter()
        .cycle(),
    ) {
        let report = PolicyInitReport {
            schema_version: PolicyInitReportVersion,
            template: t.as_str().to_string(),
            project_root: "/p".into(),
            out: t.default_rel_path(),
            status,
            policy_id: t.policy_id(),
        };
        let doc = serde_json::to_value(&report).unwrap();
        assert_eq!(schema_errors(&v, &doc), Vec::<String>::new());
        assert_eq!(
            serde_json::from_value::<PolicyInitReport>(doc).unwrap(),
            report
        );
    }
    let doc = json!({"schema_version": "x07.policy.init.report@0.1.0", "template": "cli", "project_root": "/p",
                     "out": "x", "status": "created", "policy_id": "sandbox.cli.base"});
    assert!(v.is_valid(&doc));
    assert!(!v.is_valid(&with(doc.clone(), "/status", json!("skipped"))));
    assert!(!v.is_valid(&with(doc.clone(), "/template", json!("lambda"))));
    assert!(!v.is_valid(&with(doc.clone(), "/policy_id", json!("a b"))));
    assert!(!v.is_valid(&with(doc, "/extra", json!(1))));
    assert_eq!(InitStatus::ExistsDifferent.exit_code(), 2);
    assert_eq!(InitStatus::Overwritten.exit_code(), 0);
    assert!(PolicyId::new("sandbox.cli.base").is_ok());
}
