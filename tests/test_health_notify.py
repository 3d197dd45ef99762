"""The daemon's own notifications end to end: the error rate crossing its
threshold (error_rate) and falling back under it (error_rate_ok) reach the
channels of the channels file's "daemon" list, once per crossing, signed,
without a job; and a bad "daemon" list stops the daemon with a clear error.
A real binary and a real HTTP receiver on 127.0.0.1; waits are polls with
deadlines, never sleeps."""
import hashlib
import hmac
import json
import signal

from daemon import Daemon, wait_for
from test_notify import SECRET, notifications, receivers, webhook  # noqa: F401 (a fixture)

WINDOW = "10m"          # long enough that no run leaves it during the test
MIN_RUNS = 4


def write_channels(path, channels, daemon=None):
    doc = {"channels": channels}
    if daemon is not None:
        doc["daemon"] = daemon
    with open(path, "w") as f:
        json.dump(doc, f)
    return str(path)


def start(tmp_path, channels_file):
    return Daemon(tmp_path / "data", args=[
        "--channels", channels_file, "--health-error-rate", "0.5",
        "--health-error-window", WINDOW, "--health-error-min-runs", str(MIN_RUNS)]).start()


def deliveries(r, event):
    """The requests of EVENT the receiver got: (headers, body bytes, doc)."""
    with r.lock:
        got = [(h, b, json.loads(b)) for _, h, b in r.requests]
    return [g for g in got if g[2]["event"] == event]


def run_once(d, job):
    run_id = d.trigger(job)
    return d.wait_run(run_id)["state"]


def check_signed(headers, body, doc, event):
    want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Chime-Signature"] == want
    assert headers["X-Chime-Event"] == event
    assert headers["X-Chime-Delivery"] == doc["delivery_id"] and len(doc["delivery_id"]) == 32
    assert headers["X-Chime-Attempt"] == "1"


def test_error_rate_crossing_and_recovery_each_notify_once(tmp_path, receivers, chime):
    r = receivers()
    # the job's own channel hears nothing: it names none
    chans = write_channels(tmp_path / "ch.json", {"ops-hook": webhook(r.url),
                                                  "quiet": webhook(r.url)},
                           daemon=["ops-hook"])
    flag = tmp_path / "flag"
    d = start(tmp_path, chans)
    try:
        d.put_job({"name": "flaky", "schedule": {"manual": True},
                   "command": ["test", "-f", str(flag)]})
        # four failures of four finished runs: over 50 % with the minimum of runs
        for _ in range(MIN_RUNS):
            assert run_once(d, "default/flaky") == "failed"
        got = wait_for("the error_rate delivery", lambda: deliveries(r, "error_rate"))
        headers, body, doc = got[0]
        check_signed(headers, body, doc, "error_rate")
        assert doc["channel"] == "ops-hook"
        assert doc["job"] is None and doc["namespace"] is None and doc["run"] is None
        assert doc["node"] and doc["occurred_at"].endswith("Z")
        assert doc["error_rate"] == {"status": "degraded", "failed": 4, "finished": 4,
                                     "window_s": 600, "threshold": 0.5, "min_runs": MIN_RUNS}
        assert doc["summary"] == (f"error rate on {doc['node']} is over its threshold: 4 of 4"
                                  " finished runs in the last 10m failed (threshold 50%)")
        assert "null" not in doc["summary"]
        status, health = d.request("GET", "/healthz")
        assert health["checks"]["error_rate"]["status"] == "degraded"

        # successes until the rate is back under: 4 of 8 is not over 50 %
        flag.write_text("")
        for i in range(MIN_RUNS):
            assert run_once(d, "default/flaky") == "succeeded"
            if i < MIN_RUNS - 1:
                assert deliveries(r, "error_rate_ok") == []
        got = wait_for("the error_rate_ok delivery", lambda: deliveries(r, "error_rate_ok"))
        headers, body, doc = got[0]
        check_signed(headers, body, doc, "error_rate_ok")
        assert doc["job"] is None
        assert doc["error_rate"]["status"] == "ok"
        assert (doc["error_rate"]["failed"], doc["error_rate"]["finished"]) == (4, 8)
        assert "is back under its threshold: 4 of 8 finished runs" in doc["summary"]

        # once each, in the outbox too: delivered, no job, to the daemon's channel only
        items = wait_for("both delivered in the outbox", lambda: (
            ns := notifications(d)) and len(ns) == 2
            and all(n["state"] == "delivered" for n in ns) and ns)
        assert sorted(n["event"] for n in items) == ["error_rate", "error_rate_ok"]
        assert all(n["job"] is None and n["run_id"] is None and n["channel"] == "ops-hook"
                   for n in items)
        assert len(deliveries(r, "error_rate")) == 1 and len(deliveries(r, "error_rate_ok")) == 1
        assert r.count() == 2
        by_id = {n["delivery_id"]: n for n in items}
        assert set(by_id) == {g[2]["delivery_id"] for g in deliveries(r, "error_rate")
                              + deliveries(r, "error_rate_ok")}
        status, one = d.request("GET", f"/api/v1/notifications/{items[0]['id']}")
        assert status == 200 and one["job"] is None and one["payload"]["error_rate"]

        # the CLI: "-" for the job in the table, null in JSON
        env = d.cli_env()
        res = chime("notifications", env=env)
        assert res.code == 0, res.err
        # ID, CREATED (a date and a time), JOB, EVENT, RUN, CHANNEL, ...
        rows = [line.split() for line in res.lines if "error_rate" in line]
        assert len(rows) == 2
        assert all(row[3] == "-" and row[5] == "-" and row[6] == "ops-hook" for row in rows), rows
        assert "null" not in res.out
        res = chime("notifications", "--json", env=env)
        assert res.code == 0 and all(n["job"] is None for n in json.loads(res.out)["items"])

        # a token limited to namespaces sees none of the daemon's events
        status, tok = d.request("POST", "/api/v1/tokens", {
            "name": "team", "role": "viewer", "namespaces": ["default"]})
        assert status == 201, tok
        status, body = d.request("GET", "/api/v1/notifications", token=tok["secret"])
        assert status == 200 and body["items"] == [] and body["total"] == 0
        status, _ = d.request("GET", f"/api/v1/notifications/{items[0]['id']}",
                              token=tok["secret"])
        assert status == 404
        # a job filter never matches them
        assert notifications(d, job="default/flaky") == []
    finally:
        d.stop()


def test_no_daemon_list_means_no_daemon_notifications(tmp_path, receivers):
    r = receivers()
    d = start(tmp_path, write_channels(tmp_path / "ch.json", {"ops-hook": webhook(r.url)}))
    try:
        d.put_job({"name": "bad", "schedule": {"manual": True}, "command": ["false"],
                   "notify": {"on_failure": ["ops-hook"]}})
        for _ in range(MIN_RUNS):
            run_once(d, "default/bad")
        wait_for("the error-rate warning", lambda: "error rate: 4 of the last 4" in d.logtext())
        wait_for("the job's own failures", lambda: r.count() == MIN_RUNS)
        assert {b["event"] for b in r.bodies()} == {"failure"}
        assert all(n["event"] == "failure" for n in notifications(d))
    finally:
        d.stop()


def test_a_bad_daemon_list_stops_the_daemon_and_a_reload_keeps_the_old(tmp_path, receivers,
                                                                         chime):
    r = receivers()
    path = write_channels(tmp_path / "ch.json", {"ops-hook": webhook(r.url)},
                          daemon=["ops-hook", "pager"])
    res = chime("serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0",
                "--channels", path)
    assert res.code == 2
    assert "daemon[1]" in res.err and "'pager' is not a channel of this file" in res.err
    assert "ch.json" in res.err

    write_channels(tmp_path / "ch.json", {"ops-hook": webhook(r.url)}, daemon=["ops-hook"])
    d = start(tmp_path, path)
    try:
        write_channels(tmp_path / "ch.json", {"ops-hook": webhook(r.url)}, daemon="ops-hook")
        d.proc.send_signal(signal.SIGHUP)
        wait_for("the refusal in the log", lambda: "not reloaded" in d.logtext())
        assert "daemon must be an array of channel names" in d.logtext()
        # the channels in use stay: the crossing still reaches ops-hook
        d.put_job({"name": "bad", "schedule": {"manual": True}, "command": ["false"]})
        for _ in range(MIN_RUNS):
            run_once(d, "default/bad")
        wait_for("the error_rate delivery", lambda: deliveries(r, "error_rate"))
    finally:
        d.stop()
