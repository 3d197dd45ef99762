#!/usr/bin/python3
"""fire_lateness.py: how late chime starts one-shot fires.

N jobs (default 10,000), each {"at": T} with /bin/true, their instants
spread evenly over a WINDOW-second window (default 10 s: 1,000 fires a
second) that starts LEAD seconds (default 20) after the script starts.
The jobs are created over parallel keep-alive connections; the script then
sleeps (no polling while the window runs, so the client takes no CPU from
the daemon), waits with a deadline until every run has ended, reads the
whole run history and prints, over all runs:

  start lateness  = started_at - fire_time  (the job's process is forked
                    by its holder; the instant is taken just before the fork)
  engine lateness = queued_at  - fire_time  (the engine handled the fire:
                    the run record is submitted to the store at this instant;
                    the commit comes after)

p50, p90, p99, max in milliseconds, the count of runs per state, and the
lateness per second of the window (to tell a steady delay from a backlog).

With --wrk C, wrk (Debian package wrk) runs GET /api/v1/jobs/default/f000000
over C connections from just before the window to just after it, and its
requests/s are printed: the API under firing load. wrk sends as fast as it
can, taking a core of its own from the daemon; --wrk-rate R has each
connection wait C/R s between requests instead (wrk's delay()), offering
about R requests/s.

    /usr/bin/python3 bench/fire_lateness.py [--jobs N] [--window S] [--lead S]
        [--threads T] [--max-concurrent M] [--data-parent DIR] [--keep]
        [--wrk C [--wrk-rate R]] [--command PATH]

Not a test: nothing fails on a slow run. Network: 127.0.0.1 only.
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402


def ms(us):
    return us / 1000.0


def summary(label, values_us):
    v = sorted(values_us)
    return (f"{label:<34} p50 {ms(B.percentile(v, 50)):8.3f}  p90 {ms(B.percentile(v, 90)):8.3f}  "
            f"p99 {ms(B.percentile(v, 99)):8.3f}  max {ms(v[-1]):9.3f}  ms  (n={len(v)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--jobs", type=int, default=10000)
    ap.add_argument("--window", type=float, default=10.0, help="seconds the fires spread over")
    ap.add_argument("--lead", type=float, default=20.0, help="seconds from start to the window")
    ap.add_argument("--threads", type=int, default=8, help="parallel HTTP connections")
    ap.add_argument("--max-concurrent", type=int, default=256)
    ap.add_argument("--deadline", type=float, default=120.0,
                    help="seconds after the window to wait for the runs to end")
    ap.add_argument("--command", default="/bin/true",
                    help="the jobs' program (build/bench/true_static: one without the dynamic "
                         "loader, to see the scheduler's share where exec is dear)")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    ap.add_argument("--wrk", type=int, default=0, metavar="C",
                    help="run wrk with C connections on GET of one job during the window")
    ap.add_argument("--wrk-rate", type=float, default=0, metavar="R",
                    help="offer about R requests/s instead of as many as wrk can")
    ap.add_argument("--data-parent", default=None,
                    help="where the daemon's data directory goes (default: $TMPDIR or /tmp)")
    a = ap.parse_args()

    print(B.machine(a.data_parent))
    print(f"busy before the start (other work on this machine): {B.busy():.0f}% of all cores")
    print(f"chime {B.chime_version()}; {a.jobs} one-shot jobs of {a.command} over {a.window:g} s "
          f"({a.jobs / a.window:,.0f} fires/s), --max-concurrent {a.max_concurrent}")
    tmp = tempfile.mkdtemp(prefix="chime-bench-", dir=a.data_parent)
    d = B.Daemon(os.path.join(tmp, "data"), args=["--max-concurrent", str(a.max_concurrent)])
    d.start()
    try:
        t_start = B.now_us()
        # The window starts on a whole second LEAD seconds from now; fire k
        # at start + k * window / jobs.
        w0 = (t_start // 1000000 + int(a.lead)) * 1000000
        step = int(a.window * 1000000) // a.jobs
        fires = [w0 + k * step for k in range(a.jobs)]
        reqs = [("POST", "/api/v1/jobs",
                 {"name": f"f{k:06d}", "schedule": {"at": B.iso_us(fires[k])},
                  "command": [a.command]}) for k in range(a.jobs)]
        answers, secs = B.parallel(d.port, reqs, a.threads)
        bad = [x for x in answers if x[0] != 201]
        print(f"created {a.jobs - len(bad)} jobs in {secs:.2f} s ({a.jobs / secs:,.0f} jobs/s, "
              f"{a.threads} connections)")
        if bad:
            print(f"  {len(bad)} refused, first: {bad[0]}")
            return 1
        left = (w0 - B.now_us()) / 1e6
        if left < 1:
            print(f"creating the jobs ran into the window ({-left:.2f} s late): use a larger --lead")
            return 1
        cpu0 = B.tree_cpu(d.proc.pid)
        if not a.wrk:
            print(f"window starts in {left:.2f} s at {B.iso_us(w0)}; sleeping through it")
            time.sleep(left + a.window + 1)
        else:
            print(f"window starts in {left:.2f} s at {B.iso_us(w0)}; wrk -c {a.wrk} through it")
            time.sleep(max(0.0, left - 0.5))
            auth = ["-H", f"Authorization: Bearer {d.token}"] if getattr(d, "token", None) else []
            if a.wrk_rate:
                lua = os.path.join(tmp, "delay.lua")
                with open(lua, "w") as f:
                    f.write(f"function delay() return {a.wrk * 1000.0 / a.wrk_rate:.3f} end\n")
                auth += ["-s", lua]
            out = subprocess.run(["wrk", "-t2", f"-c{a.wrk}", f"-d{a.window + 1:g}s", "--latency"]
                                 + auth + [f"http://127.0.0.1:{d.port}/api/v1/jobs/default/f000000"],
                                 capture_output=True, text=True).stdout
            rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
            non2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out)
            p99 = re.search(r"99%\s+(\S+)", out)
            print(f"wrk during the window: {float(rps.group(1)) if rps else 0:,.0f} requests/s, "
                  f"latency p99 {p99.group(1) if p99 else '?'}, "
                  f"non-2xx {non2xx.group(1) if non2xx else 0}")
        ok = B.wait_all_ended(d.port, a.jobs, time.monotonic() + a.deadline)
        cpu1 = B.tree_cpu(d.proc.pid)
        ended = (B.now_us() - w0) / 1e6 - a.window
        runs = B.all_runs(d.port)
        states = collections.Counter(r["state"] for r in runs)
        print(f"runs: {len(runs)} of {a.jobs} fires; "
              + ", ".join(f"{s} {n}" for s, n in sorted(states.items()))
              + ("" if ok else f"; NOT ALL ENDED within {a.deadline:g} s after the window"))
        print(f"all ended {ended:.1f} s after the window closed (polled once a second)")
        print(B.cpu_line(cpu0, cpu1, len(runs)))

        start_late = [B.us_of(r["started_at"]) - B.us_of(r["fire_time"])
                      for r in runs if r["started_at"]]
        queue_late = [B.us_of(r["queued_at"]) - B.us_of(r["fire_time"]) for r in runs]
        commit_to_start = [B.us_of(r["started_at"]) - B.us_of(r["queued_at"])
                           for r in runs if r["started_at"]]
        print(summary("start  (started_at - fire_time)", start_late))
        print(summary("engine (queued_at - fire_time)", queue_late))
        print(summary("record+spawn (started_at - queued_at)", commit_to_start))
        early = sum(1 for x in queue_late if x < 0)
        if early:
            print(f"  {early} runs queued BEFORE their fire instant")

        # Per second of the window: is the delay steady or a growing backlog?
        per = collections.defaultdict(list)
        for r in runs:
            if r["started_at"]:
                f = B.us_of(r["fire_time"])
                per[(f - w0) // 1000000].append(B.us_of(r["started_at"]) - f)
        print("start lateness per second of the window (ms):")
        print("  s   fires     p50      p99      max")
        for sec in sorted(per):
            v = sorted(per[sec])
            print(f"  {sec:<3} {len(v):5d} {ms(B.percentile(v, 50)):8.2f} "
                  f"{ms(B.percentile(v, 99)):8.2f} {ms(v[-1]):8.2f}")
        others = [r for r in runs if r["state"] != "succeeded"][:5]
        for r in others:
            print(f"  not succeeded: {r}")
        return 0
    finally:
        d.stop()
        if a.keep:
            print(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
