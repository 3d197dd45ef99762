"""Online backup (`chime backup PATH`, POST /api/v1/backup): a consistent
copy of the database while the daemon is busy, written atomically where
the client runs, and a daemon started on the copy works."""
import hashlib
import os
import shutil
import sqlite3
import threading
import time
import urllib.error
import urllib.request

import pytest

from daemon import Daemon, wait_for


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path / "data").start()
    yield d
    d.stop()


def cli(chime, d, *args, **kw):
    return chime(*args, env={"CHIME_URL": d.url}, **kw)


def busy(d, n=5):
    """N jobs firing every second, and one with a long history."""
    for i in range(n):
        d.put_job({"name": f"tick{i}", "schedule": {"cron": "* * * * * *"},
                   "shell": f"echo tick {i}", "concurrency": "allow", "max_instances": 5})
    d.put_job({"name": "manual", "schedule": {"manual": True}, "command": ["/bin/true"]})
    wait_for("the ticks to have run", lambda: len(d.runs("default/tick0")) >= 2)


def check_copy(path, want_jobs):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        names = {r[0] for r in db.execute(
            "SELECT namespace || '/' || name FROM jobs WHERE deleted_us IS NULL")}
        assert names == want_jobs
        return db.execute("SELECT count(*) FROM runs").fetchone()[0]
    finally:
        db.close()


def test_backup_while_jobs_fire_is_consistent_and_restores(daemon, chime, tmp_path):
    busy(daemon)
    want = {f"default/tick{i}" for i in range(5)} | {"default/manual"}
    # a few backups while the ticks go on, each checked
    counts = []
    for k in range(3):
        out = tmp_path / f"b{k}.db"
        r = cli(chime, daemon, "backup", str(out))
        assert r.code == 0, r.err
        assert r.out.startswith(f"backed up to {out} (")
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        assert f"sha256 {digest})" in r.out
        assert not os.path.exists(f"{out}-wal") and not os.path.exists(f"{out}-journal")
        counts.append(check_copy(out, want))
        time.sleep(0.3)
    assert counts[0] > 0 and counts == sorted(counts)
    # nothing left behind, here or in the data directory
    assert sorted(os.listdir(tmp_path)) == sorted(["b0.db", "b1.db", "b2.db", "data",
                                                   *[f for f in os.listdir(tmp_path)
                                                     if f.startswith("daemon-")]])
    assert not [f for f in os.listdir(daemon.data_dir) if f.startswith(".backup-")]

    # restore: a daemon started on the copy (with the admin token kept from before)
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(tmp_path / "b2.db", restored / "chime.db")
    shutil.copy(os.path.join(daemon.data_dir, "admin.token"), restored / "admin.token")
    daemon.stop()
    d2 = Daemon(restored).start()
    try:
        status, jobs = d2.request("GET", "/api/v1/jobs")
        assert status == 200
        assert {f"{j['namespace']}/{j['name']}" for j in jobs["items"]} == want
        rid = d2.trigger("default/manual")
        assert d2.wait_run(rid)["state"] == "succeeded"
        # the history came along, and the ticks go on firing
        n = len(d2.runs("default/tick1"))
        wait_for("the restored daemon to fire", lambda: len(d2.runs("default/tick1")) > n)
        assert d2.request("GET", "/api/v1/jobs/default/tick0/versions")[1]["total"] == 1
    finally:
        d2.stop()


def test_backup_api_streams_a_database_with_its_digest(daemon):
    busy(daemon, 2)
    status, headers, body = post_backup(daemon, daemon.token)
    assert status == 200
    assert headers["Content-Type"] == "application/vnd.sqlite3"
    assert "attachment" in headers["Content-Disposition"]
    assert hashlib.sha256(body).hexdigest() == headers["X-Chime-Sha256"]
    assert body.startswith(b"SQLite format 3\0")
    # without a token, or with a bad one: refused, and no copy is made
    assert post_backup(daemon, None)[0] == 401
    assert post_backup(daemon, "chime_forged")[0] == 401
    assert not [f for f in os.listdir(daemon.data_dir) if f.startswith(".backup-")]
    assert daemon.request("GET", "/api/v1/backup")[0] == 405


def post_backup(d, token):
    """POST /api/v1/backup: the status and the body, as bytes."""
    req = urllib.request.Request(d.url + "/api/v1/backup", data=b"", method="POST")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_concurrent_backups_one_at_a_time(daemon):
    busy(daemon, 2)
    results = []

    def one():
        results.append(post_backup(daemon, daemon.token)[0])

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) <= {200, 409} and 200 in results, results
    assert not [f for f in os.listdir(daemon.data_dir) if f.startswith(".backup-")]


def test_backup_refuses_to_overwrite_and_leaves_nothing_on_failure(daemon, chime, tmp_path):
    daemon.put_job({"name": "a", "schedule": {"manual": True}, "command": ["/bin/true"]})
    out = tmp_path / "there.db"
    out.write_text("keep me")
    r = cli(chime, daemon, "backup", str(out))
    assert r.code == 2 and "exists (--force replaces it)" in r.err
    assert out.read_text() == "keep me"
    r = cli(chime, daemon, "backup", str(out), "--force", "--json")
    assert r.code == 0, r.err
    check_copy(out, {"default/a"})
    r = cli(chime, daemon, "backup", str(tmp_path))
    assert r.code == 2 and "directory" in r.err
    r = cli(chime, daemon, "backup", str(tmp_path / "no" / "dir" / "b.db"))
    assert r.code == 2 and "cannot write" in r.err
    # a refused token: exit 1, no file, no partial file
    r = chime("backup", str(tmp_path / "b.db"),
              env={"CHIME_URL": daemon.url, "CHIME_TOKEN": "chime_bogus"})
    assert r.code == 1 and not (tmp_path / "b.db").exists()
    assert not [f for f in os.listdir(tmp_path) if ".partial-" in f]
    # a daemon that is not there: the same
    daemon.stop()
    r = cli(chime, daemon, "backup", str(tmp_path / "b.db"))
    assert r.code == 1 and "cannot reach" in r.err
    assert not [f for f in os.listdir(tmp_path) if ".partial-" in f]
    r = chime("backup")
    assert r.code == 2
