#!/usr/bin/env python3
"""User-space instructions per read request (and per /health), counted by callgrind on the server.

    python3 benches/read_cost.py target/release/issuebox [--requests 1000] [--keep DIR]

Starts the binary under valgrind's callgrind with collection off, enrolls 200 customers through
the shared bench's harness (../shared/bench, as perf.py does), then for each scenario (/health,
GET account, idempotent replay, fetchwallet) sends the requests once to warm up and once with
collection on, one keep-alive connection at a time, and prints the instructions of that second
pass divided by the requests. The kernel's part (syscalls, loopback TCP) is not counted, and
valgrind hides the CPU's SHA extensions, so SHA-256 (token hash, digest, fingerprints) counts
several times what it costs natively. Repeats within 1%. --keep copies each scenario's callgrind
file into DIR (read with `callgrind_annotate --inclusive=yes`).
"""
import argparse
import glob
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "..", "shared", "bench"))
import harness as H  # noqa: E402
import perf as P  # noqa: E402

SCENARIOS = ["health", "get_account", "replay", "fetchwallet"]


def drive(name, port, token, data, n):
    accounts = open(f"{data}/accounts.txt").read().split()
    cards = open(f"{data}/cards.txt").read().split()
    replays = [line.split("\t") for line in open(f"{data}/replays.txt").read().splitlines() if line]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for i in range(n):
        if name == "health":
            conn.request("GET", "/health")
        elif name == "get_account":
            conn.request("GET", f"/programs/{H.PROGRAM}/accounts/{accounts[i % len(accounts)]}",
                         headers={**auth, "X-GD-RequestId": H.rid()})
        elif name == "replay":
            rid, body = replays[i % len(replays)]
            conn.request("POST", f"/programs/{H.PROGRAM}/enrollments", body=body.encode(),
                         headers={**auth, "X-GD-RequestId": rid})
        else:
            conn.request("POST", "/deviceapi/apis/v1/services/wallet/fetchwallet",
                         body=f'{{"device":{{"identifier":"{cards[i % len(cards)]}"}}}}', headers=auth)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"{name} answered {r.status}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--keep")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="issuebox-read-cost-")
    wrap = os.path.join(tmp, "callgrind.sh")
    with open(wrap, "w") as f:
        f.write(f"#!/bin/sh\nexec valgrind --tool=callgrind --instr-atstart=no "
                f"--callgrind-out-file={tmp}/cg.%p.out {os.path.abspath(args.binary)} \"$@\"\n")
    os.chmod(wrap, 0o755)
    srv = H.Server(wrap, H.write_config(tmp, "flush"), tmp)
    try:
        srv.start(wait_s=300)
        token = H.token(srv.port)
        P.prepare(srv.port, token, tmp, 200, 0)
        pid = str(srv.proc.pid)
        for name in SCENARIOS:
            drive(name, srv.port, token, tmp, args.requests)
            subprocess.run(["callgrind_control", "-i", "on", pid], capture_output=True, check=True)
            drive(name, srv.port, token, tmp, args.requests)
            subprocess.run(["callgrind_control", "-i", "off", pid], capture_output=True, check=True)
            subprocess.run(["callgrind_control", "-d", name, pid], capture_output=True, check=True)
        for path in sorted(glob.glob(f"{tmp}/cg.*.out.*")):
            text = open(path, errors="replace").read()
            label = re.search(r"^desc: Trigger: dump (\S+)", text, re.M)
            totals = re.findall(r"^totals: (\d+)", text, re.M)
            if label and totals:
                if args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    shutil.copy(path, os.path.join(args.keep, f"{label.group(1)}.callgrind"))
                print(f"{label.group(1):12s} {int(totals[-1]) / args.requests:9.0f} instructions per request")
    finally:
        srv.term(120)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
