"""The CLI against a real daemon for issue 9's item 11: `chime apply` (a
declarative create or change, idempotent, never a removal, all or
nothing), `job edit` of a paused job, a job's env, the last run that ran,
and the daemon's `disabled` log line."""
import json
import os
import stat
import subprocess

import pytest

from daemon import CHIME, wait_for


def job(name, **fields):
    doc = {"name": name, "schedule": {"cron": "0 * * * *"}, "command": ["/bin/true"]}
    doc.update(fields)
    return doc


def jobdir(tmp_path, docs):
    path = tmp_path / "jobs"
    path.mkdir(exist_ok=True)
    for name, doc in docs.items():
        (path / name).write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    return path


def chime_in(d, text, *args):
    """`chime ARGS` against D with TEXT on standard input."""
    p = subprocess.run([CHIME, *args], capture_output=True, text=True, input=text,
                       env=dict(os.environ, TZ="UTC", **d.cli_env()), timeout=60)
    p.code, p.lines, p.out, p.err = p.returncode, p.stdout.splitlines(), p.stdout, p.stderr
    return p


def versions(d, jid):
    status, body = d.request("GET", f"/api/v1/jobs/{jid}/versions?limit=1000")
    assert status == 200, body
    return [v["version"] for v in body["items"]]


def job_ids(d):
    status, body = d.request("GET", "/api/v1/jobs?limit=1000")
    assert status == 200, body
    return sorted(f"{j['namespace']}/{j['name']}" for j in body["items"])


# ---- chime apply ----

def test_apply_creates_the_jobs_then_changes_nothing_the_second_time(chime, daemon, tmp_path):
    path = jobdir(tmp_path, {"a.json": job("a"),
                             "b.json": job("b", namespace="team", schedule={"every": "1h"})})
    env = daemon.cli_env()
    r = chime("apply", str(path), "--dry-run", env=env)
    assert r.code == 0, r.err
    assert r.lines == ["create     default/a", "create     team/b",
                       "dry run, nothing written: 2 jobs: 2 to create, 0 to change, 0 unchanged"]
    assert job_ids(daemon) == []
    r = chime("apply", str(path), env=env)
    assert r.code == 0, r.err
    assert r.lines[-1] == "2 jobs: 2 created, 0 changed, 0 unchanged"
    assert job_ids(daemon) == ["default/a", "team/b"]
    # again, and with a default spelled out: the same canonical document
    (path / "a.json").write_text(json.dumps(job("a", concurrency="forbid", priority="normal")))
    r = chime("apply", str(path), env=env)
    assert r.code == 0, r.err
    assert r.lines == ["unchanged  default/a (version 1)", "unchanged  team/b (version 1)",
                       "2 jobs: 0 created, 0 changed, 2 unchanged"]
    assert versions(daemon, "default/a") == [1]


def test_apply_shows_the_fields_it_changes_and_keeps_a_paused_job_paused(chime, daemon,
                                                                         tmp_path):
    daemon.put_job(job("a"))
    assert daemon.request("POST", "/api/v1/jobs/default/a/pause")[0] == 200
    path = tmp_path / "a.json"
    path.write_text(json.dumps(job("a", schedule={"cron": "5 * * * *"})))
    r = chime("apply", str(path), env=daemon.cli_env())
    assert r.code == 0, r.err
    assert r.lines == ["change     default/a (version 1 -> 2)",
                       '    ~ schedule.cron: "0 * * * *" -> "5 * * * *"',
                       "1 job: 0 created, 1 changed, 0 unchanged"]
    status, view = daemon.request("GET", "/api/v1/jobs/default/a")
    assert view["paused"] is True and view["version"] == 2
    r = chime("apply", str(path), env=daemon.cli_env())
    assert r.lines[-1] == "1 job: 0 created, 0 changed, 1 unchanged"


def test_apply_reads_standard_input_and_never_removes_a_job(chime, daemon):
    daemon.put_job(job("keep"))
    docs = [job("x"), job("y", shell="true", command=None)]
    r = chime_in(daemon, json.dumps(docs), "apply", "-")
    assert r.code == 0, r.err
    assert r.lines[-1] == "2 jobs: 2 created, 0 changed, 0 unchanged"
    assert job_ids(daemon) == ["default/keep", "default/x", "default/y"]


BAD = [
    ("malformed", {"bad.json": '{"name": "x",'}, "bad.json: not JSON: line 1"),
    ("nul", {"bad.json": '{"name": "x"\0}'}, "bad.json: a NUL byte"),
    ("not-a-job", {"bad.json": "[1, 2]"}, "bad.json[0]: not a job document (a JSON object)"),
    ("scalar", {"bad.json": '"x"'}, "bad.json: not a job document"),
    ("stray-file", {"notes.txt": "hello"}, "notes.txt: not a *.json file"),
    ("bad-name", {"bad.json": job("Bad Name")}, "bad.json: name: "),
    ("bad-cron", {"bad.json": job("x", schedule={"cron": "61 * * * *"})},
     "bad.json: schedule.cron: "),
    ("run-variable", {"bad.json": job("x", env={"CHIME_RUN_ID": "1"})},
     "bad.json: env.CHIME_RUN_ID: 'CHIME_RUN_ID' is reserved"),
    ("oversized", {"bad.json": job("x", env={f"V{i}": "v" * 30000 for i in range(3)})},
     "bad.json: a job document of "),
    ("twice", {"bad.json": job("ok")}, "bad.json: name: 'default/ok' is also jobs[0]"),
]


@pytest.mark.parametrize("case, files, says", BAD, ids=[b[0] for b in BAD])
def test_apply_refuses_bad_input_naming_the_file_and_applies_nothing(chime, daemon, tmp_path,
                                                                     case, files, says):
    path = jobdir(tmp_path, dict({"a-good.json": job("ok")}, **files))
    r = chime("apply", str(path), env=daemon.cli_env())
    assert r.code == 2, (r.out, r.err)
    assert says in r.err, r.err
    assert r.err.endswith("chime apply: nothing was applied\n")
    assert job_ids(daemon) == []


def test_apply_refuses_input_over_64_mib_and_no_input(chime, daemon, tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.write(b"[" + b" " * (64 << 20) + b"]")
    r = chime("apply", str(big), env=daemon.cli_env())
    assert r.code == 2 and "is larger than 64 MiB" in r.err, r.err
    r = chime_in(daemon, "", "apply", "-")
    assert r.code == 2 and "standard input: not JSON" in r.err, r.err
    r = chime("apply", str(tmp_path / "nope.json"), env=daemon.cli_env())
    assert r.code == 2 and "cannot open" in r.err
    r = chime("apply", env=daemon.cli_env())
    assert r.code == 2 and "missing FILE, DIR or -" in r.err
    assert job_ids(daemon) == []


# ---- job edit of a paused job ----

def test_job_edit_of_a_paused_job_makes_no_version(chime, daemon, tmp_path):
    daemon.put_job(job("p"))
    assert daemon.request("POST", "/api/v1/jobs/default/p/pause")[0] == 200
    # an editor that changes the text but not the document
    ed = tmp_path / "ed.sh"
    ed.write_text("#!/bin/sh\nsed -i 's/^{/{ /' \"$1\"\n")
    ed.chmod(ed.stat().st_mode | stat.S_IEXEC)
    r = chime("job", "edit", "p", env=dict(daemon.cli_env(), VISUAL=str(ed),
                                           TMPDIR=str(tmp_path)))
    assert r.code == 0, r.err
    assert r.err == "chime job edit: no change to default/p\n"
    assert versions(daemon, "default/p") == [1]
    status, view = daemon.request("GET", "/api/v1/jobs/default/p")
    assert view["paused"] is True


def test_a_put_of_a_paused_jobs_view_makes_no_version(daemon):
    daemon.put_job(job("p"))
    daemon.request("POST", "/api/v1/jobs/default/p/pause")
    status, view = daemon.request("GET", "/api/v1/jobs/default/p")
    status, body = daemon.request("PUT", "/api/v1/jobs/default/p", view)
    assert status == 200, body
    assert body["version"] == 1 and body["paused"] is True
    # resuming through a PUT is a state change too
    status, body = daemon.request("PUT", "/api/v1/jobs/default/p", dict(view, paused=False))
    assert body["version"] == 1 and body["paused"] is False
    assert versions(daemon, "default/p") == [1]


# ---- a job's env ----

def test_a_job_may_set_chime_url_but_not_a_run_variable(chime, daemon, tmp_path):
    doc = job("backup", schedule={"manual": True}, command=None,
              shell='echo "url=$CHIME_URL job=$CHIME_JOB"',
              env={"CHIME_URL": daemon.url, "CHIME_TOKEN": "t"})
    r = chime_in(daemon, json.dumps(doc), "job", "add", "-")
    assert r.code == 0, r.err
    run = daemon.wait_run(daemon.trigger("default/backup"))
    assert run["state"] == "succeeded"
    assert daemon.output(run["id"]) == f"url={daemon.url} job=backup\n"
    for name in ("CHIME_JOB", "CHIME_NAMESPACE", "CHIME_RUN_ID", "CHIME_FIRE_TIME",
                 "CHIME_ATTEMPT"):
        bad = dict(doc, name="x", env={name: "1"})
        r = chime_in(daemon, json.dumps(bad), "job", "add", "-")
        assert r.code == 2
        assert r.err == (f"chime job add: env.{name}: '{name}' is reserved: chime sets it "
                         "in every run itself\n")


# ---- the last run that ran ----

def test_jobs_shows_the_last_run_that_ran_not_a_skipped_one(chime, daemon, tmp_path):
    go = tmp_path / "go"
    daemon.put_job(job("busy", schedule={"every": "1s"}, command=None,
                       shell=f"while [ ! -e {go} ]; do sleep 0.05; done"))
    wait_for("a skipped fire behind the running one", lambda: any(
        r["state"] == "skipped" for r in daemon.runs("default/busy")), timeout=20)
    running = [r for r in daemon.runs("default/busy") if r["state"] == "running"]
    assert len(running) == 1
    status, view = daemon.request("GET", "/api/v1/jobs/default/busy")
    assert view["last_run"]["state"] == "running"
    assert view["last_run"]["id"] == running[0]["id"]
    r = chime("jobs", env=daemon.cli_env())
    assert r.code == 0, r.err
    assert "running" in r.lines[1] and "skipped" not in r.out
    go.touch()


# ---- the daemon's log ----

def test_the_disabled_log_line_ends_with_the_event(daemon):
    daemon.put_job(job("pausing", schedule={"manual": True}, command=["false"],
                       disable_after_failures=1))
    daemon.wait_run(daemon.trigger("default/pausing"))
    wait_for("the disabled line", lambda: "job default/pausing: disabled" in daemon.logtext())
    line = [ln for ln in daemon.logtext().splitlines()
            if "job default/pausing: disabled" in ln][0]
    assert line.endswith('msg="job default/pausing: disabled"'), line
