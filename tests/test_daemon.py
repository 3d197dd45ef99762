"""`chime serve` end to end: the real binary, a real SQLite file, real HTTP
over loopback and real child processes (docs/design.md, Guarantees)."""
import datetime as dt
import os
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

from daemon import CHIME, Daemon, wait_for

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def iso(t):
    return dt.datetime.fromisoformat(t.replace("Z", "+00:00"))


def job(name, **fields):
    doc = {"name": name, "schedule": {"manual": True}, "shell": "true"}
    doc.update(fields)
    return doc


def test_at_job_fires_on_time_to_the_microsecond(daemon):
    at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1.5)
    at_text = at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    daemon.put_job(job("once", schedule={"at": at_text}, shell="echo fired"))
    runs = wait_for("the fire", lambda: [r for r in daemon.runs("default/once")
                                         if r["state"] == "succeeded"])
    assert len(runs) == 1
    assert iso(runs[0]["fire_time"]) == at
    assert runs[0]["reason"] == "schedule"
    late = iso(runs[0]["started_at"]) - at
    assert dt.timedelta(0) <= late < dt.timedelta(milliseconds=500), late
    assert daemon.output(runs[0]["id"]).strip() == "fired"


def test_run_gets_a_clean_environment_and_chime_variables(daemon):
    daemon.put_job(job("env", env={"MODE": "full"}, shell="env | sort",
                       params={"EXTRA": {"pattern": "yes|no"}}))
    run_id = daemon.trigger("default/env", params={"EXTRA": "yes"})
    run = daemon.wait_run(run_id)
    assert run["state"] == "succeeded", run
    lines = set(daemon.output(run_id).splitlines())
    assert {"MODE=full", "EXTRA=yes", "CHIME_JOB=env", "CHIME_NAMESPACE=default",
            f"CHIME_RUN_ID={run_id}", "CHIME_ATTEMPT=1"} <= lines
    assert not any(line.startswith(("HOME=", "CHIME_BIN=", "TZ=")) for line in lines), lines


def test_each_run_starts_from_its_own_job_version(tmp_path):
    """Bodies of recurring jobs are kept between runs (daemon/nodebody.c):
    a new version is what the next run runs, before and after a restart."""
    def run_says(d):
        rid = d.trigger("default/ver")
        assert d.wait_run(rid)["state"] == "succeeded"
        return d.output(rid).strip()

    def replace(d, word):
        status, body = d.request("PUT", "/api/v1/jobs/default/ver", job("ver", shell=f"echo {word}"))
        assert status == 200, body

    d = Daemon(tmp_path / "data").start()
    try:
        d.put_job(job("ver", shell="echo one"))
        assert [run_says(d), run_says(d)] == ["one", "one"]
        replace(d, "two")
        assert [run_says(d), run_says(d)] == ["two", "two"]
    finally:
        d.stop()
    d = Daemon(tmp_path / "data").start()      # bodies from the store from here
    try:
        assert [run_says(d), run_says(d)] == ["two", "two"]
        replace(d, "three")
        assert run_says(d) == "three"
        status, body = d.request("POST", "/api/v1/jobs/default/ver/rollback", {"version": 1})
        assert status == 200, body
        assert [run_says(d), run_says(d)] == ["one", "one"]
    finally:
        d.stop()


def test_retries_back_off_exponentially_then_dead_letter(daemon):
    daemon.put_job(job("flaky", shell="echo attempt $CHIME_ATTEMPT; exit 3",
                       retry={"max_attempts": 3, "backoff": "1s", "factor": 2}))
    first = daemon.trigger("default/flaky")
    runs = wait_for("three failed attempts", lambda: (rs := [
        r for r in daemon.runs("default/flaky") if r["state"] == "failed"]) and len(rs) == 3 and rs)
    runs.sort(key=lambda r: r["attempt"])
    assert [r["attempt"] for r in runs] == [1, 2, 3]
    assert runs[0]["id"] == first
    assert {r["fire_time"] for r in runs} == {runs[0]["fire_time"]}    # one fire
    assert all(r["exit_code"] == 3 for r in runs)
    gap1 = iso(runs[1]["queued_at"]) - iso(runs[0]["finished_at"])
    gap2 = iso(runs[2]["queued_at"]) - iso(runs[1]["finished_at"])
    assert dt.timedelta(seconds=1) <= gap1 < dt.timedelta(seconds=1.5), gap1
    assert dt.timedelta(seconds=2) <= gap2 < dt.timedelta(seconds=2.5), gap2
    status, dead = daemon.request("GET", "/api/v1/dead-letters")
    assert status == 200
    assert [d["run_id"] for d in dead["items"]] == [runs[2]["id"]]


def test_timeout_ends_a_process_tree_that_ignores_sigterm(daemon, tmp_path):
    pids = tmp_path / "pids"
    daemon.put_job(job("stubborn", timeout="1s", kill_grace="1s", shell=(
        "trap '' TERM; for i in 1 2 3; do (trap '' TERM; exec sleep 300) & "
        f"echo $! >> {pids}; done; wait")))
    run_id = daemon.trigger("default/stubborn")
    run = daemon.wait_run(run_id, timeout=15)
    assert run["state"] == "timed_out", run
    took = iso(run["finished_at"]) - iso(run["started_at"])
    assert took < dt.timedelta(seconds=4), took
    for pid in map(int, pids.read_text().split()):
        assert wait_for(f"pid {pid} to be gone", lambda: not os.path.exists(f"/proc/{pid}")
                        or open(f"/proc/{pid}/stat").read().split()[2] == "Z", timeout=5)


def test_output_cap_keeps_head_and_tail_of_a_gibibyte(daemon):
    daemon.put_job(job("loud", limits={"output": "64K"},
                       shell="echo BEGIN; head -c 1073741824 /dev/zero | tr '\\0' x; echo; echo END"))
    run_id = daemon.trigger("default/loud")
    run = daemon.wait_run(run_id, timeout=60)
    assert run["state"] == "succeeded", run
    assert run["output_bytes"] == 1073741824 + len("BEGIN\n") + len("\nEND\n")
    out = daemon.output(run_id)
    assert out.startswith("BEGIN\n")
    assert out.rstrip().endswith("END")
    assert len(out) < 80 * 1024


def sleeper(name, **fields):
    return job(name, shell="sleep 1.5", **fields)


def test_forbid_refuses_a_second_trigger_with_409_naming_the_live_run(daemon):
    daemon.put_job(sleeper("solo"))
    first = daemon.trigger("default/solo")
    status, problem = daemon.request("POST", "/api/v1/jobs/default/solo/trigger", {})
    assert status == 409 and problem["run_id"] == first, problem
    assert daemon.wait_run(first)["state"] == "succeeded"
    assert [r["id"] for r in daemon.runs("default/solo")] == [first]


def test_allow_runs_up_to_max_instances(daemon):
    daemon.put_job(sleeper("pair", concurrency="allow", max_instances=2))
    ids = [daemon.trigger("default/pair") for _ in range(2)]
    status, problem = daemon.request("POST", "/api/v1/jobs/default/pair/trigger", {})
    assert status == 409 and problem["run_id"] == ids[0], problem
    a, b = daemon.wait_run(ids[0]), daemon.wait_run(ids[1])
    assert a["state"] == b["state"] == "succeeded"
    assert iso(b["started_at"]) < iso(a["finished_at"])     # they overlapped


def test_queue_waits_for_the_active_run(daemon):
    daemon.put_job(sleeper("line", concurrency="queue", max_instances=1))
    first, second = daemon.trigger("default/line"), daemon.trigger("default/line")
    a, b = daemon.wait_run(first), daemon.wait_run(second)
    assert a["state"] == b["state"] == "succeeded"
    assert iso(b["started_at"]) >= iso(a["finished_at"])


def test_replace_cancels_the_active_run(daemon):
    daemon.put_job(sleeper("fresh", concurrency="replace"))
    first = daemon.trigger("default/fresh")
    wait_for("the first run to start", lambda: daemon.run(first)["state"] == "running")
    second = daemon.trigger("default/fresh")
    assert daemon.wait_run(first)["state"] == "cancelled"
    assert daemon.wait_run(second)["state"] == "succeeded"


def test_after_chain_fans_in(daemon):
    daemon.put_job(job("import", shell="echo import"))
    daemon.put_job(job("prices", shell="echo prices"))
    daemon.put_job(job("score", schedule={"after": ["import", "prices"]}, shell="echo score"))
    daemon.trigger("default/import")
    assert daemon.runs("default/score") == []
    daemon.trigger("default/prices")
    runs = wait_for("score to run", lambda: [r for r in daemon.runs("default/score")
                                              if r["state"] == "succeeded"])
    assert len(runs) == 1 and runs[0]["reason"] == "after"


def test_a_dependency_cycle_is_refused_naming_it(daemon):
    daemon.put_job(job("a", schedule={"after": ["b"]}))
    status, body = daemon.request("POST", "/api/v1/jobs", job("b", schedule={"after": ["a"]}))
    assert status == 400
    assert body["field"] == "schedule.after"
    assert "default/b -> default/a -> default/b" in body["detail"]


def test_kill9_during_a_run_then_restart_records_its_real_exit(tmp_path):
    d = Daemon(tmp_path / "data").start()
    d.put_job(job("long", shell="sleep 2; exit 7"))
    run_id = d.trigger("default/long")
    wait_for("the run to start", lambda: d.run(run_id)["state"] == "running")
    d.kill9()
    d = Daemon(tmp_path / "data", port=d.port).start()
    try:
        run = d.wait_run(run_id)
        assert run["state"] == "failed" and run["exit_code"] == 7, run
        assert len(d.runs("default/long")) == 1         # nothing lost, nothing doubled
    finally:
        d.stop()
    db = sqlite3.connect(str(tmp_path / "data" / "chime.db"))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_queued_run_starts_after_a_restart_with_a_free_slot(tmp_path):
    """A run recorded as queued (no slot free) when the daemon died starts
    when a restarted daemon has a slot for it (a restored backup taken
    between a run's record and its start crashed the daemon here)."""
    d = Daemon(tmp_path / "data", args=["--max-concurrent", "1"]).start()
    d.put_job(job("long", shell="sleep 3; echo long"))
    d.put_job(job("next", shell="echo next"))
    first = d.trigger("default/long")
    wait_for("the first run to start", lambda: d.run(first)["state"] == "running")
    second = d.trigger("default/next")
    assert d.run(second)["state"] == "queued"
    d.kill9()
    d = Daemon(tmp_path / "data", args=["--max-concurrent", "2"], port=d.port).start()
    try:
        assert d.wait_run(second)["state"] == "succeeded"
        assert d.output(second).strip() == "next"
        assert d.wait_run(first)["state"] == "succeeded"
    finally:
        d.stop()


@pytest.mark.parametrize("mode", ["none", "latest", "all"])
def test_restart_after_downtime_follows_catch_up(tmp_path, mode):
    d = Daemon(tmp_path / "data").start()
    d.put_job(job("tick", schedule={"cron": "* * * * * *"}, shell="true",
                  concurrency="allow", max_instances=50,
                  misfire={"grace": "1h", "catch_up": mode}))
    wait_for("a first fire", lambda: d.runs("default/tick"))
    d.stop()
    time.sleep(3.5)     # the downtime itself, not a synchronisation
    d = Daemon(tmp_path / "data", port=d.port).start()
    try:
        def reasons():
            runs = d.runs("default/tick")
            return ([r for r in runs if r["reason"] == "catch_up" and r["state"] != "missed"],
                    [r for r in runs if r["state"] == "missed"])
        if mode == "none":
            # the missed fires are committed as they come: wait for all we assert
            ran, missed = wait_for("missed fires", lambda: len((x := reasons())[1]) >= 2 and x)
            assert ran == [] and len(missed) >= 2
        elif mode == "latest":
            ran, missed = wait_for("one catch-up run", lambda: (x := reasons())[0] and x)
            assert len(ran) == 1 and len(missed) >= 1
        else:
            ran, missed = wait_for("catch-up runs", lambda: len((x := reasons())[0]) >= 3 and x)
            assert missed == []
        keys = [(r["fire_time"], r["attempt"]) for r in d.runs("default/tick")]
        assert len(keys) == len(set(keys))      # no fire recorded twice
    finally:
        d.stop()


@pytest.mark.skipif(not os.path.exists(FAKETIME), reason="libfaketime is not installed")
def test_wall_clock_jumps_neither_burst_nor_double(tmp_path):
    stamp = tmp_path / "faketime"
    stamp.write_text("+0\n")
    d = Daemon(tmp_path / "data", args=["--keep-runs", "100000"], env={
        "LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": str(stamp),
        "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}).start()
    try:
        d.put_job(job("sec", schedule={"cron": "* * * * * *"}, shell="true",
                      concurrency="allow", max_instances=50))
        wait_for("a first fire", lambda: d.runs("default/sec"))
        stamp.write_text("+3h\n")           # the wall clock jumps 3 hours ahead
        ran = wait_for("a catch-up run", lambda: [
            r for r in d.runs("default/sec")
            if r["reason"] == "catch_up" and r["state"] not in ("missed", "skipped")])
        assert len(ran) == 1                # one run for the 3 hours: no burst
        missed = [r for r in d.runs("default/sec") if r["state"] == "missed"]
        # late and coalesced fires are recorded, at most 100 of each per tick
        assert 1 <= len(missed) <= 200
        stamp.write_text("+1h\n")           # ... and back 2 hours
        before = {r["fire_time"] for r in d.runs("default/sec")}
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # watching for doubles, not waiting for one event
            fires = [r["fire_time"] for r in d.runs("default/sec") if r["attempt"] == 1]
            assert len(fires) == len(set(fires))
            assert max(fires) == max(before)    # nothing fires until the clock passes the newest
            time.sleep(0.2)
    finally:
        d.stop()


def test_bad_documents_are_refused_and_change_nothing(daemon):
    daemon.put_job(job("keep", shell="echo kept"))
    _, before = daemon.request("GET", "/api/v1/jobs")
    for doc, field in [
        ({"name": "x", "schedule": {"cron": "61 * * * *"}, "shell": "true"}, "schedule.cron"),
        ({"name": "x", "schedule": {"manual": True}, "shell": "true", "colour": 1}, "colour"),
        ({"name": "Bad Name", "schedule": {"manual": True}, "shell": "true"}, "name"),
        ({"name": "keep", "schedule": {"manual": True}, "command": []}, "command"),
    ]:
        status, body = daemon.request("POST", "/api/v1/jobs", doc)
        assert status in (400, 409), (doc, status, body)
        if status == 400:
            assert body["field"] == field, body
    status, body = daemon.request("POST", "/api/v1/jobs", raw=b'{"name": "x", ')
    assert status == 400
    # an oversized body is refused from its Content-Length, before it is read
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=5) as s:
        s.sendall(b"POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nAuthorization: Bearer " + daemon.token.encode()
                  + b"\r\nContent-Length: %d\r\n\r\n" % (2 << 20) + b"x" * 65536)
        assert s.recv(64).startswith(b"HTTP/1.1 413")
    _, after = daemon.request("GET", "/api/v1/jobs")
    assert after == before


def test_malformed_http_gets_an_error_and_the_daemon_carries_on(daemon):
    for garbage in [b"\x00\x01\x02 garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                    b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n"]:
        with socket.create_connection(("127.0.0.1", daemon.port), timeout=5) as s:
            s.sendall(garbage)
            try:
                reply = s.recv(64)
            except (ConnectionResetError, socket.timeout):
                reply = b""
            assert reply == b"" or reply.startswith((b"HTTP/1.1 4", b"HTTP/1.1 505")), reply
    assert daemon.healthy()


def test_retention_keeps_the_newest_runs_and_removes_the_rest_with_their_output(tmp_path):
    d = Daemon(tmp_path / "data", args=["--keep-runs", "3"]).start()
    try:
        d.put_job(job("chatty", shell="echo run $CHIME_RUN_ID"))
        ids = [d.wait_run(d.trigger("default/chatty"))["id"] for _ in range(5)]
        kept = wait_for("pruning", lambda: (r := [x["id"] for x in d.runs("default/chatty")])
                        and len(r) == 3 and r)
        assert sorted(kept) == ids[2:]
        runs_dir = tmp_path / "data" / "runs"
        assert wait_for("pruned output to go",
                        lambda: sorted(int(p.stem) for p in runs_dir.iterdir()) == ids[2:])
        assert d.output(ids[4]).strip() == f"run {ids[4]}"
    finally:
        d.stop()


def test_jobs_dir_applies_good_files_reports_bad_ones_and_reloads_on_sighup(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "a.json").write_text('{"name": "a", "schedule": {"manual": true}, "shell": "echo a"}')
    (jobs / "b.json").write_text('{"name": "b", "schedule": {"manual": true}, "shell": "echo b"}')
    (jobs / "bad.json").write_text('{"name": "c", "schedule": {"cron": "0 0 30 2 *"}, '
                                   '"shell": "true"}')
    (jobs / "notes.txt").write_text("not a job")
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)]).start()
    try:
        names = lambda: sorted(j["name"] for j in d.request("GET", "/api/v1/jobs")[1]["items"])
        assert names() == ["a", "b"]
        assert f"{jobs / 'bad.json'}: schedule.cron" in d.logtext()
        assert d.output(d.wait_run(d.trigger("default/a"))["id"]).strip() == "a"
        # change a, remove b, fix c; then SIGHUP
        (jobs / "a.json").write_text('{"name": "a", "schedule": {"manual": true}, '
                                     '"shell": "echo a2"}')
        (jobs / "b.json").unlink()
        (jobs / "bad.json").write_text('{"name": "c", "schedule": {"manual": true}, '
                                       '"shell": "true"}')
        d.proc.send_signal(signal.SIGHUP)
        wait_for("the reload", lambda: names() == ["a", "c"])
        assert d.request("GET", "/api/v1/jobs/default/a")[1]["version"] == 2
        assert "1 changed, 1 removed" in d.logtext() or "removed default/b" in d.logtext()
    finally:
        d.stop()


def test_the_examples_load_without_a_bad_file(tmp_path):
    examples = os.path.join(os.path.dirname(__file__), "..", "examples", "jobs")
    d = Daemon(tmp_path / "data", args=["--jobs-dir", examples]).start()
    try:
        items = d.request("GET", "/api/v1/jobs?limit=100")[1]["items"]
        assert len(items) == len([f for f in os.listdir(examples) if f.endswith(".json")])
        assert " 0 bad" in d.logtext()
        d.trigger("tenant-a/import")
        matching = wait_for("the tenant-a pipeline", lambda: [
            r for r in d.runs("tenant-a/matching") if r["state"] == "succeeded"])
        assert d.output(matching[0]["id"]).strip() == "2 matches"
    finally:
        d.stop()


@pytest.mark.parametrize("args,env,parts", [
    (["--max-concurrent", "0"], {}, ["max-concurrent", "'0'"]),
    (["--max-concurrent", "lots"], {}, ["max-concurrent", "'lots'"]),
    (["--grace", "-5s"], {}, ["grace"]),
    (["--keep-for", "9" * 40], {}, ["keep-for"]),
    (["--timezone", "Mars/Base"], {}, ["timezone", "'Mars/Base'"]),
    (["--log-format", "xml"], {}, ["log-format", "'xml'"]),
    (["--data-dir", ""], {}, ["data-dir"]),
    ([], {"CHIME_MAX_CONCURRENT": "x" * 5000}, ["CHIME_MAX_CONCURRENT"]),
    ([], {"CHIME_WAIT": "maybe"}, ["CHIME_WAIT", "'maybe'"]),
    (["stray"], {}, ["unexpected argument 'stray'"]),
])
def test_bad_serve_options_are_one_line_and_create_nothing(tmp_path, args, env, parts):
    data = tmp_path / "data"
    proc = subprocess.run([CHIME, "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0",
                           *args], capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, **env))
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    first = proc.stderr.splitlines()[0]
    for part in parts:
        assert part in first, (part, proc.stderr)
    assert len(first) < 300
    if args[:2] != ["--data-dir", ""]:
        assert not data.exists()            # refused before anything was made


def test_an_oversized_job_file_is_reported_and_the_others_still_load(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "ok.json").write_text('{"name": "ok", "schedule": {"manual": true}, "shell": "true"}')
    (jobs / "huge.json").write_text('{"name": "huge", "description": "' + "x" * (2 << 20) + '"}')
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)]).start()
    try:
        items = d.request("GET", "/api/v1/jobs")[1]["items"]
        assert [j["name"] for j in items] == ["ok"]
        assert f"{jobs / 'huge.json'}: file: larger than" in d.logtext()
    finally:
        d.stop()
