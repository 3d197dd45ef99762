"""Online backup (`chime backup PATH`, POST /api/v1/backup): one tar
archive of a consistent copy of the database and the run output files,
made while the daemon is busy, written atomically where the client runs;
`chime restore` puts both back, and refuses a hostile archive with
nothing changed."""
import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import tarfile
import threading
import time
import urllib.error
import urllib.request


from daemon import Daemon, wait_for


def cli(chime, d, *args, **kw):
    return chime(*args, env={"CHIME_URL": d.url}, **kw)


def busy(d, n=5):
    """N jobs firing every second, and one with a long history."""
    for i in range(n):
        d.put_job({"name": f"tick{i}", "schedule": {"cron": "* * * * * *"},
                   "shell": f"echo tick {i}", "concurrency": "allow", "max_instances": 5})
    d.put_job({"name": "manual", "schedule": {"manual": True}, "command": ["/bin/true"]})
    wait_for("the ticks to have run", lambda: len(d.runs("default/tick0")) >= 2)


def members(path):
    """The archive's members: name -> bytes."""
    with tarfile.open(path) as t:
        return {m.name: t.extractfile(m).read() for m in t.getmembers()}


def db_of(path, dest):
    """The archive's database, written to DEST."""
    with open(dest, "wb") as f:
        f.write(members(path)["chime.db"])
    return dest


def check_outputs(path):
    """Every started run of the archive's database has its output file in
    it, or is named missing; and every member is what the manifest says."""
    m = members(path)
    manifest = json.loads(m["chime-backup.json"])
    assert list(m)[0] == "chime.db" and list(m)[-1] == "chime-backup.json"
    listed = {x["name"]: x for x in manifest["members"]}
    assert set(listed) == set(m) - {"chime-backup.json"}
    for name, x in listed.items():
        assert x["size"] == len(m[name])
        assert x["sha256"] == hashlib.sha256(m[name]).hexdigest()
    tmp = path + ".check.db"
    db = sqlite3.connect(db_of(path, tmp))
    started = {r[0] for r in db.execute("SELECT id FROM runs WHERE started_us IS NOT NULL")}
    db.close()
    os.unlink(tmp)
    outputs = {int(n[5:-4]) for n in m if n.startswith("runs/")}
    assert outputs <= started | outputs     # a run that never started has none
    assert started == outputs | set(manifest["missing_outputs"]), (started, outputs)
    return manifest


def check_copy(path, want_jobs):
    if tarfile.is_tarfile(path):
        check_outputs(str(path))
        path = db_of(path, str(path) + ".db")
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
        out = tmp_path / f"b{k}.tar"
        r = cli(chime, daemon, "backup", str(out))
        assert r.code == 0, r.err
        assert r.out.startswith(f"backed up to {out} (")
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        assert f"sha256 {digest}): the database and " in r.out
        assert check_outputs(str(out))["missing_outputs"] == []
        counts.append(check_copy(out, want))
        time.sleep(0.3)
    assert counts[0] > 0 and counts == sorted(counts)
    # nothing left behind, here or in the data directory
    assert sorted(f for f in os.listdir(tmp_path) if not f.endswith(".db")) == sorted(
        ["b0.tar", "b1.tar", "b2.tar", "data",
         *[f for f in os.listdir(tmp_path) if f.startswith("daemon-")]])
    assert not [f for f in os.listdir(daemon.data_dir) if f.startswith(".backup-")]

    # restore: a daemon started on the copy (with the admin token kept from before)
    restored = tmp_path / "restored"
    restored.mkdir()
    shutil.copy(os.path.join(daemon.data_dir, "admin.token"), restored / "admin.token")
    daemon.stop()
    r = chime("restore", str(tmp_path / "b2.tar"), "--data-dir", str(restored))
    assert r.code == 0, r.err
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
    assert headers["Content-Type"] == "application/x-tar"
    assert "attachment" in headers["Content-Disposition"]
    assert ".tar" in headers["Content-Disposition"]
    assert hashlib.sha256(body).hexdigest() == headers["X-Chime-Sha256"]
    with tarfile.open(fileobj=io.BytesIO(body)) as t:
        names = t.getnames()
        assert t.extractfile("chime.db").read().startswith(b"SQLite format 3\0")
    assert names[0] == "chime.db" and names[-1] == "chime-backup.json"
    assert any(n.startswith("runs/") and n.endswith(".out") for n in names)
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


# ---- restore (chime restore BACKUP), and one daemon per data directory ----

def data_state(d):
    """What a refused restore must leave as it was: the names in the data
    directory and the database's bytes."""
    names = sorted(os.listdir(d.data_dir))
    with open(os.path.join(d.data_dir, "chime.db"), "rb") as f:
        return names, hashlib.sha256(f.read()).hexdigest()


def job_names(d):
    return {j["name"] for j in d.request("GET", "/api/v1/jobs")[1]["items"]}


def test_restore_puts_a_backup_back_and_keeps_the_database_it_replaces(daemon, chime, tmp_path):
    for name in ["a", "b"]:
        daemon.put_job({"name": name, "schedule": {"manual": True}, "command": ["/bin/true"]})
    rid = daemon.trigger("default/a")
    assert daemon.wait_run(rid)["state"] == "succeeded"
    assert cli(chime, daemon, "backup", str(tmp_path / "b.db")).code == 0
    daemon.put_job({"name": "after-backup", "schedule": {"manual": True}, "shell": "true"})
    # a daemon running on the directory: refused, nothing touched
    before = data_state(daemon)
    r = chime("restore", str(tmp_path / "b.db"), "--data-dir", daemon.data_dir)
    assert r.code == 1 and "in use by another chime (pid" in r.err
    assert "stop the daemon first" in r.err and len(r.err.splitlines()) == 1
    assert data_state(daemon)[0] == before[0]
    assert job_names(daemon) == {"a", "b", "after-backup"}
    # killed, so its last commits are still in its WAL
    daemon.stop(sig=signal.SIGKILL)
    assert os.path.exists(os.path.join(daemon.data_dir, "chime.db-wal"))
    # stopped: put back; the database it replaced is kept, with its WAL
    r = chime("restore", str(tmp_path / "b.db"), "--data-dir", daemon.data_dir, "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert (doc["jobs"], doc["runs"]) == (2, 1) and doc["schema_version"] >= 7
    assert os.path.basename(doc["set_aside"]).startswith("chime.db.before-restore-")
    assert not os.path.exists(os.path.join(daemon.data_dir, "chime.db-wal"))
    assert os.path.exists(doc["set_aside"] + "-wal")
    old = sqlite3.connect(doc["set_aside"])
    assert old.execute("SELECT count(*) FROM jobs").fetchone()[0] == 3
    old.close()
    assert not [f for f in os.listdir(daemon.data_dir) if f.endswith(".restoring")]
    d2 = Daemon(daemon.data_dir).start()
    try:
        assert job_names(d2) == {"a", "b"}
        assert len(d2.runs("default/a")) == 1
        rid = d2.trigger("default/b")
        assert d2.wait_run(rid)["state"] == "succeeded"
    finally:
        d2.stop()
    # and the text form says where things are
    r = chime("restore", str(tmp_path / "b.db"), "--data-dir", daemon.data_dir)
    assert r.code == 0 and r.lines[0].startswith(f"restored {tmp_path / 'b.db'} into ")
    assert "(2 jobs, 1 runs)" in r.lines[0] and "is kept as" in r.lines[1]


def test_restore_refuses_what_is_not_a_sound_chime_backup(daemon, chime, tmp_path):
    daemon.put_job({"name": "a", "schedule": {"manual": True}, "command": ["/bin/true"]})
    assert cli(chime, daemon, "backup", str(tmp_path / "good.tar")).code == 0
    # a bare database (a backup of an older chime) goes through the same checks
    db_of(str(tmp_path / "good.tar"), str(tmp_path / "good.db"))
    daemon.stop()
    good = (tmp_path / "good.db").read_bytes()
    (tmp_path / "noise.db").write_bytes(os.urandom(8192))
    (tmp_path / "cut.db").write_bytes(good[:len(good) // 2])
    (tmp_path / "empty.db").write_bytes(b"")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    shutil.copy(tmp_path / "good.db", tmp_path / "newer.db")
    newer = sqlite3.connect(tmp_path / "newer.db")
    newer.execute("INSERT INTO schema_version VALUES (999, 0)")
    newer.commit()
    newer.close()
    before = data_state(daemon)
    for name, says in [("noise.db", "not a chime backup"),
                       ("cut.db", "not a sound SQLite database"),
                       ("empty.db", "not a chime backup"),
                       ("other.db", "not a chime database"),
                       ("newer.db", "schema version 999 is newer"),
                       ("missing.db", "is not a file"),
                       (".", "is not a file")]:
        r = chime("restore", str(tmp_path / name), "--data-dir", daemon.data_dir)
        assert r.code == 2, (name, r.err)
        assert says in r.err and len(r.err.splitlines()) == 1, (name, r.err)
        assert data_state(daemon) == before, name
    assert chime("restore", "--data-dir", daemon.data_dir).code == 2
    assert chime("restore", str(tmp_path / "good.db"), "--data-dir",
                 str(tmp_path / "nowhere")).code == 2
    # the good one still goes in
    assert chime("restore", str(tmp_path / "good.db"), "--data-dir", daemon.data_dir).code == 0


def test_a_second_daemon_on_one_data_directory_is_refused(daemon, chime):
    r = chime("serve", "--data-dir", daemon.data_dir, "--listen", "127.0.0.1:0", timeout=20)
    assert r.code != 0
    assert f"in use by another chime (pid {daemon.proc.pid})" in r.err
    # the first one goes on
    daemon.put_job({"name": "still", "schedule": {"manual": True}, "command": ["/bin/true"]})
    assert daemon.wait_run(daemon.trigger("default/still"))["state"] == "succeeded"


# ---- run output in the archive ----

def logs(chime, d, rid):
    return chime("logs", str(rid), env=d.cli_env())


def test_round_trip_brings_back_every_runs_output(daemon, chime, tmp_path):
    daemon.put_job({"name": "talk", "schedule": {"manual": True},
                    "shell": "printf 'out %s\\n' $CHIME_RUN_ID; printf 'err\\n' >&2; "
                             "head -c 3000 /dev/urandom | od -An -tx1 | head -c 2000"})
    daemon.put_job({"name": "slow", "schedule": {"manual": True},
                    "shell": "echo partial; sleep 60"})
    rids = []
    for _ in range(3):
        rids.append(daemon.trigger("default/talk"))
        assert daemon.wait_run(rids[-1])["state"] == "succeeded"
    slow = daemon.trigger("default/slow")
    wait_for("the slow run's output", lambda: daemon.output(slow) == "partial\n")
    before = {rid: logs(chime, daemon, rid).out for rid in rids}
    assert all(before.values())
    out = tmp_path / "b.tar"
    r = cli(chime, daemon, "backup", str(out))
    assert r.code == 0, r.err
    assert "the database and 4 run output files" in r.out and r.err == ""
    manifest = check_outputs(str(out))
    assert manifest["missing_outputs"] == []
    assert members(str(out))[f"runs/{slow}.out"].startswith(b"chime-output 1\n")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    for f in ["admin.token", "secret.key"]:
        shutil.copy(os.path.join(daemon.data_dir, f), fresh / f)
    daemon.stop()
    r = chime("restore", str(out), "--data-dir", str(fresh), "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["outputs"] == 4 and doc["missing_outputs"] == 0
    assert doc["set_aside"] is None and doc["runs_set_aside"] is None
    assert not [f for f in os.listdir(fresh) if f.startswith(".restore-")]
    d2 = Daemon(fresh).start()
    try:
        for rid in rids:
            r = logs(chime, d2, rid)
            assert r.code == 0 and r.out == before[rid], rid
        # the run that was running: its output as it was, and the run is lost
        assert logs(chime, d2, slow).out.startswith("partial\n")
    finally:
        d2.stop()


def test_logs_of_a_run_whose_output_file_is_gone_fails(daemon, chime):
    daemon.put_job({"name": "a", "schedule": {"manual": True}, "shell": "echo hello"})
    rid = daemon.trigger("default/a")
    assert daemon.wait_run(rid)["state"] == "succeeded"
    assert logs(chime, daemon, rid).out == "hello\n"
    os.unlink(os.path.join(daemon.data_dir, "runs", f"{rid}.out"))
    r = logs(chime, daemon, rid)
    assert r.code == 1 and r.out == ""
    assert f"the output of run {rid} is missing" in r.err and len(r.err.splitlines()) == 1
    assert daemon.request("GET", f"/api/v1/runs/{rid}/output")[0] == 404
    # a backup made now names it, and says so
    r = cli(chime, daemon, "backup", str(daemon.data_dir) + "/../b.tar")
    assert r.code == 0, r.err
    assert f"1 started run without an output file in the daemon's data directory: {rid}" in r.err
    assert check_outputs(str(daemon.data_dir) + "/../b.tar")["missing_outputs"] == [rid]


def tree(path):
    """Every name under PATH with its bytes (or None for a directory)."""
    out = {}
    for root, dirs, files in os.walk(path):
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), path)] = None
        for f in files:
            p = os.path.join(root, f)
            if f != "chime.lock":
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, path)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def tar_of(path, entries):
    """A tar archive at PATH of ENTRIES: (TarInfo, bytes or None)."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def reg(name):
    return tarfile.TarInfo(name)


def test_hostile_archives_are_refused_with_nothing_changed(daemon, chime, tmp_path):
    daemon.put_job({"name": "a", "schedule": {"manual": True}, "shell": "echo hello"})
    daemon.wait_run(daemon.trigger("default/a"))
    good = tmp_path / "good.tar"
    assert cli(chime, daemon, "backup", str(good)).code == 0
    daemon.stop()
    m = members(str(good))
    db, out, manifest = m["chime.db"], m["runs/1.out"], m["chime-backup.json"]

    def link(name, kind, target):
        i = tarfile.TarInfo(name)
        i.type, i.linkname = kind, target
        return i, None

    def dev(name, kind):
        i = tarfile.TarInfo(name)
        i.type = kind
        return i, None

    def bad_manifest(doc):
        return json.dumps(doc).encode()

    md = json.loads(manifest)
    cases = {
        "dotdot": [(reg("chime.db"), db), (reg("../escape.out"), out), (reg("chime-backup.json"), manifest)],
        "runs-dotdot": [(reg("chime.db"), db), (reg("runs/../../x.out"), out), (reg("chime-backup.json"), manifest)],
        "absolute": [(reg("/tmp/chime.db"), db), (reg("chime-backup.json"), manifest)],
        "symlink": [(reg("chime.db"), db), link("runs/1.out", tarfile.SYMTYPE, "/etc/passwd"), (reg("chime-backup.json"), manifest)],
        "hardlink": [(reg("chime.db"), db), link("runs/1.out", tarfile.LNKTYPE, "chime.db"), (reg("chime-backup.json"), manifest)],
        "chardev": [(reg("chime.db"), db), dev("runs/1.out", tarfile.CHRTYPE), (reg("chime-backup.json"), manifest)],
        "fifo": [(reg("chime.db"), db), dev("runs/1.out", tarfile.FIFOTYPE), (reg("chime-backup.json"), manifest)],
        "directory": [(reg("chime.db"), db), dev("runs", tarfile.DIRTYPE), (reg("runs/1.out"), out), (reg("chime-backup.json"), manifest)],
        "stranger": [(reg("chime.db"), db), (reg("runs/1.out"), out), (reg("admin.token"), b"x"), (reg("chime-backup.json"), manifest)],
        "twice": [(reg("chime.db"), db), (reg("runs/1.out"), out), (reg("runs/1.out"), out), (reg("chime-backup.json"), manifest)],
        "leading-zero": [(reg("chime.db"), db), (reg("runs/01.out"), out), (reg("chime-backup.json"), manifest)],
        "no-manifest": [(reg("chime.db"), db), (reg("runs/1.out"), out)],
        "no-db": [(reg("runs/1.out"), out), (reg("chime-backup.json"), bad_manifest(dict(md, members=[x for x in md["members"] if x["name"] != "chime.db"])))],
        "tampered-output": [(reg("chime.db"), db), (reg("runs/1.out"), out + b"x"), (reg("chime-backup.json"), manifest)],
        "unlisted-output": [(reg("chime.db"), db), (reg("runs/1.out"), out), (reg("runs/2.out"), out), (reg("chime-backup.json"), manifest)],
        "after-manifest": [(reg("chime.db"), db), (reg("chime-backup.json"), manifest), (reg("runs/1.out"), out)],
        "manifest-not-json": [(reg("chime.db"), db), (reg("runs/1.out"), out), (reg("chime-backup.json"), b"{not json")],
        "manifest-oversized": [(reg("chime.db"), db), (reg("runs/1.out"), out), (reg("chime-backup.json"), b" " * (64 * 1024 * 1024 + 1))],
        "wrong-format": [(reg("chime.db"), db), (reg("runs/1.out"), out), (reg("chime-backup.json"), bad_manifest(dict(md, format="other 1")))],
        "bad-db": [(reg("chime.db"), b"SQLite format 3\0" + os.urandom(4000)), (reg("runs/1.out"), out),
                   (reg("chime-backup.json"), bad_manifest(dict(md, members=[
                       dict(x, size=4016, sha256=None) if x["name"] == "chime.db" else x for x in md["members"]])))],
    }
    before = tree(daemon.data_dir)
    for name, entries in cases.items():
        path = tar_of(str(tmp_path / f"{name}.tar"), entries)
        r = chime("restore", path, "--data-dir", daemon.data_dir)
        assert r.code == 2, (name, r.code, r.err)
        assert r.err.startswith("chime restore: BACKUP: ") and len(r.err.splitlines()) == 1, (name, r.err)
        assert tree(daemon.data_dir) == before, name
    # cut short anywhere, or a member longer than the archive holds
    raw = good.read_bytes()
    for cut in [100, 600, len(raw) // 2, len(raw) - 2000]:
        (tmp_path / "cut.tar").write_bytes(raw[:cut])
        r = chime("restore", str(tmp_path / "cut.tar"), "--data-dir", daemon.data_dir)
        assert r.code == 2, (cut, r.err)
        assert tree(daemon.data_dir) == before, cut
    # a compressed archive is not one
    import gzip
    (tmp_path / "good.tar.gz").write_bytes(gzip.compress(raw))
    r = chime("restore", str(tmp_path / "good.tar.gz"), "--data-dir", daemon.data_dir)
    assert r.code == 2 and tree(daemon.data_dir) == before
    # the good one goes in, and keeps the runs directory it replaces
    r = chime("restore", str(good), "--data-dir", daemon.data_dir, "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert os.path.basename(doc["runs_set_aside"]).startswith("runs.before-restore-")
    assert os.path.exists(os.path.join(doc["runs_set_aside"], "1.out"))
    with open(os.path.join(daemon.data_dir, "runs", "1.out"), "rb") as f:
        assert f.read() == out
