#!/usr/bin/env python3
"""PolicyBlob (version 3) writer for the benchmark, following docs/internals/sandbox.md ("PolicyBlob").

The benchmark runs the stored sandboxed binary through the launcher itself, so it must hand over
the same policy bytes that `x07 run --profile sandbox` hands over. This module encodes a policy
file (as x07 writes it) for a project root, backend and accept_weaker bits; the seccomp programs
of backend os come from the x07-syscall-filter crate (`filters_for`, through its dump_filters
example). It is checked against the test vector `spec/tests/data/policy_blob_v3.{bin,json}`
before every use (`check_test_vector`), and the benchmark also compares the digest the binary
reports with the one x07's own run reported.

Run it directly to check the test vector: `python3 bench/policy_blob.py`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

MAGIC = b"X7P1"
END = b"X7PE"
VERSION = 3
BACKENDS = {"none": 0, "os": 1}

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_VECTOR_BIN = REPO_ROOT / "spec" / "tests" / "data" / "policy_blob_v3.bin"
TEST_VECTOR_JSON = REPO_ROOT / "spec" / "tests" / "data" / "policy_blob_v3.json"

# Defaults of optional fields (docs/policy.md, "The policy file"). The digest is taken over the
# policy with every default spelled out, as x07 serialises it; `notes` and `db` stay absent when
# absent. A `db` section is hashed as written: policies written by x07 spell out all its fields.
DEFAULTS = {
    "language": {"allow_unsafe": False, "allow_ffi": False},
    "threads": {"enabled": True, "max_workers": 0, "max_blocking": 4, "max_queue": 1024},
    "limits": {"core_dumps": False},
    "fs": {"allow_symlinks": False, "allow_mkdir": False, "allow_remove": False,
           "allow_rename": False, "allow_walk": False, "allow_glob": False,
           "max_read_bytes": 16 * 1024 * 1024, "max_write_bytes": 16 * 1024 * 1024,
           "max_entries": 10000, "max_depth": 64},
    "time": {"max_sleep_ms": 0, "allow_local_tzid": False},
    "process": {"allow_execs": [], "allow_exec_prefixes": [], "allow_args_regex_lite": [],
                "allow_env_keys": [], "allow_cwd_roots": [], "max_exe_bytes": 4096,
                "max_args": 64, "max_arg_bytes": 4096, "max_env": 64, "max_env_key_bytes": 256,
                "max_env_val_bytes": 4096, "max_runtime_ms": 0, "max_stdout_bytes": 0,
                "max_stderr_bytes": 0, "max_total_bytes": 0, "max_stdin_bytes": 0,
                "kill_on_drop": True, "kill_tree": True, "allow_cwd": False},
}


class PolicyBlobError(Exception):
    """The policy cannot be encoded, or the encoder disagrees with the test vector."""


def with_defaults(policy: dict) -> dict:
    """The policy with every absent optional field set to its default."""
    full = copy.deepcopy(policy)
    for section, fields in DEFAULTS.items():
        if section in ("language", "threads"):
            full.setdefault(section, {})
        for key, value in fields.items():
            full[section].setdefault(key, copy.deepcopy(value))
    return full


def canonical_json(value: object) -> bytes:
    """RFC 8785 (JCS) for the values a policy holds: objects, arrays, strings, integers, bools.

    Sorting by Python's code points equals JCS's UTF-16 order for every key below U+10000, which
    covers all policy keys (they are ASCII).
    """
    def check(v: object) -> None:
        if isinstance(v, float):
            raise PolicyBlobError("a policy holds no fractional numbers; this encoder cannot "
                                  f"write {v!r} in JCS form")
        if isinstance(v, dict):
            for item in v.values():
                check(item)
        elif isinstance(v, list):
            for item in v:
                check(item)

    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def policy_digest(policy: dict) -> bytes:
    """sha256 of the JCS of the effective policy as written (before path resolution)."""
    return hashlib.sha256(canonical_json(with_defaults(policy))).digest()


def lexical_absolute(root: str, path: str) -> str:
    """`path` joined to `root` when relative; `.` dropped, `..` applied lexically, no trailing /."""
    joined = path if path.startswith("/") else root.rstrip("/") + "/" + path
    parts: list[str] = []
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def canonical_or_lexical(root: str, path: str) -> str:
    """The real path when `path` exists, else its lexical absolute form."""
    candidate = path if path.startswith("/") else os.path.join(root, path)
    if os.path.exists(candidate):
        return os.path.realpath(candidate)
    return lexical_absolute(root, path)


def resolve_exec(root: str, name: str, search_path: str | None) -> str:
    """An `allow_execs` entry: a bare name is looked up on PATH like a shell would."""
    if "/" in name:
        return canonical_or_lexical(root, name)
    for directory in (search_path or "").split(":"):
        candidate = os.path.join(directory, name)
        if (directory.startswith("/") and os.path.isfile(candidate)
                and os.stat(candidate).st_mode & 0o111):
            return os.path.realpath(candidate)
    raise PolicyBlobError(f"process.allow_execs: `{name}` has no `/` and is not an executable "
                          "on PATH; write its path")


class _Writer:
    """Little-endian blob primitives: u32, u64, bool as u32, str and list with a u32 count."""

    def __init__(self) -> None:
        self.out = bytearray()

    def raw(self, b: bytes) -> None:
        self.out += b

    def u32(self, v: int) -> None:
        self.out += struct.pack("<I", v)

    def u64(self, v: int) -> None:
        self.out += struct.pack("<Q", v)

    def bool(self, v: bool) -> None:
        if not isinstance(v, bool):
            raise PolicyBlobError(f"expected a boolean, got {v!r}")
        self.u32(int(v))

    def str(self, s: str) -> None:
        b = s.encode()
        self.u32(len(b))
        self.raw(b)

    def strs(self, items: list[str]) -> None:
        self.u32(len(items))
        for s in items:
            self.str(s)


def filters_for(policy: dict) -> list[bytes]:
    """The seccomp programs x07 puts into a backend-os blob for `policy`'s network settings."""
    net = with_defaults(policy)["net"]
    db = policy.get("db") or {}
    drivers = db.get("drivers") or {}
    db_net = bool(db.get("enabled")) and any(drivers.get(d) for d in ("postgres", "mysql", "redis"))
    db_dns = db_net and bool((db.get("net") or {}).get("allow_dns"))
    words = [w for w, on in (("net", net["enabled"] or db_net),
                             ("tcp", (net["enabled"] and net["allow_tcp"]) or db_net),
                             ("udp", (net["enabled"] and (net["allow_udp"] or net["allow_dns"]))
                              or db_dns))
             if on]
    argv = ["cargo", "run", "-q", "--release", "-p", "x07-syscall-filter", "--example",
            "dump_filters", "--", *words]
    out = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True)
    if out.returncode != 0:
        raise PolicyBlobError(f"`{' '.join(argv)}` failed: {out.stderr.decode(errors='replace')}")
    return [bytes.fromhex(line) for line in out.stdout.decode().split()]


DB_DEFAULT_LIMITS = (8, 1000, 30000, 60000, 1 << 20, 10000, 32 << 20)
DB_LIMITS = ("max_live_conns", "max_queries", "connect_timeout_ms", "query_timeout_ms",
             "max_sql_bytes", "max_rows", "max_resp_bytes")


def canonical_cidr(text: str) -> str:
    """`a/n` with the host bits cleared, as the spec writes it."""
    import ipaddress
    net = ipaddress.ip_network(text, strict=False)
    return f"{net.network_address}/{net.prefixlen}"


def encode_db(w: "_Writer", db: dict | None, root: str) -> None:
    """The `db` part: absent means every driver off; 0 limits take the drivers' defaults."""
    db = db or {}
    drivers = db.get("drivers") or {}
    w.bool(bool(db.get("enabled", False)))
    for d in ("sqlite", "postgres", "mysql", "redis"):
        w.bool(bool(drivers.get(d, False)))
    for key, default in zip(DB_LIMITS, DB_DEFAULT_LIMITS):
        w.u32(db.get(key, 0) or default)
    sq = db.get("sqlite") or {}
    for key in ("readonly_only", "allow_create", "allow_in_memory"):
        w.bool(bool(sq.get(key, False)))
    w.strs([lexical_absolute(root, p) for p in sq.get("allow_paths", [])])
    net = db.get("net") or {}
    w.strs([h.lower() for h in net.get("allow_dns", [])])
    w.strs([canonical_cidr(c) for c in net.get("allow_cidrs", [])])
    ports = net.get("allow_ports", [])
    w.u32(len(ports))
    for port in ports:
        w.u32(port)
    w.bool(net.get("require_tls", True))
    w.bool(net.get("require_verify", True))


def encode(policy: dict, project_root: str, backend: str = "os", accept_weaker: int = 0,
           search_path: str | None = None, filters: list[bytes] | None = None) -> bytes:
    """The PolicyBlob bytes of `policy` for a run whose project root is `project_root`;
    `filters` are the seccomp programs (backend os), by default those x07 generates."""
    if not project_root.startswith("/"):
        raise PolicyBlobError(f"the project root `{project_root}` must be an absolute path")
    if backend not in BACKENDS:
        raise PolicyBlobError(f"backend `{backend}`: expected one of {sorted(BACKENDS)}")
    if accept_weaker & ~15:
        raise PolicyBlobError(f"accept_weaker {accept_weaker:#x}: known bits are 1, 2, 4, 8")
    if filters is None:
        filters = filters_for(policy) if backend == "os" else []
    digest = policy_digest(policy)
    p = with_defaults(policy)
    root = project_root
    w = _Writer()
    w.raw(MAGIC)
    w.u32(VERSION)
    w.u32(BACKENDS[backend])
    w.u32(accept_weaker)
    w.raw(digest)

    lim = p["limits"]
    w.u32(lim["cpu_ms"])
    w.u32(lim["wall_ms"])
    w.u64(lim["mem_bytes"])
    w.u32(lim["fds"])
    w.u32(lim["procs"])
    w.bool(lim["core_dumps"])

    fs = p["fs"]
    for key in ("enabled", "deny_hidden", "allow_symlinks", "allow_mkdir", "allow_remove",
                "allow_rename", "allow_walk", "allow_glob"):
        w.bool(fs[key])
    for key in ("max_read_bytes", "max_write_bytes", "max_entries", "max_depth"):
        w.u32(fs[key])
    w.strs([lexical_absolute(root, r) for r in fs["read_roots"]])
    w.strs([lexical_absolute(root, r) for r in fs["write_roots"]])

    net = p["net"]
    for key in ("enabled", "allow_dns", "allow_tcp", "allow_udp"):
        w.bool(net[key])
    w.u32(len(net["allow_hosts"]))
    for rule in net["allow_hosts"]:
        # Lowercased for the runtime; the digest keeps the host as written.
        w.str(rule["host"].lower())
        w.u32(len(rule["ports"]))
        for port in rule["ports"]:
            w.u32(port)

    env = p["env"]
    w.bool(env["enabled"])
    w.strs(env["allow_keys"])
    w.strs(env["deny_keys"])

    t = p["time"]
    for key in ("enabled", "allow_monotonic", "allow_wall_clock", "allow_sleep"):
        w.bool(t[key])
    w.u32(t["max_sleep_ms"])
    w.bool(t["allow_local_tzid"])

    pr = p["process"]
    for key in ("enabled", "allow_spawn", "allow_exec", "allow_exit"):
        w.bool(pr[key])
    for key in ("max_live", "max_spawns", "max_runtime_ms"):
        w.u32(pr[key])
    path = search_path if search_path is not None else os.environ.get("PATH")
    w.strs([resolve_exec(root, e, path) for e in pr["allow_execs"]])
    w.strs([canonical_or_lexical(root, d) for d in pr["allow_exec_prefixes"]])
    w.strs(pr["allow_args_regex_lite"])
    w.strs(pr["allow_env_keys"])
    for key in ("max_exe_bytes", "max_args", "max_arg_bytes", "max_env", "max_env_key_bytes",
                "max_env_val_bytes", "max_stdout_bytes", "max_stderr_bytes", "max_total_bytes",
                "max_stdin_bytes"):
        w.u32(pr[key])
    for key in ("kill_on_drop", "kill_tree", "allow_cwd"):
        w.bool(pr[key])
    w.strs([lexical_absolute(root, r) for r in pr["allow_cwd_roots"]])

    encode_db(w, policy.get("db"), root)

    w.u32(len(filters))
    for program in filters:
        w.u32(len(program) // 8)
        w.raw(program)

    w.raw(END)
    return bytes(w.out)


def check_test_vector() -> None:
    """Encodes the test vector's policy and compares with its .bin and its decoded digest."""
    vector = json.loads(TEST_VECTOR_JSON.read_text())
    expected = TEST_VECTOR_BIN.read_bytes()
    filters = [bytes(p) for p in vector["decoded"]["syscall_filters"]]
    got = encode(vector["policy"], vector["project_root"], vector["backend"],
                 vector["accept_weaker"], search_path="", filters=filters)
    if got != expected:
        first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b),
                     min(len(got), len(expected)))
        raise PolicyBlobError(
            f"bench/policy_blob.py disagrees with {TEST_VECTOR_BIN} ({len(got)} vs "
            f"{len(expected)} bytes, first difference at byte {first}); the layout in "
            "docs/internals/sandbox.md changed: update the encoder")
    digest = "sha256:" + policy_digest(vector["policy"]).hex()
    if digest != vector["decoded"]["digest"]:
        raise PolicyBlobError(f"digest {digest} differs from the test vector's "
                              f"{vector['decoded']['digest']}")


if __name__ == "__main__":
    try:
        check_test_vector()
    except PolicyBlobError as e:
        print(f"policy_blob: FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"policy_blob: encodes {TEST_VECTOR_JSON.name} to exactly {TEST_VECTOR_BIN.name}")
