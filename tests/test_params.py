"""Declared trigger parameters, end to end: a job declares the params a
trigger may set ({"params": {"NAME": {"pattern": ..., "default": ...}}});
a trigger may set only those, each value matching its pattern, and never a
name the loader, a shell or chime reads (BASH_ENV, LD_PRELOAD, PATH, ...):
anything else is a 400 naming the field, and nothing runs or is recorded.
Defaults reach scheduled and untriggered runs. Waits are polls with a
deadline."""
import http.client
import json

import pytest

from daemon import wait_for


def job(name, **fields):
    doc = {"name": name, "schedule": {"manual": True}, "shell": "true",
           "concurrency": "allow", "max_instances": 100}
    doc.update(fields)
    return doc


BACKFILL = {"BACKFILL_DAYS": {"pattern": "^[0-9]{1,3}$", "default": "1",
                              "description": "days to fetch again"}}

# a name of each kind the table refuses, and a few spellings of them
FORBIDDEN = ["BASH_ENV", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "PATH", "SHELLOPTS",
             "BASHOPTS", "PS4", "ENV", "IFS", "CDPATH", "GLOBIGNORE", "HOME", "BASH_FUNC_x%%",
             "GCONV_PATH", "GLIBC_TUNABLES", "PYTHONPATH", "PYTHONSTARTUP", "PERL5OPT",
             "RUBYOPT", "NODE_OPTIONS", "JAVA_TOOL_OPTIONS", "GIT_SSH_COMMAND",
             "CHIME_URL", "CHIME_TOKEN", "CHIME_RUN_ID", "ld_preload", "Path", "https_proxy"]


def post(d, path, body, token=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
    conn.request("POST", path, body=raw, headers={
        "Authorization": "Bearer " + (token or d.token), "Content-Type": "application/json"})
    r = conn.getresponse()
    text = r.read().decode()
    conn.close()
    return r.status, (json.loads(text) if text else None)


def trigger(d, name, params, token=None):
    return post(d, f"/api/v1/jobs/default/{name}/trigger", {"params": params}, token)


def make_token(d, name, role):
    status, tok = d.request("POST", "/api/v1/tokens", {"name": name, "role": role})
    assert status == 201, tok
    return tok["secret"]


def test_each_forbidden_name_a_trigger_sets_is_400_naming_it_and_nothing_runs(daemon, tmp_path):
    marker = tmp_path / "ran"
    daemon.put_job(job("t", shell=f"echo ran >> {marker}", params=BACKFILL))
    for name in FORBIDDEN:
        status, problem = trigger(daemon, "t", {name: "/bin/true"})
        assert status == 400, (name, status, problem)
        assert problem["field"] == f"params.{name}"[:31], (name, problem)
        assert "may never be set by a trigger" in problem["detail"], problem
    assert daemon.runs("default/t") == []
    assert not marker.exists()


@pytest.mark.parametrize("name", ["BASH_ENV", "LD_PRELOAD", "PATH", "SHELLOPTS", "PS4",
                                  "CHIME_TOKEN", "PYTHONPATH", "HOME", "IFS", "ENV"])
def test_a_job_may_not_declare_a_forbidden_param(daemon, name):
    status, problem = daemon.request("POST", "/api/v1/jobs", job(
        "bad", params={name: {"pattern": ".*"}}))
    assert status == 400, problem
    assert problem["field"] == f"params.{name}" and "may not be a parameter" in problem["detail"]
    assert daemon.request("GET", "/api/v1/jobs/default/bad")[0] == 404


def test_undeclared_mismatched_and_hostile_values_are_400_and_record_nothing(daemon):
    daemon.put_job(job("t", params=BACKFILL))
    path = "/api/v1/jobs/default/t/trigger"
    cases = [
        ({"params": {"OTHER": "1"}}, "params.OTHER", "not a parameter of this job"),
        ({"params": {"BACKFILL_DAYS": "1234"}}, "params.BACKFILL_DAYS", "does not match"),
        ({"params": {"BACKFILL_DAYS": "3; id"}}, "params.BACKFILL_DAYS", "does not match"),
        ({"params": {"BACKFILL_DAYS": "3\n4"}}, "params.BACKFILL_DAYS", "does not match"),
        ({"params": {"BACKFILL_DAYS": ""}}, "params.BACKFILL_DAYS", "does not match"),
        ({"params": {"BACKFILL_DAYS": 3}}, "params.BACKFILL_DAYS", "want a string"),
        ({"params": {"BACKFILL_DAYS": "1" * 5000}}, "params.BACKFILL_DAYS", "longer than"),
        ({"params": {"BACKFILL_DAYS": "1\u00002"}}, "params.BACKFILL_DAYS", "NUL"),
        ({"params": ["BACKFILL_DAYS=3"]}, "params", "want an object"),
        ({"env": {"BACKFILL_DAYS": "3"}}, "env", "params"),
        ({"env": {"BASH_ENV": "/tmp/x"}}, "env", "params"),
        ({"bogus": 1}, "bogus", "unknown field"),
    ]
    for body, field, says in cases:
        status, problem = post(daemon, path, body)
        # an oversized value is 413, as an oversized member of a job is
        assert status == (413 if says == "longer than" else 400), (body, status, problem)
        assert problem["field"] == field and says in problem["detail"], (body, problem)
    for raw in [b"{\"params\": {\"" + b"A" * 100000 + b"\": \"v\"}}", b"{\"params\":" * 5000,
                b"{\"params\": {\"\": \"v\"}}", b"\xff\xfe\x00"]:
        status, problem = post(daemon, path, raw)
        assert status in (400, 413), (raw[:40], status, problem)
    assert daemon.runs("default/t") == []
    # bad bodies do not use up the job's trigger budget, and a good one runs
    assert post(daemon, path, {"params": {"BACKFILL_DAYS": "3"}})[0] == 202


def test_a_matching_value_and_the_default_reach_the_run(daemon):
    daemon.put_job(job("echo", shell='echo "days=$BACKFILL_DAYS unset=${MODE-none}"',
                       params=dict(BACKFILL, MODE={"pattern": "full|delta"})))
    status, body = trigger(daemon, "echo", {"BACKFILL_DAYS": "30"})
    assert status == 202, body
    run = daemon.wait_run(body["run_id"])
    assert run["state"] == "succeeded", run
    assert daemon.output(body["run_id"]).strip() == "days=30 unset=none"
    # a trigger without params: the default, and no variable without one
    status, body = post(daemon, "/api/v1/jobs/default/echo/trigger", b"")
    assert status == 202, body
    daemon.wait_run(body["run_id"])
    assert daemon.output(body["run_id"]).strip() == "days=1 unset=none"
    status, body = trigger(daemon, "echo", {"MODE": "delta"})
    daemon.wait_run(body["run_id"])
    assert daemon.output(body["run_id"]).strip() == "days=1 unset=delta"
    # the whole value must match, though the pattern is not anchored
    assert trigger(daemon, "echo", {"MODE": "fullx"})[0] == 400


def test_a_retry_keeps_the_triggers_params(daemon):
    daemon.put_job(job("again", shell='echo "days=$BACKFILL_DAYS"; exit 3', params=BACKFILL,
                       retry={"max_attempts": 2, "backoff": "1s"}))
    status, body = trigger(daemon, "again", {"BACKFILL_DAYS": "30"})
    assert status == 202, body
    runs = wait_for("both attempts to end", lambda: (r := daemon.runs("default/again")) and len(
        [x for x in r if x["state"] == "failed"]) == 2 and r, timeout=30)
    assert sorted(x["attempt"] for x in runs) == [1, 2]
    assert all(daemon.output(x["id"]).strip() == "days=30" for x in runs)


def test_the_default_reaches_a_scheduled_run(daemon):
    daemon.put_job(job("tick", schedule={"every": "1s"}, shell='echo "days=$BACKFILL_DAYS"',
                       params=BACKFILL))
    runs = wait_for("a scheduled run to end", lambda: [
        r for r in daemon.runs("default/tick") if r["state"] == "succeeded"])
    assert runs[0]["reason"] == "schedule"
    assert daemon.output(runs[0]["id"]).strip() == "days=1"


def test_an_operators_trigger_with_bash_env_does_not_run_its_command(daemon, tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.sh"
    evil.write_text(f"touch {marker}\n")
    daemon.put_job(job("b", shell=None, command=["/bin/bash", "-c", "true"], params=BACKFILL))
    op = make_token(daemon, "op", "operator")
    for body in ({"params": {"BASH_ENV": str(evil)}}, {"env": {"BASH_ENV": str(evil)}},
                 {"params": {"BACKFILL_DAYS": "1", "BASH_ENV": str(evil)}}):
        status, problem = post(daemon, "/api/v1/jobs/default/b/trigger", body, token=op)
        assert status == 400, (body, problem)
    assert daemon.runs("default/b") == []
    # the operator's declared param is let through, and runs without BASH_ENV
    status, body = trigger(daemon, "b", {"BACKFILL_DAYS": "2"}, token=op)
    assert status == 202, body
    assert daemon.wait_run(body["run_id"])["state"] == "succeeded"
    assert not marker.exists()


def test_chime_run_param_sets_a_param(daemon, chime):
    daemon.put_job(job("cli", shell='echo "days=$BACKFILL_DAYS"', params=BACKFILL))
    r = chime("run", "--wait", "cli", "--param", "BACKFILL_DAYS=12", env=daemon.cli_env())
    assert r.code == 0 and r.out.strip() == "days=12", (r.out, r.err)
    r = chime("run", "cli", "-p", "BASH_ENV=/tmp/x", env=daemon.cli_env())
    assert r.code == 2 and "params.BASH_ENV" in r.err, (r.code, r.err)
    assert len(daemon.runs("default/cli")) == 1


def test_a_param_may_not_share_a_name_with_env(daemon):
    status, problem = daemon.request("POST", "/api/v1/jobs", job(
        "clash", env={"BACKFILL_DAYS": "7"}, params=BACKFILL))
    assert status == 400 and problem["field"] == "params.BACKFILL_DAYS", problem
    assert "also in env" in problem["detail"]


def test_the_canonical_document_writes_params(daemon):
    daemon.put_job(job("doc", params={"MODE": {"pattern": "full|delta"}, **BACKFILL}))
    status, doc = daemon.request("GET", "/api/v1/jobs/default/doc")
    assert status == 200
    assert doc["params"] == {
        "BACKFILL_DAYS": {"pattern": "^[0-9]{1,3}$", "default": "1",
                          "description": "days to fetch again"},
        "MODE": {"pattern": "full|delta", "default": None, "description": None}}
