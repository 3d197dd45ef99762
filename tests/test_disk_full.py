"""A full disk: fires that fall while the database cannot be written are
not dropped. The data directory is a small tmpfs; the test fills it,
/healthz says database writes are failing because the disk is full, and
once the space is freed every fire second of the outage has exactly one
run row (run, or missed by its misfire grace), and health is ok again.
Needs root (mount); skipped otherwise."""
import datetime
import errno
import os
import subprocess
import time

import pytest

from daemon import Daemon, wait_for
from test_health import anonymous

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

FINAL = {"succeeded", "failed", "timed_out", "cancelled", "skipped", "missed", "lost"}


def fill(path):
    """Writes PATH until the file system has no block left (ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9):
            try:
                while True:
                    os.write(fd, b"\xaa" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)


def second(run):
    t = datetime.datetime.strptime(run["fire_time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp())


def store_check(d):
    return anonymous(d)[1]["checks"]["store"]


@pytest.fixture
def small_disk(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(data)], check=True)
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


def test_fires_while_the_disk_is_full_each_keep_one_run_and_health_says_why(small_disk):
    # the disk check would call an 8 MiB disk failing from the start: only the
    # store check is under test
    d = Daemon(small_disk, ["--health-disk-degraded", "1", "--health-disk-failing", "1"]).start()
    try:
        d.put_job({"name": "long", "schedule": {"every": "1s"}, "shell": "echo tick",
                   "misfire": {"grace": "1h"}})
        d.put_job({"name": "short", "schedule": {"every": "1s"}, "shell": "echo tick",
                   "misfire": {"grace": "2s"}})
        wait_for("both jobs to run", lambda: all(
            any(r["state"] == "succeeded" for r in d.runs(job))
            for job in ("default/long", "default/short")), timeout=30)
        status, _ = d.request("POST", "/api/v1/jobs", {"name": "m", "schedule": {"manual": True},
                                                       "shell": "true"})
        assert status == 201
        fill(small_disk / "fill")
        check = wait_for("/healthz to say the disk is full",
                         lambda: "disk full" in ((c := store_check(d))["reason"] or "") and c,
                         timeout=60, interval=0.2)
        assert check["status"] == "failing"
        assert check["reason"].startswith("database writes failing: disk full")
        # a trigger meanwhile is refused, and nothing of it is recorded
        status, body = d.request("POST", "/api/v1/jobs/default/m/trigger", {})
        assert status == 507, (status, body)
        assert "disk full" in body["detail"]
        # some fire seconds fall while full (the clock polled, not slept)
        full_at = time.time()
        wait_for("5 fire seconds while full", lambda: time.time() >= full_at + 5, timeout=15,
                 interval=0.1)
        os.unlink(small_disk / "fill")
        freed = time.time()
        wait_for("health ok again", lambda: store_check(d)["status"] == "ok", timeout=60,
                 interval=0.2)

        def accounted(job):
            runs = d.runs(job)
            seconds = [second(r) for r in runs]
            if max(seconds) < freed + 2 or any(r["state"] not in FINAL for r in runs):
                return False
            lo, hi = min(seconds), max(seconds)
            return sorted(seconds) == list(range(lo, hi + 1)) and runs

        for job in ("default/long", "default/short"):
            try:
                runs = wait_for(f"every fire second of {job} to have one final run",
                                lambda: accounted(job), timeout=60, interval=0.5)
            except AssertionError:
                print(sorted((second(r), r["state"], r["reason"], r["error"]) for r in d.runs(job)))
                print(d.logtext())
                raise
            during = [r for r in runs if full_at <= second(r) < freed]
            assert len(during) >= 4, runs
            if job == "default/short":
                assert any(r["state"] == "missed" for r in during), during
        assert d.runs("default/m") == []
        assert anonymous(d)[1]["checks"]["store"]["status"] == "ok"
    finally:
        d.stop()
