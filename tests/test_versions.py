"""Job versions (history, diff, rollback) and export/import, end to end
against a real daemon: every change keeps the version before it, a diff
names fields by their path, a rollback is a new version made through the
normal put path, and an import is checked whole and applied all or
nothing."""
import json
import os
import socket
import sqlite3
import threading


VOLATILE = ("version", "next_fire", "created_at", "updated_at", "state", "last_run")


def job(name, **fields):
    doc = {"name": name, "schedule": {"cron": "0 * * * *"}, "command": ["/bin/true"]}
    if "shell" in fields:
        del doc["command"]
    doc.update(fields)
    return doc


def versions(d, jid):
    status, body = d.request("GET", f"/api/v1/jobs/{jid}/versions?limit=1000")
    assert status == 200, body
    return body


def view(d, jid):
    status, body = d.request("GET", f"/api/v1/jobs/{jid}")
    assert status == 200, body
    return body


def document(v):
    return {k: x for k, x in v.items() if k not in VOLATILE}


def all_documents(d):
    status, body = d.request("GET", "/api/v1/jobs?limit=1000")
    assert status == 200, body
    return {f"{j['namespace']}/{j['name']}": document(j) for j in body["items"]}


def make_token(d, name, role, namespaces=None):
    body = {"name": name, "role": role}
    if namespaces is not None:
        body["namespaces"] = namespaces
    status, tok = d.request("POST", "/api/v1/tokens", body)
    assert status == 201, tok
    return tok["secret"]


def cli(chime, d, *args, **kw):
    return chime(*args, env={"CHIME_URL": d.url}, **kw)


def db_snapshot(d):
    """What the store holds of jobs, read behind the daemon's back."""
    db = sqlite3.connect(os.path.join(d.data_dir, "chime.db"))
    try:
        return (db.execute("SELECT namespace, name, version, deleted_us, paused FROM jobs"
                           " ORDER BY id").fetchall(),
                db.execute("SELECT job_id, version, doc FROM job_versions"
                           " ORDER BY job_id, version").fetchall())
    finally:
        db.close()


# ---- every change keeps a version ----

def test_every_change_keeps_the_previous_version(daemon):
    daemon.put_job(job("v"))
    assert daemon.request("PUT", "/api/v1/jobs/default/v",
                          job("v", schedule={"cron": "*/5 * * * *"}))[0] == 200
    assert daemon.request("PATCH", "/api/v1/jobs/default/v", {"env": {"A": "1"}})[0] == 200
    # a PUT of the same document makes no version
    assert daemon.request("PATCH", "/api/v1/jobs/default/v", {"env": {"A": "1"}})[0] == 200
    # pause and resume are state, not versions
    assert daemon.request("POST", "/api/v1/jobs/default/v/pause")[0] == 200
    assert daemon.request("POST", "/api/v1/jobs/default/v/resume")[0] == 200
    assert versions(daemon, "default/v")["total"] == 3
    # delete and create again: the old versions stay, numbering goes on
    assert daemon.request("DELETE", "/api/v1/jobs/default/v")[0] == 204
    daemon.put_job(job("v", description="again"))
    vs = versions(daemon, "default/v")
    assert [v["version"] for v in vs["items"]] == [4, 3, 2, 1]
    assert all(v["author"] == "admin" for v in vs["items"])
    status, v1 = daemon.request("GET", "/api/v1/jobs/default/v/versions/1")
    assert status == 200 and v1["document"]["schedule"]["cron"] == "0 * * * *"


def test_diff_names_fields_by_path_and_shows_values(daemon, chime):
    daemon.put_job(job("d", env={"OLD": "x", "KEEP": "k"}, labels={"app.io/name": "a"}))
    daemon.request("PUT", "/api/v1/jobs/default/d",
                   job("d", schedule={"cron": "*/5 * * * *"}, env={"KEEP": "k", "NEW": "y"},
                       labels={"app.io/name": "b"}, command=["/bin/echo", "hi"]))
    status, diff = daemon.request("GET", "/api/v1/jobs/default/d/diff?from=1&to=2")
    assert status == 200, diff
    by_path = {c["path"]: c for c in diff["changes"]}
    assert by_path["schedule.cron"] == {"op": "changed", "path": "schedule.cron",
                                        "pointer": "/schedule/cron", "from": "0 * * * *",
                                        "to": "*/5 * * * *"}
    assert by_path["env.NEW"]["op"] == "added" and "from" not in by_path["env.NEW"]
    assert by_path["env.OLD"]["op"] == "removed" and by_path["env.OLD"]["from"] == "x"
    # arrays are whole values
    assert by_path["command"]["to"] == ["/bin/echo", "hi"]
    assert by_path['labels["app.io/name"]']["pointer"] == "/labels/app.io~1name"
    assert "env.KEEP" not in by_path
    # to defaults to the current version
    assert daemon.request("GET", "/api/v1/jobs/default/d/diff?from=1")[1]["to"] == 2

    r = cli(chime, daemon, "job", "diff", "d", "1", "2")
    assert r.code == 0, r.err
    assert '~ schedule.cron: "0 * * * *" -> "*/5 * * * *"' in r.lines
    assert '+ env.NEW: "y"' in r.lines
    assert '- env.OLD: "x"' in r.lines
    assert '~ command: ["/bin/true"] -> ["/bin/echo","hi"]' in r.lines
    r = cli(chime, daemon, "job", "diff", "d", "2", "2")
    assert r.code == 0 and "are the same" in r.out
    r = cli(chime, daemon, "job", "diff", "d", "1", "--json")
    assert r.code == 0 and json.loads(r.out)["to"] == 2


def test_history_shows_versions_authors_and_what_changed(daemon, chime):
    daemon.put_job(job("h"))
    daemon.request("PATCH", "/api/v1/jobs/default/h", {"timeout": "5m"})
    daemon.request("PATCH", "/api/v1/jobs/default/h", {"schedule": {"cron": "1 * * * *"}})
    r = cli(chime, daemon, "job", "history", "h")
    assert r.code == 0, r.err
    head, *rows = r.lines
    assert head.split() == ["VERSION", "CREATED", "AUTHOR", "CHANGES"]
    assert [row.split()[0] for row in rows] == ["3", "2", "1"]
    assert rows[0].split()[3:] == ["admin", "schedule.cron"]
    assert rows[1].endswith("timeout") and rows[2].endswith("created")
    r = cli(chime, daemon, "job", "history", "h", "--limit", "1")
    assert r.code == 0 and len(r.lines) == 2 and "newest 1 of 3" in r.err
    r = cli(chime, daemon, "job", "history", "h", "--json")
    assert json.loads(r.out)["total"] == 3


def test_rollback_makes_a_new_version_through_the_put_path(daemon, chime):
    daemon.put_job(job("r", timeout="1m"))
    daemon.request("PATCH", "/api/v1/jobs/default/r", {"timeout": "2m", "env": {"X": "1"}})
    daemon.request("POST", "/api/v1/jobs/default/r/pause")
    status, v = daemon.request("POST", "/api/v1/jobs/default/r/rollback", {"version": 1})
    assert status == 200, v
    assert v["version"] == 3 and v["timeout"] == "1m" and v["env"] == {}
    assert v["paused"] is True          # pause is not a version: it stays
    status, diff = daemon.request("GET", "/api/v1/jobs/default/r/diff?from=1&to=3")
    assert [c["path"] for c in diff["changes"]] == ["paused"]
    # again: the same document, no new version
    status, v = daemon.request("POST", "/api/v1/jobs/default/r/rollback", {"version": 1})
    assert status == 200 and v["version"] == 3
    # If-Match: a rollback over a version that moved on is a conflict
    status, p = daemon.request("POST", "/api/v1/jobs/default/r/rollback", {"version": 2},
                               headers={"If-Match": '"2"'})
    assert status == 409 and p["field"] == "version"
    r = cli(chime, daemon, "job", "rollback", "r", "2")
    assert r.code == 0, r.err
    assert r.out.strip() == "rolled default/r back to version 2: now version 4"
    assert view(daemon, "default/r")["timeout"] == "2m"
    r = cli(chime, daemon, "job", "rollback", "r", "2")
    assert r.code == 0 and "no change" in r.err
    # the audit log names the rollback and its versions
    status, audit = daemon.request("GET", "/api/v1/audit?job=default/r")
    rb = [e for e in audit["items"] if e["route"].endswith("/rollback") and e["status"] == 200]
    assert rb and rb[0]["version_after"] == 4


def test_rollback_is_checked_like_any_put(daemon):
    # version 1 of `up` waits for `down`, which does not exist yet
    daemon.put_job(job("up", schedule={"after": ["down"]}))
    daemon.request("PUT", "/api/v1/jobs/default/up", job("up", schedule={"manual": True}))
    daemon.put_job(job("down", schedule={"after": ["up"]}))
    # now it would close a cycle: refused like a PUT of it, nothing written
    status, body = daemon.request("POST", "/api/v1/jobs/default/up/rollback", {"version": 1})
    assert status == 400 and "cycle" in body["detail"], body
    assert body["field"] == "schedule.after"
    assert view(daemon, "default/up")["version"] == 2


def test_hostile_version_requests_are_refused_cleanly(daemon, chime):
    daemon.put_job(job("x"))
    for path, code, field in [
            ("/api/v1/jobs/default/x/diff?from=9", 404, "from"),
            ("/api/v1/jobs/default/x/diff?from=1&to=99", 404, "to"),
            ("/api/v1/jobs/default/x/diff?from=0", 400, "from"),
            ("/api/v1/jobs/default/x/diff?from=abc", 400, "from"),
            ("/api/v1/jobs/default/x/diff", 400, "from"),
            ("/api/v1/jobs/default/x/diff?from=1&bogus=1", 400, "bogus"),
            ("/api/v1/jobs/default/nope/diff?from=1", 404, "job"),
            ("/api/v1/jobs/default/x/versions/99", 404, None)]:
        status, body = daemon.request("GET", path)
        assert status == code, (path, body)
        if field:
            assert body["field"] == field, (path, body)
    for body, code in [({"version": 99}, 404), ({"version": 0}, 400), ({"version": "1"}, 400),
                       ({}, 400), ({"version": 1, "x": 1}, 400)]:
        status, p = daemon.request("POST", "/api/v1/jobs/default/x/rollback", body)
        assert status == code, (body, p)
    assert versions(daemon, "default/x")["total"] == 1
    r = cli(chime, daemon, "job", "diff", "x", "1", "7")
    assert r.code == 1 and "no version 7" in r.err
    r = cli(chime, daemon, "job", "diff", "x", "one")
    assert r.code == 2 and "not a version number" in r.err
    r = cli(chime, daemon, "job", "rollback", "x", "5")
    assert r.code == 1 and "no version 5" in r.err


def test_other_namespaces_versions_are_not_visible(daemon):
    daemon.put_job(job("secret", namespace="team-b"))
    daemon.put_job(job("mine", namespace="team-a"))
    tok = make_token(daemon, "a-admin", "admin", ["team-a"])
    viewer = make_token(daemon, "a-viewer", "viewer", ["team-a"])
    for path in ["/api/v1/jobs/team-b/secret/diff?from=1",
                 "/api/v1/jobs/team-b/secret/versions",
                 "/api/v1/jobs/team-b/secret/versions/1"]:
        assert daemon.request("GET", path, token=tok)[0] == 404, path
    assert daemon.request("POST", "/api/v1/jobs/team-b/secret/rollback", {"version": 1},
                          token=tok)[0] == 404
    assert daemon.request("GET", "/api/v1/jobs/team-a/mine/diff?from=1", token=viewer)[0] == 200
    # a viewer reads versions but cannot roll back
    assert daemon.request("POST", "/api/v1/jobs/team-a/mine/rollback", {"version": 1},
                          token=viewer)[0] == 403
    # an export shows what the token sees, and tokens only to an admin of every namespace
    status, exp = daemon.request("GET", "/api/v1/export", token=tok)
    assert status == 200 and [j["name"] for j in exp["jobs"]] == ["mine"]
    assert daemon.request("GET", "/api/v1/export?tokens=true", token=tok)[0] == 403
    # an import into a namespace the token does not see changes nothing
    status, p = daemon.request("POST", "/api/v1/import",
                               {"chime_export": 1, "jobs": [job("x", namespace="team-b")]},
                               token=tok)
    assert status == 404 and p["field"] == "jobs[0].namespace", p
    # and a prune by it never reaches other namespaces
    status, plan = daemon.request("POST", "/api/v1/import?prune=true",
                                  {"chime_export": 1, "jobs": []}, token=tok)
    assert status == 200 and [i["job"] for i in plan["items"]] == ["team-a/mine"]
    assert view(daemon, "team-b/secret")["name"] == "secret"
    # the backup holds every namespace's secrets: not for a namespaced admin
    assert daemon.request("POST", "/api/v1/backup", token=tok)[0] == 403


# ---- export and import ----

def fill(d):
    d.put_job(job("a", namespace="ns1", env={"MODE": "full"}, labels={"team": "x"},
                  timeout="1h", retry={"max_attempts": 3, "backoff": "30s"}))
    d.put_job(job("b", namespace="ns1", schedule={"after": ["ns1/a"], "when": "always"},
                  shell="echo hi"))
    d.put_job(job("c", namespace="ns2", schedule={"every": "15m"}, description="every",
                  paused=True))
    d.put_job(job("d", schedule={"manual": True}))
    d.request("POST", "/api/v1/jobs/default/d/pause")


def test_export_wipe_import_gives_identical_jobs(daemon, chime, tmp_path):
    fill(daemon)
    before = all_documents(daemon)
    out = tmp_path / "export.json"
    r = cli(chime, daemon, "export", "-o", str(out))
    assert r.code == 0, r.err
    assert "exported 4 jobs" in r.err
    exp = json.loads(out.read_text())
    assert exp["chime_export"] == 1 and len(exp["jobs"]) == 4 and "tokens" not in exp
    # one job a line
    assert len(out.read_text().splitlines()) == 4 + 3
    for jid in before:
        assert daemon.request("DELETE", f"/api/v1/jobs/{jid}")[0] == 204
    assert all_documents(daemon) == {}
    r = cli(chime, daemon, "import", str(out))
    assert r.code == 0, r.err
    assert r.lines[-1] == "4 jobs: 4 created, 0 changed, 0 unchanged, 0 removed"
    assert all_documents(daemon) == before
    # again: nothing changes, not even a version
    vs = {jid: view(daemon, jid)["version"] for jid in before}
    r = cli(chime, daemon, "import", str(out))
    assert r.code == 0 and r.lines[-1].endswith("0 created, 0 changed, 4 unchanged, 0 removed")
    assert {jid: view(daemon, jid)["version"] for jid in before} == vs
    # the engine has them: the after chain fires
    rid = daemon.trigger("ns1/a")
    daemon.wait_run(rid)
    from daemon import wait_for
    wait_for("ns1/b to run after ns1/a", lambda: daemon.runs("ns1/b"))


def test_export_of_one_namespace_and_tokens(daemon, chime):
    fill(daemon)
    make_token(daemon, "ci", "operator", ["ns1"])
    r = cli(chime, daemon, "export", "--namespace", "ns1", "--include-tokens")
    assert r.code == 0, r.err
    exp = json.loads(r.out)
    assert sorted(j["name"] for j in exp["jobs"]) == ["a", "b"]
    toks = {t["name"]: t for t in exp["tokens"]}
    assert toks["ci"]["role"] == "operator" and toks["ci"]["namespaces"] == ["ns1"]
    assert "admin" in toks
    assert "secret" not in r.out and "hash" not in r.out
    # importing it says the tokens are not imported
    p = daemon.data_dir + "/../t.json"
    with open(p, "w") as f:
        f.write(r.out)
    r = cli(chime, daemon, "import", p, "--dry-run")
    assert r.code == 0 and "not imported" in r.err


def test_import_plan_create_change_unchanged_remove(daemon, chime, tmp_path):
    fill(daemon)
    status, exp = daemon.request("GET", "/api/v1/export")
    jobs = {f"{j['namespace']}/{j['name']}": j for j in exp["jobs"]}
    jobs["ns1/a"]["schedule"] = {"cron": "*/5 * * * *"}
    jobs["default/d"]["paused"] = False          # a state change: no version
    del jobs["ns2/c"]
    jobs["ns2/new"] = job("new", namespace="ns2")
    f = tmp_path / "plan.json"
    f.write_text(json.dumps({"chime_export": 1, "jobs": list(jobs.values())}))
    snap = db_snapshot(daemon)
    r = cli(chime, daemon, "import", str(f), "--dry-run", "--prune")
    assert r.code == 0, r.err
    assert db_snapshot(daemon) == snap            # a dry run writes nothing
    acts = {l.split()[1]: l.split()[0] for l in r.lines if l[:1] != " " and "/" in l.split()[1]}
    assert acts == {"ns1/a": "change", "ns1/b": "unchanged", "default/d": "change",
                    "ns2/new": "create", "ns2/c": "remove"}
    assert '    ~ schedule.cron: "0 * * * *" -> "*/5 * * * *"' in r.lines
    assert "    ~ paused: true -> false" in r.lines
    assert r.lines[-1].startswith("dry run, nothing written: 5 jobs: 1 to create, 2 to change")
    vd = view(daemon, "default/d")["version"]
    r = cli(chime, daemon, "import", str(f), "--prune", "--json")
    assert r.code == 0, r.err
    plan = json.loads(r.out)
    assert plan["applied"] and plan["summary"] == {"create": 1, "change": 2, "unchanged": 1,
                                                   "remove": 1}
    assert daemon.request("GET", "/api/v1/jobs/ns2/c")[0] == 404
    assert view(daemon, "ns1/a")["schedule"]["cron"] == "*/5 * * * *"
    d = view(daemon, "default/d")
    assert d["paused"] is False and d["version"] == vd
    # each change is in the audit log with its versions
    status, audit = daemon.request("GET", "/api/v1/audit?job=ns1/a")
    imp = [e for e in audit["items"] if e["route"] == "/api/v1/import"]
    assert imp and imp[0]["version_before"] == 1 and imp[0]["version_after"] == 2


def test_import_of_one_namespace_prunes_only_there(daemon, chime, tmp_path):
    fill(daemon)
    f = tmp_path / "one.json"
    f.write_text(json.dumps({"chime_export": 1,
                             "jobs": [job("z", namespace="ns1"), job("y", namespace="ns2")]}))
    r = cli(chime, daemon, "import", str(f), "--namespace", "ns1", "--prune")
    assert r.code == 0, r.err
    assert "1 job of another namespace is left out" in r.err
    names = set(all_documents(daemon))
    assert names == {"ns1/z", "ns2/c", "default/d"}


def assert_refused_and_unchanged(daemon, chime, path, code, *parts):
    snap = db_snapshot(daemon)
    r = cli(chime, daemon, "import", str(path))
    assert r.code == code, (r.code, r.out, r.err)
    for p in parts:
        assert p in r.err, (p, r.err)
    assert r.out == ""
    assert db_snapshot(daemon) == snap
    return r


def test_hostile_import_files_change_nothing(daemon, chime, tmp_path):
    fill(daemon)
    status, exp = daemon.request("GET", "/api/v1/export")
    bad = tmp_path / "bad.json"

    # binary junk
    bad.write_bytes(os.urandom(65536).replace(b"\0", b"x").replace(b"{", b"x"))
    assert_refused_and_unchanged(daemon, chime, bad, 2, "not JSON")
    bad.write_bytes(b"\x00\x01\x02" * 1000)
    assert_refused_and_unchanged(daemon, chime, bad, 2, "NUL")
    # not an export
    bad.write_text(json.dumps({"jobs": []}))
    assert_refused_and_unchanged(daemon, chime, bad, 2, "chime_export")
    # duplicate names: nothing of the valid ones is applied
    bad.write_text(json.dumps({"chime_export": 1, "jobs": [job("new1"), job("dup"), job("dup")]}))
    r = assert_refused_and_unchanged(daemon, chime, bad, 2, "jobs[2].name",
                                     "'default/dup' is also jobs[1]")
    assert "nothing was imported" in r.err
    # every bad document is told, with its place
    bad.write_text(json.dumps({"chime_export": 1, "jobs": [
        job("ok"), job("c1", schedule={"cron": "61 * * * *"}), job("c2", bogus=1)]}))
    assert_refused_and_unchanged(daemon, chime, bad, 2, "jobs[1].schedule.cron",
                                 "jobs[2].bogus")
    # a cycle inside the file
    bad.write_text(json.dumps({"chime_export": 1, "jobs": [
        job("p", schedule={"after": ["q"]}), job("q", schedule={"after": ["r"]}),
        job("r", schedule={"after": ["p"]})]}))
    assert_refused_and_unchanged(daemon, chime, bad, 2, "dependency cycle",
                                 "default/p -> default/q -> default/r -> default/p")
    # a cycle through a job that is there already (ns1/b waits for ns1/a)
    bad.write_text(json.dumps({"chime_export": 1, "jobs": [
        job("a", namespace="ns1", schedule={"after": ["ns1/b"]}), job("fresh")]}))
    assert_refused_and_unchanged(daemon, chime, bad, 2, "jobs[0].schedule.after",
                                 "ns1/a -> ns1/b -> ns1/a")
    # a job document over 64 KiB
    bad.write_text(json.dumps({"chime_export": 1,
                               "jobs": [job("big", description="x" * 70000)]}))
    assert_refused_and_unchanged(daemon, chime, bad, 2, "longer than 65536")
    # a version of the format this chime does not know
    bad.write_text(json.dumps({"chime_export": 2, "jobs": []}))
    assert_refused_and_unchanged(daemon, chime, bad, 2, "format 2")
    # a 100 MB file: refused before a byte is sent
    with open(bad, "wb") as f:
        f.write(b'{"chime_export": 1, "jobs": [], "x": "')
        f.truncate(100 * 1000 * 1000)
    assert_refused_and_unchanged(daemon, chime, bad, 2, "file")


def test_import_endpoint_refuses_oversized_and_malformed_bodies(daemon):
    fill(daemon)
    snap = db_snapshot(daemon)
    # 100 MB announced: refused before the body is read
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as s:
        s.sendall(b"POST /api/v1/import HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + daemon.token.encode() + b"\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000000\r\n\r\n")
        head = s.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 413"), head
    for raw in [b"\xff\xfe\x00junk", b"[]", b'{"chime_export": 1, "jobs": "no"}', b""]:
        status, p = daemon.request("POST", "/api/v1/import", raw=raw)
        assert status in (400, 413), (raw, status, p)
    status, p = daemon.request("POST", "/api/v1/import?prune=maybe",
                               {"chime_export": 1, "jobs": []})
    assert status == 400 and p["field"] == "prune"
    status, p = daemon.request("POST", "/api/v1/import", {"chime_export": 1, "jobs": [
        job("ok"), {"name": "Bad Name"}, 7]})
    assert status == 400 and len(p["errors"]) == 2, p
    assert {e["field"] for e in p["errors"]} == {"jobs[1].name", "jobs[2]"}
    assert db_snapshot(daemon) == snap
    assert daemon.healthy()


def test_imports_racing_edits_apply_whole_or_not_at_all(daemon):
    """Writes carry the versions the plan saw, so a job changed meanwhile
    fails the whole import: with imports and edits at once, each import is
    found applied whole or not at all."""
    for i in range(20):
        daemon.put_job(job(f"r{i}"))
    stop = threading.Event()

    def editor():
        n = 0
        while not stop.is_set():
            n += 1
            daemon.request("PATCH", "/api/v1/jobs/default/r7", {"description": f"edit {n}"})

    t = threading.Thread(target=editor)
    t.start()
    try:
        for k in range(15):
            body = {"chime_export": 1,
                    "jobs": [job(f"r{i}", description=f"import {k}") for i in range(20)]}
            status, plan = daemon.request("POST", "/api/v1/import", body)
            assert status in (200, 409), plan
            docs = all_documents(daemon)
            mine = [docs[f"default/r{i}"]["description"] == f"import {k}"
                    for i in range(20) if i != 7]
            if status == 200:
                assert all(mine)
            else:
                assert not any(mine)
    finally:
        stop.set()
        t.join()
