#!/usr/bin/env python3
"""The server's CPU per request under one of the reference run's wrk scenarios, by thread group.

    python3 benches/server_cpu.py target/release/issuebox SCENARIO [SECONDS]

SCENARIO is one of perf.py's (health, get_account, replay, fetchwallet, enroll, instant, attach).
Starts the binary on a fresh store (durability flush) through ../shared/bench's harness, prepares
the scenario's data as perf.py does (2,000 cards; for instant 20,000 kits, so keep SECONDS at 2
or 3 there, before they run out), drives it with wrk (64 connections, 2 threads) for SECONDS
(default 10), and prints the rate, the machine's busy share and each thread group's user + system
time from /proc divided by the requests answered, then their total. Standard library only.
"""
import collections
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "bench"))
import harness as H  # noqa: E402
import perf as P  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def threads(pid):
    """Clock ticks of user + system time per thread name (digits and dashes at the end cut)."""
    out = collections.Counter()
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = open(f"/proc/{pid}/task/{t}/stat").read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")].rstrip("0123456789-")
        fields = stat[stat.rindex(")") + 2:].split()
        out[name] += int(fields[11]) + int(fields[12])
    return out


def machine():
    """All and idle (+ iowait) ticks of the machine."""
    v = list(map(int, open("/proc/stat").readline().split()[1:]))
    return sum(v), v[3] + v[4]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, scenario = os.path.abspath(sys.argv[1]), sys.argv[2]
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    tmp = tempfile.mkdtemp(prefix="server-cpu-")
    srv = H.Server(binary, H.write_config(tmp, "flush"), tmp)
    try:
        srv.start()
        token = H.token(srv.port)
        instant = scenario == "instant"
        P.prepare(srv.port, token, tmp, 200 if instant else 2000, 20000 if instant else 10)
        before, (all0, idle0) = threads(srv.proc.pid), machine()
        r = P.run_wrk(scenario, srv.port, token, tmp, seconds, 64, 2)
        after, (all1, idle1) = threads(srv.proc.pid), machine()
        n = r["requests"]
        busy = 100 * (1 - (idle1 - idle0) / (all1 - all0))
        print(f"{scenario}: {r['rps']:.0f} req/s, p50 {r['p50_us'] / 1000:.2f} ms, "
              f"p99 {r['p99_us'] / 1000:.2f} ms; machine busy {busy:.0f}%")
        total = 0
        for name in sorted(after, key=lambda k: -(after[k] - before[k])):
            d = after[name] - before[name]
            if d:
                print(f"  {name:20s} {d / HZ * 1e6 / n:7.1f} us per request")
                total += d
        print(f"  {'server total':20s} {total / HZ * 1e6 / n:7.1f} us per request")
    finally:
        srv.term()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
