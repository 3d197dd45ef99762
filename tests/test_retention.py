"""Retention end to end (docs/store.md, "Retention"): a job's own
"retention" wins over the daemon's --keep-* defaults; runs past the count
go with their output files; runs past the age go, also of jobs that no
longer run (the sweep); the audit log is pruned by count and age; and the
data directory stops growing under fast jobs once retention is in effect.
Every wait is a poll with a deadline."""
import os
import re
import time

from daemon import Daemon, wait_for


def output_files(data):
    return {int(f[:-4]) for f in os.listdir(data / "runs") if f.endswith(".out")}


def data_size(data):
    """The database, its WAL and the run output: what retention bounds."""
    total = 0
    for name in ("chime.db", "chime.db-wal"):
        p = data / name
        if p.exists():
            total += p.stat().st_size
    for f in os.listdir(data / "runs"):
        try:
            total += (data / "runs" / f).stat().st_size
        except FileNotFoundError:
            pass                    # removed between listdir and stat
    return total


def test_a_jobs_retention_keeps_exactly_its_newest_runs_and_their_output(tmp_path):
    data = tmp_path / "data"
    d = Daemon(data, args=["--keep-runs", "6"]).start()
    try:
        d.put_job({"name": "few", "schedule": {"manual": True}, "shell": "echo run $CHIME_RUN_ID",
                   "retention": {"runs": 3}})
        d.put_job({"name": "dflt", "schedule": {"manual": True}, "shell": "echo default"})
        few = [d.wait_run(d.trigger("default/few"))["id"] for _ in range(8)]
        dflt = [d.wait_run(d.trigger("default/dflt"))["id"] for _ in range(9)]
        # the job's own 3, the daemon's 6 for the other
        wait_for("few to keep its newest 3",
                 lambda: sorted(r["id"] for r in d.runs("default/few")) == few[-3:])
        wait_for("dflt to keep the daemon's 6",
                 lambda: sorted(r["id"] for r in d.runs("default/dflt")) == dflt[-6:])
        wait_for("only the kept runs' output files",
                 lambda: output_files(data) == set(few[-3:]) | set(dflt[-6:]))
        assert d.output(few[-1]).strip().endswith(f"run {few[-1]}")
        status, _ = d.request("GET", f"/api/v1/runs/{few[0]}")
        assert status == 404
        # the canonical document says what the job keeps; null is the default
        status, doc = d.request("GET", "/api/v1/jobs/default/few")
        assert doc["retention"] == {"runs": 3, "for": None, "output": None,
                                    "dead_letters": None}, doc["retention"]
        # a bad value is refused, naming the field
        status, body = d.request("POST", "/api/v1/jobs", {
            "name": "bad", "schedule": {"manual": True}, "shell": "true",
            "retention": {"for": "500ms"}})
        assert status == 400 and "retention.for" in str(body), body
        status, body = d.request("POST", "/api/v1/jobs", {
            "name": "bad", "schedule": {"manual": True}, "shell": "true",
            "retention": {"runs": 10, "keep": 3}})
        assert status == 400 and "retention.keep" in str(body), body
    finally:
        d.stop()


def test_age_retention_removes_old_runs_also_of_jobs_that_no_longer_run(tmp_path):
    data = tmp_path / "data"
    d = Daemon(data, args=["--retention-every", "1s"]).start()
    try:
        d.put_job({"name": "brief", "schedule": {"manual": True}, "shell": "echo x",
                   "retention": {"for": "2s"}})
        d.put_job({"name": "gone", "schedule": {"manual": True}, "shell": "echo y",
                   "retention": {"for": "3s"}})
        d.put_job({"name": "long", "schedule": {"manual": True}, "shell": "echo z"})
        brief = [d.wait_run(d.trigger("default/brief"))["id"] for _ in range(3)]
        gone = d.wait_run(d.trigger("default/gone"))["id"]
        keep = d.wait_run(d.trigger("default/long"))["id"]
        status, _ = d.request("DELETE", "/api/v1/jobs/default/gone")
        assert status in (200, 204)
        # nothing of "brief" runs any more: the sweep ages its runs out
        wait_for("brief's runs to age out", lambda: d.runs("default/brief") == [], timeout=20)
        # a deleted job's runs age out under its last retention
        wait_for("the deleted job's run to go",
                 lambda: d.request("GET", f"/api/v1/runs/{gone}")[0] == 404, timeout=20)
        files = output_files(data)
        assert not files & (set(brief) | {gone}), files
        assert keep in files and d.run(keep)["state"] == "succeeded"
        text = d.logtext()
        assert re.search(r"retention sweep: \d+ runs and \d+ audit entries removed", text), text
    finally:
        d.stop()


def audit_total(d):
    status, body = d.request("GET", "/api/v1/audit?limit=1000")
    assert status == 200, body
    return body["total"]


def test_audit_retention_prunes_entries_by_count_and_by_age(tmp_path):
    d = Daemon(tmp_path / "count", args=["--keep-audit", "5", "--retention-every", "1s"]).start()
    try:
        for i in range(12):
            d.put_job({"name": f"j{i}", "schedule": {"manual": True}, "shell": "true"})
        assert audit_total(d) >= 12
        wait_for("the newest 5 audit entries", lambda: audit_total(d) == 5)
        status, body = d.request("GET", "/api/v1/audit?limit=1000")
        # the newest stay: the last five jobs' creations
        assert {e["job"] for e in body["items"]} == {f"default/j{i}" for i in range(7, 12)}
    finally:
        d.stop()
    d = Daemon(tmp_path / "age", args=["--keep-audit-for", "2s",
                                       "--retention-every", "1s"]).start()
    try:
        for i in range(4):
            d.put_job({"name": f"j{i}", "schedule": {"manual": True}, "shell": "true"})
        assert audit_total(d) >= 4
        wait_for("the audit entries to age out", lambda: audit_total(d) == 0, timeout=20)
    finally:
        d.stop()


def test_the_data_directory_stops_growing_under_fast_jobs(tmp_path):
    """20 jobs firing every second, each printing 4 KB and keeping its
    newest 5 runs: once retention is in effect (every job has more than 5
    runs), the size stays flat while hundreds more runs happen."""
    data = tmp_path / "data"
    d = Daemon(data).start()
    try:
        for i in range(20):
            d.put_job({"name": f"fast{i}", "schedule": {"cron": "* * * * * *"},
                       "shell": "head -c 4096 /dev/zero | tr '\\0' x",
                       "retention": {"runs": 5}})

        def newest():
            items = d.runs()
            return max((r["id"] for r in items), default=0)

        # warm-up: every job past its 5 runs
        wait_for("retention in effect", lambda: newest() >= 20 * 8, timeout=30)
        wait_for("the first prunes", lambda: len(output_files(data)) <= 20 * 6 + 20, timeout=10)
        first_id, first_size = newest(), data_size(data)
        wait_for("200 more runs", lambda: newest() >= first_id + 200, timeout=30)
        mid_size = data_size(data)
        wait_for("200 more runs", lambda: newest() >= first_id + 400, timeout=30)
        last_size, last_id = data_size(data), newest()
        kept = len(d.runs())
        files = len(output_files(data))
    finally:
        d.stop()
    assert last_id - first_id >= 400
    # 20 jobs x 5 runs kept, plus those ending meanwhile (pruned 0.5 s later)
    assert kept <= 20 * 5 + 60, kept
    assert files <= 20 * 5 + 60, files
    assert last_size <= first_size * 1.2, (first_size, mid_size, last_size)
    assert last_size <= mid_size * 1.2, (first_size, mid_size, last_size)
