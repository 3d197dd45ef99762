"""One save path for a job version (jobsave.h): the API, an import and the
jobs directory check the same things, and a dependency cycle of any length
is refused by each of them."""
import json
import signal

import pytest

from daemon import Daemon, wait_for


def job(name, after=None, **fields):
    doc = {"name": name, "command": ["/bin/true"],
           "schedule": {"after": after} if after else {"manual": True}}
    doc.update(fields)
    return doc


def chain(n, prefix="c"):
    """Jobs c0 .. c(N-1), each waiting for the next, the last for the
    first: a cycle of N jobs."""
    return [job(f"{prefix}{i}", after=[f"{prefix}{(i + 1) % n}"]) for i in range(n)]


def count(d):
    status, body = d.request("GET", "/api/v1/jobs?limit=1")
    assert status == 200, body
    return body["total"]


def names(d):
    status, body = d.request("GET", "/api/v1/jobs?limit=1000")
    assert status == 200, body
    return sorted(j["name"] for j in body["items"])


CYCLES = [2, 63, 64, 65, 1000]


@pytest.mark.parametrize("n", CYCLES)
def test_the_api_refuses_a_cycle_of_any_length(daemon, n):
    jobs = chain(n)
    # every job but the one closing the cycle goes in: a chain
    status, body = daemon.request("POST", "/api/v1/import", {
        "chime_export": 1, "jobs": [job("c0")] + jobs[1:]})
    assert status == 200, body
    status, body = daemon.request("PUT", "/api/v1/jobs/default/c0", jobs[0])
    assert status == 400, body
    assert body["field"] == "schedule.after", body
    assert body["detail"].startswith("dependency cycle: default/c0 -> default/c1 -> "), body
    # nothing was saved: c0 is still version 1, waiting for nothing
    status, view = daemon.request("GET", "/api/v1/jobs/default/c0")
    assert view["version"] == 1 and view["schedule"] == {"manual": True}, view


@pytest.mark.parametrize("n", CYCLES)
def test_an_import_refuses_a_cycle_of_any_length(daemon, n):
    status, body = daemon.request("POST", "/api/v1/import", {
        "chime_export": 1, "jobs": chain(n)})
    assert status == 400, body
    assert body["field"] == "jobs[0].schedule.after", body
    assert body["detail"].startswith("dependency cycle: default/c0 -> "), body
    assert names(daemon) == []
    # also through jobs that are there already
    status, body = daemon.request("POST", "/api/v1/import", {
        "chime_export": 1, "jobs": [job("c0")] + chain(n)[1:]})
    assert status == 200, body
    status, body = daemon.request("POST", "/api/v1/import?dry_run=true", {
        "chime_export": 1, "jobs": [chain(n)[0]]})
    assert status == 400 and body["field"] == "jobs[0].schedule.after", body
    assert count(daemon) == n


@pytest.mark.parametrize("n", CYCLES)
def test_the_jobs_directory_refuses_a_cycle_of_any_length(tmp_path, n):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    for doc in chain(n)[1:]:
        (jobs / f"{doc['name']}.json").write_text(json.dumps(doc))
    (jobs / "c0.json").write_text(json.dumps(job("c0")))
    (jobs / "other.json").write_text(json.dumps(job("other")))
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)]).start()
    try:
        assert count(d) == n + 1
        # c0 now closes the cycle: refused with its path, the rest applied
        (jobs / "c0.json").write_text(json.dumps(chain(n)[0]))
        (jobs / "other.json").write_text(json.dumps(job("other", description="v2")))
        d.proc.send_signal(signal.SIGHUP)
        wait_for("the reload", lambda: d.request(
            "GET", "/api/v1/jobs/default/other")[1]["version"] == 2)
        log = d.logtext()
        assert f"{jobs / 'c0.json'}: schedule.after: dependency cycle: default/c0 -> " in log
        status, view = d.request("GET", "/api/v1/jobs/default/c0")
        assert view["version"] == 1 and view["schedule"] == {"manual": True}, view
    finally:
        d.stop()


def test_a_cycle_among_the_jobs_directory_files_refuses_one_and_keeps_the_rest(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    for doc in chain(3) + [job("fine")]:
        (jobs / f"{doc['name']}.json").write_text(json.dumps(doc))
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)]).start()
    try:
        saved = names(d)
        # one job of the cycle is left out; the others and "fine" are saved
        assert "fine" in saved and len(saved) == 3, saved
        assert "dependency cycle: " in d.logtext()
    finally:
        d.stop()


def channels(tmp_path):
    path = tmp_path / "ch.json"
    path.write_text(json.dumps({"channels": {
        "ops": {"kind": "webhook", "url": "http://127.0.0.1:9/hook"}}}))
    return str(path)


# What a create refuses, an import must refuse the same way, saving nothing.
REFUSED = [
    # a channel that does not exist
    (job("n", notify={"on_failure": ["ops", "pager"]}), "notify.on_failure[1]", 400),
]


@pytest.mark.parametrize("doc,field,status", REFUSED)
def test_an_import_refuses_what_a_create_refuses(tmp_path, doc, field, status):
    d = Daemon(tmp_path / "data", args=["--channels", channels(tmp_path)]).start()
    try:
        got, body = d.request("POST", "/api/v1/jobs", doc)
        assert got == status and body["field"] == field, body
        for dry in ["false", "true"]:
            got, body = d.request("POST", f"/api/v1/import?dry_run={dry}", {
                "chime_export": 1, "jobs": [job("ok"), doc]})
            assert got == status, body
            assert body["field"] == f"jobs[1].{field}", body
            assert body["errors"][0]["job"] == "default/n", body
        assert names(d) == []
        # a channel that exists is fine, both ways
        good = job("g", notify={"on_failure": ["ops"]})
        assert d.request("POST", "/api/v1/import", {"chime_export": 1, "jobs": [good]})[0] == 200
        assert d.request("GET", "/api/v1/jobs/default/g")[0] == 200
    finally:
        d.stop()


def test_the_jobs_directory_refuses_an_unknown_channel(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "n.json").write_text(json.dumps(job("n", notify={"on_failure": ["pager"]})))
    (jobs / "ok.json").write_text(json.dumps(job("ok")))
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs),
                                        "--channels", channels(tmp_path)]).start()
    try:
        assert names(d) == ["ok"]
        assert f"{jobs / 'n.json'}: notify.on_failure[0]" in d.logtext()
    finally:
        d.stop()


def test_every_save_writes_one_audit_entry_and_an_unchanged_one_no_version(daemon):
    doc = job("a")
    assert daemon.request("POST", "/api/v1/jobs", doc)[0] == 201
    assert daemon.request("PUT", "/api/v1/jobs/default/a", doc)[0] == 200
    status, body = daemon.request("POST", "/api/v1/import", {"chime_export": 1, "jobs": [
        job("a", description="v2"), job("b")]})
    assert status == 200, body
    assert [i["action"] for i in body["items"]] == ["change", "create"]
    assert daemon.request("GET", "/api/v1/jobs/default/a")[1]["version"] == 2
    audit = daemon.request("GET", "/api/v1/audit?limit=100")[1]["items"]
    entries = [(e["method"], e["job"], e["version_before"], e["version_after"], e["status"])
               for e in reversed(audit) if e["job"]]
    assert entries == [("POST", "default/a", None, 1, 201),
                       ("PUT", "default/a", 1, 1, 200),
                       ("POST", "default/a", 1, 2, 200),
                       ("POST", "default/b", None, 1, 200)], entries


def test_a_cycle_through_a_hidden_job_is_told_without_its_path_by_an_import(daemon):
    status, body = daemon.request("POST", "/api/v1/tokens", {
        "name": "adm-a", "role": "admin", "namespaces": ["team-a"]})
    assert status == 201, body
    adm = body["secret"]
    daemon.put_job(job("up", namespace="team-a"))
    daemon.put_job(job("bridge", namespace="team-b", after=["team-a/up"]))
    daemon.put_job(job("top", namespace="team-a", after=["team-b/bridge"]))
    status, body = daemon.request("POST", "/api/v1/import", {"chime_export": 1, "jobs": [
        job("up", namespace="team-a", after=["team-a/top"])]}, token=adm)
    assert status == 400, body
    assert body["detail"] == "dependency cycle through a job outside this token's namespaces"
    assert "bridge" not in json.dumps(body)
