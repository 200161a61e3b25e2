#!/usr/bin/env python3
"""(h3) registry index throughput: two `x07 registry serve` processes on PostgreSQL + S3 against
one server on the directory backend, on the same machine, side by side in one run.

Both sides serve the same index: packages are published to a directory registry, which is then
moved with `x07 registry migrate` into a fresh PostgreSQL database (initdb on 127.0.0.1) and an
s3s-fs bucket (127.0.0.1). The load is `wrk` (HTTP/1.1 keep-alive) requesting the packages'
sparse-index files in rotation; the shared side splits the same number of connections over its two
processes. Rounds alternate between the sides. Reported: requests/s (median of the rounds), and
every non-2xx answer or socket error (the target is >= 5,000 requests/s with zero errors).

Needs: wrk (apt-get install wrk), PostgreSQL's server binaries (apt-get install postgresql),
s3s-fs (cargo install s3s-fs --version 0.14.1 --features binary --locked), and, as root, the
`postgres` system user (the cluster runs as it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RPS = 5000.0
PG_PASSWORD = "x07-bench"
ACCESS_KEY = "x07benchaccess"
SECRET_KEY = "x07benchsecret0123456789"
BUCKET = "x07-bench"


class BenchError(Exception):
    pass


def need(program: str, install: str) -> str:
    path = shutil.which(program) or next(
        (str(p) for p in (Path("/usr/sbin") / program, Path("/usr/local/bin") / program)
         if p.is_file()), None)
    if not path:
        raise BenchError(f"`{program}` is not installed; {install}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, what: str, proc: subprocess.Popen, log: Path, limit: float = 60) -> None:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"{what} did not listen on {port} within {limit} s")


def pg_bin() -> Path:
    found = sorted((int(p.name), p / "bin") for p in Path("/usr/lib/postgresql").glob("*")
                   if p.name.isdigit() and (p / "bin" / "initdb").is_file())
    if not found:
        raise BenchError("no PostgreSQL server under /usr/lib/postgresql; apt-get install postgresql")
    return found[-1][1]


def as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    import pwd
    pw = pwd.getpwnam("postgres")
    return [need("setpriv", "apt-get install util-linux"), f"--reuid={pw.pw_uid}",
            f"--regid={pw.pw_gid}", "--clear-groups", "--"] + argv


def chown_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        import pwd
        pw = pwd.getpwnam("postgres")
        os.chown(path, pw.pw_uid, pw.pw_gid)


class Services:
    """PostgreSQL and s3s-fs in a temporary directory."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []
        bin_dir = pg_bin()
        # The cluster runs as the postgres user, which must reach its files: they live in a
        # directory of their own in the system temp dir (the caller's may be private).
        work = Path(tempfile.mkdtemp(prefix="x07-bench-pg-"))
        work.chmod(0o755)
        self.work = work
        data, pwfile, log = work / "pgdata", work / "pgpw", work / "pg.log"
        data.mkdir()
        pwfile.write_text(PG_PASSWORD)
        log.write_text("")
        for p in (data, pwfile, log):
            chown_postgres(p)
        init = subprocess.run(as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-U", "x07",
                                           "--auth=scram-sha-256", "-E", "UTF8", "--locale=C",
                                           "-N", f"--pwfile={pwfile}"]),
                              capture_output=True, text=True, cwd=work)
        if init.returncode != 0:
            raise BenchError(f"initdb failed: {init.stdout[-1000:]}{init.stderr[-1000:]}")
        self.pg_port = free_port()
        with open(log, "ab") as out:
            pg = subprocess.Popen(as_postgres([
                str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.pg_port),
                "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                "-c", "fsync=off", "-c", "max_connections=100"]),
                stdout=subprocess.DEVNULL, stderr=out, cwd=work)
        self.procs.append(pg)
        wait_port(self.pg_port, "postgres", pg, log)
        time.sleep(0.5)
        s3_root, s3_log = work / "s3", work / "s3.log"
        (s3_root / BUCKET).mkdir(parents=True)
        self.s3_port = free_port()
        with open(s3_log, "wb") as out:
            s3 = subprocess.Popen([need("s3s-fs", "cargo install s3s-fs --version 0.14.1 "
                                        "--features binary --locked"),
                                   "--host", "127.0.0.1", "--port", str(self.s3_port),
                                   "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                                   str(s3_root)], stdout=out, stderr=out)
        self.procs.append(s3)
        wait_port(self.s3_port, "s3s-fs", s3, s3_log)

    def database(self) -> str:
        return f"postgres://x07@127.0.0.1:{self.pg_port}/postgres"

    def storage(self) -> str:
        return f"s3://{BUCKET}?endpoint=http://127.0.0.1:{self.s3_port}&region=us-east-1"

    def env(self, home: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"X07_HOME": str(home), "PGPASSWORD": PG_PASSWORD,
                    "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY})
        return env

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.work, ignore_errors=True)


class Server:
    def __init__(self, argv: list[str], env: dict[str, str], log: Path):
        self.log = log
        self.out = open(log, "wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=self.out)
        start = time.monotonic()
        while time.monotonic() - start < 60:
            m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", log.read_bytes())
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                raise BenchError(f"x07 registry serve exited: {log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise BenchError("x07 registry serve did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.out.close()


def write_package(root: Path, name: str, version: str) -> Path:
    d = root / f"{name}-{version}"
    module = f"{name.replace('-', '_')}.m"
    (d / "modules" / name.replace("-", "_")).mkdir(parents=True)
    (d / "x07-package.json").write_text(json.dumps({
        "schema_version": "x07.package@0.1.0", "name": name, "version": version,
        "module_root": "modules", "modules": [module], "description": f"bench {name}",
        "docs": "Bench.", "license": "MIT",
        "meta": {"x07c_compat": ">=0.1.0, <0.2.0", "requires_packages": []}}))
    (d / "modules" / name.replace("-", "_") / "m.x07.json").write_text(json.dumps({
        "schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": module,
        "imports": [], "decls": [{"kind": "export", "names": [f"{module}.f"]},
                                 {"kind": "defn", "name": f"{module}.f", "params": [],
                                  "result": "bytes", "body": ["bytes.lit", name]}]}))
    return d


def shard(name: str) -> str:
    if len(name) <= 2:
        return f"{len(name)}/{name}"
    if len(name) == 3:
        return f"3/{name[0]}/{name}"
    return f"{name[:2]}/{name[2:4]}/{name}"


def run(argv: list[str], env: dict[str, str]) -> str:
    p = subprocess.run(argv, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise BenchError(f"{' '.join(argv[:4])} failed: {p.stderr[-2000:]}")
    return p.stdout


def wrk(port_conns: list[tuple[int, int]], script: Path, seconds: int) -> tuple[float, int]:
    """Runs one wrk per (port, connections) at once; returns summed requests/s and errors."""
    procs = [subprocess.Popen([need("wrk", "apt-get install wrk"), "-t1", f"-c{conns}",
                               f"-d{seconds}s", "--latency", "-s", str(script),
                               f"http://127.0.0.1:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for port, conns in port_conns]
    rps, errors = 0.0, 0
    for p in procs:
        out, _ = p.communicate()
        m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        if not m:
            raise BenchError(f"wrk printed no rate:\n{out}")
        rps += float(m.group(1))
        for pat in (r"Non-2xx or 3xx responses:\s+(\d+)",
                    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"):
            for g in (re.search(pat, out).groups() if re.search(pat, out) else ()):
                errors += int(g)
    return rps, errors


def bench_registry(x07: Path, work: Path, packages: int = 40, rounds: int = 3,
                   seconds: int = 5, connections: int = 64) -> list[str]:
    services = Services()
    servers: list[Server] = []
    try:
        home = work / "home"
        home.mkdir()
        env = services.env(home)
        # the directory registry, filled by publishing
        dir_root = work / "dir-registry"
        d = Server([str(x07), "registry", "serve", "--root", str(dir_root), "--addr",
                    "127.0.0.1:0"], env, work / "dir.log")
        index = f"sparse+http://127.0.0.1:{d.port}/index/"
        token = run([str(x07), "registry", "token", "create", "--root", str(dir_root),
                     "--owner", "bench"], env).strip().splitlines()[-1]
        run([str(x07), "pkg", "login", "--index", index, "--token", token], env)
        names = [f"bench-pkg-{i:03}" for i in range(packages)]
        pkgs = work / "pkgs"
        for name in names:
            run([str(x07), "pkg", "publish", "--index", index, "--package",
                 str(write_package(pkgs, name, "1.0.0"))], env)
        d.stop()
        # the same registry moved to PostgreSQL + S3
        run([str(x07), "registry", "migrate", "--from", str(dir_root), "--to-database",
             services.database(), "--to-storage", services.storage()], env)
        d = Server([str(x07), "registry", "serve", "--root", str(dir_root), "--addr",
                    "127.0.0.1:0"], env, work / "dir2.log")
        servers.append(d)
        shared = [Server([str(x07), "registry", "serve", "--database", services.database(),
                          "--storage", services.storage(), "--addr", "127.0.0.1:0"], env,
                         work / f"shared{i}.log") for i in range(2)]
        servers.extend(shared)
        script = work / "paths.lua"
        paths = ", ".join(f'"/index/{shard(n)}"' for n in names)
        script.write_text(
            f"local paths = {{{paths}}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            "  return wrk.format('GET', paths[i])\nend\n")
        # the same bytes on both sides before measuring
        import urllib.request
        for n in names[:3]:
            a = urllib.request.urlopen(f"http://127.0.0.1:{d.port}/index/{shard(n)}").read()
            b = urllib.request.urlopen(f"http://127.0.0.1:{shared[1].port}/index/{shard(n)}").read()
            if a != b:
                raise BenchError(f"{n}: the two backends serve different index files")
        dir_rates, shared_rates, dir_err, shared_err = [], [], 0, 0
        for r in range(rounds):
            order = ["dir", "shared"] if r % 2 == 0 else ["shared", "dir"]
            for side in order:
                if side == "dir":
                    rps, err = wrk([(d.port, connections)], script, seconds)
                    dir_rates.append(rps)
                    dir_err += err
                else:
                    rps, err = wrk([(s.port, connections // 2) for s in shared], script, seconds)
                    shared_rates.append(rps)
                    shared_err += err
        dm, sm = statistics.median(dir_rates), statistics.median(shared_rates)
        ok = sm >= TARGET_RPS and shared_err == 0
        return [
            f"(h3) registry index GETs, {packages} packages, {connections} keep-alive connections,"
            f" {rounds} rounds x {seconds} s (wrk)",
            f"     directory backend, 1 process:        {dm:8.0f} req/s  (rounds: "
            f"{', '.join(f'{x:.0f}' for x in dir_rates)}; errors {dir_err})",
            f"     PostgreSQL + S3, 2 processes:       {sm:8.0f} req/s  (rounds: "
            f"{', '.join(f'{x:.0f}' for x in shared_rates)}; errors {shared_err})",
            f"     shared / directory: {sm / dm:.2f}x; target >= {TARGET_RPS:.0f} req/s with zero "
            f"errors: {'met' if ok else 'NOT met'}",
        ]
    finally:
        for s in servers:
            s.stop()
        services.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--x07", required=True, type=Path)
    ap.add_argument("--packages", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="x07-bench-registry-"))
    try:
        for line in bench_registry(args.x07.resolve(), work, args.packages, args.rounds,
                                   args.seconds, args.connections):
            print(line)
    except BenchError as e:
        print(f"bench: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
