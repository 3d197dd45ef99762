"""The client commands (jobs, job, run, runs, logs) against a fake daemon
(tests/fakedaemon.py): what they send, what they print, how they exit."""
import json
import os
import socket
import stat

import pytest

from fakedaemon import Events, RangedText, js, problem, text

JOB_A = {
    "name": "nightly-import", "namespace": "sales", "description": "partner CSV files",
    "schedule": {"cron": "0 2 * * *", "timezone": "Europe/Berlin"},
    "command": ["/usr/bin/python3", "import.py"], "paused": False, "version": 3,
    "next_fire": "2026-11-24T01:00:00.000000Z", "created_at": "2026-11-01T00:00:00.000000Z",
    "updated_at": "2026-11-02T00:00:00.000000Z",
    "state": {"paused": False, "consecutive_failures": 2,
              "last_fire": "2026-11-23T01:00:00.000000Z"},
}
JOB_B = {
    "name": "tick", "namespace": "default", "schedule": {"every": "15m"},
    "shell": "date", "paused": True, "version": 1, "next_fire": None,
    "state": {"paused": True, "consecutive_failures": 0, "last_fire": None},
}
JOB_C = {
    "name": "by-hand", "namespace": "default", "schedule": {"manual": True},
    "shell": "true", "paused": False, "version": 7, "next_fire": None,
    "state": {"paused": False, "consecutive_failures": 0,
              "last_fire": "2026-11-20T10:00:00.000000Z"},
}


def run_json(rid=7, state="succeeded", exit_code=0, signal=None, **more):
    r = {"id": rid, "job": "default/tick", "job_version": 1,
         "fire_time": "2026-11-24T01:00:00.000000Z", "reason": "manual", "attempt": 1,
         "state": state, "queued_at": "2026-11-24T01:00:00.000100Z",
         "started_at": "2026-11-24T01:00:00.000800Z",
         "finished_at": "2026-11-24T01:03:12.400800Z", "pid": 4242, "exit_code": exit_code,
         "signal": signal, "cpu_user_ms": 10, "cpu_sys_ms": 2, "max_rss_kb": 1000,
         "output_bytes": 12, "error": None, "node": "host-a", "triggered_by": None}
    r.update(more)
    return r


def columns(line, header):
    """The start offset of each header word (joined by single spaces) in LINE."""
    return [line.index(h) for h in header]


# ---- tables and --json ----

def test_jobs_prints_an_aligned_table(chime_at, fake_daemon):
    fake_daemon.route("GET", "/api/v1/jobs",
                      js({"items": [JOB_A, JOB_B, JOB_C], "next_cursor": None, "total": 3}))
    r = chime_at("jobs")
    assert r.code == 0, r.err
    assert r.err == ""
    head, *rows = r.lines
    assert head.split() == ["NAME", "SCHEDULE", "NEXT", "LAST", "PAUSED"]
    starts = columns(head, ["SCHEDULE", "NEXT", "LAST", "PAUSED"])
    assert rows[0].startswith("sales/nightly-import  0 2 * * * (Europe/Berlin)")
    for row in rows:
        # every column starts where its header does, and nothing trails
        for s in starts:
            assert row[s - 2:s] == "  " and row[s] != " ", (row, s)
        assert row == row.rstrip()
    assert rows[0][starts[1]:].split("  ")[0] == "2026-11-24 01:00:00"
    assert "failed x2" in rows[0] and rows[0].endswith("no")
    assert rows[1].startswith("default/tick ") and "every 15m" in rows[1]
    assert rows[1][starts[1]:starts[2]].strip() == "-" and rows[1].endswith("yes")
    assert "manual" in rows[2] and rows[2][starts[2]:starts[3]].strip() == "ok"


def test_jobs_json_is_the_daemons_answer(chime_at, fake_daemon):
    answer = {"items": [JOB_A, JOB_B], "next_cursor": None, "total": 2}
    fake_daemon.route("GET", "/api/v1/jobs", js(answer))
    r = chime_at("jobs", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == answer


def test_jobs_sends_filters_and_follows_cursors(chime_at, fake_daemon):
    def pages(req):
        if req.query.get("cursor") == ["p2"]:
            return js({"items": [JOB_B], "next_cursor": None, "total": 2})
        return js({"items": [JOB_A], "next_cursor": "p2", "total": 2})
    fake_daemon.route("GET", "/api/v1/jobs", pages)
    r = chime_at("jobs", "--namespace", "sales", "--label", "team=a b", "--json")
    assert r.code == 0, r.err
    assert [j["name"] for j in json.loads(r.out)["items"]] == ["nightly-import", "tick"]
    first, second = fake_daemon.sent("GET", "/api/v1/jobs")
    assert first.query == {"namespace": ["sales"], "label": ["team=a b"]}
    assert second.query["cursor"] == ["p2"]


def test_runs_prints_a_table_and_sends_its_filters(chime_at, fake_daemon):
    items = [run_json(12, "failed", None, 9, attempt=2, reason="retry"),
             run_json(9, "succeeded", 0),
             run_json(8, "running", None, started_at="2026-11-24T01:00:00Z", finished_at=None)]
    fake_daemon.route("GET", "/api/v1/runs", js({"items": items, "next_cursor": "x", "total": 40}))
    r = chime_at("runs", "tick", "--state", "failed", "--limit", "3")
    assert r.code == 0, r.err
    head, *rows = r.lines
    assert head.split() == ["ID", "JOB", "FIRE", "TIME", "REASON", "ATTEMPT", "STATE", "EXIT",
                            "DURATION"]
    assert rows[0].split() == ["12", "default/tick", "2026-11-24", "01:00:00", "retry", "2",
                               "failed", "SIGKILL", "3m12s"]
    assert rows[1].split()[-2:] == ["0", "3m12s"]
    assert rows[2].split()[-3:-1] == ["running", "-"]
    # right-aligned numbers end where their headers end
    assert rows[1].index("9 ") + 1 == head.index("ID") + 2
    assert "3 of 40 runs shown" in r.err
    (req,) = fake_daemon.sent("GET", "/api/v1/runs")
    assert req.query == {"job": ["default/tick"], "state": ["failed"], "limit": ["3"]}


def test_runs_json_is_the_daemons_answer(chime_at, fake_daemon):
    answer = {"items": [run_json()], "next_cursor": None, "total": 1}
    fake_daemon.route("GET", "/api/v1/runs", js(answer))
    r = chime_at("runs", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == answer


# ---- job add, show, edit, rm, pause, resume ----

def test_job_add_posts_the_file(chime_at, fake_daemon, tmp_path):
    doc = '{"name": "tick", "schedule": {"every": "15m"}, "shell": "date"}\n'
    (tmp_path / "tick.json").write_text(doc)
    fake_daemon.route("POST", "/api/v1/jobs", js(dict(JOB_B, version=1), 201))
    r = chime_at("job", "add", str(tmp_path / "tick.json"))
    assert r.code == 0, r.err
    assert r.out == "added default/tick (version 1)\n"
    (req,) = fake_daemon.sent("POST", "/api/v1/jobs")
    assert req.body.decode() == doc
    assert req.headers["Content-Type"] == "application/json"


def test_job_add_reads_standard_input(chime_at, fake_daemon):
    doc = '{"name": "nightly-import", "namespace": "sales", "shell": "x"}'
    fake_daemon.route("POST", "/api/v1/jobs", js(JOB_A, 201))
    r = chime_at("job", "add", "-", input=doc)
    assert r.code == 0, r.err
    assert r.out == "added sales/nightly-import (version 3)\n"
    assert fake_daemon.sent("POST")[0].body.decode() == doc


def test_job_add_refuses_a_file_over_one_mib(chime_at, fake_daemon, tmp_path):
    big = tmp_path / "big.json"
    big.write_text('{"name": "x", "description": "' + "a" * (1 << 20) + '"}')
    r = chime_at("job", "add", str(big))
    assert r.code == 2
    assert len(r.err.splitlines()) == 1
    assert "larger than 1 MiB" in r.err
    assert fake_daemon.sent() == []


@pytest.mark.parametrize("args,message", [
    (["job", "add", "/nonexistent/job.json"], "chime job add: file: cannot open"),
    (["job", "add"], "chime job add: missing FILE"),
])
def test_job_add_without_a_file_is_bad_usage(chime_at, fake_daemon, args, message):
    r = chime_at(*args)
    assert r.code == 2
    assert r.err.startswith(message)
    assert fake_daemon.sent() == []


def test_job_add_reports_a_json_syntax_error_locally(chime_at, fake_daemon):
    r = chime_at("job", "add", "-", input='{"name": "x",\n  "shell": }')
    assert r.code == 2
    assert r.err.startswith("chime job add: file: line 2, column")
    assert len(r.err.splitlines()) == 1
    assert fake_daemon.sent() == []


def test_an_invalid_document_is_one_line_naming_the_field(chime_at, fake_daemon):
    fake_daemon.route("POST", "/api/v1/jobs",
                      problem(400, "'61' is out of range 0-59", "schedule.cron"))
    r = chime_at("job", "add", "-", input='{"name": "x", "schedule": {"cron": "61 * * * *"}}')
    assert r.code == 2
    assert r.err == "chime job add: schedule.cron: '61' is out of range 0-59\n"


def test_a_missing_job_is_a_failure_not_bad_usage(chime_at, fake_daemon):
    r = chime_at("job", "show", "sales/nope")
    assert r.code == 1
    assert r.err == "chime job show: no route GET /api/v1/jobs/sales/nope\n"


def test_a_server_error_without_a_problem_is_one_line(chime_at, fake_daemon):
    fake_daemon.route("GET", "/api/v1/jobs", text("boom\nbroken", status=500))
    r = chime_at("jobs")
    assert r.code == 1
    assert r.err == "chime jobs: the daemon answered HTTP 500: boom\\x0abroken\n"


def test_job_show_prints_a_summary_and_the_document(chime_at, fake_daemon):
    fake_daemon.route("GET", "/api/v1/jobs/sales/nightly-import", js(JOB_A))
    r = chime_at("job", "show", "sales/nightly-import")
    assert r.code == 0, r.err
    assert r.lines[:6] == [
        "job:       sales/nightly-import", "version:   3",
        "schedule:  0 2 * * * (Europe/Berlin)", "next fire: 2026-11-24 01:00:00",
        "paused:    no", "last fire: 2026-11-23 01:00:00 (failed x2)"]
    doc = json.loads(r.out.split("\n\n", 1)[1])
    assert doc["command"] == JOB_A["command"]
    assert not {"version", "next_fire", "state", "created_at"} & set(doc)
    r = chime_at("job", "show", "sales/nightly-import", "--json")
    assert json.loads(r.out) == JOB_A


def test_job_names_default_to_the_default_namespace(chime_at, fake_daemon):
    fake_daemon.route("GET", "/api/v1/jobs/default/tick", js(JOB_B))
    r = chime_at("job", "show", "tick", "--json")
    assert r.code == 0, r.err
    assert fake_daemon.sent()[0].path == "/api/v1/jobs/default/tick"


@pytest.mark.parametrize("name", ["Tick", "a/b/c", "-x", ".x", "ns/", "/x", "a" * 64,
                                  "tick job", "ns/Name", "t\x01"])
@pytest.mark.parametrize("cmd", [["job", "show"], ["job", "rm"], ["run"], ["runs"]])
def test_bad_job_names_are_refused_before_any_request(chime_at, fake_daemon, cmd, name):
    r = chime_at(*cmd, *(["--"] if name.startswith("-") else []), name)
    assert r.code == 2
    assert len(r.err.splitlines()) == 1
    assert ": job: '" in r.err and "is not a job name" in r.err
    assert fake_daemon.sent() == []


@pytest.mark.parametrize("sub,method,suffix,said", [
    ("rm", "DELETE", "", "removed"), ("pause", "POST", "/pause", "paused"),
    ("resume", "POST", "/resume", "resumed"),
])
def test_job_rm_pause_resume(chime_at, fake_daemon, sub, method, suffix, said):
    fake_daemon.route(method, "/api/v1/jobs/sales/x" + suffix,
                      js({}, 204) if method == "DELETE" else js(JOB_A))
    r = chime_at("job", sub, "sales/x")
    assert r.code == 0, r.err
    assert r.out == "%s sales/x\n" % said
    assert [(q.method, q.path) for q in fake_daemon.sent()] == [
        (method, "/api/v1/jobs/sales/x" + suffix)]


def editor(tmp_path, script):
    path = tmp_path / "editor.sh"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_job_edit_puts_the_edited_document_back(chime_at, fake_daemon, tmp_path):
    fake_daemon.route("GET", "/api/v1/jobs/sales/nightly-import", js(JOB_A))
    fake_daemon.route("PUT", "/api/v1/jobs/sales/nightly-import", js(dict(JOB_A, version=4)))
    ed = editor(tmp_path, "sed -i 's/0 2 \\* \\* \\*/0 3 * * */' \"$1\"")
    r = chime_at("job", "edit", "sales/nightly-import", env={"VISUAL": "", "EDITOR": ed,
                                                            "TMPDIR": str(tmp_path)})
    assert r.code == 0, r.err
    assert r.out == "saved sales/nightly-import (version 4)\n"
    (put,) = fake_daemon.sent("PUT")
    doc = put.json()
    assert doc["schedule"]["cron"] == "0 3 * * *"
    assert not {"version", "next_fire", "state"} & set(doc)
    assert put.headers["If-Match"] == '"3"'
    assert not list(tmp_path.glob("chime-*.json"))      # the temp file is gone


def test_job_edit_without_a_change_saves_nothing(chime_at, fake_daemon, tmp_path):
    fake_daemon.route("GET", "/api/v1/jobs/default/tick", js(JOB_B))
    r = chime_at("job", "edit", "tick", env={"VISUAL": "true", "TMPDIR": str(tmp_path)})
    assert r.code == 0, r.err
    assert r.err == "chime job edit: no change to default/tick\n"
    assert fake_daemon.sent("PUT") == []


def test_job_edit_refused_keeps_the_edit(chime_at, fake_daemon, tmp_path):
    fake_daemon.route("GET", "/api/v1/jobs/default/tick", js(JOB_B))
    fake_daemon.route("PUT", "/api/v1/jobs/default/tick",
                      problem(400, "unknown member", "schedule.evry"))
    ed = editor(tmp_path, "sed -i 's/\"every\"/\"evry\"/' \"$1\"")
    r = chime_at("job", "edit", "tick", env={"VISUAL": ed, "TMPDIR": str(tmp_path)})
    assert r.code == 2
    (kept,) = tmp_path.glob("chime-default-tick-*.json")
    assert r.err == ("chime job edit: schedule.evry: unknown member; your edit is kept in %s\n"
                     % kept)
    assert '"evry"' in kept.read_text()


# ---- errors of the environment ----

def test_an_unreachable_daemon_is_one_line(chime):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = "http://127.0.0.1:%d" % port
    for args in (["jobs"], ["run", "tick"], ["logs", "3", "--follow"]):
        r = chime(*args, env={"CHIME_URL": url})
        assert r.code == 1
        assert r.err == "chime: cannot reach the daemon at %s (is `chime serve` running?)\n" % url


def test_a_bad_chime_url_is_bad_usage(chime):
    r = chime("jobs", env={"CHIME_URL": "ftp://example"})
    assert r.code == 2
    assert r.err == "chime jobs: CHIME_URL: 'ftp://example' is not an http:// or https:// URL\n"


def test_the_token_goes_as_a_bearer(chime_at, fake_daemon):
    fake_daemon.route("GET", "/api/v1/jobs", js({"items": [], "next_cursor": None, "total": 0}))
    r = chime_at("jobs", env={"CHIME_TOKEN": "s3cret"})
    assert r.code == 0, r.err
    assert fake_daemon.sent()[0].headers["Authorization"] == "Bearer s3cret"
    chime_at("jobs")
    assert fake_daemon.sent()[1].headers["Authorization"] is None


# ---- --url, --token, --token-file ----

EMPTY = {"items": [], "next_cursor": None, "total": 0}


@pytest.mark.parametrize("where", ["before", "after", "equals"])
def test_url_and_token_options_win_over_the_environment(chime, fake_daemon, where):
    fake_daemon.route("GET", "/api/v1/jobs", js(EMPTY))
    env = {"CHIME_URL": "http://127.0.0.1:9", "CHIME_TOKEN": "from-env"}
    args = {"before": ["--url", fake_daemon.url, "--token", "opt", "jobs"],
            "after": ["jobs", "--url", fake_daemon.url, "--token", "opt"],
            "equals": ["--url=" + fake_daemon.url, "jobs", "--token=opt"]}[where]
    r = chime(*args, env=env)
    assert r.code == 0, r.err
    assert fake_daemon.sent()[0].headers["Authorization"] == "Bearer opt"


def test_token_file_gives_the_token(chime_at, fake_daemon, tmp_path):
    fake_daemon.route("GET", "/api/v1/jobs", js(EMPTY))
    path = tmp_path / "tok"
    path.write_text("filetoken\n")
    r = chime_at("--token-file", str(path), "jobs", env={"CHIME_TOKEN": "from-env"})
    assert r.code == 0, r.err
    assert fake_daemon.sent()[0].headers["Authorization"] == "Bearer filetoken"


@pytest.mark.parametrize("args, message", [
    (["jobs", "--url"], "chime: --url needs a value (see chime help)\n"),
    (["--token=", "jobs"], "chime: --token needs a value (see chime help)\n"),
    (["--token", "a", "--token-file", "b", "jobs"],
     "chime: give --token or --token-file, not both\n"),
    (["--url", "ftp://x", "jobs"],
     "chime jobs: --url: 'ftp://x' is not an http:// or https:// URL\n"),
    (["--token-file", "/nonexistent/tok", "jobs"],
     "chime jobs: --token-file: cannot read a token from '/nonexistent/tok': "
     "No such file or directory\n"),
    (["jobs", "--token", "a\nb"], "chime jobs: --token: the token holds a line break\n"),
])
def test_bad_global_options_are_bad_usage_without_a_request(chime_at, fake_daemon, args,
                                                            message):
    r = chime_at(*args)
    assert r.code == 2
    assert r.err == message
    assert fake_daemon.sent() == []


def test_a_token_file_of_two_lines_or_too_long_is_refused(chime_at, fake_daemon, tmp_path):
    for body in ("a\nb\n", "x" * 5000, "", "a\0b"):
        path = tmp_path / "tok"
        path.write_text(body)
        r = chime_at("jobs", "--token-file", str(path))
        assert r.code == 2, body
        assert "--token-file: cannot read a token from" in r.err
    assert fake_daemon.sent() == []


def test_the_no_token_error_names_the_options_and_the_variables(chime_at, fake_daemon):
    fake_daemon.route("GET", "/api/v1/jobs",
                      problem(401, "a token is required: Authorization: Bearer TOKEN",
                              "Authorization"))
    r = chime_at("jobs")
    assert r.code == 1
    assert r.err.count("\n") == 1
    for name in ("--token TOKEN", "--token-file FILE", "CHIME_TOKEN", "--url URL", "CHIME_URL"):
        assert name in r.err, name


def test_audit_keeps_its_own_token_filter(chime_at, fake_daemon):
    fake_daemon.route("GET", "/api/v1/audit", js(EMPTY))
    r = chime_at("--token", "secret", "audit", "--token", "ci")
    assert r.code == 0, r.err
    (q,) = fake_daemon.sent()
    assert q.query["token"] == ["ci"]
    assert q.headers["Authorization"] == "Bearer secret"


# ---- run, run --wait, logs ----

def test_run_prints_the_run_id_and_sends_params(chime_at, fake_daemon):
    fake_daemon.route("POST", "/api/v1/jobs/default/tick/trigger", js({"run_id": 41}, 202))
    r = chime_at("run", "tick", "--param", "MODE=full", "-p", "EMPTY=", "--env", "OLD=x=y")
    assert r.code == 0, r.err
    assert r.out == "41\n"
    assert fake_daemon.sent("POST")[0].json() == {
        "params": {"MODE": "full", "EMPTY": "", "OLD": "x=y"}}
    r = chime_at("run", "tick")
    assert r.code == 0 and fake_daemon.sent("POST")[1].body == b""


@pytest.mark.parametrize("opt", ["--param", "--env"])
@pytest.mark.parametrize("bad", ["NOEQUALS", "=x", "1A=b", "A-B=c"])
def test_run_refuses_a_bad_param(chime_at, fake_daemon, bad, opt):
    r = chime_at("run", "tick", opt, bad)
    assert r.code == 2
    assert r.err.startswith("chime run: param: ")
    assert fake_daemon.sent() == []


def no_retry(fake_daemon):
    """The job version run 7 ran has no retry: its end is the final one."""
    fake_daemon.route("GET", "/api/v1/jobs/default/tick/versions/1",
                      js({"version": 1, "document": {"retry": {"max_attempts": 1}}}))


def wait_route(fake_daemon, end, events=None):
    fake_daemon.route("POST", "/api/v1/jobs/default/tick/trigger", js({"run_id": 7}, 202))
    no_retry(fake_daemon)
    events = events if events is not None else [
        ("stdout", "hello\n", "1"), 0.05, ("stderr", "warn\n", "2"), ("stdout", "bye", "3")]
    fake_daemon.route("GET", "/api/v1/runs/7/output",
                      Events(events + [("end", json.dumps(end), "4")]))


@pytest.mark.parametrize("end,status", [
    (run_json(state="succeeded", exit_code=0), 0),
    (run_json(state="failed", exit_code=3), 3),
    (run_json(state="failed", exit_code=None, signal=9), 137),
    (run_json(state="failed", exit_code=None, signal="SIGTERM"), 143),
    (run_json(state="timed_out", exit_code=None, signal=15), 124),
    (run_json(state="lost", exit_code=None, error="the machine went down"), 1),
    (run_json(state="cancelled", exit_code=None, signal=None), 1),
])
def test_run_wait_streams_output_and_exits_with_the_runs_status(chime_at, fake_daemon,
                                                                end, status):
    wait_route(fake_daemon, end)
    r = chime_at("run", "tick", "--wait")
    assert r.code == status, r.err
    assert r.out == "hello\nbye"
    assert r.err.startswith("warn\n")
    (req,) = fake_daemon.sent("GET", "/api/v1/runs/7/output")
    assert req.headers["Accept"] == "text/event-stream"
    if status in (0, 3):
        assert r.err == "warn\n"
    else:
        assert len(r.err.splitlines()) == 2 and "chime run: run 7 " in r.err


def test_run_wait_polls_when_the_daemon_does_not_stream(chime_at, fake_daemon):
    fake_daemon.route("POST", "/api/v1/jobs/default/tick/trigger", js({"run_id": 7}, 202))
    no_retry(fake_daemon)
    fake_daemon.sequence("GET", "/api/v1/runs/7/output", [
        RangedText("line 1\n"), RangedText("line 1\nline 2\n"),
        RangedText("line 1\nline 2\nline 3\n")])
    fake_daemon.sequence("GET", "/api/v1/runs/7", [
        js(run_json(state="running", exit_code=None, finished_at=None)),
        js(run_json(state="failed", exit_code=3))])
    r = chime_at("run", "tick", "--wait")
    assert r.code == 3, r.err
    assert r.out == "line 1\nline 2\nline 3\n"
    ranges = [q.headers["Range"] for q in fake_daemon.sent("GET", "/api/v1/runs/7/output")]
    assert ranges == [None, "bytes=7-", "bytes=14-"]


def test_run_wait_gives_up_after_its_timeout(chime_at, fake_daemon):
    wait_route(fake_daemon, run_json(), events=[("stdout", "started\n", "1"), 5])
    r = chime_at("run", "tick", "--wait", "--timeout", "1s")
    assert r.code == 1
    assert r.out == "started\n"
    assert r.err.startswith("chime run: timeout: run 7 has not ended after 1s")


def test_logs_prints_the_output(chime_at, fake_daemon):
    fake_daemon.route("GET", "/api/v1/runs/5/output", RangedText("all of it\n"))
    r = chime_at("logs", "5")
    assert r.code == 0, r.err
    assert r.out == "all of it\n"
    assert fake_daemon.sent()[0].headers["Range"] is None


def test_logs_follow_streams_until_the_end_event(chime_at, fake_daemon):
    fake_daemon.route("GET", "/api/v1/runs/5/output", Events([
        ": keep-alive\n\n",
        ("stdout", "two\nlines\n", "10"),
        "event: stdout\r\nid: 11\r\ndata: crlf\r\ndata: \r\n\r\n",
        ("dropped", "1024", "12"),
        ("stdout", "tail", "13"), 0.1,
        ("ping", "", None),
        ("end", json.dumps(run_json(5, state="failed", exit_code=2)), "14"),
        ("stdout", "after the end", "15"),
    ]))
    r = chime_at("logs", "5", "--follow")
    assert r.code == 0, r.err
    assert r.out == "two\nlines\ncrlf\n[chime: 1024 bytes of output dropped]\ntail"


def test_logs_follow_resumes_a_broken_stream_from_its_last_id(chime_at, fake_daemon):
    fake_daemon.sequence("GET", "/api/v1/runs/5/output", [
        Events([("stdout", "part 1\n", "7")]),
        Events([("stdout", "part 2\n", "14"),
                ("end", json.dumps(run_json(5)), "15")])])
    r = chime_at("logs", "5", "--follow")
    assert r.code == 0, r.err
    assert r.out == "part 1\npart 2\n"
    first, second = fake_daemon.sent("GET", "/api/v1/runs/5/output")
    assert first.headers["Last-Event-ID"] is None
    assert second.headers["Last-Event-ID"] == "7"


def test_logs_follow_reconnects_when_the_daemon_closes_the_follow(chime_at, fake_daemon):
    still_running = run_json(5, state="running", exit_code=None, finished_at=None)
    fake_daemon.sequence("GET", "/api/v1/runs/5/output", [
        Events([("stdout", "a\n", "3"), ("close", '{"reason": "time-limit"}', None)]),
        Events([("end", json.dumps(still_running), None)]),
        Events([("stdout", "b\n", "6"), ("end", json.dumps(run_json(5)), None)])])
    r = chime_at("logs", "5", "--follow")
    assert r.code == 0, r.err
    assert r.out == "a\nb\n"
    ids = [q.headers["Last-Event-ID"] for q in fake_daemon.sent("GET", "/api/v1/runs/5/output")]
    assert ids == [None, "3", "3"]


def test_run_wait_polls_after_a_stream_without_ids_breaks(chime_at, fake_daemon):
    fake_daemon.route("POST", "/api/v1/jobs/default/tick/trigger", js({"run_id": 7}, 202))
    no_retry(fake_daemon)
    fake_daemon.route("GET", "/api/v1/runs/7/output", lambda req: (
        RangedText("one\ntwo\n") if req.headers["Accept"] == "text/plain"
        else Events([("stdout", "one\n", None)])))
    fake_daemon.route("GET", "/api/v1/runs/7", js(run_json(state="failed", exit_code=None,
                                                           signal=9)))
    r = chime_at("run", "tick", "--wait")
    assert r.code == 137, r.err
    assert r.out == "one\ntwo\n"
    assert fake_daemon.sent("GET", "/api/v1/runs/7/output")[-1].headers["Range"] == "bytes=4-"


@pytest.mark.parametrize("arg", ["0", "-1", "x", "1x", "", "99999999999999999999"])
def test_logs_refuses_a_bad_run_id(chime_at, fake_daemon, arg):
    r = chime_at("logs", "--", arg)
    assert r.code == 2
    assert r.err.startswith("chime logs: run: ")
    assert fake_daemon.sent() == []


@pytest.mark.parametrize("args", [["jobs", "extra"], ["runs", "--limit", "0"],
                                  ["runs", "--state", "done"], ["run"], ["job"],
                                  ["job", "frob", "x"], ["run", "x", "--timeout", "5s"],
                                  ["runs", "--since", "yesterday"], ["jobs", "--frob"],
                                  ["run", "x", "--env"], ["logs", "-z", "3"],
                                  ["job", "show", "-x"]])
def test_usage_errors_exit_2_in_one_line_without_a_request(chime_at, fake_daemon, args):
    r = chime_at(*args)
    assert r.code == 2
    assert r.err.startswith("chime ")
    assert len(r.err.splitlines()) == 1
    assert fake_daemon.sent() == []


def test_help_lists_the_client_commands(chime):
    r = chime("help")
    assert r.code == 0
    for cmd in ("jobs", "job add", "run JOB", "runs", "logs RUN"):
        assert "chime " + cmd in r.out
    r = chime("job", "help")
    assert r.code == 0 and "chime job edit JOB" in r.out
