"""/metrics and the daemon's logs, end to end: the Prometheus text passes
`promtool check metrics`, counters move as runs happen, per-job series are
bounded, the route needs a token unless --metrics-open, and log lines are
JSON in json mode without a job's environment values."""
import json
import os
import re
import subprocess
import urllib.error
import urllib.request

import pytest

from daemon import Daemon, wait_for

PROMTOOL = "/usr/bin/promtool"


def job(name, **fields):
    doc = {"name": name, "schedule": {"manual": True}, "shell": "true"}
    doc.update(fields)
    return doc


def metrics(d):
    status, body = d.request("GET", "/metrics")
    assert status == 200, (status, body)
    assert isinstance(body, str)
    return body


def sample(text, name, **labels):
    """The value of the sample NAME{LABELS} (labels in any order), or None."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if got == {k: str(v) for k, v in labels.items()}:
            return float(m.group(4))
    return None


def promtool_check(text):
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr


def plain_get(url, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


@pytest.mark.skipif(not os.path.exists(PROMTOOL), reason="promtool (prometheus) is not installed")
def test_metrics_pass_promtool_and_move_as_runs_happen(daemon):
    promtool_check(metrics(daemon))
    daemon.put_job(job("ok", shell="sleep 0.2"))
    daemon.put_job(job("bad", shell="exit 3"))
    runs = [daemon.trigger("default/ok"), daemon.trigger("default/bad")]
    for r in runs:
        daemon.wait_run(r)
    runs.append(daemon.trigger("default/ok"))
    daemon.wait_run(runs[-1])

    def moved():
        text = metrics(daemon)
        # the gauges are sampled on the daemon's 1 s beat: wait for them too
        return (sample(text, "chime_runs_total", chime_job="default/ok", state="succeeded") == 2
                and sample(text, "chime_runs_total", chime_job="default/bad", state="failed") == 1
                and sample(text, "chime_runs_running") == 0
                and text)
    text = wait_for("the run counters to move", moved)
    promtool_check(text)
    # durations: two runs of at least 0.2 s
    assert sample(text, "chime_run_duration_seconds_count", chime_job="default/ok") == 2
    assert sample(text, "chime_run_duration_seconds_sum", chime_job="default/ok") >= 0.4
    assert sample(text, "chime_run_duration_seconds_bucket", chime_job="default/ok",
                  le="0.1") == 0
    assert sample(text, "chime_run_duration_seconds_bucket", chime_job="default/ok",
                  le="+Inf") == 2
    # lateness of the three manual fires, the store's commits, the API by route template
    assert sample(text, "chime_fire_lateness_seconds_count", reason="manual") == 3
    assert sample(text, "chime_store_commit_seconds_count", result="committed") > 0
    assert sample(text, "chime_api_requests_total", method="POST",
                  route="/api/v1/jobs/{namespace}/{name}/trigger", status="202") == 3
    assert sample(text, "chime_api_requests_total", method="POST", route="/api/v1/jobs",
                  status="201") == 2
    assert sample(text, "chime_runs_running") == 0
    assert sample(text, "chime_queue_depth") == 0
    assert sample(text, "process_open_fds") > 0
    assert sample(text, "process_resident_memory_bytes") > 0
    assert sample(text, "process_start_time_seconds") > 1.7e9
    # a raw path never becomes a label: an unknown path counts as "unmatched"
    status, _ = daemon.request("GET", "/no/such/path/12345")
    assert status in (401, 404)
    text = wait_for("the unmatched request", lambda: (t := metrics(daemon))
                    and sample(t, "chime_api_requests_total", method="other",
                               route="unmatched", status=str(status)) and t)
    assert "12345" not in text


def test_retries_and_dead_letters_are_counted(daemon):
    daemon.put_job(job("flaky", shell="exit 1", retry={"max_attempts": 2, "backoff": "1s"}))
    daemon.trigger("default/flaky")
    text = wait_for("the retry and the dead letter", lambda: (t := metrics(daemon))
                    and sample(t, "chime_dead_letters_total") == 1 and t)
    assert sample(text, "chime_retries_total") == 1
    assert sample(text, "chime_runs_total", chime_job="default/flaky", state="failed") == 2


def test_metrics_need_a_token_unless_opened(tmp_path):
    d = Daemon(tmp_path / "data").start()
    try:
        status, _, body = plain_get(d.url + "/metrics")
        assert status == 401, body
        status, ctype, body = plain_get(d.url + "/metrics", d.token)
        assert status == 200
        assert ctype.startswith("text/plain; version=0.0.4")
    finally:
        d.stop()
    d = Daemon(tmp_path / "open", args=["--metrics-open"]).start()
    try:
        status, _, body = plain_get(d.url + "/metrics")
        assert status == 200, body
        assert "chime_runs_total" in body
        # opening /metrics opens nothing else
        status, _, _ = plain_get(d.url + "/api/v1/jobs")
        assert status == 401
    finally:
        d.stop()


def test_per_job_series_are_bounded_under_other(tmp_path):
    d = Daemon(tmp_path / "data", args=["--metrics-jobs", "2"]).start()
    try:
        for name in ("a", "b", "c", "d"):
            d.put_job(job(name))
            d.wait_run(d.trigger(f"default/{name}"))
        text = wait_for("four runs counted", lambda: (t := metrics(d)) and sum(
            sample(t, "chime_runs_total", chime_job=j, state="succeeded") or 0
            for j in ("default/a", "default/b", "default/c", "default/d", "other")) == 4 and t)
        assert sample(text, "chime_runs_total", chime_job="default/a", state="succeeded") == 1
        assert sample(text, "chime_runs_total", chime_job="default/b", state="succeeded") == 1
        assert sample(text, "chime_runs_total", chime_job="other", state="succeeded") == 2
        assert "default/c" not in text and "default/d" not in text
    finally:
        d.stop()


def test_metrics_show_a_namespace_token_only_its_jobs(daemon):
    tokens = {}
    for ns in ("team-a", "team-b"):
        daemon.put_job(job(f"plan-{ns}", namespace=ns))
        daemon.wait_run(daemon.trigger(f"{ns}/plan-{ns}"))
        status, tok = daemon.request("POST", "/api/v1/tokens",
                                     {"name": f"view-{ns}", "role": "viewer", "namespaces": [ns]})
        assert status == 201, tok
        tokens[ns] = tok["secret"]
    admin = wait_for("both runs counted", lambda: (t := metrics(daemon)) and all(
        sample(t, "chime_runs_total", chime_job=f"{ns}/plan-{ns}", state="succeeded") == 1
        for ns in tokens) and t)
    assert "chime_api_requests_total" in admin and "process_open_fds" in admin
    for ns, other in (("team-a", "team-b"), ("team-b", "team-a")):
        status, _, text = plain_get(daemon.url + "/metrics", tokens[ns])
        assert status == 200
        assert sample(text, "chime_runs_total", chime_job=f"{ns}/plan-{ns}",
                      state="succeeded") == 1
        assert sample(text, "chime_run_duration_seconds_count", chime_job=f"{ns}/plan-{ns}") == 1
        assert other not in text                # neither its job names nor its namespace
        # daemon-wide series mix every tenant: only for tokens of every namespace
        for name in ("chime_fires_total", "chime_queue_depth", "chime_api_requests_total",
                     "process_open_fds"):
            assert name not in text, name
        if os.path.exists(PROMTOOL):
            promtool_check(text)
    # a token of every namespace, of any role, sees it all
    status, tok = daemon.request("POST", "/api/v1/tokens", {"name": "view-all", "role": "viewer"})
    status, _, text = plain_get(daemon.url + "/metrics", tok["secret"])
    assert "team-a/plan-team-a" in text and "team-b/plan-team-b" in text
    assert "chime_api_requests_total" in text


def test_json_logs_are_json_lines_without_env_values(tmp_path):
    secret_job = "job-env-value-7f3a9c"
    secret_trigger = "trigger-env-value-51be02"
    d = Daemon(tmp_path / "data", args=["--log-format", "json"]).start()
    try:
        d.put_job(job("envy", env={"API_KEY": secret_job}, shell="echo $API_KEY; exit 4",
                      params={"PASSWORD": {"pattern": "[a-z0-9-]+"}}))
        d.wait_run(d.trigger("default/envy", params={"PASSWORD": secret_trigger}))
        d.put_job(job("sleepy", shell="sleep 30", stuck_after="1s"))
        d.trigger("default/sleepy")
        wait_for("the stuck warning", lambda: "is stuck" in d.logtext())
        # a bad request with a token-looking header is logged without it
        d.request("GET", "/api/v1/jobs", token="chime_bogus")
    finally:
        d.stop()
    with open(d.log, "rb") as f:
        lines = f.read().decode().splitlines()
    logged = [ln for ln in lines if not ln.startswith("chime serving on ")]
    assert logged
    levels = set()
    for ln in logged:
        entry = json.loads(ln)          # every line is one JSON object
        assert set(entry) >= {"ts", "level", "msg"}, entry
        levels.add(entry["level"])
    assert "warn" in levels
    text = "\n".join(lines)
    assert secret_job not in text
    assert secret_trigger not in text
    assert "chime_bogus" not in text


def test_openapi_describes_metrics_and_health(daemon):
    status, doc = daemon.request("GET", "/api/v1/openapi.json")
    assert status == 200
    metrics_op = doc["paths"]["/metrics"]["get"]
    assert set(metrics_op["responses"]["200"]["content"]) == {"text/plain; version=0.0.4"}
    health = doc["components"]["schemas"]["Health"]
    assert set(health["properties"]) == {"status", "reasons", "checks"}
    # every check the daemon reports, each always there
    status, reply = daemon.request("GET", "/healthz")
    assert status == 200
    checks = health["properties"]["checks"]
    assert set(checks["properties"]) == set(checks["required"]) == set(reply["checks"]) == {
        "store", "loop", "stuck_runs", "error_rate", "disk", "spawner"}
    output = doc["paths"]["/api/v1/runs/{id}/output"]["get"]["responses"]["200"]["content"]
    assert "text/event-stream" in output
    assert "stuck_after" in doc["components"]["schemas"]["Job"]["properties"]
