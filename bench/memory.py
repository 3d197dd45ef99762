#!/usr/bin/python3
"""memory.py: the daemon's memory per scheduled cron job, and its start-up
time with a full store.

For each N (default 0, 100,000 and 1,000,000): bench/jobs_seed fills a fresh
data directory with N cron jobs (the documents POST /api/v1/jobs would
store and the plan columns the daemon writes with them, written straight
into SQLite in big transactions), then `chime serve`
is started on it RUNS times. Start-up is the time from exec to the
"chime serving on" line, which the daemon prints once every job is loaded
from the store and scheduled (src/daemon/nodeload.c). Right after that line
the daemon's VmRSS, VmHWM, RssAnon and RssFile (/proc/PID/status) and the
CPU time it used (utime + stime, /proc/PID/stat) are read, then it is
stopped with SIGTERM. The database is in the page cache for these runs
(it was just written or read); one more run per N starts after the
database's pages were dropped from the cache (posix_fadvise DONTNEED on
its files), the cold start.

    bytes per job = (RSS(N) - RSS(0)) / N       (medians over the runs)

Upgrade: the largest N is seeded once more without plan columns (a
database as the previous schema left it, migrated when opened) and started
twice: the first start schedules every job from its document and writes
the plans (the one-time cost of the upgrade), the second reads the plans.

Then `jobs_seed probe` loads the largest store the daemon's way in process
and prints where the start-up time goes (the scan of the store,
job_from_plan, sched_job_put) and the heap that stays allocated per job
(mallinfo2).

Only 127.0.0.1 is used. Every run has a time limit; data directories are
removed at the end (the one of 1,000,000 jobs takes about 0.9 GB).

    /usr/bin/python3 bench/memory.py [--counts 0,100000,1000000] [--runs 3]
        [--work-dir /tmp] [--timeout 600] [--no-build] [--no-probe] [--no-upgrade]
"""
import argparse
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# CHIME_BIN and CHIME_BENCH_BIN (the directory of the bench binaries) name
# another build's, as bench/suite does
CHIME = os.environ.get("CHIME_BIN") or os.path.join(ROOT, "build", "chime")
SEED = os.path.join(os.environ.get("CHIME_BENCH_BIN") or os.path.join(ROOT, "build", "bench"),
                    "jobs_seed")
DB_BYTES_PER_JOB = 1000      # about 920 on disk: the check of free space
GOAL_BYTES = 512
GOAL_STARTUP_S = 3.0


def machine():
    model = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    u = platform.uname()
    cc = subprocess.run(["cc", "--version"], capture_output=True, text=True).stdout
    cc = cc.splitlines()[0] if cc else "cc ?"
    with open("/proc/meminfo") as f:
        mem = f.readline().split()[1]
    return (f"{model}, {os.cpu_count()} cores, {int(mem) // 1048576} GiB, "
            f"{u.system} {u.release} {u.machine}, {cc}")


def git_rev():
    where = os.path.dirname(os.path.abspath(CHIME))     # the tree the binary was built in
    try:
        rev = subprocess.run(["git", "-C", where, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", where, "status", "--porcelain", "--", ":/src"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + (" (src/ modified)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid):
    """VmRSS, VmHWM, RssAnon, RssFile, VmData in KiB, and Threads."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "VmData", "Threads"):
                out[key] = int(rest.split()[0])
    return out


def proc_cpu_s(pid):
    """utime + stime of PID (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drop_cache(data_dir):
    """Drops the pages of the database's files from the page cache."""
    for name in os.listdir(data_dir):
        if name.startswith("chime.db"):
            fd = os.open(os.path.join(data_dir, name), os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def serve_once(data_dir, log_path, timeout):
    """Starts the daemon, waits for its serving line, measures, stops it.
    Returns a dict of figures."""
    port = free_port()
    cmd = [CHIME, "serve", "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}",
           "--timezone", "UTC"]
    with open(log_path, "ab") as log:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    try:
        # the serving line is the first line on stdout; a deadline guards it
        deadline = t0 + timeout
        os.set_blocking(p.stdout.fileno(), False)
        buf = b""
        while b"\n" not in buf:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no serving line within {timeout} s")
            if p.poll() is not None:
                raise RuntimeError(f"daemon exited with {p.returncode} before serving")
            try:
                chunk = os.read(p.stdout.fileno(), 4096)
            except BlockingIOError:
                chunk = None
            if chunk:
                buf += chunk
            else:
                time.sleep(0.001)
        startup = time.monotonic() - t0
        line = buf.split(b"\n", 1)[0].decode(errors="replace")
        if not line.startswith("chime serving on"):
            raise RuntimeError(f"unexpected first line: {line!r}")
        st = proc_status(p.pid)
        cpu = proc_cpu_s(p.pid)
        return {"startup_s": startup, "cpu_s": cpu, "scheduled": scheduled(log_path), **st}
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        p.stdout.close()


def scheduled(log_path):
    """The count of the daemon's last "N jobs scheduled" log line."""
    with open(log_path, errors="replace") as f:
        found = re.findall(r"(\d+) jobs scheduled", f.read())
    return int(found[-1]) if found else -1


def log_tail(path, n=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--counts", default="0,100000,1000000",
                    help="job counts, comma-separated; the first should be 0 (the baseline)")
    ap.add_argument("--runs", type=int, default=3, help="warm starts per count (default 3)")
    ap.add_argument("--work-dir", default=tempfile.gettempdir(),
                    help="where the data directories are made (default the temp dir)")
    ap.add_argument("--timeout", type=float, default=600,
                    help="seconds a seeding or a start-up may take at most (default 600)")
    ap.add_argument("--no-build", action="store_true", help="do not run make first")
    ap.add_argument("--no-probe", action="store_true", help="skip the in-process breakdown")
    ap.add_argument("--no-upgrade", action="store_true",
                    help="skip the start of a database without plan columns")
    args = ap.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    if counts[0] != 0:
        counts.insert(0, 0)

    if not args.no_build:
        subprocess.run(["make", "-C", ROOT, "-s", "build/chime", "build/bench/jobs_seed"],
                       check=True, timeout=900)
    need = max(counts) * DB_BYTES_PER_JOB * (1.3 if args.no_upgrade else 2.6) + (64 << 20)
    free = shutil.disk_usage(args.work_dir).free
    if free < need:
        sys.exit(f"memory.py: {args.work_dir} has {free >> 20} MiB free, needs {int(need) >> 20}")

    print(f"machine: {machine()}")
    print(f"chime {git_rev()}; load average at start {os.getloadavg()[0]:.2f}")
    print(f"daemon: build/chime serve --data-dir DIR --listen 127.0.0.1:PORT --timezone UTC")
    print()

    top = tempfile.mkdtemp(prefix="chime-memory-", dir=args.work_dir)
    results = {}
    probe_dir = None
    try:
        for n in counts:
            d = os.path.join(top, f"n{n}")
            os.mkdir(d)
            t = time.monotonic()
            subprocess.run([SEED, "seed", d, str(n)], check=True, timeout=args.timeout,
                           stdout=subprocess.DEVNULL)
            seed_s = time.monotonic() - t
            db_mib = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
                         if f.startswith("chime.db")) / 1048576
            log = os.path.join(top, f"n{n}.log")
            runs = []
            for i in range(args.runs):
                try:
                    runs.append(serve_once(d, log, args.timeout))
                except RuntimeError as e:
                    sys.exit(f"memory.py: N={n}: {e}\n{log_tail(log)}")
            drop_cache(d)
            try:
                cold = serve_once(d, log, args.timeout)
            except RuntimeError as e:
                sys.exit(f"memory.py: N={n} (cold): {e}\n{log_tail(log)}")
            bad = [r["scheduled"] for r in runs + [cold] if r["scheduled"] != n]
            if bad:
                sys.exit(f"memory.py: N={n}: the daemon scheduled {bad[0]} jobs\n{log_tail(log)}")
            results[n] = {"seed_s": seed_s, "db_mib": db_mib, "runs": runs, "cold": cold}
            print(f"N={n}: seeded in {seed_s:.1f} s (db {db_mib:.0f} MiB); start-up "
                  + ", ".join(f"{r['startup_s']:.2f}" for r in runs)
                  + f" s warm, {cold['startup_s']:.2f} s cold; RSS "
                  + ", ".join(f"{r['VmRSS'] / 1024:.1f}" for r in runs) + " MiB",
                  flush=True)
            if n == max(counts) and n > 0:
                probe_dir = d
            else:
                shutil.rmtree(d)

        base = statistics.median(r["VmRSS"] for r in results[0]["runs"])
        base_anon = statistics.median(r["RssAnon"] for r in results[0]["runs"])
        print()
        print("| jobs | start-up s (warm, median) | start-up CPU s | start-up s (cold) "
              "| VmRSS MiB | VmHWM MiB | RssAnon MiB | bytes/job (RSS) | bytes/job (anon) |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in counts:
            runs = results[n]["runs"]
            med = lambda k: statistics.median(r[k] for r in runs)  # noqa: E731
            rss, anon = med("VmRSS"), med("RssAnon")
            per = f"{(rss - base) * 1024 / n:,.0f}" if n else "—"
            per_anon = f"{(anon - base_anon) * 1024 / n:,.0f}" if n else "—"
            print(f"| {n:,} | {med('startup_s'):.2f} | {med('cpu_s'):.2f} "
                  f"| {results[n]['cold']['startup_s']:.2f} | {rss / 1024:.1f} "
                  f"| {med('VmHWM') / 1024:.1f} | {anon / 1024:.1f} | {per} | {per_anon} |")
        print()
        print(f"goal: at most {GOAL_BYTES} bytes/job at 100,000 and 1,000,000 jobs; "
              f"start-up with 1,000,000 jobs under {GOAL_STARTUP_S:.0f} s")
        print(f"load average at end {os.getloadavg()[0]:.2f}")

        if max(counts) > 0 and not args.no_upgrade:
            n = max(counts)
            d = os.path.join(top, "upgrade")
            os.mkdir(d)
            subprocess.run([SEED, "seed", d, str(n), "--no-plans"], check=True,
                           timeout=args.timeout, stdout=subprocess.DEVNULL)
            log = os.path.join(top, "upgrade.log")
            try:
                first = serve_once(d, log, args.timeout)
                second = serve_once(d, log, args.timeout)
            except RuntimeError as e:
                sys.exit(f"memory.py: upgrade N={n}: {e}\n{log_tail(log)}")
            shutil.rmtree(d)
            print()
            print(f"upgrade, {n:,} jobs without plan columns: first start "
                  f"{first['startup_s']:.2f} s ({first['cpu_s']:.2f} CPU s, "
                  f"VmRSS {first['VmRSS'] / 1024:.1f} MiB), next start "
                  f"{second['startup_s']:.2f} s ({second['cpu_s']:.2f} CPU s, "
                  f"VmRSS {second['VmRSS'] / 1024:.1f} MiB)")

        if probe_dir and not args.no_probe:
            print()
            print(f"== in-process load of {max(counts):,} jobs (jobs_seed probe), "
                  "the daemon's load path")
            out = subprocess.run([SEED, "probe", probe_dir], check=True, timeout=args.timeout,
                                 capture_output=True, text=True).stdout
            print(out, end="")
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
