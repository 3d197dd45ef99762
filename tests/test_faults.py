"""Faults that must surface and heal: a spawner killed with SIGKILL is
restarted (with a backoff, /healthz degraded with the reason meanwhile)
and runs go on starting; `chime serve` that cannot start exits 2 at once
with the cause and lets go of the data directory's lock; a lost run says
its holder died, not that the machine went down."""
import os
import signal
import socket
import subprocess
import time

import pytest

from daemon import CHIME, Daemon, wait_for
from test_health import anonymous


def children(pid, comm):
    """Pids of PID's children named COMM."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid and name == comm:
            found.append(int(entry))
    return found


def spawner_pid(d):
    pids = children(d.proc.pid, "chime-spawner")
    return pids[0] if len(pids) == 1 else None


def test_a_killed_spawner_is_restarted_with_health_degraded_meanwhile_and_runs_resume(daemon):
    daemon.put_job({"name": "tick", "schedule": {"every": "1s"}, "shell": "true"})
    daemon.put_job({"name": "now", "schedule": {"manual": True}, "shell": "echo ran"})
    first = wait_for("the spawner", lambda: spawner_pid(daemon))
    wait_for("/healthz to show the spawner's pid",
             lambda: anonymous(daemon)[1]["checks"]["spawner"]["pid"] == first)
    # one that dies at once again is restarted later each time (the
    # backoff): killed as soon as it is back, the wait outgrows health's beat
    killed = {first}
    os.kill(first, signal.SIGKILL)

    def degraded():
        pid = spawner_pid(daemon)
        if pid and pid not in killed:
            killed.add(pid)
            os.kill(pid, signal.SIGKILL)
        status, body = anonymous(daemon)
        return body["status"] == "degraded" and body["checks"]["spawner"]["status"] != "ok" \
            and body
    body = wait_for("/healthz to say the spawner is down", degraded, timeout=30)
    assert body["checks"]["spawner"]["status"] == "degraded"
    assert "the spawner is down" in body["checks"]["spawner"]["reason"]
    assert any("spawner" in r for r in body["reasons"])
    assert len(killed) >= 2
    # left alone, it comes back, and health with it
    back = wait_for("a new spawner", lambda: spawner_pid(daemon) not in (None, *killed)
                    and spawner_pid(daemon), timeout=40)
    wait_for("/healthz ok again", lambda: anonymous(daemon)[1]["checks"]["spawner"] ==
             {"status": "ok", "reason": None, "pid": back}, timeout=10)
    run = daemon.wait_run(daemon.trigger("default/now"))
    assert run["state"] == "succeeded", run
    since = time.time()
    wait_for("the every-1s job to succeed again",
             lambda: sum(1 for r in daemon.runs("default/tick")
                         if r["state"] == "succeeded" and r["fire_time"] >= iso(since)) >= 2,
             timeout=15)
    # no fire of the every-1s job failed for the spawner's death
    assert not [r for r in daemon.runs("default/tick") if r["state"] == "failed"]


def test_a_live_run_outlives_its_spawner(daemon):
    daemon.put_job({"name": "slow", "schedule": {"manual": True},
                    "shell": "sleep 1.5; echo done"})
    run_id = daemon.trigger("default/slow")
    wait_for("the run to start", lambda: daemon.run(run_id)["state"] == "running")
    os.kill(wait_for("the spawner", lambda: spawner_pid(daemon)), signal.SIGKILL)
    run = daemon.wait_run(run_id)
    assert run["state"] == "succeeded", run
    assert "done" in daemon.output(run_id)


def test_a_killed_holder_is_lost_saying_so(daemon):
    daemon.put_job({"name": "slow", "schedule": {"manual": True}, "shell": "sleep 60"})
    run_id = daemon.trigger("default/slow")
    run = wait_for("the run to start", lambda: (r := daemon.run(run_id))["state"] == "running"
                   and r)
    holder = [p for p in children(spawner_pid(daemon), "chime-holder")
              if str(run["pid"]) in open(f"/proc/{p}/task/{p}/children").read().split()]
    assert holder, run
    os.kill(holder[0], signal.SIGKILL)
    run = daemon.wait_run(run_id)
    assert run["state"] == "lost", run
    assert "holder died or was killed" in run["error"], run
    assert "machine went down" not in run["error"]


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def serve(data_dir, listen):
    return subprocess.Popen([CHIME, "serve", "--data-dir", str(data_dir), "--listen", listen],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, TZ="UTC"))


def test_a_port_in_use_exits_2_at_once_with_the_cause_and_frees_the_lock(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        p = serve(tmp_path / "data", f"127.0.0.1:{port}")
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            pytest.fail("chime serve on a port in use did not exit")
    assert p.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert f"127.0.0.1:{port}" in lines[0] and "Address already in use" in lines[0]
    # the lock is free: a daemon on the same directory starts
    d = Daemon(tmp_path / "data").start()
    try:
        assert anonymous(d)[0] == 200
    finally:
        d.stop()


@pytest.mark.parametrize("breakage", ["a directory as the database", "not a database"])
def test_a_store_that_cannot_open_exits_2_with_the_cause(tmp_path, breakage):
    data = tmp_path / "data"
    data.mkdir()
    if breakage == "a directory as the database":
        (data / "chime.db").mkdir()
    else:
        (data / "chime.db").write_text("not sqlite at all\n" * 100)
    p = serve(data, "127.0.0.1:0")
    try:
        _, err = p.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("chime serve with a broken store did not exit")
    assert p.returncode == 2
    # the log of what start-up did before it failed, then one line of cause
    lines = [l for l in err.strip().splitlines() if not l.startswith("ts=")]
    assert len(lines) == 1 and lines[0].startswith("chime serve: "), err
    assert err.strip().splitlines()[-1] == lines[0], err
    # nothing holds the lock
    import fcntl
    with open(data / "chime.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_an_unwritable_data_dir_exits_2_with_the_cause(tmp_path):
    if os.geteuid() == 0:
        parent = "/proc/chime-cannot-be-here"
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        parent = str(ro / "data")
    p = serve(parent, "127.0.0.1:0")
    _, err = p.communicate(timeout=10)
    assert p.returncode == 2
    assert len(err.strip().splitlines()) == 1 and "cannot create" in err, err
