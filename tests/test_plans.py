"""Plans end to end: the daemon keeps what it schedules by in columns of
the jobs table (docs/store.md, "Plans"), starts from them without reading
the documents, and reads a run's document only when the run starts."""
import sqlite3

from daemon import Daemon, wait_for

PLAN = ("plan_version, kind, cron, timezone, every_us, start_us, jitter_us, at_us, after_jobs,"
        " after_when, concurrency, max_instances, priority, misfire_grace_us, catch_up,"
        " max_catch_up, retry_max_attempts, retry_backoff_us, retry_factor,"
        " retry_max_backoff_us, retry_jitter, disable_after_failures")


def plan(data, name):
    db = sqlite3.connect(str(data / "chime.db"))
    try:
        row = db.execute(f"SELECT version, {PLAN} FROM jobs WHERE name = ?", (name,)).fetchone()
    finally:
        db.close()
    cols = ["version"] + [c.strip() for c in PLAN.split(",")]
    return dict(zip(cols, row))


def test_a_put_job_gets_the_plan_of_its_document(tmp_path):
    data = tmp_path / "data"
    d = Daemon(data).start()
    try:
        d.put_job({"name": "nightly", "schedule": {"cron": "0 2 * * *",
                                                    "timezone": "Europe/Berlin"},
                   "shell": "true", "concurrency": "queue", "max_instances": 3,
                   "priority": "high", "misfire": {"grace": "10m", "catch_up": "all",
                                                   "max_catch_up": 7},
                   "retry": {"max_attempts": 4, "backoff": "30s", "factor": 1.5,
                             "max_backoff": "30m", "jitter": 0.2},
                   "disable_after_failures": 5})
        d.put_job({"name": "after", "schedule": {"after": ["nightly", "other/x"],
                                                  "when": "always"}, "shell": "true"})
        d.put_job({"name": "every", "schedule": {"every": "90s", "jitter": "5s",
                                                  "start": "2026-01-01T00:00:00+01:00"},
                   "shell": "true"})
        p = wait_for("the plans", lambda: (x := plan(data, "every"))["plan_version"] and x)
    finally:
        d.stop()
    n = plan(data, "nightly")
    assert n["plan_version"] == n["version"] == 1
    assert (n["kind"], n["cron"], n["timezone"]) == ("cron", "0 2 * * *", "Europe/Berlin")
    assert (n["concurrency"], n["max_instances"], n["priority"]) == ("queue", 3, 10)
    assert (n["misfire_grace_us"], n["catch_up"], n["max_catch_up"]) == (600_000_000, "all", 7)
    assert (n["retry_max_attempts"], n["retry_backoff_us"], n["retry_factor"],
            n["retry_max_backoff_us"], n["retry_jitter"]) == (4, 30_000_000, 1.5,
                                                              1_800_000_000, 0.2)
    assert n["disable_after_failures"] == 5
    a = plan(data, "after")
    assert (a["kind"], a["after_jobs"], a["after_when"]) == ("after", "default/nightly other/x",
                                                             "always")
    assert (p["kind"], p["every_us"], p["jitter_us"], p["start_us"]) == \
        ("every", 90_000_000, 5_000_000, 1767222000_000_000)


def test_a_restart_schedules_from_plans_and_runs_read_their_document(tmp_path):
    data = tmp_path / "data"
    d = Daemon(data).start()
    d.put_job({"name": "env", "schedule": {"manual": True}, "shell": "echo $MODE; pwd",
               "env": {"MODE": "v1"}, "workdir": "sub"})
    d.put_job({"name": "tick", "schedule": {"every": "1h"}, "shell": "true"})
    wait_for("the plans", lambda: plan(data, "tick")["plan_version"] == 1)
    before = d.request("GET", "/api/v1/jobs/default/tick")[1]["next_fire"]
    d.stop()
    d = Daemon(data, port=d.port).start()
    try:
        assert "2 jobs scheduled (0 from their documents" in d.logtext()
        assert d.request("GET", "/api/v1/jobs/default/tick")[1]["next_fire"] == before
        (data / "work" / "default" / "sub").mkdir(parents=True)
        run = d.wait_run(d.trigger("default/env"))
        assert run["state"] == "succeeded", run
        assert run["job_version"] == 1
        out = d.output(run["id"]).splitlines()
        assert out[0] == "v1" and out[1].endswith("/work/default/sub"), out
        # a new version: its runs read the new document, the plan follows it
        d.request("PUT", "/api/v1/jobs/default/env",
                  {"name": "env", "schedule": {"manual": True}, "shell": "echo $MODE",
                   "env": {"MODE": "v2"}})
        run = d.wait_run(d.trigger("default/env"))
        assert run["job_version"] == 2 and d.output(run["id"]).strip() == "v2", run
        wait_for("the new plan", lambda: plan(data, "env")["plan_version"] == 2)
    finally:
        d.stop()


def test_jobs_without_a_current_plan_are_read_from_their_document_once(tmp_path):
    """A database from before the plan columns (or a crash between a put
    and its plan): the daemon schedules from the documents and writes the
    plans, and the next start reads the plans."""
    data = tmp_path / "data"
    d = Daemon(data).start()
    d.put_job({"name": "a", "schedule": {"every": "1h"}, "shell": "echo a"})
    d.put_job({"name": "b", "schedule": {"cron": "*/5 * * * *"}, "shell": "echo b"})
    wait_for("the plans", lambda: plan(data, "b")["plan_version"] == 1)
    d.stop()
    db = sqlite3.connect(str(data / "chime.db"))
    db.execute("UPDATE jobs SET plan_version = NULL, kind = NULL, cron = NULL")
    db.commit()
    db.close()
    d = Daemon(data, port=d.port).start()
    try:
        assert "2 jobs scheduled (2 from their documents" in d.logtext()
        assert plan(data, "b")["plan_version"] == 1 and plan(data, "b")["cron"] == "*/5 * * * *"
        run = d.wait_run(d.trigger("default/b"))
        assert d.output(run["id"]).strip() == "b"
    finally:
        d.stop()
    d = Daemon(data, port=d.port).start()
    try:
        assert d.logtext().count("2 jobs scheduled (0 from their documents") == 1
    finally:
        d.stop()
