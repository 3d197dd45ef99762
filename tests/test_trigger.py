"""Manual triggers, end to end: a trigger the job's concurrency refuses is
409 naming the live run and records nothing; triggers are rate-limited per
job and per token (429 with Retry-After); `chime run --wait` follows the
retry chain and exits with the final attempt's status; hostile bodies stay
a 400. Waits are polls with a deadline."""
import http.client
import json

import pytest

from daemon import Daemon, wait_for


def job(name, **fields):
    doc = {"name": name, "schedule": {"manual": True}, "shell": "true"}
    doc.update(fields)
    return doc


def post(d, path, body=b"{}", token=None, ctype="application/json"):
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
    conn.request("POST", path, body=body, headers={
        "Authorization": "Bearer " + (token or d.token), "Content-Type": ctype})
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    return r.status, r.getheader("Retry-After"), (json.loads(text) if text else None)


def make_token(d, name, role, namespaces=None):
    body = {"name": name, "role": role}
    if namespaces is not None:
        body["namespaces"] = namespaces
    status, tok = d.request("POST", "/api/v1/tokens", body)
    assert status == 201, tok
    return tok["secret"]


def test_a_trigger_refused_by_concurrency_is_409_naming_the_live_run(daemon):
    daemon.put_job(job("forbid", shell="sleep 30"))
    daemon.put_job(job("allow", shell="sleep 30", concurrency="allow", max_instances=2))
    daemon.put_job(job("queue", shell="sleep 30", concurrency="queue", max_instances=1))
    for name, accepted in (("forbid", 1), ("allow", 2), ("queue", 2)):
        path = f"/api/v1/jobs/default/{name}/trigger"
        live = [daemon.trigger(f"default/{name}") for _ in range(accepted)]
        before = daemon.runs(f"default/{name}")
        status, _, problem = post(daemon, path)
        assert status == 409, (name, problem)
        assert problem["type"].endswith("/conflict")
        assert problem["run_id"] == live[0], (name, problem)
        assert f"run {live[0]}" in problem["detail"], problem
        # nothing recorded: no skipped run, the same history
        runs = daemon.runs(f"default/{name}")
        assert [r["id"] for r in runs] == [r["id"] for r in before]
        assert all(r["state"] != "skipped" for r in runs)
        for r in live:
            assert daemon.request("POST", f"/api/v1/runs/{r}/cancel")[0] in (200, 202)
        for r in live:
            daemon.wait_run(r)
        # the job is free again: the next trigger is let in
        daemon.wait_run(daemon.trigger(f"default/{name}"), states=("running",))
        latest = daemon.runs(f"default/{name}", state="running")[0]["id"]
        daemon.request("POST", f"/api/v1/runs/{latest}/cancel")
        daemon.wait_run(latest)
    # the refusals are audited with their status
    status, audit = daemon.request("GET", "/api/v1/audit?limit=100")
    assert status == 200
    assert any(e.get("status") == 409 for e in audit["items"]), audit


def test_triggers_are_rate_limited_per_job_and_per_token(tmp_path):
    d = Daemon(tmp_path / "data", args=["--triggers-per-job", "3"],
               env={"CHIME_TRIGGERS_PER_TOKEN": "5"}).start()
    try:
        for name in ("a", "b", "c"):
            d.put_job(job(name, concurrency="allow", max_instances=100))
        for _ in range(3):
            assert post(d, "/api/v1/jobs/default/a/trigger")[0] == 202
        status, retry, problem = post(d, "/api/v1/jobs/default/a/trigger")
        assert status == 429, problem
        assert int(retry) >= 1
        assert problem["type"].endswith("/too-many-requests")
        assert "default/a" in problem["detail"] and "3 a minute" in problem["detail"]
        # another job is not limited by a's budget, but the token's (5) is
        assert post(d, "/api/v1/jobs/default/b/trigger")[0] == 202
        assert post(d, "/api/v1/jobs/default/b/trigger")[0] == 202
        status, retry, problem = post(d, "/api/v1/jobs/default/c/trigger")
        assert status == 429 and int(retry) >= 1, problem
        assert "by token 'admin'" in problem["detail"] and "5 a minute" in problem["detail"]
        # another token has a budget of its own (the job's still counts)
        op = make_token(d, "ops", "operator")
        assert post(d, "/api/v1/jobs/default/c/trigger", token=op)[0] == 202
        assert post(d, "/api/v1/jobs/default/a/trigger", token=op)[0] == 429
        # the refused ones recorded nothing
        assert len(d.runs("default/a")) == 3
    finally:
        d.stop()


@pytest.mark.parametrize("value", ["0", "-1", "ten", "", "100001", "9" * 40])
def test_bad_trigger_limits_are_refused_at_start(chime, tmp_path, value):
    r = chime("serve", "--data-dir", str(tmp_path / "d"), "--listen", "127.0.0.1:1",
              "--triggers-per-job", value)
    assert r.code == 2 and "triggers-per-job" in r.err, (r.code, r.err)
    r = chime("serve", "--data-dir", str(tmp_path / "d"), "--listen", "127.0.0.1:1",
              env={"CHIME_TRIGGERS_PER_TOKEN": value})
    assert r.code == 2 and "CHIME_TRIGGERS_PER_TOKEN" in r.err, (r.code, r.err)


def test_hostile_trigger_bodies_stay_400_and_record_nothing(daemon):
    daemon.put_job(job("t", concurrency="allow", max_instances=100))
    path = "/api/v1/jobs/default/t/trigger"
    for body in [b"[]", b"{", b"\"params\"", b"{\"params\": []}",
                 b"{\"params\": {\"1X\": \"v\"}}", b"{\"params\": {\"A\": 1}}",
                 b"{\"params\": {\"A\": \"a\\u0000b\"}}", b"{\"env\": {\"A\": \"v\"}}",
                 b"{\"bogus\": 1}", b"{\"params\": {\"\": \"v\"}}", b"\xff\xfe\x00",
                 b"{\"params\": {\"" + b"A" * 100000 + b"\": \"v\"}}",
                 b"{\"params\": {\"CHIME_RUN_ID\": \"7\"}}", b"{\"params\":" * 5000]:
        status, _, problem = post(daemon, path, body)
        assert status in (400, 413), (body[:40], status, problem)
    assert daemon.runs("default/t") == []
    # bad bodies do not use up the job's trigger budget
    assert post(daemon, path)[0] == 202


def test_run_wait_follows_the_retry_chain_to_the_final_attempt(daemon, chime, tmp_path):
    count = tmp_path / "count"
    # fails twice, then succeeds: attempt 3 is the final one
    daemon.put_job(job("flaky", shell=f"n=$(cat {count} 2>/dev/null || echo 0); n=$((n+1)); "
                       f"echo $n > {count}; echo attempt $n; [ $n -ge 3 ]",
                       retry={"max_attempts": 4, "backoff": "1s"}))
    r = chime("run", "--wait", "--timeout", "60s", "flaky", env=daemon.cli_env(), timeout=90)
    assert r.code == 0, (r.out, r.err)
    assert r.out.count("attempt ") == 3, r.out
    assert "attempt 3" in r.out
    runs = sorted(daemon.runs("default/flaky"), key=lambda x: x["attempt"])
    assert [x["attempt"] for x in runs] == [1, 2, 3]
    assert [x["state"] for x in runs] == ["failed", "failed", "succeeded"]
    # always fails: exits with the final (third) attempt's exit code
    daemon.put_job(job("doomed", shell="echo doomed; exit 7",
                       retry={"max_attempts": 3, "backoff": "1s"}))
    r = chime("run", "--wait", "--timeout", "60s", "doomed", env=daemon.cli_env(), timeout=90)
    assert r.code == 7, (r.out, r.err)
    assert r.out.count("doomed") == 3
    runs = daemon.runs("default/doomed")
    assert sorted(x["attempt"] for x in runs) == [1, 2, 3]
    assert all(x["state"] == "failed" for x in runs)
    # a job without retries ends with its one attempt
    daemon.put_job(job("once", shell="exit 5"))
    r = chime("run", "--wait", "once", env=daemon.cli_env())
    assert r.code == 5, (r.out, r.err)
    # a trigger refused by concurrency: the CLI says so and names the run
    daemon.put_job(job("busy", shell="sleep 30"))
    live = daemon.trigger("default/busy")
    r = chime("run", "--wait", "busy", env=daemon.cli_env())
    assert r.code == 1 and f"run {live}" in r.err, (r.out, r.err)
    daemon.request("POST", f"/api/v1/runs/{live}/cancel")
