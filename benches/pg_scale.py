#!/usr/bin/env python3
"""The postgres engine across processes: enrollments/s and wallet attaches/s with 1, 2 and 3
issuebox processes over one PostgreSQL, beside pgbench's TPC-B on the same cluster in the same
run (issue 16, "Performance": the engine's own ceiling for small durable transactions).

    cargo build --release
    python3 benches/pg_scale.py [--binary target/release/issuebox] [--seconds 15] [--conns 64]
                                [--procs 1,2,3] [--statements] [--quiet-wait 900]

What it does, all on loopback, with nothing left running afterwards:
  1. waits (up to --quiet-wait seconds) until no `cargo` or `rustc` runs, so that a build or a test
     run does not share the two cores with the measurement; says so when it measured anyway;
  2. starts a throwaway PostgreSQL cluster of its own (initdb into a temporary directory, as the
     `postgres` user when run as root; a free port; fsync, synchronous_commit and full_page_writes
     on; max_connections 200), with databases `pgbench` and `issuebox`;
  3. `pgbench -i -s 10`, then `pgbench -c 8 -j 2 -T 20` (TPC-B) in database `pgbench`: tps;
  4. for N in --procs: starts N issuebox release processes (`--config FILE serve`, the shipped
     config.toml with `engine = "postgres"` and `bind = "127.0.0.1:0"`) over database `issuebox`,
     takes one bearer token (valid on every process), then drives each scenario with one wrk per
     process, --conns connections split over them, all at once, for --seconds:
       enroll  POST /programs/SANDBOX/enrollments, a fresh X-GD-RequestId and SSN per request;
       attach  POST /deviceapi/apis/v1/services/cardholder/accounts, one wallet per request, each
               on a card no other request of the run touches with that plan (cards made first
               through POST /sandbox/programs/SANDBOX/devices; five plans of SANDBOX can share a
               card, so each card takes five attaches over the run);
     only 2xx count as successes; non-2xx and socket errors are reported;
  5. with --statements: one more process whose database connections go through a counting proxy,
     `log_statement = 'all'` for a handful of sequential enrollments and attaches: statements and
     client round trips per request, by kind;
  6. prints a table (pgbench tps; per N: enrollments/s, p99, attaches/s, errors; enrollments/s over
     pgbench tps), then what bounds it: PostgreSQL transactions committed and rolled back per
     request (a rollback is a conflict retried or a claim refused), WAL flushes, what PostgreSQL's
     backends waited on (pg_stat_activity sampled every 0.25 s) and the CPU each party used
     ("rest": the kernel's own work and any other process on the machine).

p99 with N processes is the 99th percentile over all N wrk runs' requests (their latency
distributions merged, weighted by requests). Standard library only, plus `wrk` (Debian: apt-get
install wrk) and PostgreSQL's server binaries (Debian: apt-get install postgresql).
Exit 0 when it ran (whatever the figures), 1 when enrollments/s < pgbench tps at any N, 2 when it
could not run.
"""
from __future__ import annotations

import argparse
import base64
import concurrent.futures as cf
import glob
import http.client
import json
import math
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROGRAM = "SANDBOX"
CLIENT_ID, CLIENT_SECRET = "sandbox", "sandbox-secret"
# Wallet plans of SANDBOX that one card can hold together (WUSD2 shares WUSD's characteristic).
ATTACH_PLANS = ["WUSD", "WEUR", "WGBP", "WUSDMCG", "WUSDMER"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
STATS_SETTLE_S = 11.0


def log(msg: str) -> None:
    print(f"[pg_scale {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --------------------------------------------------------------------------- the quiet machine

def busy_builders() -> list[str]:
    found = []
    for args in (["pgrep", "-x", "cargo"], ["pgrep", "rustc"]):
        out = subprocess.run(args, capture_output=True, text=True).stdout.split()
        found += [f"{args[-1]}:{p}" for p in out]
    return found


def wait_quiet(limit_s: float) -> str:
    """Waits until no cargo or rustc runs; answers how it went, for the report."""
    t0 = time.monotonic()
    first = busy_builders()
    if not first:
        return "quiet (no cargo or rustc running)"
    log(f"waiting for the machine to be quiet: {' '.join(first)} (up to {limit_s:.0f} s)")
    while time.monotonic() - t0 < limit_s:
        time.sleep(5)
        if not busy_builders():
            waited = time.monotonic() - t0
            time.sleep(3)  # let the last build's I/O settle
            return f"quiet after waiting {waited:.0f} s for cargo/rustc to finish"
    return (f"NOT quiet: cargo/rustc still running after {limit_s:.0f} s "
            f"({' '.join(busy_builders())}); measured anyway")


# --------------------------------------------------------------------------- PostgreSQL

def find_bindir() -> str:
    dirs = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        try:
            dirs.append((int(d.split("/")[-2]), d))
        except ValueError:
            pass
    for _, d in sorted(dirs, reverse=True):
        if os.path.isfile(os.path.join(d, "initdb")) and os.path.isfile(os.path.join(d, "pgbench")):
            return d
    try:
        d = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if d and os.path.isfile(os.path.join(d, "initdb")):
            return d
    except OSError:
        pass
    raise RuntimeError("no PostgreSQL server binaries (Debian: apt-get install postgresql)")


class Cluster:
    """A throwaway cluster: data/, sock/ and server.log in a temporary directory."""

    def __init__(self, bindir: str):
        self.bindir = bindir
        self.as_root = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="issuebox-pgscale-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        os.mkdir(os.path.join(self.dir, "sock"))
        if self.as_root:
            subprocess.run(["chown", "-R", "postgres:", self.dir], check=True)
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "server.log")
        self.port = 0
        self.started = False

    def server_cmd(self, binary: str, *args: str) -> list[str]:
        cmd = [os.path.join(self.bindir, binary), *args]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else cmd

    def run_server_cmd(self, binary: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        out = subprocess.run(self.server_cmd(binary, *args), cwd=self.dir, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True)
        if check and out.returncode != 0:
            raise RuntimeError(f"{binary} failed: {out.stdout[-500:]} {out.stderr[-500:]}")
        return out

    def start(self) -> None:
        self.run_server_cmd("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                            "--locale=C", "--no-sync")
        for _ in range(5):
            self.port = free_port()
            with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
                f.write(f"""
# pg_scale.py
listen_addresses = '127.0.0.1'
port = {self.port}
unix_socket_directories = '{self.dir}/sock'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
shared_buffers = 128MB
max_wal_size = 1GB
logging_collector = off
log_line_prefix = '%m [%p] '
""")
            r = self.run_server_cmd("pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l", self.logfile,
                                    check=False)
            if r.returncode == 0:
                self.started = True
                break
        else:
            raise RuntimeError("PostgreSQL would not start: " + self.log_tail())
        for db in ("pgbench", "issuebox"):
            self.psql("postgres", f"CREATE DATABASE {db}")

    def log_tail(self, n: int = 2000) -> str:
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def url(self, db: str, port: int | None = None) -> str:
        return f"postgres://postgres@127.0.0.1:{port or self.port}/{db}"

    def conn_args(self, db: str) -> list[str]:
        return ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db]

    def psql(self, db: str, sql: str) -> str:
        out = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-F", "\t",
                              "-v", "ON_ERROR_STOP=1", *self.conn_args(db), "-c", sql],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if out.returncode != 0:
            raise RuntimeError(f"psql {sql[:80]!r}: {out.stderr.strip()}")
        return out.stdout.strip()

    def postmaster_pid(self) -> int:
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def stop(self) -> None:
        if self.started:
            self.run_server_cmd("pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", self.data, check=False)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)


def run_pgbench(cl: Cluster, scale: int, clients: int, threads: int, seconds: int) -> dict:
    pgbench = os.path.join(cl.bindir, "pgbench")
    init = subprocess.run([pgbench, "-i", "-q", "-s", str(scale), *cl.conn_args("pgbench")],
                          capture_output=True, text=True)
    if init.returncode != 0:
        raise RuntimeError(f"pgbench -i failed: {init.stderr[-500:]}")
    cl.psql("pgbench", "CHECKPOINT")
    before = db_stats(cl, "pgbench")
    cpu0 = cpu_snapshot(cl, [])
    builders = busy_builders()
    with tempfile.TemporaryFile("w+") as f:
        proc = subprocess.Popen([pgbench, "-c", str(clients), "-j", str(threads), "-T", str(seconds),
                                 *cl.conn_args("pgbench")], stdout=f, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        f.seek(0)
        out = f.read()
    cpu1 = cpu_snapshot(cl, [])
    builders += busy_builders()
    after = db_stats(cl, "pgbench")
    m = re.search(r"^tps = ([0-9.]+)", out, re.M)
    if proc.returncode != 0 or not m:
        raise RuntimeError(f"pgbench failed: {out[-800:]}")
    lat = re.search(r"latency average = ([0-9.]+) ms", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    return {"tps": float(m.group(1)), "latency_ms": float(lat.group(1)) if lat else None,
            "failed": int(failed.group(1)) if failed else 0, "report": out,
            "stats": diff_stats(before, after), "cpu": diff_cpu(cpu0, cpu1), "dt": cpu1["t"] - cpu0["t"],
            "client_cpu": (ru.ru_utime + ru.ru_stime) / (cpu1["t"] - cpu0["t"]),
            "builders": sorted(set(builders))}


# ---------------------------------------------------------------- what PostgreSQL saw, CPU used

def db_stats(cl: Cluster, db: str) -> dict:
    row = cl.psql(db, "SELECT xact_commit, xact_rollback, deadlocks, tup_inserted, tup_updated, tup_deleted, "
                      "blk_write_time FROM pg_stat_database WHERE datname = current_database()").split("\t")
    wal = cl.psql(db, "SELECT wal_records, wal_bytes, wal_write, wal_sync FROM pg_stat_wal").split("\t")
    keys = ["commits", "rollbacks", "deadlocks", "inserted", "updated", "deleted", "blk_write_time"]
    d = {k: float(v) for k, v in zip(keys, row)}
    d.update({k: float(v) for k, v in zip(["wal_records", "wal_bytes", "wal_writes", "wal_syncs"], wal)})
    # Immediate and exact, unlike the statistics: transaction ids handed out (one per transaction
    # that wrote anything, committed or not) and the WAL position.
    xid, lsn = cl.psql(db, "SELECT pg_snapshot_xmax(pg_current_snapshot()), "
                           "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')").split("\t")
    d["xids"], d["wal_lsn"] = float(xid), float(lsn)
    d["t"] = time.monotonic()
    return d


def diff_stats(a: dict, b: dict) -> dict:
    return {k: b[k] - a[k] for k in a}


def proc_ticks(pid: int, reaped: bool = False) -> int:
    """CPU ticks of a process; with `reaped`, also of its children that it has waited for (the
    postmaster's exited backends)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        if reaped:
            ticks += int(fields[13]) + int(fields[14])  # cutime + cstime
        return ticks
    except (OSError, IndexError, ValueError):
        return 0


def children_of(ppid: int) -> list[int]:
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == ppid:
                    kids.append(int(d))
        except (OSError, IndexError, ValueError):
            pass
    return kids


def machine_ticks() -> tuple[int, int]:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v[:8]) - idle, sum(v[:8])


def cpu_snapshot(cl: Cluster, issuebox_pids: list[int]) -> dict:
    pm = cl.postmaster_pid()
    busy, total = machine_ticks()
    return {"t": time.monotonic(),
            "postgres": proc_ticks(pm, reaped=True) + sum(proc_ticks(p) for p in children_of(pm)),
            "issuebox": sum(proc_ticks(p) for p in issuebox_pids), "busy": busy, "total": total}


def diff_cpu(a: dict, b: dict) -> dict:
    """CPU used between two snapshots, in cores (1.0 = one core busy all the time)."""
    dt = b["t"] - a["t"]
    ncpu = os.cpu_count() or 1
    out = {k: (b[k] - a[k]) / CLK_TCK / dt for k in ("postgres", "issuebox")}
    out["machine"] = (b["busy"] - a["busy"]) / max(1, b["total"] - a["total"]) * ncpu
    return out


class WaitSampler:
    """Samples what the database's backends are doing (state, wait event) every 0.25 s from one
    psql session, for the length of a scenario."""

    def __init__(self, cl: Cluster, db: str, seconds: float):
        n = int(seconds / 0.25) + 8
        q = ("SELECT state, coalesce(wait_event_type, '-'), coalesce(wait_event, '-'), count(*) "
             f"FROM pg_stat_activity WHERE datname = '{db}' AND backend_type = 'client backend' "
             "AND pid <> pg_backend_pid() GROUP BY 1, 2, 3;\nSELECT pg_sleep(0.25);\n")
        self.script = q * n
        self.proc = subprocess.Popen([os.path.join(cl.bindir, "psql"), "-X", "-q", "-A", "-t", "-F", "\t",
                                      *cl.conn_args("postgres")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        self.threads = [threading.Thread(target=self._feed, daemon=True),
                        threading.Thread(target=self._read, daemon=True)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def _feed(self) -> None:
        try:
            self.proc.stdin.write(self.script)
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def finish(self) -> dict:
        """{state or "state: wait": average number of backends}; stops the sampler."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.threads[1].join(5)
        counts, samples = {}, 0
        for line in list(self.lines):
            parts = line.split("\t")
            if len(parts) == 1:  # the pg_sleep row ends one sample
                samples += 1
                continue
            if len(parts) != 4:
                continue
            state, wtype, wevent, n = parts
            key = f"{state}" if wtype == "-" else f"{state}: {wtype}/{wevent}"
            counts[key] = counts.get(key, 0) + int(n)
        return {k: v / max(1, samples) for k, v in counts.items()}


# --------------------------------------------------------------------------- issuebox

def write_config(path: str, url: str, tmp: str) -> None:
    with open(os.path.join(ROOT, "config.toml")) as f:
        text = f.read()
    out, seen = [], set()
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("bind ="):
            line, _ = 'bind = "127.0.0.1:0"', seen.add("bind")
        elif s.startswith('engine = "sled"'):
            line = f'engine = "postgres"\npostgres_url = "{url}"'
            seen.add("engine")
        elif s.startswith("data_dir ="):
            line = f'data_dir = "{tmp}/db"'
        elif s.startswith("sdn_file ="):
            line = f'sdn_file = "{os.path.join(ROOT, "data", "ofac", "sdn.csv")}"'
            seen.add("sdn")
        out.append(line)
    if seen != {"bind", "engine", "sdn"}:
        raise RuntimeError(f"config.toml changed shape: replaced only {sorted(seen)}")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


class Issuebox:
    def __init__(self, binary: str, config: str, tmp: str, name: str):
        self.out_path = os.path.join(tmp, f"{name}.out")
        self.err_path = os.path.join(tmp, f"{name}.err")
        env = {k: v for k, v in os.environ.items()
               if k not in ("ISSUEBOX_PAN_KEY", "ISSUEBOX_POSTGRES_URL")}
        env.setdefault("RUST_LOG", "warn")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([binary, "--config", config, "serve"], stdin=subprocess.DEVNULL,
                                     stdout=open(self.out_path, "wb"), stderr=open(self.err_path, "wb"),
                                     env=env, cwd=tmp)
        self.port = 0
        self.start_s = 0.0

    def wait_listening(self, limit_s: float = 60.0) -> None:
        while time.monotonic() - self.t0 < limit_s:
            with open(self.out_path, errors="replace") as f:
                m = re.search(r"listening on (\S+):(\d+)", f.read())
            if m:
                self.port = int(m.group(2))
                self.start_s = time.monotonic() - self.t0
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"issuebox exited with {self.proc.returncode} at start: {self.stderr()}")
            time.sleep(0.02)
        raise RuntimeError(f"issuebox: no 'listening on' within {limit_s:.0f} s: {self.stderr()}")

    def stderr(self) -> str:
        try:
            with open(self.err_path, errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return ""

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


class Client:
    """One keep-alive HTTP connection; re-opens after an error."""

    def __init__(self, port: int, token: str | None = None):
        self.port, self.token, self.conn = port, token, None

    def call(self, method: str, path: str, body=None, headers=None, raw: str | None = None):
        h = {"Content-Type": "application/json"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        data = raw.encode() if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            self.conn.request(method, path, body=data, headers=h)
            r = self.conn.getresponse()
            payload = r.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        try:
            js = json.loads(payload) if payload else None
        except ValueError:
            js = None
        return r.status, js


def get_token(port: int) -> str:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    c.request("POST", "/authentication", body="grant_type=client_credentials",
              headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    body = r.read()
    if r.status != 200:
        raise RuntimeError(f"/authentication answered {r.status}: {body[:200]!r}")
    return json.loads(body)["access_token"]


def enrollment_json(ssn: str) -> str:
    """The README's new-enrollment body for GPR100 (no alias, no kit)."""
    return ('{"productCode":"GPR100","userData":{"profileData":{"firstName":"Avery","lastName":"Quillfeather",'
            '"addresses":[{"type":"home","isDefault":true,"addressLine1":"1 Main St","city":"Pasadena",'
            '"state":"CA","zipCode":"91101"}]},"identifyingData":{"dateOfBirth":"1990-01-31","ssn":"' + ssn
            + '"},"email":{"emailAddress":"w' + ssn + '@example.com"}},'
            '"termsAcceptances":[{"termsIdentifier":"esign","termsAcceptanceFlag":true}]}')


def enroll_once(c: Client, ssn: str) -> tuple[int, dict | None]:
    return c.call("POST", f"/programs/{PROGRAM}/enrollments", raw=enrollment_json(ssn),
                  headers={"X-GD-RequestId": str(uuid.uuid4())})


def make_cards(ports: list[int], token: str, n: int) -> list[str]:
    """n cards (GPR100, PRIMARY, no account) made through the sandbox, spread over the processes."""
    def batch(i: int) -> list[str]:
        c, ids = Client(ports[i % len(ports)], token), []
        for _ in range(i, n, 16):
            st, js = c.call("POST", f"/sandbox/programs/{PROGRAM}/devices",
                            {"productCode": "GPR100", "cardType": "PRIMARY"})
            if st != 201:
                raise RuntimeError(f"card creation answered {st}: {str(js)[:200]}")
            ids.append(js["identifier"])
        return ids

    with cf.ThreadPoolExecutor(16) as ex:
        return [card for ids in ex.map(batch, range(16)) for card in ids]


# --------------------------------------------------------------------------- wrk

LUA_COMMON = r'''
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads); nthreads = nthreads + 1
end
counter = 0
function lines(path)
  local t = {}
  for l in io.lines(path) do table.insert(t, l) end
  return t
end
function done(summary, latency, requests)
  local q = {}
  for i = 0, 100 do table.insert(q, tostring(latency:percentile(90 + i / 10))) end
  io.write(string.format('RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"tail":[%s]}\n', summary.requests,
    summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, latency:percentile(50), latency:percentile(99),
    latency.max, table.concat(q, ",")))
end
'''

# Each wrk instance (INST) has its own SSN range and request-id prefix, so no two requests of a
# whole run share either: SSN = 1xx_xxx_xxx with INST in the hundred-millions' next digits.
LUA_ENROLL = r'''
local statuses = {}
function request()
  counter = counter + 1
  local ssn = string.format("%09d", SSN_BASE + tid * 2000000 + counter)
  local body = '{"productCode":"GPR100","userData":{"profileData":{"firstName":"Avery","lastName":"Quillfeather",' ..
    '"addresses":[{"type":"home","isDefault":true,"addressLine1":"1 Main St","city":"Pasadena","state":"CA",' ..
    '"zipCode":"91101"}]},"identifyingData":{"dateOfBirth":"1990-01-31","ssn":"' .. ssn .. '"},' ..
    '"email":{"emailAddress":"w' .. ssn .. '@example.com"}},' ..
    '"termsAcceptances":[{"termsIdentifier":"esign","termsAcceptanceFlag":true}]}'
  local rid = string.format("%08x-%04x-4000-8000-%012x", RUN_ID, INST * 16 + tid, counter)
  return wrk.format("POST", "/programs/SANDBOX/enrollments",
    {["Authorization"] = "Bearer " .. TOKEN, ["Content-Type"] = "application/json", ["X-GD-RequestId"] = rid}, body)
end
'''

# Thread tid of wrk instance INST takes every nthreads-th card of its own file; request k of a
# thread attaches plan floor(k / #cards) to card k mod #cards: every (card, plan) once.
LUA_ATTACH = r'''
local plans = {"WUSD", "WEUR", "WGBP", "WUSDMCG", "WUSDMER"}
function init(args)
  local all = lines(CARDS)
  mine = {}
  for i, c in ipairs(all) do if (i - 1) % NTHREADS == tid then table.insert(mine, c) end end
end
function request()
  local card = mine[counter % #mine + 1]
  local plan = plans[math.floor(counter / #mine) % #plans + 1]
  counter = counter + 1
  return wrk.format("POST", "/deviceapi/apis/v1/services/cardholder/accounts",
    {["Authorization"] = "Bearer " .. TOKEN, ["Content-Type"] = "application/json"},
    '{"device":{"identifier":"' .. card .. '"},"wallets":[{"planCode":"' .. plan .. '"}]}')
end
'''


class Wrk:
    def __init__(self, tmp: str, name: str, port: int, conns: int, threads: int, seconds: int, lua: str):
        self.name = name
        script = os.path.join(tmp, f"{name}.lua")
        with open(script, "w") as f:
            f.write(lua)
        self.out_path = os.path.join(tmp, f"{name}.wrk.out")
        self.proc = subprocess.Popen(["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "10s",
                                      "-s", script, f"http://127.0.0.1:{port}"], stdin=subprocess.DEVNULL,
                                     stdout=open(self.out_path, "w"), stderr=subprocess.STDOUT)

    def wait(self, limit_s: float) -> dict:
        deadline = time.monotonic() + limit_s
        while True:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                self.proc.kill()
                pid, status, ru = os.wait4(self.proc.pid, 0)
                break
            time.sleep(0.05)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        with open(self.out_path) as f:
            text = f.read()
        line = [x for x in text.splitlines() if x.startswith("RESULT ")]
        if not line:
            raise RuntimeError(f"wrk {self.name}: no result: {text[-500:]}")
        r = json.loads(line[-1][7:])
        r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
        r["socket_errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"]
        r["ok"] = r["requests"] - r["non2xx"]
        r["ok_rps"] = r["ok"] / (r["duration_us"] / 1e6)
        r["cpu"] = ru.ru_utime + ru.ru_stime
        return r


def merged_p99(results: list[dict]) -> float:
    """The 99th percentile of all requests of several wrk runs, from each run's percentiles
    90.0, 90.1, …, 100.0 (weighted by its requests). In microseconds."""
    tot = sum(r["requests"] for r in results)
    if tot == 0:
        return 0.0
    if len(results) == 1:
        return float(results[0]["p99_us"])

    def cdf(r: dict, x: float) -> float:  # fraction of r's requests at or under x, for x in the tail
        tail = r["tail"]
        if x < tail[0]:
            return 0.90
        k = max(i for i, v in enumerate(tail) if v <= x)
        return (900 + k) / 1000

    for x in sorted({v for r in results for v in r["tail"]}):
        if sum(r["requests"] * cdf(r, x) for r in results) / tot >= 0.99:
            return float(x)
    return float(max(r["max_us"] for r in results))


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def scenario(cl: Cluster, tmp: str, procs: list[Issuebox], name: str, luas: list[str], conns: int,
             seconds: int) -> dict:
    """Runs one wrk per process at once (connections split), with PostgreSQL's counters, a wait
    sampler and CPU accounting around it; answers the sums."""
    n = len(procs)
    threads = 2 if n == 1 else 1
    cl.psql("issuebox", "CHECKPOINT")  # no checkpoint's writes inside one scenario and not the other
    # PostgreSQL 15's backends hold back statistics gathered within a second of their last report
    # until they have been idle for 10 s (PGSTAT_IDLE_INTERVAL): wait that out on both sides.
    time.sleep(STATS_SETTLE_S)
    sampler = WaitSampler(cl, "issuebox", seconds)
    st0, cpu0 = db_stats(cl, "issuebox"), cpu_snapshot(cl, [p.proc.pid for p in procs])
    builders = busy_builders()
    sampler.start()
    runs = [Wrk(tmp, f"{name}-{n}-{i}", p.port, c, threads, seconds, lua)
            for i, (p, c, lua) in enumerate(zip(procs, split(conns, n), luas))]
    results = [w.wait(seconds + 60) for w in runs]
    cpu1 = cpu_snapshot(cl, [p.proc.pid for p in procs])
    builders += busy_builders()
    time.sleep(STATS_SETTLE_S)
    st1 = db_stats(cl, "issuebox")
    waits = sampler.finish()
    for p in procs:
        if p.proc.poll() is not None:
            raise RuntimeError(f"an issuebox process exited during {name}: {p.stderr()}")
    cpu = diff_cpu(cpu0, cpu1)
    cpu["wrk"] = sum(r["cpu"] for r in results) / (cpu1["t"] - cpu0["t"])
    ok = sum(r["ok"] for r in results)
    return {
        "rps": sum(r["ok_rps"] for r in results),
        "requests": sum(r["requests"] for r in results),
        "ok": ok,
        "non2xx": sum(r["non2xx"] for r in results),
        "socket_errors": sum(r["socket_errors"] for r in results),
        "p50_ms": max(r["p50_us"] for r in results) / 1000,
        "p99_ms": merged_p99(results) / 1000,
        "max_ms": max(r["max_us"] for r in results) / 1000,
        "per_proc": [round(r["ok_rps"]) for r in results],
        "stats": diff_stats(st0, st1),
        "cpu": cpu,
        "waits": waits,
        "dt": cpu1["t"] - cpu0["t"],
        "builders": sorted(set(builders)),
    }


# ------------------------------------------------------ statements and round trips per request

class CountingProxy:
    """A TCP proxy between issuebox and PostgreSQL that counts, per connection, the client's
    protocol messages (simple Query, Parse, Bind, Execute, Sync) and its turns: a turn is the
    client sending after the server last sent, i.e. one round trip it waited for."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.counts = {"turns": 0, "Q": 0, "P": 0, "B": 0, "E": 0, "S": 0}
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> dict:
        with self.lock:
            old = dict(self.counts)
            self.counts = {"turns": 0, "Q": 0, "P": 0, "B": 0, "E": 0, "S": 0}
        return old

    def _accept(self) -> None:
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            for sock in (c, s):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(c, s), daemon=True).start()

    def _pump(self, c: socket.socket, s: socket.socket) -> None:
        buf, startup, last = b"", True, "s"
        try:
            while True:
                ready, _, _ = select.select([c, s], [], [])
                if s in ready:
                    data = s.recv(65536)
                    if not data:
                        break
                    c.sendall(data)
                    last = "s"
                if c in ready:
                    data = c.recv(65536)
                    if not data:
                        break
                    s.sendall(data)
                    buf += data
                    found = {}
                    while True:
                        if startup:  # untyped: SSLRequest / GSSENCRequest / StartupMessage
                            if len(buf) < 8:
                                break
                            n = int.from_bytes(buf[:4], "big")
                            if len(buf) < n:
                                break
                            code = int.from_bytes(buf[4:8], "big")
                            buf = buf[n:]
                            startup = code in (80877103, 80877104)
                            continue
                        if len(buf) < 5:
                            break
                        n = int.from_bytes(buf[1:5], "big") + 1
                        if len(buf) < n:
                            break
                        t = chr(buf[0])
                        if t == "P":  # Parse: statement name, NUL, query text, NUL, …
                            text = buf[5:n].split(b"\0", 2)[1].decode(errors="replace")
                            kind = "parse: " + classify(text)
                            found[kind] = found.get(kind, 0) + 1
                        buf = buf[n:]
                        if t in "QPBES":
                            found[t] = found.get(t, 0) + 1
                    with self.lock:
                        if last == "s":
                            self.counts["turns"] += 1
                        for k, v in found.items():
                            self.counts[k] = self.counts.get(k, 0) + v
                    last = "c"
        except OSError:
            pass
        finally:
            c.close()
            s.close()

    def close(self) -> None:
        self.closed = True
        self.lsock.close()


STMT_RE = re.compile(r"^\S+ \S+ \S+ \[(\d+)\] LOG:  (?:statement|execute [^:]*): (.*)$")


def classify(sql: str) -> str:
    s = " ".join(sql.split())
    m = re.match(r"(INSERT INTO \w+|UPDATE \w+|DELETE FROM \w+|SELECT [\w, ]+? FROM \w+|BEGIN|COMMIT|ROLLBACK)", s)
    if not m:
        return s[:70]
    kind = m.group(1)
    if s.endswith("FOR UPDATE"):
        kind += " … FOR UPDATE"
    if "ON CONFLICT" in s:
        kind += " … ON CONFLICT"
    return kind


def measure_statements(cl: Cluster, binary: str, tmp: str, k: int) -> dict:
    """Statements (server log, log_statement = 'all') and round trips (the proxy) per request for
    k sequential enrollments and k sequential attaches through one process, after a warm-up that
    fills the connections' prepared-statement caches."""
    proxy = CountingProxy(cl.port)
    cfg = os.path.join(tmp, "config-proxy.toml")
    write_config(cfg, cl.url("issuebox", proxy.port), tmp)
    p = Issuebox(binary, cfg, tmp, "issuebox-statements")
    result = {}
    try:
        p.wait_listening()
        token = get_token(p.port)
        c = Client(p.port, token)
        # Warm-up, so that what is counted is the steady state of a loaded server: every
        # connection of the pool (32, handed out in turn, several per request) has run, and so
        # prepared and cached, each statement; first 48 clients at once, then one at a time.
        threads, rounds, warm = 48, 8, 64
        cards = make_cards([p.port], token, k + warm + threads)
        base = 900_000_000 + int(time.time()) % 1000 * 10000

        def warm_one(t: int) -> None:
            wc = Client(p.port, token)
            for r in range(rounds):
                enroll_once(wc, f"{base + 1000 + t * rounds + r:09d}")
            for plan in ATTACH_PLANS:
                wc.call("POST", "/deviceapi/apis/v1/services/cardholder/accounts",
                        {"device": {"identifier": cards[k + warm + t]}, "wallets": [{"planCode": plan}]})

        with cf.ThreadPoolExecutor(threads) as ex:
            list(ex.map(warm_one, range(threads)))
        for i in range(warm):
            enroll_once(c, f"{base + 100 + i:09d}")
            c.call("POST", "/deviceapi/apis/v1/services/cardholder/accounts",
                   {"device": {"identifier": cards[k + i]}, "wallets": [{"planCode": "WUSD"}]})
        for what in ("enroll", "attach"):
            cl.psql("postgres", "ALTER SYSTEM SET log_statement = 'all'")
            cl.psql("postgres", "SELECT pg_reload_conf()")
            time.sleep(0.5)
            mark = f"pg_scale_mark_{uuid.uuid4().hex[:8]}"
            cl.psql("postgres", f"SELECT '{mark}_start'")
            proxy.reset()
            ok = 0
            for i in range(k):
                if what == "enroll":
                    st, js = enroll_once(c, f"{base + i:09d}")
                else:
                    st, js = c.call("POST", "/deviceapi/apis/v1/services/cardholder/accounts",
                                    {"device": {"identifier": cards[i]}, "wallets": [{"planCode": "WUSD"}]})
                ok += 200 <= st < 300
            counts = proxy.reset()
            cl.psql("postgres", f"SELECT '{mark}_end'")
            cl.psql("postgres", "ALTER SYSTEM RESET log_statement")
            cl.psql("postgres", "SELECT pg_reload_conf()")
            with open(cl.logfile, errors="replace") as f:
                text = f.read()
            body = text[text.index(f"{mark}_start"):text.index(f"{mark}_end")]
            kinds: dict[str, int] = {}
            total = 0
            for line in body.splitlines()[1:-1]:  # the first and last are the marks' partial lines
                m = STMT_RE.match(line)
                if not m or "pg_scale_mark" in line:
                    continue
                kind = classify(m.group(2))
                kinds[kind] = kinds.get(kind, 0) + 1
                total += 1
            result[what] = {"requests": k, "ok": ok, "statements": total / k,
                            "kinds": {kk: v / k for kk, v in sorted(kinds.items(), key=lambda x: -x[1])},
                            "round_trips": counts["turns"] / k,
                            "messages": {t: counts[t] / k for t in "QPBES"},
                            "parsed": {kk[7:]: v / k for kk, v in sorted(counts.items(), key=lambda x: -x[1])
                                       if kk.startswith("parse: ")}}
    finally:
        p.stop()
        proxy.close()
    return result


# --------------------------------------------------------------------------- the report

def fmt_waits(waits: dict, top: int = 5) -> str:
    items = sorted(waits.items(), key=lambda x: -x[1])[:top]
    return ", ".join(f"{k} {v:.1f}" for k, v in items) or "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")),
                                                     "release", "issuebox"))
    ap.add_argument("--seconds", type=int, default=15, help="per scenario and N")
    ap.add_argument("--conns", type=int, default=64, help="wrk connections in all, split over the processes")
    ap.add_argument("--procs", default="1,2,3")
    ap.add_argument("--pgbench-seconds", type=int, default=20)
    ap.add_argument("--pgbench-clients", type=int, default=8)
    ap.add_argument("--pgbench-scale", type=int, default=10)
    ap.add_argument("--statements", action="store_true",
                    help="also count statements and round trips per enrollment and per attach")
    ap.add_argument("--statement-requests", type=int, default=20)
    ap.add_argument("--quiet-wait", type=float, default=900, help="seconds to wait for cargo/rustc to finish")
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    procs_list = [int(x) for x in args.procs.split(",") if x]
    if not shutil.which("wrk"):
        print("pg_scale: wrk is not installed (apt-get install -y wrk)")
        return 2
    if not os.access(binary, os.X_OK):
        print(f"pg_scale: no issuebox binary at {binary} (cargo build --release, or --binary)")
        return 2
    try:
        bindir = find_bindir()
    except RuntimeError as e:
        print(f"pg_scale: {e}")
        return 2

    def on_term(signum, frame):
        raise SystemExit(f"pg_scale: stopped by signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)

    quiet = wait_quiet(args.quiet_wait)
    log(quiet)
    tmp = tempfile.mkdtemp(prefix="issuebox-pgscale-run-")
    cl = Cluster(bindir)
    running: list[Issuebox] = []
    report = {"machine": quiet, "cores": os.cpu_count(), "binary": binary, "seconds": args.seconds,
              "conns": args.conns, "scale": {}}
    try:
        cl.start()
        ver = cl.psql("postgres", "SHOW server_version")
        log(f"PostgreSQL {ver} on port {cl.port} ({cl.dir})")
        report["postgres"] = ver
        log(f"pgbench -i -s {args.pgbench_scale}; pgbench -c {args.pgbench_clients} -j 2 -T {args.pgbench_seconds}")
        pgb = run_pgbench(cl, args.pgbench_scale, args.pgbench_clients, 2, args.pgbench_seconds)
        report["pgbench"] = {k: v for k, v in pgb.items() if k != "report"}
        log(f"pgbench: {pgb['tps']:.0f} tps, latency {pgb['latency_ms']} ms")

        cfg = os.path.join(tmp, "config.toml")
        write_config(cfg, cl.url("issuebox"), tmp)
        run_id = int(time.time()) & 0xFFFFFFFF
        last_attach = 0.0
        for n in procs_list:
            log(f"N = {n}: starting {n} issuebox process(es)")
            procs = [Issuebox(binary, cfg, tmp, f"issuebox-{n}-{i}") for i in range(n)]
            running += procs
            for p in procs:
                p.wait_listening()
            starts = [round(p.start_s, 2) for p in procs]
            token = get_token(procs[0].port)
            for p in procs:  # a token minted on one works on all; one enrollment each proves the path
                st, js = enroll_once(Client(p.port, token), f"{800_000_000 + n * 1000 + procs.index(p):09d}")
                code = (js or {}).get("responseDetails", [{}])[0].get("code")
                if st != 200 or code != 0:
                    raise RuntimeError(f"a check enrollment on port {p.port} answered {st}: {str(js)[:300]}")
            log(f"N = {n}: listening after {starts} s; enrollments for {args.seconds} s")
            luas = []
            for i in range(n):
                inst = n * 4 + i
                luas.append(f'TOKEN = "{token}"\nINST = {inst}\nRUN_ID = {run_id}\n'
                            f"SSN_BASE = {100_000_000 + inst * 20_000_000}\n" + LUA_COMMON + LUA_ENROLL)
            enroll = scenario(cl, tmp, procs, "enroll", luas, args.conns, args.seconds)
            log(f"N = {n}: {enroll['rps']:.0f} enrollments/s; making cards for the attaches")
            # Every (card, plan) pair once: enough cards for 5 attaches each at up to 4x the
            # enrollment rate or 1.5x the last N's attach rate (an attach writes less than an
            # enrollment), on the busiest process (wrk instances do not run at one pace).
            est = max(4 * enroll["rps"], 1.5 * last_attach, 1000)
            per_proc_cards = math.ceil(est * 1.5 * args.seconds / 5 / n)
            cards = make_cards([p.port for p in procs], token, per_proc_cards * n)
            luas = []
            for i in range(n):
                path = os.path.join(tmp, f"cards-{n}-{i}.txt")
                with open(path, "w") as f:
                    f.write("\n".join(cards[i::n]) + "\n")
                luas.append(f'TOKEN = "{token}"\nCARDS = "{path}"\nNTHREADS = {2 if n == 1 else 1}\n'
                            + LUA_COMMON + LUA_ATTACH)
            log(f"N = {n}: {len(cards)} cards; attaches for {args.seconds} s")
            attach = scenario(cl, tmp, procs, "attach", luas, args.conns, args.seconds)
            attach["capacity"] = 5 * len(cards)
            log(f"N = {n}: {attach['rps']:.0f} attaches/s")
            last_attach = attach["rps"]
            for p in procs:
                rc = p.stop()
                if rc != 0:
                    log(f"N = {n}: an issuebox process exited with {rc} on SIGTERM: {p.stderr()[-300:]}")
            errs = [p.stderr().strip() for p in procs if p.stderr().strip()]
            running = [p for p in running if p not in procs]
            report["scale"][n] = {"start_s": starts, "enroll": enroll, "attach": attach,
                                  "stderr": [e[-600:] for e in errs]}
        if args.statements:
            log(f"statements: {args.statement_requests} enrollments and attaches with log_statement = 'all'")
            report["statements"] = measure_statements(cl, binary, tmp, args.statement_requests)
    except (Exception, SystemExit, KeyboardInterrupt) as e:  # noqa: BLE001
        print(f"pg_scale: could not run: {e}")
        tail = cl.log_tail(1500)
        if tail:
            print("PostgreSQL's log ends:\n" + tail)
        return 2
    finally:
        for p in running:
            p.stop()
        cl.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print_report(report, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
    tps = report["pgbench"]["tps"]
    return 0 if all(s["enroll"]["rps"] >= tps for s in report["scale"].values()) else 1


def print_report(rep: dict, args) -> None:
    pgb = rep["pgbench"]
    tps = pgb["tps"]
    print()
    print(f"pg_scale: PostgreSQL {rep['postgres']}, fsync + synchronous_commit on; {rep['cores']} cores; "
          f"wrk {rep['conns']} connections split over the processes, {rep['seconds']} s per scenario")
    print(f"machine: {rep['machine']}")
    print()
    print(f"pgbench -c {args.pgbench_clients} -j 2 -T {args.pgbench_seconds} (TPC-B, scale {args.pgbench_scale}): "
          f"{tps:.0f} tps, latency avg {pgb['latency_ms']} ms, failed {pgb['failed']}")
    if pgb["builders"]:
        print(f"WARNING: cargo/rustc ran during pgbench: {' '.join(pgb['builders'])}")
    print()
    hdr = (f"{'N':>2} | {'enroll/s':>8} | {'p99 ms':>7} | {'errors':>14} | {'attach/s':>8} | {'p99 ms':>7} | "
           f"{'errors':>14} | {'enroll/s ÷ pgbench tps':>22}")
    print(hdr)
    print("-" * len(hdr))
    for n, s in rep["scale"].items():
        e, a = s["enroll"], s["attach"]
        print(f"{n:>2} | {e['rps']:8.0f} | {e['p99_ms']:7.1f} | {e['non2xx']:>5} non-2xx {e['socket_errors']:>2}s"
              f" | {a['rps']:8.0f} | {a['p99_ms']:7.1f} | {a['non2xx']:>5} non-2xx {a['socket_errors']:>2}s"
              f" | {e['rps'] / tps:22.2f}")
    print("(errors: non-2xx answers, then socket errors; p99 over all processes' requests)")
    print()
    print("What bounds it, per request (PostgreSQL's counters over the scenario ÷ 2xx answers):")
    s0 = pgb["stats"]
    dt0 = pgb["dt"]
    txns = max(1.0, tps * dt0)
    print(f"  pgbench       : {s0['xids'] / txns:.2f} write txns (xids)/txn, {s0['commits'] / txns:.2f} xact_commit/txn, "
          f"{s0['wal_lsn'] / txns:.0f} WAL bytes/txn, {s0['wal_syncs'] / dt0:.0f} WAL flushes/s "
          f"({s0['wal_syncs'] / txns:.2f}/txn)")
    pc = pgb["cpu"]
    print(f"      CPU cores: postgres {pc['postgres']:.2f}, pgbench {pgb['client_cpu']:.2f}, rest "
          f"{pc['machine'] - pc['postgres'] - pgb['client_cpu']:.2f}, machine {pc['machine']:.2f} of "
          f"{rep['cores']}; CPU ms per txn: postgres {1000 * pc['postgres'] / max(1, tps):.2f}")
    for n, s in rep["scale"].items():
        for what in ("enroll", "attach"):
            r = s[what]
            st, ok = r["stats"], max(1, r["ok"])
            c = r["cpu"]
            print(f"  N={n} {what:7s}: {st['xids'] / ok:.2f} write txns (xids), {st['commits'] / ok:.2f} xact_commit, "
                  f"{st['rollbacks'] / ok:.3f} rollbacks ({st['rollbacks']:.0f} in all), {st['deadlocks']:.0f} "
                  f"deadlocks, {st['wal_lsn'] / ok:.0f} WAL bytes, {st['inserted'] / ok:.1f} rows inserted; "
                  f"{st['wal_syncs'] / r['dt']:.0f} WAL flushes/s ({st['wal_syncs'] / ok:.2f}/req)")
            rest = c['machine'] - c['issuebox'] - c['postgres'] - c['wrk']
            print(f"      CPU cores: issuebox {c['issuebox']:.2f}, postgres {c['postgres']:.2f}, wrk {c['wrk']:.2f}, "
                  f"rest {rest:.2f}, machine {c['machine']:.2f} of {rep['cores']}; CPU ms per request: postgres "
                  f"{1000 * c['postgres'] / max(1, r['rps']):.2f}, issuebox {1000 * c['issuebox'] / max(1, r['rps']):.2f}")
            print(f"      backends (avg count): {fmt_waits(r['waits'])}")
            if r["builders"]:
                print(f"      WARNING: cargo/rustc ran during this scenario: {' '.join(r['builders'])}")
            if what == "attach" and r["requests"] > r["capacity"]:
                print(f"      WARNING: {r['requests']} attaches > {r['capacity']} fresh (card, plan) pairs")
        print(f"  N={n} start: listening after {s['start_s']} s; per-process enroll/s {s['enroll']['per_proc']}, "
              f"attach/s {s['attach']['per_proc']}")
        for e in s["stderr"]:
            print(f"  N={n} stderr: {e[-300:]!r}")
    if "statements" in rep:
        print()
        print("Statements and round trips per request (sequential, one process, after warm-up):")
        for what, r in rep["statements"].items():
            m = r["messages"]
            print(f"  {what}: {r['statements']:.1f} statements, {r['round_trips']:.1f} round trips "
                  f"(client turns); messages Query {m['Q']:.1f}, Parse {m['P']:.1f}, Bind {m['B']:.1f}, "
                  f"Execute {m['E']:.1f}, Sync {m['S']:.1f}; {r['ok']}/{r['requests']} 2xx")
            for kind, v in r["kinds"].items():
                parsed = r["parsed"].get(kind, 0)
                print(f"      {v:4.1f}  {kind}" + (f"   (parsed anew {parsed:.1f} times: not a cached statement)"
                                                     if parsed >= 0.5 else ""))


if __name__ == "__main__":
    sys.exit(main())
