#!/usr/bin/python3
"""bulk_save.py: the bulk paths of the one save path (src/job/jobsave.c):
`chime import` of N cron jobs, and a jobs directory of N files, against
SQLite's own insert rate on the same disk.

Figures, each on a fresh data directory under --work-dir:

  sqlite   N rows of about a job document's size inserted in one
           transaction (Python's sqlite3, WAL, synchronous=NORMAL): the
           floor of any store write of N jobs on this disk.
  import   `chime import FILE` of an export file of N jobs to a running,
           empty daemon: the command's wall-clock time. Then the daemon's
           bytes per job (VmRSS once settled − VmRSS of an empty daemon) / N,
           and after a restart (the jobs loaded from the store).
  jobs-dir `chime serve --jobs-dir DIR` of N files (one job each): time from
           exec to /healthz answering, and to the directory's apply logged
           (the daemon serves first and applies the directory before its
           first tick), on the first start (every file saved) and on a
           restart (nothing changed), and bytes per job after each.

Only 127.0.0.1 is used; data directories are removed at the end.

    /usr/bin/python3 bench/bulk_save.py [--jobs 100000] [--work-dir /tmp] [--bin build/chime]
                                        [--only import|jobs-dir]
"""
import argparse
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.request

import benchlib
from benchlib import Daemon

ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo"]


def job_doc(i):
    """Job I: a daily cron job (`m h * * *`, none due in the next minutes),
    one in four in a named zone, as jobs_seed.c makes them."""
    doc = {"name": f"j{i:06d}", "schedule": {"cron": f"{i % 60} {(i // 60) % 24} * * *"},
           "command": ["/bin/true"], "description": f"bulk job {i}"}
    if i % 4 == 0:
        doc["schedule"]["timezone"] = ZONES[i % 3]
    return doc


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_s(pid):
    """utime + stime of PID (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settled_rss(pid, seconds=3.0):
    """VmRSS once settled: the least over SECONDS (the daemon trims after
    a large request once its reply is sent, which on a loaded machine may
    be a while after the client has read it)."""
    least = rss_kib(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.25)
        least = min(least, rss_kib(pid))
    return least


def applied(d, t0, timeout):
    """Seconds from exec (T0) until start-up ended (/healthz no longer
    "starting": the jobs directory applied, the engine about to tick), and
    the daemon's CPU seconds then."""
    deadline = time.monotonic() + timeout
    while d.starting():
        if time.monotonic() > deadline:
            raise RuntimeError("start-up did not end")
        time.sleep(0.005)
    return time.monotonic() - t0, cpu_s(d.proc.pid)


def start_timed(data_dir, args=(), timeout=600.0):
    """Starts a daemon; returns it and the seconds from exec to /healthz."""
    d = Daemon(data_dir, args=args)
    os.makedirs(d.data_dir, exist_ok=True)
    d.logf = open(d.log, "ab")
    t0 = time.monotonic()
    d.proc = subprocess.Popen([benchlib_chime(), "serve", "--data-dir", d.data_dir,
                               "--listen", f"127.0.0.1:{d.port}", "--timezone", "UTC", *args],
                              stdout=d.logf, stderr=d.logf, env=d.env)
    while True:
        if d.proc.poll() is not None:
            raise RuntimeError(f"chime serve exited {d.proc.returncode}: {d.logtext()}")
        if time.monotonic() - t0 > timeout:
            d.proc.kill()
            raise RuntimeError(f"no /healthz within {timeout} s")
        try:
            with urllib.request.urlopen(d.url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.005)
    took = time.monotonic() - t0
    d.start_cpu = cpu_s(d.proc.pid)
    d.t0 = t0
    with open(os.path.join(d.data_dir, "admin.token")) as f:
        d.token = f.read().strip()
    return d, took


_CHIME = [None]


def benchlib_chime():
    return _CHIME[0]


def sqlite_baseline(work, n):
    path = os.path.join(work, "baseline.db")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, ns TEXT NOT NULL, name TEXT NOT NULL, "
               "version INTEGER NOT NULL, doc TEXT NOT NULL, UNIQUE (ns, name))")
    rows = [("default", f"j{i:06d}", 1, json.dumps(job_doc(i))) for i in range(n)]
    t = time.monotonic()
    db.execute("BEGIN")
    db.executemany("INSERT INTO jobs (ns, name, version, doc) VALUES (?, ?, ?, ?)", rows)
    db.execute("COMMIT")
    took = time.monotonic() - t
    db.close()
    return took


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=100000)
    ap.add_argument("--work-dir", default=tempfile.gettempdir())
    ap.add_argument("--bin", default=os.path.join(benchlib.HERE, "..", "build", "chime"))
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--only", choices=["import", "jobs-dir"], help="run one part only")
    a = ap.parse_args()
    _CHIME[0] = os.path.abspath(a.bin)
    n = a.jobs
    print(benchlib.machine(a.work_dir))
    print(f"chime {benchlib.chime_version()}; {n:,} jobs; machine {benchlib.busy():.0f} % busy "
          f"before; load average {os.getloadavg()[0]:.2f}")
    work = tempfile.mkdtemp(prefix="chime-bulk-", dir=a.work_dir)
    try:
        base = sqlite_baseline(work, n)
        print(f"sqlite: {n:,} rows in one transaction: {base:.2f} s")

        d, _ = start_timed(os.path.join(work, "empty"), timeout=a.timeout)
        rss0 = settled_rss(d.proc.pid)
        d.stop()
        print(f"empty daemon: VmRSS {rss0 / 1024:.1f} MiB")

        if a.only != "jobs-dir":
            import_part(a, work, n, rss0)
        if a.only != "import":
            jobs_dir_part(a, work, n, rss0)
        print(f"load average at end {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def import_part(a, work, n, rss0):
    """`chime import` of N jobs to an empty daemon, then a restart."""
    d, _ = start_timed(os.path.join(work, "import"), timeout=a.timeout)
    _, exported = d.request("GET", "/api/v1/export")
    exported["jobs"] = [job_doc(i) for i in range(n)]
    file = os.path.join(work, "export.json")
    with open(file, "w") as f:
        json.dump(exported, f)
    t, cpu0 = time.monotonic(), cpu_s(d.proc.pid)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run([_CHIME[0], "import", file], capture_output=True, text=True,
                       env=dict(os.environ, **d.cli_env()), timeout=a.timeout)
    took = time.monotonic() - t
    if p.returncode != 0:
        d.stop()
        raise RuntimeError(f"chime import: {p.returncode}: {p.stderr[-2000:]}")
    cpu = cpu_s(d.proc.pid) - cpu0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli = ru.ru_utime + ru.ru_stime - ru0.ru_utime - ru0.ru_stime
    rss = settled_rss(d.proc.pid)
    d.stop()
    print(f"import: {took:.2f} s (daemon CPU {cpu:.2f} s, chime import CPU {cli:.2f} s); "
          f"{(rss - rss0) * 1024 / n:.0f} bytes/job")
    d, took = start_timed(d.data_dir, timeout=a.timeout)
    rss = settled_rss(d.proc.pid)
    d.stop()
    print(f"import, restarted (from the store): {took:.2f} s to /healthz "
          f"(CPU {d.start_cpu:.2f} s); "
          f"{(rss - rss0) * 1024 / n:.0f} bytes/job")


def jobs_dir_part(a, work, n, rss0):
    """A jobs directory of N files: first start and two restarts."""
    jobs = os.path.join(work, "jobs")
    os.mkdir(jobs)
    for i in range(n):
        with open(os.path.join(jobs, f"j{i:06d}.json"), "w") as f:
            json.dump(job_doc(i), f)
    data = os.path.join(work, "jobsdir")
    for what in ["first start", "restart 1 (no file changed)", "restart 2 (no file changed)"]:
        d, took = start_timed(data, ["--jobs-dir", jobs], timeout=a.timeout)
        done, cpu = applied(d, d.t0, a.timeout)
        rss = settled_rss(d.proc.pid)
        d.stop()
        print(f"jobs-dir, {what}: {took:.2f} s to /healthz (CPU {d.start_cpu:.2f} s), "
              f"start-up ended (directory applied) at {done:.2f} s (CPU {cpu:.2f} s); "
              f"{(rss - rss0) * 1024 / n:.0f} bytes/job")

if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
