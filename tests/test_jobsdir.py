"""The jobs directory skips files unchanged since its last apply
(src/daemon/nodeload.c, unchanged()): a file whose inode, size, mtime and
ctime are the ones recorded, recorded at least 2 s before the apply that
read it, and whose job is still the version it made, is not read. Every
other file is read: an edit is never missed, a touched file makes no new
version, a removed file removes its job."""
import datetime as dt
import json
import os
import re
import signal
import time

from daemon import Daemon, wait_for

SETTLED_S = 2.0   # JOBS_DIR_SETTLED_NS


def job(name, shell="true", **fields):
    doc = {"name": name, "schedule": {"manual": True}, "shell": shell}
    doc.update(fields)
    return doc


def write(path, doc):
    path.write_text(json.dumps(doc, sort_keys=True))


def settled(paths):
    """Waits until every file's last change is older than the rule's
    margin, so that an apply records it (polled, with a deadline)."""
    wait_for("the files to settle", lambda: all(
        time.time() - os.stat(p).st_ctime > SETTLED_S + 0.2 for p in paths), timeout=10)


def last_summary(d):
    found = re.findall(r"(\d+) added, (\d+) changed, (\d+) removed, (\d+) bad, "
                       r"(\d+) unchanged files not read", d.logtext())
    return tuple(int(x) for x in found[-1]) if found else None


def version(d, name):
    status, body = d.request("GET", f"/api/v1/jobs/default/{name}")
    return body["version"] if status == 200 else None


def test_unchanged_files_are_not_read_and_every_change_is_seen(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    for name in "abcd":
        write(jobs / f"{name}.json", job(name, f"echo {name}1"))
    settled(list(jobs.iterdir()))
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)]).start()
    try:
        assert last_summary(d) == (4, 0, 0, 0, 0)
        # nothing changed: no file is read again
        d.proc.send_signal(signal.SIGHUP)
        wait_for("the reload", lambda: len(re.findall("unchanged files not read",
                                                      d.logtext())) == 2)
        assert last_summary(d) == (0, 0, 0, 0, 4)
    finally:
        d.stop()

    # a: a same-size edit with its mtime put back (as in one clock tick);
    # b: touched, the same document; c: removed; d: changed through the API
    a = jobs / "a.json"
    st = os.stat(a)
    write(a, job("a", "echo a2"))
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = os.stat(a)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == \
        (st.st_size, st.st_mtime_ns, st.st_ino)
    os.utime(jobs / "b.json")
    (jobs / "c.json").unlink()
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)], port=d.port).start()
    try:
        # a changed, c removed; b read again (and unchanged), only d not read
        assert last_summary(d) == (0, 1, 1, 0, 1)
        status, view = d.request("GET", "/api/v1/jobs/default/a")
        assert view["version"] == 2 and view["shell"] == "echo a2", view
        assert version(d, "b") == 1
        assert version(d, "c") is None
        status, body = d.request("PUT", "/api/v1/jobs/default/d", job("d", "echo api"))
        assert status == 200 and body["version"] == 2, body
    finally:
        d.stop()

    # d's job is no longer the version its file made: the file is read,
    # and puts it back, as every start did before files were skipped
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)], port=d.port).start()
    try:
        status, view = d.request("GET", "/api/v1/jobs/default/d")
        assert view["version"] == 3 and view["shell"] == "echo d1", view
        assert version(d, "b") == 1
        assert last_summary(d)[1] == 1
    finally:
        d.stop()


def test_a_damaged_or_foreign_index_only_costs_a_full_read(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    for name in "ab":
        write(jobs / f"{name}.json", job(name))
    settled(list(jobs.iterdir()))
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)]).start()
    d.stop()
    index = tmp_path / "data" / "jobs-dir.index"
    lines = index.read_text().splitlines()
    assert lines[0].endswith(str(jobs)) and len(lines) == 3, lines
    for text in ["", "garbage\n", lines[0] + "\n1 2 3\n" + "\n".join(lines[1:]) + "\n",
                 lines[0] + "\n" + lines[1].replace(" 1 default/", " -5 default/") + "\n",
                 "chime jobs-dir index 1 /elsewhere\n" + "\n".join(lines[1:]) + "\n",
                 lines[0] + "\n" + "9" * 5000 + "\n", "\0" * 100]:
        index.write_text(text)
        d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)], port=d.port).start()
        try:
            assert last_summary(d) == (0, 0, 0, 0, 0), text
            assert version(d, "a") == 1 and version(d, "b") == 1
        finally:
            d.stop()
    # and the index is whole again
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)], port=d.port).start()
    try:
        assert last_summary(d) == (0, 0, 0, 0, 2)
    finally:
        d.stop()


def test_a_file_changed_while_the_daemon_was_down_is_applied_before_its_job_fires(tmp_path):
    """A start serves from the store's jobs and applies the directory after
    /healthz answers, but before the engine's first tick: a job due at the
    restart whose file changed while the daemon was down fires from its
    new version, never from the one the store had."""
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    out = tmp_path / "out"
    at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=3)
    due = lambda v: job("due", f"echo {v} >> {out}", misfire={"grace": "1h"},
                        schedule={"at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
    write(jobs / "due.json", due("v1"))
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)]).start()
    try:
        assert version(d, "due") == 1
    finally:
        d.stop()
    # its instant passes while the daemon is down; then its file changes
    wait_for("the job's instant to pass",
             lambda: dt.datetime.now(dt.timezone.utc) > at + dt.timedelta(seconds=0.2))
    assert not out.exists()
    write(jobs / "due.json", due("v2"))
    d = Daemon(tmp_path / "data", args=["--jobs-dir", str(jobs)], port=d.port).start(started=False)
    try:
        runs = wait_for("the catch-up fire", lambda: [r for r in d.runs("default/due")
                                                      if r["state"] == "succeeded"])
        assert [r["job_version"] for r in runs] == [2], runs
        assert out.read_text() == "v2\n"
        assert last_summary(d) == (0, 1, 0, 0, 0)
    finally:
        d.stop()
