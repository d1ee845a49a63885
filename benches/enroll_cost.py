#!/usr/bin/env python3
"""Instructions per enrollment, by thread, counted by callgrind (see benches/enroll_cost.rs).

    python3 benches/enroll_cost.py [--durability flush|os]

Builds the enroll_cost bench, runs it under valgrind's callgrind at 600 and at 1,800 enrollments,
and prints (instructions at 1,800 - instructions at 600) / 1,200 for each group of threads, so
start-up cancels out. Takes about a minute. Two caveats: valgrind hides the CPU's SHA extensions,
so SHA-256 (the idempotency digest and the HMAC fingerprints) counts several times what it costs
natively; and sled's thread pool spins on a lazily initialised queue, which under valgrind (one
thread at a time) counts with elapsed time, so that spinning is left out.
"""
import glob, os, re, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOW, HIGH = 600, 1800


def build():
    out = subprocess.run(
        ["cargo", "bench", "--bench", "enroll_cost", "--no-run", "--message-format=json"],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if '"executable"' in line and "enroll_cost" in line:
            m = re.search(r'"executable":"([^"]+)"', line)
            if m:
                return m.group(1)
    sys.exit("enroll_cost bench binary not found")


def annotate(path):
    return subprocess.run(["callgrind_annotate", "--inclusive=yes", path],
                          capture_output=True, text=True).stdout


SPIN = re.compile(r"^\s*([\d,]+) \([ \d.]+%\)\s+\S*lazy.rs:<sled::lazy::Lazy<T,F> as "
                  r"core::ops::deref::Deref>::deref \[", re.M)


def groups(binary, n, extra, out):
    subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes",
                    f"--callgrind-out-file={out}/cg.{n}.%p", binary, "--enrollments", str(n)]
                   + extra, check=True, capture_output=True)
    g = {"request (main)": 0, "journal + applier": 0, "sled io": 0}
    for f in glob.glob(f"{out}/cg.{n}.*-*"):
        total = int(re.search(r"^(?:summary|totals): (\d+)", open(f).read(), re.M).group(1))
        text = annotate(f)
        if f.endswith("-01"):
            g["request (main)"] += total
        elif "src/store/embedded/batch.rs:std::sys::backtrace" in text:
            g["journal + applier"] += total
        else:
            m = SPIN.search(text)
            g["sled io"] += total - (int(m.group(1).replace(",", "")) if m else 0)
    return g


def main():
    binary = build()
    with tempfile.TemporaryDirectory() as out:
        a = groups(binary, LOW, sys.argv[1:], out)
        b = groups(binary, HIGH, sys.argv[1:], out)
    total = 0
    for k in a:
        d = (b[k] - a[k]) / (HIGH - LOW)
        total += d
        print(f"{k:16} {d:9.0f}")
    print(f"{'total':16} {total:9.0f}  instructions per enrollment")


main()
