"""/healthz end to end: its shape without a token, a stuck run making it
degraded (and notified once), the error rate, and disk thresholds making it
degraded or failing (503)."""
import json
import urllib.error
import urllib.request

import pytest

from daemon import Daemon, wait_for


def job(name, **fields):
    doc = {"name": name, "schedule": {"manual": True}, "shell": "true"}
    doc.update(fields)
    return doc


class HealthDaemon(Daemon):
    """A daemon whose /healthz may answer 503 (failing) once it is up."""

    def healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"chime serve exited {self.proc.returncode}: {self.logtext()}")
        try:
            return anonymous(self)[0] in (200, 503)
        except (urllib.error.URLError, ConnectionError, OSError):
            return False


def anonymous(d):
    """GET /healthz without any token: (status, body)."""
    try:
        with urllib.request.urlopen(d.url + "/healthz", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def with_token(d):
    req = urllib.request.Request(d.url + "/healthz")
    req.add_header("Authorization", f"Bearer {d.token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def daemon(tmp_path):
    d = HealthDaemon(tmp_path / "data").start()
    yield d
    d.stop()


def test_healthz_is_ok_with_every_check_and_needs_no_token(daemon):
    status, body = anonymous(daemon)
    assert status == 200
    assert body["status"] == "ok"
    assert body["reasons"] == []
    assert set(body["checks"]) == {"store", "loop", "stuck_runs", "error_rate", "disk", "spawner"}
    for check in body["checks"].values():
        assert check["status"] == "ok" and check["reason"] is None
    assert body["checks"]["loop"]["threshold_ms"] == 1000
    assert body["checks"]["disk"]["free_bytes"] > 0
    assert body["checks"]["stuck_runs"] == {"status": "ok", "reason": None, "count": 0}
    assert body["checks"]["error_rate"]["window_s"] == 900
    # the store has committed (the admin token at the first start)
    assert body["checks"]["store"]["last_commit"].endswith("Z")


def test_stuck_run_degrades_health_and_is_told_once(daemon):
    daemon.put_job(job("sleeper", shell="sleep 60", stuck_after="1s"))
    run_id = daemon.trigger("default/sleeper")

    def degraded():
        status, body = anonymous(daemon)
        return status == 200 and body["status"] == "degraded" and body
    body = wait_for("/healthz to see the stuck run", degraded)
    stuck = body["checks"]["stuck_runs"]
    assert stuck["status"] == "degraded" and stuck["count"] == 1
    assert body["reasons"] == ["1 run is stuck beyond its expected duration"]
    # anonymous callers learn counts and reasons, never job names
    assert "sleeper" not in json.dumps(body)
    assert "runs" not in stuck
    # a valid token shows which run, for a few more beats of the check
    body = wait_for("the run to be stuck a while", lambda: (b := with_token(daemon)[1])
                    and b["checks"]["stuck_runs"]["runs"]
                    and b["checks"]["stuck_runs"]["runs"][0]["running_s"] >= 3 and b)
    (run,) = body["checks"]["stuck_runs"]["runs"]
    assert run["run_id"] == run_id and run["job"] == "default/sleeper"
    assert run["stuck_after_s"] == 1
    # told once (log, notification, counter), not at every check
    assert daemon.logtext().count(f"run {run_id} of default/sleeper is stuck") == 1
    status, text = daemon.request("GET", "/metrics")
    assert f'chime_runs_stuck_total{{chime_job="default/sleeper"}} 1' in text
    assert "chime_runs_stuck 1" in text
    # a cancelled run is no longer stuck
    status, _ = daemon.request("POST", f"/api/v1/runs/{run_id}/cancel")
    assert status == 202
    wait_for("/healthz to be ok again", lambda: anonymous(daemon)[1]["status"] == "ok")


def test_job_without_stuck_after_uses_its_timeout(daemon):
    # no history and no stuck_after: the timeout (plus kill grace) is the bound,
    # so a run that ends within it is never stuck
    daemon.put_job(job("bounded", shell="sleep 1", timeout="30s"))
    daemon.wait_run(daemon.trigger("default/bounded"))
    assert anonymous(daemon)[1]["checks"]["stuck_runs"]["count"] == 0


def test_high_error_rate_degrades_health(tmp_path):
    d = HealthDaemon(tmp_path / "data", args=["--health-error-min-runs", "3",
                                              "--health-error-rate", "0.5"]).start()
    try:
        d.put_job(job("broken", shell="exit 1"))
        d.put_job(job("fine"))
        d.wait_run(d.trigger("default/fine"))
        for _ in range(3):
            d.wait_run(d.trigger("default/broken"))
        body = wait_for("the error rate to count", lambda: (b := anonymous(d)[1])
                        and b["checks"]["error_rate"]["finished"] == 4 and b)
        assert body["status"] == "degraded"
        errors = body["checks"]["error_rate"]
        assert errors["status"] == "degraded" and errors["failed"] == 3
        assert errors["reason"] == ("3 of the last 4 finished runs failed, over the threshold "
                                    "of 50%")
        wait_for("the error-rate warning", lambda: "error rate: 3 of the last 4" in d.logtext())
    finally:
        d.stop()


def test_low_disk_space_degrades_then_fails_with_503(tmp_path):
    # thresholds above the disk's real free space stand in for a full disk
    d = HealthDaemon(tmp_path / "warn", args=["--health-disk-degraded", "1000T"]).start()
    try:
        status, body = anonymous(d)
        assert status == 200 and body["status"] == "degraded"
        assert body["checks"]["disk"]["status"] == "degraded"
        assert body["checks"]["disk"]["reason"].startswith("the data directory's disk has ")
    finally:
        d.stop()
    d = HealthDaemon(tmp_path / "full", args=["--health-disk-degraded", "1000T",
                                             "--health-disk-failing", "999T"]).start()
    try:
        status, body = anonymous(d)
        assert status == 503
        assert body["status"] == "failing"
        assert body["checks"]["disk"]["status"] == "failing"
        assert body["reasons"] == [body["checks"]["disk"]["reason"]]
        # the rest of the API goes on answering
        status, _ = d.request("GET", "/api/v1/jobs")
        assert status == 200
    finally:
        d.stop()


def test_bad_health_options_are_refused(tmp_path, chime):
    for args in (["--health-error-rate", "1.5"], ["--health-disk-failing", "lots"],
                 ["--log-format", "xml"], ["--log-level", "loud"]):
        r = chime("serve", "--data-dir", str(tmp_path / "x"), *args)
        assert r.code == 2, (args, r.err)
