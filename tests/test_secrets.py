"""Secret env values, end to end against a real daemon: sealed at rest
under DATA_DIR/secret.key, never shown by the API or the CLI (views,
versions, diffs, export), kept across edits that send the redacted form
back, handed to the job in its environment, and replaced by [redacted]
wherever the job prints them."""
import glob
import hashlib
import json
import os
import stat
import subprocess

import pytest

from daemon import CHIME, Daemon

SECRET = "s3cr3t-Vq9-zeta"
OTHER = "another-Secret-77"
MARK = "[redacted]"


def job(name, shell, env):
    return {"name": name, "schedule": {"manual": True}, "shell": shell, "env": env}


def run_output(d, jid):
    run_id = d.trigger(jid)
    r = d.wait_run(run_id)
    return r, d.output(run_id)


def raw_files(data_dir):
    """Every byte of the store: the database, its WAL and shared memory."""
    out = b""
    for p in glob.glob(os.path.join(data_dir, "chime.db*")) + glob.glob(
            os.path.join(data_dir, "*.db*")):
        with open(p, "rb") as f:
            out += f.read()
    return out


def cli(d, *args):
    return subprocess.run([CHIME, *args], env=dict(os.environ, **d.cli_env()),
                          capture_output=True, text=True, timeout=30)


def test_the_job_sees_the_value_and_its_output_shows_the_marker(daemon):
    daemon.put_job(job("p", 'echo "key=$API_KEY"; echo "err $API_KEY" >&2; echo plain=$MODE',
                       {"API_KEY": {"secret": SECRET}, "MODE": "full"}))
    r, out = run_output(daemon, "default/p")
    assert r["state"] == "succeeded", r
    assert SECRET not in out
    assert f"key={MARK}" in out and f"err {MARK}" in out and "plain=full" in out
    # the job got the real value: its length, printed, is the secret's
    daemon.put_job(job("len", 'echo "${#API_KEY}"; test "$API_KEY" = ' + SECRET,
                       {"API_KEY": {"secret": SECRET}}))
    r, out = run_output(daemon, "default/len")
    assert r["state"] == "succeeded" and out.strip() == str(len(SECRET)), (r, out)


def test_a_value_printed_in_pieces_is_still_redacted(daemon):
    half = len(SECRET) // 2
    a, b = SECRET[:half], SECRET[half:]
    shell = (f"printf '%s' '{a}'; sleep 0.3; printf '%s\\n' '{b}';"
             f"printf '%s' '{a}' >&2; sleep 0.3; printf '%s\\n' '{b}' >&2;"
             f"printf 'x%s' '{SECRET[:3]}'; sleep 0.2; echo ' end'")
    daemon.put_job(job("pieces", shell, {"K": {"secret": SECRET}}))
    r, out = run_output(daemon, "default/pieces")
    assert r["state"] == "succeeded", r
    assert SECRET not in out and a + b not in out
    assert out.count(MARK) == 2, out
    # a prefix that never completes is shown as it is (held back meanwhile,
    # so stderr may come between its pieces in the interleaved view)
    _, std = daemon.request("GET", f"/api/v1/runs/{r['id']}/output?stream=stdout")
    assert std == f"{MARK}\nx{SECRET[:3]} end\n", std
    _, err = daemon.request("GET", f"/api/v1/runs/{r['id']}/output?stream=stderr")
    assert err == MARK + "\n", err


def test_output_bytes_count_what_the_job_wrote(daemon):
    daemon.put_job(job("count", f"printf '%s' \"$K\"", {"K": {"secret": SECRET}}))
    r, out = run_output(daemon, "default/count")
    assert out == MARK and r["output_bytes"] == len(SECRET), (r, out)


def test_the_api_never_shows_a_secret(daemon):
    daemon.put_job(job("api", "true", {"API_KEY": {"secret": SECRET}, "MODE": "x"}))
    status, v = daemon.request("GET", "/api/v1/jobs/default/api")
    assert status == 200
    text = json.dumps(v)
    assert SECRET not in text and '"box"' not in text
    red = v["env"]["API_KEY"]["secret"]["redacted"]
    assert len(red) == 16 and v["env"]["MODE"] == "x"
    # list, versions, one version, diff, export
    daemon.request("PATCH", "/api/v1/jobs/default/api", {"env": {"API_KEY": {"secret": OTHER}}})
    for path in ("/api/v1/jobs", "/api/v1/jobs/default/api/versions",
                 "/api/v1/jobs/default/api/versions/1", "/api/v1/jobs/default/api/versions/2",
                 "/api/v1/jobs/default/api/diff?from=1&to=2", "/api/v1/export"):
        status, body = daemon.request("GET", path)
        assert status == 200, (path, body)
        text = json.dumps(body)
        assert SECRET not in text and OTHER not in text and '"box"' not in text, (path, text)
    _, diff = daemon.request("GET", "/api/v1/jobs/default/api/diff?from=1&to=2")
    assert [c["path"] for c in diff["changes"]] == ["env.API_KEY.secret.redacted"], diff
    # the CLI shows what the API shows
    for args in (("job", "show", "api"), ("job", "show", "api", "--json"), ("jobs",),
                 ("job", "history", "api"), ("export",)):
        p = cli(daemon, *args)
        assert p.returncode == 0, (args, p.stderr)
        assert SECRET not in p.stdout + p.stderr and OTHER not in p.stdout + p.stderr, args


def test_the_store_holds_no_plaintext(daemon):
    daemon.put_job(job("db", "true", {"API_KEY": {"secret": SECRET}}))
    daemon.request("PATCH", "/api/v1/jobs/default/db", {"env": {"API_KEY": {"secret": OTHER}}})
    data = raw_files(daemon.data_dir)
    assert data, os.listdir(daemon.data_dir)
    assert SECRET.encode() not in data and OTHER.encode() not in data
    assert b'"box":"' in data
    # nor the log
    assert SECRET not in daemon.logtext() and OTHER not in daemon.logtext()


def test_a_view_put_back_keeps_the_secret_and_makes_no_version(daemon):
    daemon.put_job(job("rt", 'test "$K" = ' + SECRET, {"K": {"secret": SECRET}}))
    _, v = daemon.request("GET", "/api/v1/jobs/default/rt")
    status, again = daemon.request("PUT", "/api/v1/jobs/default/rt", v)
    assert status == 200 and again["version"] == 1, again
    # the same value sent again is no change either
    status, again = daemon.request("PUT", "/api/v1/jobs/default/rt",
                                   job("rt", 'test "$K" = ' + SECRET, {"K": {"secret": SECRET}}))
    assert status == 200 and again["version"] == 1, again
    # an edit of something else keeps the secret
    v["description"] = "changed"
    status, again = daemon.request("PUT", "/api/v1/jobs/default/rt", v)
    assert status == 200 and again["version"] == 2, again
    assert again["env"]["K"] == v["env"]["K"]
    status, _ = daemon.request("PATCH", "/api/v1/jobs/default/rt", {"labels": {"a": "b"}})
    assert status == 200
    r, _ = run_output(daemon, "default/rt")
    assert r["state"] == "succeeded", r
    # a tag that is not the job's, or a redacted secret the job never had
    bad = dict(v, env={"K": {"secret": {"redacted": "0000000000000000"}}})
    status, body = daemon.request("PUT", "/api/v1/jobs/default/rt", bad)
    assert status == 400 and body["field"] == "env.K.secret.redacted", body
    bad = dict(v, env={"NEW": {"secret": {"redacted": "0000000000000000"}}})
    status, body = daemon.request("PUT", "/api/v1/jobs/default/rt", bad)
    assert status == 400 and body["field"] == "env.NEW.secret.redacted", body
    # rollback brings back the old secret
    daemon.request("PATCH", "/api/v1/jobs/default/rt", {"env": {"K": {"secret": OTHER}}})
    r, _ = run_output(daemon, "default/rt")
    assert r["state"] == "failed", r
    status, _ = daemon.request("POST", "/api/v1/jobs/default/rt/rollback", {"version": 1})
    assert status == 200
    r, _ = run_output(daemon, "default/rt")
    assert r["state"] == "succeeded", r


def test_import_of_an_export_keeps_secrets(daemon):
    daemon.put_job(job("ex", 'test "$K" = ' + SECRET, {"K": {"secret": SECRET}}))
    _, exp = daemon.request("GET", "/api/v1/export")
    status, plan = daemon.request("POST", "/api/v1/import", exp)
    assert status == 200 and plan["summary"]["unchanged"] == 1, plan
    daemon.request("DELETE", "/api/v1/jobs/default/ex")
    status, body = daemon.request("POST", "/api/v1/import", exp)
    assert status == 400 and body["field"] == "jobs[0].env.K.secret.redacted", body
    assert SECRET not in json.dumps(body)


@pytest.mark.parametrize("value,field,words", [
    ({"secret": ""}, "env.K.secret", "empty"),
    ({"secret": 5}, "env.K.secret", "want a string"),
    ({"secrte": "x"}, "env.K", "did you mean 'secret'"),
    ({}, "env.K", "missing field 'secret'"),
    ({"secret": {"v": 2, "box": "AAAA"}}, "env.K.secret.v", "format"),
    ({"secret": {"v": 1}}, "env.K.secret", "missing field 'box'"),
    ({"secret": {"v": 1, "box": "not base64!"}}, "env.K.secret.box", "not a sealed secret"),
    ({"secret": {"redacted": "x", "v": 1}}, "env.K.secret", "goes alone"),
    ({"secret": {"nope": 1}}, "env.K.secret", "unknown field 'nope'"),
])
def test_malformed_secrets_are_refused_naming_the_field(daemon, value, field, words):
    status, body = daemon.request("POST", "/api/v1/jobs", job("bad", "true", {"K": value}))
    assert status == 400 and body["field"] == field and words in body["detail"], body


def test_a_bad_value_is_not_quoted_in_the_error(daemon):
    status, body = daemon.request("POST", "/api/v1/jobs",
                                  job("bad", "true", {"K": {"secret": SECRET + "\u0000x"}}))
    assert status == 400 and SECRET not in json.dumps(body), body
    raw = ('{"name": "bad", "schedule": {"manual": true}, "shell": "true",'
           ' "env": {"K": {"secret": "' + SECRET + '\x01"}}}').encode()
    status, body = daemon.request("POST", "/api/v1/jobs", raw=raw)
    assert status == 400 and SECRET not in json.dumps(body), body
    assert SECRET not in daemon.logtext()


def test_key_file_mode_restart_and_wrong_key(tmp_path):
    data = tmp_path / "data"
    d = Daemon(data).start()
    try:
        key = data / "secret.key"
        st = os.stat(key)
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 32
        d.put_job(job("k", 'test "$K" = ' + SECRET, {"K": {"secret": SECRET}}))
    finally:
        d.stop()
    # a restart opens the same secrets
    d = Daemon(data, port=d.port).start()
    try:
        r, _ = run_output(d, "default/k")
        assert r["state"] == "succeeded", r
    finally:
        d.stop()
    original = key.read_bytes()
    # another key: a clear error at start, naming the file
    key.write_bytes(os.urandom(32))
    p = subprocess.run([CHIME, "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "secret.key" in p.stderr and "another key" in p.stderr, p.stderr
    # a key of the wrong size
    key.write_bytes(b"short")
    p = subprocess.run([CHIME, "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "5 bytes, want 32" in p.stderr, p.stderr
    # missing, with sealed secrets in the store
    key.unlink()
    p = subprocess.run([CHIME, "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "missing" in p.stderr, p.stderr
    assert not key.exists()
    # readable by others
    key.write_bytes(original)
    os.chmod(key, 0o644)
    p = subprocess.run([CHIME, "serve", "--data-dir", str(data), "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0 and "chmod 600" in p.stderr, p.stderr
    os.chmod(key, 0o600)
    d = Daemon(data).start()
    try:
        r, _ = run_output(d, "default/k")
        assert r["state"] == "succeeded", r
    finally:
        d.stop()


def test_jobs_directory_secrets_are_sealed_once(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    check = f'test "$(printf %s "$K" | sha256sum | cut -c1-64)" = {digest}'
    (jobs / "d.json").write_text(json.dumps(job("d", check, {"K": {"secret": SECRET}})))
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)]).start()
    try:
        _, v = d.request("GET", "/api/v1/jobs/default/d")
        assert v["version"] == 1 and "redacted" in v["env"]["K"]["secret"], v
        r, _ = run_output(d, "default/d")
        assert r["state"] == "succeeded", r
    finally:
        d.stop()
    # the same file at the next start: the same box, no new version
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)], port=d.port).start()
    try:
        _, v = d.request("GET", "/api/v1/jobs/default/d")
        assert v["version"] == 1, v
        assert SECRET.encode() not in raw_files(d.data_dir)
    finally:
        d.stop()
