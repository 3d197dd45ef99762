#!/usr/bin/python3
"""Retention soak: does the data directory stay flat under fast jobs?

JOBS jobs (default 144) fire every second (6-field cron `* * * * * *`),
each printing OUTPUT bytes (default 1024): 144 runs a second, 86,400 in
ten minutes -- a day of one job firing every second. Half keep the
daemon's default (--keep-runs 100), half set their own
"retention": {"runs": 20}. The sweep runs every 10 s (--retention-every).
Every SAMPLE seconds the data directory is measured -- chime.db +
chime.db-wal + runs/ (bytes and files) -- with the run rows the API
counts; at the end the series, the slope of the size over the second half
(after retention is in effect), and the longest retention transaction
(chime_retention_tx_max_seconds) are printed.

    /usr/bin/python3 bench/retention_soak.py [--minutes 10] [--jobs 144]
"""
import argparse
import os
import re
import shutil
import sys
import tempfile
import time

from benchlib import Daemon, machine, wait_for


def dir_size(data):
    db = wal = out = files = 0
    for name in ("chime.db", "chime.db-shm"):
        p = os.path.join(data, name)
        if os.path.exists(p):
            db += os.path.getsize(p)
    p = os.path.join(data, "chime.db-wal")
    if os.path.exists(p):
        wal = os.path.getsize(p)
    runs = os.path.join(data, "runs")
    for f in os.listdir(runs):
        try:
            out += os.path.getsize(os.path.join(runs, f))
            files += 1
        except FileNotFoundError:
            pass
    return db, wal, out, files


def slope(points):
    """Least squares: bytes per minute over (seconds, bytes) points."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return 60 * sxy / sxx if sxx else 0.0


def metric(d, name):
    status, text = d.request("GET", "/metrics")
    m = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.M) if status == 200 else None
    return float(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--jobs", type=int, default=144)
    ap.add_argument("--output", type=int, default=1024)
    ap.add_argument("--sample", type=float, default=5)
    a = ap.parse_args()
    parent = tempfile.mkdtemp(prefix="chime-soak-")
    data = os.path.join(parent, "data")
    print(machine(parent))
    d = Daemon(data, args=["--retention-every", "10s", "--max-concurrent", "256"]).start()
    series = []
    try:
        for i in range(a.jobs):
            doc = {"name": f"soak{i}", "schedule": {"cron": "* * * * * *"},
                   "shell": f"head -c {a.output} /dev/zero | tr '\\0' x"}
            if i % 2:
                doc["retention"] = {"runs": 20}
            d.put_job(doc)
        keep = (a.jobs // 2) * 100 + (a.jobs - a.jobs // 2) * 20
        print(f"{a.jobs} jobs every second, {a.output} B each; retention keeps {keep} runs")
        t0 = time.monotonic()
        end = t0 + a.minutes * 60
        while time.monotonic() < end:
            db, wal, out, files = dir_size(data)
            status, body = d.request("GET", "/api/v1/runs?limit=1")
            rows = body["total"] if status == 200 else -1
            newest = body["items"][0]["id"] if status == 200 and body["items"] else 0
            t = time.monotonic() - t0
            series.append((t, db + wal + out, db, wal, out, files, rows, newest))
            print(f"t={t:6.0f}s total={(db + wal + out) / 1e6:7.2f} MB db={db / 1e6:6.2f}"
                  f" wal={wal / 1e6:6.2f} out={out / 1e6:6.2f} files={files:6d}"
                  f" rows={rows:6d} runs_so_far={newest}", flush=True)
            time.sleep(a.sample)
        tx_max = metric(d, "chime_retention_tx_max_seconds")
        deleted = metric(d, "chime_retention_runs_deleted_total")
        sweeps = metric(d, "chime_retention_sweeps_total")
        lag = metric(d, "chime_loop_lag_seconds")
    finally:
        d.stop()
    half = [(p[0], p[1]) for p in series if p[0] >= series[-1][0] / 2]
    sizes = [p[1] for p in half]
    print()
    print(f"runs fired: {series[-1][7]}  rows kept at the end: {series[-1][6]}"
          f"  output files: {series[-1][5]}")
    print(f"second half: size {min(sizes) / 1e6:.2f}-{max(sizes) / 1e6:.2f} MB,"
          f" slope {slope(half) / 1e3:+.1f} KB/min"
          f" ({100 * slope(half) / (sum(sizes) / len(sizes)):+.2f} %/min of the mean)")
    print(f"retention: {deleted:.0f} runs deleted, {sweeps:.0f} sweeps, longest transaction"
          f" {1000 * tx_max:.1f} ms; loop lag at the end {1000 * (lag or 0):.1f} ms")
    shutil.rmtree(parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
