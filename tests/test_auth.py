"""Authentication, tenants and the audit log, end to end: a real daemon,
real tokens over real HTTP, the CLI. Waits are polls with a deadline."""
import http.client
import json
import os
import stat


from daemon import wait_for


def job(name, ns="default", **fields):
    doc = {"name": name, "namespace": ns, "schedule": {"manual": True}, "shell": "true"}
    doc.update(fields)
    return doc


def make_token(d, name, role, namespaces=None, expires=None):
    body = {"name": name, "role": role}
    if namespaces is not None:
        body["namespaces"] = namespaces
    if expires is not None:
        body["expires"] = expires
    status, tok = d.request("POST", "/api/v1/tokens", body)
    assert status == 201, tok
    assert tok["secret"].startswith("chime_")
    return tok["secret"]


# ---- the admin token ----

def test_first_start_writes_the_admin_token_0600_and_it_stays(daemon, tmp_path):
    path = os.path.join(daemon.data_dir, "admin.token")
    mode = os.stat(path).st_mode
    assert stat.S_IMODE(mode) == 0o600
    secret = open(path).read().strip()
    assert secret == daemon.token and secret.startswith("chime_")
    assert "admin.token" in daemon.logtext()
    assert secret not in daemon.logtext()
    daemon.stop()
    daemon.start()
    assert daemon.token == secret           # not made again
    status, body = daemon.request("GET", "/api/v1/tokens")
    assert status == 200
    assert [t["name"] for t in body["items"]] == ["admin"]
    assert "secret" not in body["items"][0]
    assert secret not in json.dumps(body)


def test_the_cli_finds_the_admin_token_in_the_data_dir(daemon, chime):
    env = {"CHIME_URL": daemon.url, "CHIME_TOKEN": "", "CHIME_DATA_DIR": daemon.data_dir}
    r = chime("jobs", "--json", env=env)
    assert r.code == 0, r.err
    r = chime("jobs", env={"CHIME_URL": daemon.url, "CHIME_TOKEN": "",
                           "CHIME_DATA_DIR": "/nonexistent"})
    assert r.code == 1 and "401" not in r.out
    assert "token" in r.err


# ---- refusals ----

def test_every_route_but_healthz_needs_a_token(daemon):
    assert daemon.request("GET", "/healthz", token=None)[0] == 200
    for method, path in [("GET", "/api/v1/jobs"), ("GET", "/api/v1/openapi.json"),
                         ("GET", "/api/v1/runs"), ("POST", "/api/v1/jobs"),
                         ("GET", "/api/v1/audit"), ("GET", "/api/v1/tokens"),
                         ("DELETE", "/api/v1/jobs/default/x")]:
        status, body = daemon.request(method, path, token=None)
        assert status == 401, (method, path, body)
        assert body["type"].endswith("/unauthorized")
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
    conn.request("GET", "/api/v1/jobs")
    r = conn.getresponse()
    assert r.status == 401 and r.getheader("WWW-Authenticate").startswith("Bearer")
    conn.close()


def test_forged_and_malformed_tokens_are_refused(daemon):
    real = daemon.token
    forged = [
        "chime_" + "0" * 16 + "_" + "A" * 43,                 # an id nobody has
        real[:-1] + ("A" if real[-1] != "A" else "B"),         # the admin's id, another secret
        real + "x",
        "s3cret",
    ]
    for tok in forged:
        status, body = daemon.request("GET", "/api/v1/jobs", token=tok)
        assert status == 401, (tok, body)
        assert tok not in json.dumps(body)
    for header in ["Basic YWRtaW46YWRtaW4=", "Bearer", "bearer  ", "Token " + real,
                   real]:
        status, _ = daemon.request("GET", "/api/v1/jobs", headers={"Authorization": header},
                                   token=None)
        assert status == 401, header
    # binary bytes and a huge header: refused, never crashing the daemon
    code = daemon.raw_status(b"GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\n"
                               b"Authorization: Bearer \x01\xff\xfe\x80chime_\r\n\r\n")
    assert code in (None, 400, 401)
    code = daemon.raw_status(b"GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                       + b"A" * 200000 + b"\r\n\r\n")
    assert code in (None, 400, 401, 413, 431)
    assert daemon.request("GET", "/healthz", token=None)[0] == 200
    log = daemon.logtext()
    assert "authentication failed" in log and "address=127.0.0.1" in log
    assert real[23:] not in log                               # never the secret
    assert "reason=wrong-secret token_id=" + real[6:22] in log


def test_expired_and_revoked_tokens_stop_working(daemon, chime):
    short = make_token(daemon, "short", "viewer", expires="1s")
    revoked = make_token(daemon, "gone", "viewer")
    assert daemon.request("GET", "/api/v1/jobs", token=revoked)[0] == 200
    r = chime("token", "revoke", "gone", env=daemon.cli_env())
    assert r.code == 0 and r.out == "revoked gone\n", r.err
    status, body = daemon.request("GET", "/api/v1/jobs", token=revoked)
    assert status == 401 and "revoked" in body["detail"]
    assert chime("token", "revoke", "gone", env=daemon.cli_env()).code == 1
    status, body = wait_for("the short token to expire",
                            lambda: (r := daemon.request("GET", "/api/v1/jobs", token=short))[0]
                            == 401 and r, timeout=10)
    assert "expired" in body["detail"]
    # the name of a revoked token is free again
    assert make_token(daemon, "gone", "viewer")


# ---- roles and tenants ----

def test_a_viewer_reads_but_cannot_change(daemon):
    daemon.put_job(job("report"))
    viewer = make_token(daemon, "v", "viewer")
    assert daemon.request("GET", "/api/v1/jobs/default/report", token=viewer)[0] == 200
    for method, path, body in [("POST", "/api/v1/jobs", job("other")),
                               ("DELETE", "/api/v1/jobs/default/report", None),
                               ("PATCH", "/api/v1/jobs/default/report", {"description": "x"}),
                               ("POST", "/api/v1/jobs/default/report/trigger", {}),
                               ("POST", "/api/v1/jobs/default/report/pause", None),
                               ("GET", "/api/v1/tokens", None),
                               ("GET", "/api/v1/audit", None)]:
        status, problem = daemon.request(method, path, body, token=viewer)
        assert status == 403, (method, path, problem)
        assert problem["type"].endswith("/forbidden")
    assert daemon.request("GET", "/api/v1/jobs/default/report")[1]["version"] == 1


def test_an_operator_runs_jobs_of_its_namespaces_and_sees_nothing_else(daemon):
    daemon.put_job(job("import", ns="team-a"))
    daemon.put_job(job("secret-job", ns="team-b"))
    run_b = daemon.trigger("team-b/secret-job")
    daemon.wait_run(run_b)
    op = make_token(daemon, "ops-a", "operator", namespaces=["team-a"])

    status, body = daemon.request("POST", "/api/v1/jobs/team-a/import/trigger", {}, token=op)
    assert status == 202, body
    run_a = body["run_id"]
    assert daemon.wait_run(run_a)["triggered_by"] == "ops-a"
    # outside its namespaces: exactly what a job that does not exist gets
    missing = daemon.request("POST", "/api/v1/jobs/team-b/no-such-job/trigger", {}, token=op)
    hidden = daemon.request("POST", "/api/v1/jobs/team-b/secret-job/trigger", {}, token=op)
    assert hidden[0] == missing[0] == 404
    assert hidden[1]["detail"].replace("secret-job", "X") == \
        missing[1]["detail"].replace("no-such-job", "X")
    for method, path in [("GET", "/api/v1/jobs/team-b/secret-job"),
                         ("GET", "/api/v1/jobs/team-b/secret-job/versions"),
                         ("GET", "/api/v1/jobs/team-b/secret-job/next"),
                         ("GET", f"/api/v1/runs/{run_b}"),
                         ("GET", f"/api/v1/runs/{run_b}/output"),
                         ("POST", f"/api/v1/runs/{run_b}/cancel"),
                         ("GET", "/api/v1/runs?job=team-b/secret-job"),
                         ("GET", "/api/v1/dead-letters?job=team-b/secret-job")]:
        status, body = daemon.request(method, path, token=op)
        assert status == 404, (method, path, body)
    # lists are filtered
    jobs = daemon.request("GET", "/api/v1/jobs", token=op)[1]
    assert [j["namespace"] for j in jobs["items"]] == ["team-a"] and jobs["total"] == 1
    assert daemon.request("GET", "/api/v1/jobs?namespace=team-b", token=op)[1]["items"] == []
    runs = daemon.request("GET", "/api/v1/runs", token=op)[1]
    assert {r["job"] for r in runs["items"]} == {"team-a/import"} and runs["total"] == 1
    # an operator cannot write jobs, even its own
    assert daemon.request("DELETE", "/api/v1/jobs/team-a/import", token=op)[0] == 403
    assert daemon.request("POST", "/api/v1/jobs", job("new", ns="team-b"), token=op)[0] == 403


def test_a_namespace_admin_writes_its_jobs_but_not_tokens(daemon):
    adm = make_token(daemon, "adm-a", "admin", namespaces=["team-a"])
    assert daemon.request("POST", "/api/v1/jobs", job("x", ns="team-a"), token=adm)[0] == 201
    assert daemon.request("POST", "/api/v1/jobs", job("x", ns="team-b"), token=adm)[0] == 404
    assert daemon.request("PUT", "/api/v1/jobs/team-b/x", job("x", ns="team-b"),
                          token=adm)[0] == 404
    assert daemon.request("GET", "/api/v1/tokens", token=adm)[0] == 403
    assert daemon.request("POST", "/api/v1/tokens", {"name": "root", "role": "admin"},
                          token=adm)[0] == 403
    audit = daemon.request("GET", "/api/v1/audit", token=adm)[1]["items"]
    assert audit and all(e["job"] and e["job"].startswith("team-a/") for e in audit)


def test_a_namespace_admin_cannot_hang_its_jobs_on_another_namespace(daemon):
    """"after" naming a job elsewhere is refused the same way whether that
    job exists or not, and a cycle through one is told without its path."""
    adm = make_token(daemon, "adm-a", "admin", namespaces=["team-a"])
    daemon.put_job(job("secret", ns="team-b"))
    answers = []
    for upstream in ["team-b/secret", "team-b/nothing-here"]:
        status, body = daemon.request("POST", "/api/v1/jobs", job(
            "hook", ns="team-a", schedule={"after": ["team-a/x", upstream]}), token=adm)
        assert status == 400, body
        assert body["field"] == "schedule.after[1]"
        answers.append(body["detail"].replace(upstream, "UP"))
    assert answers[0] == answers[1] and "cannot see" in answers[0]
    # nothing was saved; an import with the same "after" applies nothing
    assert daemon.request("GET", "/api/v1/jobs/team-a/hook", token=adm)[0] == 404
    status, body = daemon.request("POST", "/api/v1/import", {"chime_export": 1, "jobs": [
        job("ok", ns="team-a"),
        job("hook", ns="team-a", schedule={"after": ["team-b/secret"]})]}, token=adm)
    assert status == 400 and body["field"] == "jobs[1].schedule.after[0]", body
    assert daemon.request("GET", "/api/v1/jobs/team-a/ok", token=adm)[0] == 404
    # within its namespace: fine
    assert daemon.request("POST", "/api/v1/jobs", job(
        "up", ns="team-a", schedule={"after": ["team-a/x"]}), token=adm)[0] == 201
    # a cycle among its own jobs is told with its path
    assert daemon.request("POST", "/api/v1/jobs", job(
        "p", ns="team-a", schedule={"after": ["team-a/q"]}), token=adm)[0] == 201
    status, body = daemon.request("POST", "/api/v1/jobs", job(
        "q", ns="team-a", schedule={"after": ["team-a/p"]}), token=adm)
    assert status == 400 and body["detail"].startswith("dependency cycle: "), body
    assert "team-a/p" in body["detail"] and "team-a/q" in body["detail"]
    # one through a team-b job (made by an admin of every namespace) is told
    # without the path, which would name that job
    daemon.put_job(job("bridge", ns="team-b", schedule={"after": ["team-a/up"]}))
    daemon.put_job(job("top", ns="team-a", schedule={"after": ["team-b/bridge"]}))
    status, body = daemon.request("PUT", "/api/v1/jobs/team-a/up", job(
        "up", ns="team-a", schedule={"after": ["team-a/top"]}), token=adm)
    assert status == 400 and body["field"] == "schedule.after", body
    assert body["detail"] == "dependency cycle through a job outside this token's namespaces"
    assert "bridge" not in json.dumps(body)
    # the admin of every namespace is told the whole path
    status, body = daemon.request("PUT", "/api/v1/jobs/team-a/up", job(
        "up", ns="team-a", schedule={"after": ["team-a/top"]}))
    assert status == 400 and "team-b/bridge" in body["detail"], body


def test_token_create_list_and_bad_input(daemon, chime):
    r = chime("token", "create", "ci", "--role", "operator", "--namespace", "a",
              "--namespace", "b", "--expires", "30d", env=daemon.cli_env())
    assert r.code == 0, r.err
    secret = r.out.strip()
    assert secret.startswith("chime_") and len(r.lines) == 1
    assert "shown this once" in r.err
    r = chime("token", "create", "ci2", "--role", "viewer", "--json", env=daemon.cli_env())
    doc = json.loads(r.out)
    assert doc["secret"].startswith("chime_") and doc["role"] == "viewer"
    assert doc["namespaces"] is None and doc["created_by"] == "admin"
    r = chime("token", "list", env=daemon.cli_env())
    assert r.code == 0
    assert secret not in r.out and doc["secret"] not in r.out
    assert [line.split()[0] for line in r.lines[1:]] == ["admin", "ci", "ci2"]
    assert "a,b" in r.lines[2]
    r = chime("token", "list", "--json", env=daemon.cli_env())
    assert secret[23:] not in r.out and "secret" not in r.out
    assert daemon.request("GET", "/api/v1/jobs", token=secret)[0] == 200
    # bad input
    assert chime("token", "create", "ci", "--role", "operator", env=daemon.cli_env()).code == 1
    assert chime("token", "create", "x", "--role", "root", env=daemon.cli_env()).code == 2
    assert chime("token", "create", "Bad Name", "--role", "viewer", env=daemon.cli_env()).code == 2
    assert chime("token", "create", "y", env=daemon.cli_env()).code == 2
    for body in [{"name": "z", "role": "viewer", "namespaces": []},
                 {"name": "z", "role": "viewer", "namespaces": ["Bad NS"]},
                 {"name": "z", "role": "viewer", "bogus": 1},
                 {"name": "z", "role": "viewer", "expires": "soon"}]:
        status, problem = daemon.request("POST", "/api/v1/tokens", body)
        assert status == 400, (body, problem)


def get_jobs(d, token, source="127.0.0.1", conn=None):
    """GET /api/v1/jobs with TOKEN from SOURCE: (status, Retry-After)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", d.port, timeout=10,
                                              source_address=(source, 0))
    conn.request("GET", "/api/v1/jobs", headers={"Authorization": "Bearer " + token})
    r = conn.getresponse()
    r.read()
    if own:
        conn.close()
    return r.status, r.getheader("Retry-After")


def test_a_valid_token_is_served_after_a_thousand_bad_ones(daemon):
    real = daemon.token
    bad = ["chime_" + "1" * 16 + "_" + "B" * 43,                      # an unknown id
           real[:-1] + ("A" if real[-1] != "A" else "B"),              # the admin's id
           "s3cret"]                                                   # malformed
    conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
    statuses = [get_jobs(daemon, bad[i % 3], conn=conn)[0] for i in range(1000)]
    conn.close()
    assert set(statuses) <= {401, 429}
    # the first failures are told 401, then the address is limited (one
    # more each 6 s drains in: a slow machine may see a few)
    assert statuses[:10] == [401] * 10
    assert statuses.count(401) <= 14, statuses.count(401)
    # the admin token is served at once, from the same address
    assert get_jobs(daemon, real) == (200, None)
    # while the bad ones stay limited, with Retry-After
    status, retry = get_jobs(daemon, bad[0])
    assert status == 429 and int(retry) >= 1
    status, body = daemon.request("GET", "/api/v1/jobs", token=bad[1])
    assert status == 429 and body["type"].endswith("/too-many-requests")
    assert "too many failed authentications from 127.0.0.1" in body["detail"]
    # another address: its own budget, but the admin's token id is limited
    # wherever the guesses at it come from
    other = "127.0.0.2"
    status, retry = get_jobs(daemon, bad[1], source=other)
    assert status == 429 and int(retry) >= 1
    assert get_jobs(daemon, "chime_" + "2" * 16 + "_" + "C" * 43, source=other)[0] == 401
    assert get_jobs(daemon, real, source=other) == (200, None)
    # the log has a line per failure told 401, not one per attempt
    log = daemon.logtext()
    assert log.count("authentication failed") <= 16
    assert real[23:] not in log and bad[0][23:] not in log
    assert daemon.request("GET", "/healthz", token=None)[0] == 200


# ---- the audit log ----

def test_the_audit_log_records_changes_with_versions_token_and_address(daemon, chime):
    daemon.put_job(job("nightly"))
    status, _ = daemon.request("PATCH", "/api/v1/jobs/default/nightly", {"description": "v2"})
    assert status == 200
    op = make_token(daemon, "ops", "operator")
    assert daemon.request("POST", "/api/v1/jobs/default/nightly/trigger", {}, token=op)[0] == 202
    assert daemon.request("POST", "/api/v1/jobs/default/nightly/pause", token=op)[0] == 200
    viewer = make_token(daemon, "v", "viewer")
    assert daemon.request("DELETE", "/api/v1/jobs/default/nightly", token=viewer)[0] == 403
    assert daemon.request("DELETE", "/api/v1/jobs/default/nightly")[0] == 204
    assert daemon.request("GET", "/api/v1/jobs/default/nightly")[0] == 404   # not audited

    status, log = daemon.request("GET", "/api/v1/audit?job=default/nightly")
    assert status == 200
    got = [(e["method"], e["path"], e["token"], e["version_before"], e["version_after"],
            e["status"]) for e in reversed(log["items"])]
    assert got == [
        ("POST", "/api/v1/jobs", "admin", None, 1, 201),
        ("PATCH", "/api/v1/jobs/default/nightly", "admin", 1, 2, 200),
        ("POST", "/api/v1/jobs/default/nightly/trigger", "ops", None, None, 202),
        ("POST", "/api/v1/jobs/default/nightly/pause", "ops", 2, 2, 200),
        ("DELETE", "/api/v1/jobs/default/nightly", "v", None, None, 403),
        ("DELETE", "/api/v1/jobs/default/nightly", "admin", 2, None, 204),
    ], log
    assert log["total"] == 6
    assert all(e["address"] == "127.0.0.1" and e["job"] == "default/nightly"
               for e in log["items"])
    trigger = [e for e in log["items"] if e["path"].endswith("/trigger")][0]
    assert trigger["run_id"] is not None
    # filters: token, time, pages
    by_ops = daemon.request("GET", "/api/v1/audit?token=ops")[1]["items"]
    assert {e["token"] for e in by_ops} == {"ops"} and len(by_ops) == 2
    first = log["items"][-1]["at"]
    since = daemon.request("GET", f"/api/v1/audit?job=default/nightly&since={first}")[1]
    assert since["total"] == 6
    until = daemon.request("GET", f"/api/v1/audit?job=default/nightly&until={first}")[1]
    assert until["total"] == 0
    page = daemon.request("GET", "/api/v1/audit?job=default/nightly&limit=4")[1]
    rest = daemon.request("GET", "/api/v1/audit?job=default/nightly&limit=4&cursor="
                          + page["next_cursor"])[1]
    assert [e["id"] for e in page["items"] + rest["items"]] == [e["id"] for e in log["items"]]
    # token management is audited too, without the secret
    tokens = daemon.request("GET", "/api/v1/audit?token=admin")[1]["items"]
    assert any(e["path"] == "/api/v1/tokens" and e["status"] == 201 for e in tokens)
    assert op not in json.dumps(tokens)
    # the CLI
    r = chime("audit", "--job", "nightly", "--json", env=daemon.cli_env())
    assert r.code == 0, r.err
    assert json.loads(r.out)["total"] == 6
    r = chime("audit", "--job", "nightly", "--token", "ops", env=daemon.cli_env())
    assert r.code == 0 and len(r.lines) == 3, r.out
    assert "POST /api/v1/jobs/default/nightly/pause" in r.out and "2 -> 2" in r.out
    assert chime("audit", "--since", "yesterday", env=daemon.cli_env()).code == 2


def test_openapi_describes_the_bearer_scheme_and_the_new_routes(daemon):
    status, doc = daemon.request("GET", "/api/v1/openapi.json")
    assert status == 200
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": doc["components"]["securitySchemes"]
        ["bearer"]["description"]}
    assert doc["security"] == [{"bearer": []}]
    assert doc["paths"]["/healthz"]["get"]["security"] == []
    assert doc["paths"]["/api/v1/jobs/{namespace}/{name}/trigger"]["post"]["x-chime-role"] == \
        "operator"
    assert "401" in doc["paths"]["/api/v1/jobs"]["get"]["responses"]
    for path in ["/api/v1/tokens", "/api/v1/tokens/{token}", "/api/v1/audit"]:
        assert path in doc["paths"]
