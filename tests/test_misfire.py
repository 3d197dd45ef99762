"""Every due fire leaves exactly one history entry, the first fire of a job
included: an `at` instant already past when the job is saved, and the first
fires of a job that never fired before the daemon went down, follow the
misfire policy (docs/sched.md, "Which fires count"). And a `catch_up: all`
backlog runs one fire after another under the default `forbid`."""
import datetime as dt
import time

import pytest

from daemon import Daemon, wait_for

FINAL = ("succeeded", "failed", "timed_out", "cancelled", "lost", "skipped", "missed")


def utc(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc)


def iso(t):
    return utc(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def create(d, doc):
    status, body = d.request("POST", "/api/v1/jobs", doc)
    assert status == 201, (status, body)
    return body


def final_runs(d, job, n=1):
    """Polls until JOB has N runs in a final state; returns all its runs."""
    def check():
        runs = d.runs(job)
        return len([r for r in runs if r["state"] in FINAL]) >= n and runs
    return wait_for(f"{n} final run(s) of {job}", check)


def test_at_in_the_past_within_the_grace_runs_as_a_catch_up(daemon):
    body = create(daemon, {"name": "late", "schedule": {"at": iso(time.time() - 600)},
                           "misfire": {"grace": "1h"}, "shell": "echo caught"})
    assert body["warnings"] == []
    runs = final_runs(daemon, "default/late")
    assert len(runs) == 1, runs
    assert runs[0]["reason"] == "catch_up" and runs[0]["state"] == "succeeded", runs[0]
    assert daemon.output(runs[0]["id"]).strip() == "caught"


def test_at_past_the_grace_is_one_missed_run_and_the_save_says_so(daemon):
    at = time.time() - 7200
    body = create(daemon, {"name": "gone", "schedule": {"at": iso(at)},
                           "misfire": {"grace": "1h"}, "shell": "true"})
    assert len(body["warnings"]) == 1, body
    assert "older than the misfire grace (1h)" in body["warnings"][0]
    assert "recorded as missed" in body["warnings"][0]
    runs = final_runs(daemon, "default/gone")
    assert len(runs) == 1, runs
    assert runs[0]["state"] == "missed", runs[0]
    assert parse(runs[0]["fire_time"]) == parse(iso(at))
    # the preview of the same draft warns the same, and saves nothing
    status, prev = daemon.request("POST", "/api/v1/preview",
                                  {"name": "draft", "schedule": {"at": iso(at)},
                                   "misfire": {"grace": "1h"}, "shell": "true"})
    assert status == 200 and len(prev["warnings"]) == 1, prev


def schedule_at(kind, t):
    """A schedule of KIND whose first fire is T (a whole second)."""
    if kind == "at":
        return {"at": iso(t)}
    if kind == "every":
        return {"every": "1h", "start": iso(t)}
    u = utc(t)
    return {"cron": f"{u.second} {u.minute} {u.hour} * * *", "timezone": "UTC"}


@pytest.mark.parametrize("catch_up", ["latest", "none"])
@pytest.mark.parametrize("kind", ["at", "every", "cron"])
def test_a_first_fire_during_downtime_is_handled_once_after_a_restart(tmp_path, kind, catch_up):
    d = Daemon(tmp_path / "data").start()
    fire = float(int(time.time()) + 4)          # a whole second, 3-4 s away
    create(d, {"name": "first", "schedule": schedule_at(kind, fire), "shell": "echo ran",
               "misfire": {"grace": "1h", "catch_up": catch_up}})
    d.kill9()
    assert time.time() < fire, "the daemon was killed after the fire: rerun on a quieter machine"
    wait_for("the fire's instant to pass", lambda: time.time() > fire + 0.5, timeout=10)
    d = Daemon(tmp_path / "data", port=d.port).start()
    try:
        runs = final_runs(d, "default/first")
        assert len(runs) == 1, runs             # one fire, one entry
        run = runs[0]
        assert parse(run["fire_time"]) == utc(fire)
        assert run["reason"] == "catch_up", run
        if catch_up == "none":
            assert run["state"] == "missed", run
        else:
            assert run["state"] == "succeeded", run
            assert d.output(run["id"]).strip() == "ran"
        status, job = d.request("GET", "/api/v1/jobs/default/first")
        assert status == 200
        if kind == "at":
            assert job["next_fire"] is None
        else:
            assert parse(job["next_fire"]) > utc(fire)
    finally:
        d.stop()


def test_catch_up_all_under_forbid_runs_the_backlog_one_after_another(tmp_path):
    d = Daemon(tmp_path / "data").start()
    create(d, {"name": "tick", "schedule": {"cron": "* * * * * *"}, "shell": "sleep 0.3",
               "misfire": {"grace": "1h", "catch_up": "all"}})      # concurrency: forbid
    wait_for("a first fire", lambda: d.runs("default/tick"))
    d.stop()
    down = time.time()
    wait_for("four seconds of downtime", lambda: time.time() > down + 4, timeout=10)
    d = Daemon(tmp_path / "data", port=d.port).start()
    try:
        def backlog():
            return sorted((r for r in d.runs("default/tick") if r["reason"] == "catch_up"),
                          key=lambda r: r["fire_time"])
        def three_ended():
            b = backlog()
            return len([r for r in b if r["state"] == "succeeded"]) >= 3 and b
        ran = wait_for("three catch-up runs to end", three_ended)
        assert [r for r in ran if r["state"] in ("skipped", "missed", "cancelled")] == [], ran
        done = [r for r in ran if r["state"] == "succeeded"]
        # oldest first, and never two at once
        for a, b in zip(done, done[1:]):
            assert a["fire_time"] < b["fire_time"]
            assert parse(b["started_at"]) >= parse(a["finished_at"]), (a, b)
        keys = [(r["fire_time"], r["attempt"]) for r in d.runs("default/tick")]
        assert len(keys) == len(set(keys))      # no fire recorded twice
    finally:
        d.stop()
