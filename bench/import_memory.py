#!/usr/bin/python3
"""import_memory.py: the daemon's resident memory (VmRSS, /proc/PID/status)
around large import dry runs: an export file of JOBS jobs (default 30,000,
about 8.7 MiB) sent to POST /api/v1/import?dry_run=true RUNS times (default
3) to a fresh daemon. Prints RSS at start, right after each reply, and once
it has settled (polled up to 10 s): after a large request it must come back
near its start (src/api/server.c, on_completed).

Only 127.0.0.1 is used.

    /usr/bin/python3 bench/import_memory.py [--jobs 30000] [--runs 3] [--bin build/chime]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
import daemon as dm  # noqa: E402


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=30000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "chime"))
    a = ap.parse_args()
    dm.CHIME = os.path.abspath(a.bin)
    work = tempfile.mkdtemp(prefix="chime-import-memory-")
    d = dm.Daemon(os.path.join(work, "data")).start()
    try:
        status, doc = d.request("GET", "/api/v1/export")
        doc["jobs"] = [{"name": f"j{i:05d}", "namespace": f"ns{i % 10}",
                        "schedule": {"cron": f"{i % 60} * * * *"},
                        "shell": "echo hello world " + "x" * 150,
                        "description": "a job " * 5} for i in range(a.jobs)]
        body = json.dumps(doc).encode()
        start = rss_mib(d.proc.pid)
        print(f"body {len(body) / 2**20:.1f} MiB, {a.jobs} jobs; RSS at start {start:.0f} MiB")
        for i in range(a.runs):
            t = time.monotonic()
            status, plan = d.request("POST", "/api/v1/import?dry_run=true", raw=body)
            took = time.monotonic() - t
            print(f"dry run {i + 1}: {status} in {took:.1f} s, RSS right after {rss_mib(d.proc.pid):.0f} MiB")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and rss_mib(d.proc.pid) > start + 16:
            time.sleep(0.2)
        print(f"RSS settled {rss_mib(d.proc.pid):.0f} MiB (start {start:.0f} MiB)")
    finally:
        d.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
