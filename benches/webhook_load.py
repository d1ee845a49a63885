#!/usr/bin/env python3
"""What webhook delivery costs under load (issue #17's performance goal): enrollment throughput with
one endpoint subscribed to `*` against the same run without one, and the delivery lag (the event's
`occurredAt` to the receiver's 200) at that rate.

One server run (the reference load run's config, `durability = "flush"`, on a temporary store):
wrk `health`, then ROUNDS times `enroll` without an endpoint (A) and `enroll` with one (B), each
for SECONDS with CONNS connections (perf.py's scenario, driver and defaults). Before each B an
endpoint subscribed to `["*"]` is created with `POST /webhooks` (the bench client's token, scope
sandbox), pointing at the sink (`benches/webhook_sink.rs`); after the B run the script waits until
the sink holds every event written since the endpoint was created (at most DRAIN_TIMEOUT seconds),
then PATCHes it `disabled`, so the next A runs with no enabled endpoint (or, when it did not drain,
DELETEs it, which cancels its backlog).

    python3 benches/webhook_load.py [--binary PATH] [--sink PATH] [--seconds 10] [--conns 64]
        [--threads 2] [--rounds 2] [--drain-timeout 120] [--max-in-flight N] [--dispatch-ms N]
        [--timeout-ms N] [--perf PREFIX]

--binary defaults to $CARGO_TARGET_DIR (or target)/release/issuebox. --sink defaults to the
executable that `cargo bench --bench webhook_sink --no-run --message-format json` names (the script
runs it, which builds the sink when it is missing or stale). --max-in-flight, --dispatch-ms and
--timeout-ms write `webhooks.max_in_flight`, `webhooks.dispatch_interval_ms` and
`webhooks.timeout_ms` into the config; without them the server's defaults hold.
--perf PREFIX records the server with `perf record` during round 1's A and B runs and B's drain
(PREFIX-A.data, PREFIX-B.data, PREFIX-drain.data); that round's figures then carry perf's overhead
(and the drain's time includes perf's start).

Per run it prints: enroll req/s, p99 and errors (wrk); the server's CPU (utime + stime from
/proc/<pid>/stat) in all and per request; for B runs the events written, the deliveries the sink
got during the run (events/s) with their lag p50/p99/max, the time to drain after the run, the
server CPU per event delivered after it, and the lag over all the run's events once drained (or
the backlog, its drain rate and the time it would take). Then a table and the ratio (mean of B /
mean of A). On a shared host req/s moves with the neighbours; the CPU per request moves less.
Exit 0 when ratio >= 0.85 and every B's p99 lag <= 1 s and every B drained, 1 otherwise, 2 when
it could not run.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # nothing written beside ../shared/bench
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "..", "shared", "bench"))
import harness as H  # noqa: E402
import perf  # noqa: E402

RATIO_TARGET = 0.85
LAG_P99_TARGET_MS = 1000
TICK = os.sysconf("SC_CLK_TCK")


def call(c: H.Client, method: str, path: str, body=None):
    """One call; once more on a fresh connection when the idle one was closed meanwhile."""
    try:
        return c.call(method, path, body)
    except (OSError, http.client.HTTPException):
        return c.call(method, path, body)


def target_dir() -> str:
    return os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")


def build_sink() -> str:
    """Builds the sink (if needed) and answers its executable's path."""
    out = subprocess.run(["cargo", "bench", "--bench", "webhook_sink", "--no-run", "--message-format", "json"],
                         cwd=REPO, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("target", {}).get("name") == "webhook_sink" \
                and msg.get("executable"):
            return msg["executable"]
    raise RuntimeError(f"cargo built no webhook_sink: {out.stderr[-500:]}")


class Sink:
    def __init__(self, path: str, tmp: str):
        self.log = open(os.path.join(tmp, "sink.log"), "ab")
        self.proc = subprocess.Popen([path, "--port", "0"], stdout=subprocess.PIPE, stderr=self.log)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening on "):
            raise RuntimeError(f"sink: {line!r}")
        self.addr = line.split()[-1]
        self.port = int(self.addr.rsplit(":", 1)[1])
        self.client = H.Client(self.port)

    def stats(self) -> dict:
        st, js = call(self.client, "GET", "/stats")
        if st != 200:
            raise RuntimeError(f"sink /stats answered {st}")
        return js

    def reset(self, after: int) -> None:
        st, _ = call(self.client, "POST", f"/reset?after={after}")
        if st != 200:
            raise RuntimeError(f"sink /reset answered {st}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime: fields 14 and 15 of stat


def has_events_after(c: H.Client, n: int) -> bool:
    st, js = call(c, "GET", f"/events?after={n}&limit=1")
    if st != 200:
        raise RuntimeError(f"GET /events answered {st}: {str(js)[:200]}")
    return bool(js["data"])


def last_sequence(c: H.Client, known: int = 0) -> int:
    """The store's last event sequence (`known`: one not past it), by doubling then bisection."""
    lo, step = known, 1024
    while has_events_after(c, lo + step):
        lo, step = lo + step, step * 2
    hi = lo + step  # lo <= last <= hi (no event after hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if has_events_after(c, mid):
            lo = mid
        else:
            hi = mid
    return hi if has_events_after(c, lo) else lo


def settled_sequence(c: H.Client, known: int) -> int:
    """The last sequence once requests still in the server after wrk stopped have finished."""
    last = last_sequence(c, known)
    while True:
        time.sleep(0.3)
        now = last_sequence(c, last)
        if now == last:
            return last
        last = now


def perf_start(pid: int, out: str | None):
    """`perf record` of the server into `out` (None: no recording). cpu-clock, which works where
    the hardware counters are not exposed (VMs); dwarf call graphs, since the release build keeps
    no frame pointers."""
    if not out:
        return None
    rec = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "249", "--call-graph", "dwarf,16384",
                            "-p", str(pid), "-o", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    return rec


def perf_stop(rec) -> None:
    if rec:
        rec.send_signal(signal.SIGINT)
        rec.wait(120)


def enroll_scenario(run: int, threads: int) -> str:
    """perf.py's `enroll` with SSNs of its own (run `run` takes [200M + run * threads * 10M, ...)),
    registered as a scenario of its own so that its request ids differ too: otherwise a second run
    would repeat the first one's customers and request ids, and be answered as idempotent replays."""
    base = 200_000_000 + run * threads * 10_000_000
    if base + threads * 10_000_000 > 1_000_000_000:
        raise RuntimeError("too many runs for nine-digit SSNs: fewer --rounds or --threads")
    name = f"enroll_{run}"
    src = perf.SCENARIOS["enroll"]
    assert "500000000 + tid * 10000000" in src, "perf.py's enroll scenario changed"
    perf.SCENARIOS[name] = src.replace("500000000 + tid * 10000000", f"{base} + tid * 10000000")
    return name


def run_enroll(srv, tok, tmp, args, run: int, perf_out: str | None, sink: Sink | None) -> dict:
    """One wrk run of enrollments; with `sink`, its stats the moment wrk ends (`during`)."""
    scenario = enroll_scenario(run, args.threads)
    rec = perf_start(srv.proc.pid, perf_out)
    c0, t0 = cpu_s(srv.proc.pid), time.monotonic()
    r = perf.run_wrk(scenario, srv.port, tok, tmp, args.seconds, args.conns, args.threads)
    r["end"], r["end_cpu"] = time.monotonic(), cpu_s(srv.proc.pid)
    r["cpu"] = r["end_cpu"] - c0
    if sink:
        r["during"] = sink.stats()
    perf_stop(rec)
    return r


def wait_drained(sink: Sink, expected: int, run: dict, timeout: float,
                 srv_pid: int) -> tuple[float | None, dict, float]:
    """Waits until the sink holds `expected` distinct events, at most `timeout` s: (seconds since
    the end of the run or None; the sink's stats; the server's CPU s since the end of the run)."""
    t0, since, c0 = time.monotonic(), run["end"], run["end_cpu"]
    while True:
        s = sink.stats()
        if s["distinct"] >= expected:
            return time.monotonic() - since, s, cpu_s(srv_pid) - c0
        if time.monotonic() - t0 > timeout:
            return None, s, cpu_s(srv_pid) - c0
        time.sleep(0.05)


def webhooks_section(args) -> str:
    keys = [("max_in_flight", args.max_in_flight), ("dispatch_interval_ms", args.dispatch_ms),
            ("timeout_ms", args.timeout_ms)]
    lines = [f"{k} = {v}" for k, v in keys if v is not None]
    return "\n[webhooks]\n" + "\n".join(lines) + "\n" if lines else ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(target_dir(), "release", "issuebox"))
    ap.add_argument("--sink", help="the webhook_sink executable (default: built with cargo)")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--drain-timeout", type=float, default=120)
    ap.add_argument("--durability", default="flush")
    ap.add_argument("--max-in-flight", type=int)
    ap.add_argument("--dispatch-ms", type=int)
    ap.add_argument("--timeout-ms", type=int)
    ap.add_argument("--perf", help="PREFIX: perf record the server during round 1 (PREFIX-{A,B,drain}.data)")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        print("webhook_load: wrk is not installed (apt-get install wrk)")
        return 2
    tmp = tempfile.mkdtemp(prefix="issuebox-webhooks-")
    srv = sink = None
    try:
        sink = Sink(args.sink or build_sink(), tmp)
        config = H.write_config(tmp, args.durability)
        with open(config, "a") as f:
            f.write(webhooks_section(args))
        srv = H.Server(os.path.abspath(args.binary), config, tmp)
        srv.start()
        tok = H.token(srv.port)
        api = H.Client(srv.port, tok, timeout=600)
        pid = srv.proc.pid
        print(f"server pid {pid} on 127.0.0.1:{srv.port}, sink pid {sink.proc.pid} on {sink.addr}; "
              f"{args.seconds} s per run, {args.conns} connections; webhooks config: "
              f"{webhooks_section(args).split(chr(10), 2)[-1].strip().replace(chr(10), ', ') or 'defaults'}",
              flush=True)
        c0 = cpu_s(pid)
        h = perf.run_wrk("health", srv.port, tok, tmp, args.seconds, args.conns, args.threads)
        print(f"health        {h['rps']:8.0f} req/s  p99 {h['p99_us'] / 1000:6.2f} ms  "
              f"server CPU {(cpu_s(pid) - c0) * 1e6 / max(h['requests'], 1):5.1f} us/req", flush=True)

        seq = last_sequence(api)
        runs = {"A": [], "B": []}
        misses = []
        hook = None
        for rnd in range(1, args.rounds + 1):
            for kind in ("A", "B"):
                perf_out = f"{args.perf}-{kind}.data" if args.perf and rnd == 1 else None
                if kind == "B":
                    seq = last_sequence(api, seq)
                    st, js = call(api, "POST", "/webhooks", {"url": f"http://{sink.addr}/hook/{rnd}",
                                                            "eventTypes": ["*"], "description": f"bench round {rnd}"})
                    if st != 201:
                        raise RuntimeError(f"POST /webhooks answered {st}: {str(js)[:200]}")
                    hook = js["id"]
                    sink.reset(seq)
                    start_seq = seq
                r = run_enroll(srv, tok, tmp, args, 2 * (rnd - 1) + (kind == "B"), perf_out,
                               sink if kind == "B" else None)
                err = r["non2xx"] + r["socket_errors"]
                line = (f"r{rnd} {kind} enroll {r['rps']:8.0f} req/s  p99 {r['p99_us'] / 1000:6.1f} ms  "
                        f"errors {err}/{r['requests']}  server CPU {r['cpu']:5.2f} s "
                        f"({r['cpu'] * 1e6 / max(r['requests'], 1):4.0f} us/req)")
                if kind == "B":
                    during = r["during"]
                    seq = settled_sequence(api, seq)
                    expected = seq - start_seq
                    rec = perf_start(pid, f"{args.perf}-drain.data" if perf_out else None)
                    drain, final, drain_cpu = wait_drained(sink, expected, r, args.drain_timeout, pid)
                    perf_stop(rec)
                    r.update(events=expected, during=during, drain=drain, final=final, drain_cpu=drain_cpu)
                    dur = r["duration_us"] / 1e6
                    line += (f"\n      events written {expected} ({expected / dur:.0f}/s); delivered during the run "
                             f"{during['distinct']} ({during['distinct'] / dur:.0f}/s), lag p50 {during['p50_ms']} ms "
                             f"p99 {during['p99_ms']} ms max {during['max_ms']} ms")
                    if drain is None:
                        rate = (final["distinct"] - during["distinct"]) / args.drain_timeout
                        left = expected - final["distinct"]
                        line += (f"\n      NOT DRAINED after {args.drain_timeout:.0f} s: {left} left, draining at "
                                 f"{rate:.0f}/s (about {left / rate if rate else float('inf'):.0f} s more)")
                        misses.append(f"r{rnd} not drained")
                    else:
                        per = drain_cpu * 1e6 / max(final["distinct"] - during["distinct"], 1)
                        line += (f"\n      drained {drain:.1f} s after the run (server CPU {drain_cpu:.2f} s, "
                                 f"{per:.0f} us per event delivered after the run); "
                                 f"all {final['distinct']} events: lag p50 {final['p50_ms']} ms "
                                 f"p99 {final['p99_ms']} ms max {final['max_ms']} ms; "
                                 f"duplicates {final['count'] - final['distinct']}")
                    if final["p99_ms"] > LAG_P99_TARGET_MS:
                        misses.append(f"r{rnd} lag p99 {final['p99_ms']} ms")
                    if drain is None:
                        # A backlog would go on being attempted (or parked, once disabled) through the
                        # next runs: cancel it with the endpoint.
                        t0 = time.monotonic()
                        st, js = call(api, "DELETE", f"/webhooks/{hook}")
                        if st not in (200, 204):
                            raise RuntimeError(f"DELETE /webhooks answered {st}: {str(js)[:200]}")
                        line += f"; the endpoint and its backlog deleted in {time.monotonic() - t0:.1f} s"
                    else:
                        st, js = call(api, "PATCH", f"/webhooks/{hook}", {"status": "disabled"})
                        if st != 200:
                            raise RuntimeError(f"PATCH /webhooks answered {st}: {str(js)[:200]}")
                print(line, flush=True)
                runs[kind].append(r)

        def mean(xs):
            return sum(xs) / len(xs)

        a = mean([r["rps"] for r in runs["A"]])
        b = mean([r["rps"] for r in runs["B"]])
        ratio = b / a
        if ratio < RATIO_TARGET:
            misses.append(f"ratio {ratio:.2f}<{RATIO_TARGET}")
        cpu_a = mean([r["cpu"] * 1e6 / r["requests"] for r in runs["A"]])
        cpu_b = mean([r["cpu"] * 1e6 / r["requests"] for r in runs["B"]])
        print()
        print("| run | enroll req/s | p99 ms | server CPU us/req | events/s delivered during run | "
              "lag p50/p99/max ms (during run) | drain after run s | lag p50/p99/max ms (events delivered by the end of the wait) |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for i in range(args.rounds):
            for kind in ("A", "B"):
                r = runs[kind][i]
                row = f"| r{i + 1} {kind} | {r['rps']:.0f} | {r['p99_us'] / 1000:.1f} | " \
                      f"{r['cpu'] * 1e6 / r['requests']:.0f} | "
                if kind == "A":
                    row += "— | — | — | — |"
                else:
                    d, f = r["during"], r["final"]
                    row += (f"{d['distinct'] / (r['duration_us'] / 1e6):.0f} of {r['events'] / (r['duration_us'] / 1e6):.0f} | "
                            f"{d['p50_ms']}/{d['p99_ms']}/{d['max_ms']} | "
                            f"{'%.1f' % r['drain'] if r['drain'] is not None else 'not drained'} | "
                            f"{f['p50_ms']}/{f['p99_ms']}/{f['max_ms']} |")
                print(row)
        print(f"\nwebhook_load: without {a:.0f} req/s ({cpu_a:.0f} us CPU/req), with {b:.0f} req/s "
              f"({cpu_b:.0f} us CPU/req); ratio {ratio:.2f} (target {RATIO_TARGET}); "
              + ("all targets met" if not misses else "misses: " + ", ".join(misses)), flush=True)
        return 1 if misses else 0
    except Exception as e:  # noqa: BLE001
        print(f"webhook_load: could not run: {e}")
        return 2
    finally:
        if srv:
            srv.term()
        if sink:
            sink.stop()
        if not os.environ.get("KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
