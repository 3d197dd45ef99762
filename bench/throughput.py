#!/usr/bin/python3
"""throughput.py: runs of /bin/true a second, end to end.

End to end means: triggered over the API, recorded durably, started through
the spawner and a holder, reaped, and its end recorded durably. JOBS jobs
(default 3) with "concurrency": "allow", "max_instances": 1000 (the most a
job may have, so JOBS x 1000 >= RUNS and no trigger is skipped for
concurrency) and a daemon with --max-concurrent 8 (8 runs in flight, as
build/bench/spawn_baseline's default) and --keep-runs 100000 (the
default, 100 runs a job, would prune the history this reads). RUNS
triggers (default 3,000) are sent as fast as THREADS keep-alive
connections allow; the script waits with a deadline for every run to end
and reads the history:

  runs/s = runs succeeded / (max finished_at - min queued_at)

With --fired the runs are fired by the schedule instead of the API: RUNS
one-shot jobs {"at": T}, all at the same instant T after they are created,
so the engine queues them all at T and runs them --max-concurrent at a
time, and no HTTP client shares the cores while they run:

  runs/s = runs succeeded / (max finished_at - T)

Either way the figure is compared with the bare posix_spawn + waitpid loop of
build/bench/spawn_baseline (built by `make build/bench/spawn_baseline`), run
for 3 s with 8 in flight right after. Goal: chime >= half the baseline.

    /usr/bin/python3 bench/throughput.py [--runs M] [--jobs J] [--threads T]
        [--max-concurrent N] [--keep-runs K] [--data-parent DIR] [--no-baseline]
        [--fired [--lead S]] [--command PATH]

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

BASELINE = os.path.join(os.environ.get("CHIME_BENCH_BIN") or os.path.join(B.HERE, "..", "build", "bench"),
                        "spawn_baseline")


def med_ms(values_us):
    v = sorted(values_us)
    return f"p50 {B.percentile(v, 50) / 1000:.2f} ms, p99 {B.percentile(v, 99) / 1000:.2f} ms"


def fired(a, d):
    """RUNS {"at": T} jobs, all due at T; returns runs/s."""
    lead = a.lead if a.lead is not None else 3 + a.runs // 500
    t = (B.now_us() // 1000000 + int(lead)) * 1000000
    reqs = [("POST", "/api/v1/jobs", {"name": f"a{k:06d}", "schedule": {"at": B.iso_us(t)},
                                      "command": [a.command]}) for k in range(a.runs)]
    answers, secs = B.parallel(d.port, reqs, a.threads)
    bad = [x for x in answers if x[0] != 201]
    left = (t - B.now_us()) / 1e6
    print(f"created {a.runs - len(bad)} jobs in {secs:.2f} s; all due at {B.iso_us(t)}, "
          f"{left:.2f} s from now")
    if bad or left < 0.5:
        print(f"  {len(bad)} refused (first: {bad[:1]}) or too late: use fewer --runs "
              "or a larger --lead")
        return None
    time.sleep(left)
    cpu0 = B.tree_cpu(d.proc.pid)
    ok = B.wait_all_ended(d.port, a.runs, time.monotonic() + a.deadline, interval=0.25)
    cpu1 = B.tree_cpu(d.proc.pid)
    runs = B.all_runs(d.port)
    states = collections.Counter(r["state"] for r in runs)
    print(f"runs in the history: {len(runs)}; " + ", ".join(f"{s} {n}" for s, n in sorted(states.items()))
          + ("" if ok else f"; NOT ALL ENDED within {a.deadline:g} s"))
    done = [r for r in runs if r["state"] == "succeeded"]
    last = max(B.us_of(r["finished_at"]) for r in runs if r["finished_at"])
    span = (last - t) / 1e6
    rate = len(done) / span
    print(f"history: the fire instant to the last finished_at {span:.3f} s -> "
          f"{rate:,.0f} runs/s end to end")
    print("  fire -> started   " + med_ms([B.us_of(r["started_at"]) - t for r in done]))
    print("  started -> finished " + med_ms([B.us_of(r["finished_at"]) - B.us_of(r["started_at"])
                                            for r in done]))
    print("  " + B.cpu_line(cpu0, cpu1, len(runs)))
    return rate


def triggered(a, d):
    """RUNS API triggers over JOBS jobs; returns runs/s."""
    for j in range(a.jobs):
        d.put_job({"name": f"t{j}", "schedule": {"manual": True}, "command": [a.command],
                   "concurrency": "allow", "max_instances": 1000})
    reqs = [("POST", f"/api/v1/jobs/default/t{k % a.jobs}/trigger", {})
            for k in range(a.runs)]
    t0 = time.monotonic()
    answers, secs = B.parallel(d.port, reqs, a.threads)
    bad = [x for x in answers if x[0] != 202]
    print(f"triggered {a.runs - len(bad)} runs in {secs:.2f} s "
          f"({(a.runs - len(bad)) / secs:,.0f} triggers/s)")
    if bad:
        print(f"  {len(bad)} refused, first: {bad[0]}")
    # A trigger is answered once its run is recorded: from here on every
    # run is in the history (unless retention pruned it).
    kept = min(a.runs - len(bad), a.keep_runs * a.jobs)
    ok = B.wait_all_ended(d.port, kept, time.monotonic() + a.deadline, interval=0.25)
    wall = time.monotonic() - t0
    print(f"client clock: first trigger sent to no run queued or running {wall:.2f} s -> "
          f"{(a.runs - len(bad)) / wall:,.0f} runs/s (polled every 0.25 s)")
    runs = B.all_runs(d.port)
    if len(runs) < a.runs - len(bad):
        print(f"  the history keeps {len(runs)} runs (--keep-runs {a.keep_runs}): "
              "the figures below are of those only")
    states = collections.Counter(r["state"] for r in runs)
    print(f"runs in the history: {len(runs)}; " + ", ".join(f"{s} {n}" for s, n in sorted(states.items()))
          + ("" if ok else f"; NOT ALL ENDED within {a.deadline:g} s"))
    done = [r for r in runs if r["state"] == "succeeded"]
    first = min(B.us_of(r["queued_at"]) for r in runs)
    last = max(B.us_of(r["finished_at"]) for r in runs if r["finished_at"])
    span = (last - first) / 1e6
    rate = len(done) / span
    print(f"history: first queued_at to last finished_at {span:.3f} s -> "
          f"{rate:,.0f} runs/s end to end")
    print("  queued -> started  " + med_ms([B.us_of(r["started_at"]) - B.us_of(r["queued_at"])
                                           for r in done]))
    print("  started -> finished " + med_ms([B.us_of(r["finished_at"]) - B.us_of(r["started_at"])
                                            for r in done]))
    return rate


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=3000)
    ap.add_argument("--jobs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--max-concurrent", type=int, default=8)
    ap.add_argument("--deadline", type=float, default=300.0, help="seconds to wait for the runs")
    ap.add_argument("--keep-runs", type=int, default=100000,
                    help="the daemon's --keep-runs: history kept per job (default 100000, so "
                         "that every run stays to be measured; the daemon's own default is 100)")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--command", default="/bin/true",
                    help="the jobs' program, for chime and the baseline alike "
                         "(build/bench/true_static: one without the dynamic loader)")
    ap.add_argument("--fired", action="store_true",
                    help="RUNS one-shot jobs all due at one instant instead of API triggers")
    ap.add_argument("--lead", type=float, default=None,
                    help="--fired: seconds from the start to the instant (default 3 + RUNS/500; "
                         "more on a busy machine, where creating the jobs takes longer)")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    ap.add_argument("--data-parent", default=None,
                    help="where the daemon's data directory goes (default: $TMPDIR or /tmp)")
    a = ap.parse_args()

    print(B.machine(a.data_parent))
    print(f"busy before the start (other work on this machine): {B.busy():.0f}% of all cores")
    print(f"chime {B.chime_version()}; {a.runs} manual runs of {a.command} over {a.jobs} jobs "
          f"(allow, max_instances 1000), --max-concurrent {a.max_concurrent}, "
          f"--keep-runs {a.keep_runs}, {a.threads} HTTP connections")
    tmp = tempfile.mkdtemp(prefix="chime-bench-", dir=a.data_parent)
    # the trigger limits (10 a minute a job, 60 a token by default) would refuse
    # all but the first few triggers
    d = B.Daemon(os.path.join(tmp, "data"), args=["--max-concurrent", str(a.max_concurrent),
                                                    "--keep-runs", str(a.keep_runs),
                                                    "--triggers-per-job", "100000",
                                                    "--triggers-per-token", "100000"])
    d.start()
    rate = None
    try:
        rate = fired(a, d) if a.fired else triggered(a, d)
    finally:
        d.stop()
        if a.keep:
            print(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if a.no_baseline or rate is None:
        return 0
    if not os.path.exists(BASELINE):
        print(f"{BASELINE} is missing: make build/bench/spawn_baseline")
        return 1
    out = subprocess.run([BASELINE, "3", str(a.max_concurrent), a.command], capture_output=True, text=True,
                         timeout=60).stdout
    print("baseline: " + out.splitlines()[-1])
    m = re.search(r"([0-9.]+) runs/s", out)
    base = float(m.group(1))
    print(f"chime {rate:,.0f} runs/s vs bare posix_spawn {base:,.0f} runs/s: ratio {rate / base:.2f} "
          f"(goal >= 0.50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
