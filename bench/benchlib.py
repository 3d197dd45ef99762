"""Shared helpers of the daemon benchmarks (bench/*.py): the machine line,
keep-alive HTTP clients for parallel requests, ISO instants, percentiles
and the whole run history of a daemon. Standard library only; the daemon
itself is started with tests/daemon.py's Daemon."""
import calendar
import http.client
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from daemon import CHIME, TOKENS, Daemon, wait_for  # noqa: E402,F401  (re-exported)


def machine(data_parent=None):
    """One line: cpu model, cores, kernel, and the filesystem the daemon's
    data directory is on."""
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
    fs = "?"
    try:
        where = data_parent or tempfile.gettempdir()
        fs = where + ": " + " ".join(subprocess.run(
            ["df", "--output=fstype,source", where], capture_output=True, text=True,
            timeout=5).stdout.split("\n")[1].split())
    except (OSError, IndexError, subprocess.SubprocessError):
        pass
    return (f"machine: {model}, {os.cpu_count()} cores, {u.system} {u.release} {u.machine}; "
            f"data dir on {fs}; python {platform.python_version()}")


def busy(seconds=1.0):
    """How busy the machine is before a benchmark starts (other work on the
    same cores skews every figure): percent of all cores over SECONDS."""
    def sample():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]   # total, idle + iowait
    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 100.0 * (1 - (i1 - i0) / max(1, t1 - t0))


def chime_version():
    """The commit the binary was built from, as far as git knows: that of
    the tree it is in (CHIME_BIN names another build's)."""
    where = os.path.dirname(os.path.abspath(CHIME))
    try:
        rev = subprocess.run(["git", "-C", where, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "-C", where, "status", "--porcelain", "--", ":/src"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev + (" (src/ modified)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def iso_us(us):
    """Microseconds since the epoch → 2026-11-23T18:00:00.250000Z."""
    s, f = divmod(us, 1000000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{f:06d}Z"


def us_of(iso):
    """2026-11-23T18:00:00.250000Z → microseconds since the epoch."""
    if iso is None:
        return None
    date, frac = iso.rstrip("Z").split(".") if "." in iso else (iso.rstrip("Z"), "0")
    t = calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%S"))
    return t * 1000000 + int(frac.ljust(6, "0")[:6])


def now_us():
    return time.time_ns() // 1000


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (p in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


class Client:
    """One keep-alive HTTP/1.1 connection to the daemon (one per thread)."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        if self.port in TOKENS:     # the admin token of a daemon from tests/daemon.py
            headers["Authorization"] = "Bearer " + TOKENS[self.port]
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                text = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, (json.loads(text) if text else None)
            except (http.client.HTTPException, ConnectionError, OSError):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn:
            self.conn.close()


def parallel(port, requests, threads):
    """Sends REQUESTS (a list of (method, path, body)) over THREADS keep-alive
    connections; returns the (status, body) answers in order and the
    seconds it took."""
    answers = [None] * len(requests)
    nxt = [0]
    lock = threading.Lock()

    def worker():
        c = Client(port)
        try:
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= len(requests):
                    return
                answers[i] = c.request(*requests[i])
        finally:
            c.close()

    t0 = time.monotonic()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return answers, time.monotonic() - t0


def count_runs(port, state=None, job=None):
    """The number of runs (of STATE, of JOB) the daemon's history holds."""
    q = "/api/v1/runs?limit=1" + (f"&state={state}" if state else "") + (f"&job={job}" if job else "")
    status, body = Client(port).request("GET", q)
    assert status == 200, (status, body)
    return body["total"]


def all_runs(port, job=None):
    """Every run of the history (pages of 1,000)."""
    c = Client(port)
    runs, cursor = [], None
    try:
        for _ in range(100000):
            q = "/api/v1/runs?limit=1000" + (f"&job={job}" if job else "")
            if cursor:
                q += "&cursor=" + cursor
            status, body = c.request("GET", q)
            assert status == 200, (status, body)
            runs.extend(body["items"])
            cursor = body.get("next_cursor")
            if not cursor:
                break
    finally:
        c.close()
    return runs


ACTIVE = ("queued", "running")


def wait_all_ended(port, expect, deadline_s, interval=1.0):
    """Polls until the history holds EXPECT runs (at least), none queued or
    running, or until DEADLINE_S (monotonic) passes; returns True if they
    all ended. (The daemon prunes each job's history to --keep-runs.)"""
    while time.monotonic() < deadline_s:
        if count_runs(port) >= expect and all(count_runs(port, s) == 0 for s in ACTIVE):
            return True
        time.sleep(interval)
    return False


def have(tool):
    return shutil.which(tool) is not None


# ---- CPU by process of the daemon's tree ----

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """(comm, ppid, own ticks, reaped children's ticks) of PID, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    comm = s[s.index("(") + 1:s.rindex(")")]
    v = s[s.rindex(")") + 2:].split()
    return comm, int(v[1]), int(v[11]) + int(v[12]), int(v[13]) + int(v[14])


def tree_cpu(daemon_pid):
    """CPU seconds so far of the daemon's processes: the daemon (every
    thread), its spawner, the spawner's holders, and the jobs the holders
    reaped (the holders' children's time). Take it before and after a
    measurement and subtract (cpu_delta): holders live in a pool, so the
    ones that exit in between (few) take their ticks with them."""
    out = {"daemon": 0.0, "spawner": 0.0, "holders": 0.0, "jobs": 0.0}
    st = _stat(daemon_pid)
    if st:
        out["daemon"] = st[2] / TICK
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(int(name))
            if st:
                procs[int(name)] = st
    spawners = [p for p, st in procs.items() if st[1] == daemon_pid and st[0] == "chime-spawner"]
    for sp in spawners:
        out["spawner"] += procs[sp][2] / TICK
        for p, st in procs.items():
            if st[1] == sp:
                out["holders"] += st[2] / TICK
                out["jobs"] += st[3] / TICK
    return out


def cpu_line(before, after, runs):
    """'CPU per run: daemon 412 µs, ...' from two tree_cpu() snapshots."""
    parts = [f"{k} {(after[k] - before[k]) / runs * 1e6:,.0f}" for k in before]
    total = sum(after[k] - before[k] for k in before) / runs * 1e6
    return "CPU per run (µs): " + ", ".join(parts) + f"; total {total:,.0f}"
