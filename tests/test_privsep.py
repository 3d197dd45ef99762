"""Privilege separation (docs/security.md), end to end as root: a job of
namespace `a`, triggered with a token scoped to `a`, tries everything
another tenant or the daemon has, and writes what it could do to its
output. Each probe prints "<what>: ok" when it got through and
"<what>: refused" otherwise, so the assertions read the job's own
account. Skipped when not root: only root can switch users."""
import os
import re
import stat
import subprocess

import pytest

from daemon import Daemon, wait_for

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="privilege separation needs a daemon running as root")

CHIME = os.environ.get("CHIME_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "build", "chime")


def job(name, ns, shell, **fields):
    doc = {"name": name, "namespace": ns, "schedule": {"manual": True}, "shell": shell}
    doc.update(fields)
    return doc


def token(d, name, ns):
    status, tok = d.request("POST", "/api/v1/tokens",
                            {"name": name, "role": "operator", "namespaces": [ns]})
    assert status == 201, tok
    return tok["secret"]


def put(d, doc):
    status, body = d.request("POST", "/api/v1/jobs", doc)
    assert status == 201, (status, body)


def trigger(d, jid, tok=True):
    status, body = d.request("POST", f"/api/v1/jobs/{jid}/trigger", {}, token=tok)
    assert status == 202, (status, body)
    return body["run_id"]


def finish(d, run_id, timeout=30):
    r = d.wait_run(run_id, timeout=timeout)
    return r, d.output(run_id)


def attempt(what, cmd):
    return f'if {cmd} >/dev/null 2>&1; then echo "{what}: ok"; else echo "{what}: refused"; fi; '


def test_a_job_of_one_namespace_reaches_nothing_of_another_nor_the_daemon(daemon):
    data = daemon.data_dir
    # b's job holds a secret in its environment and a file in its directory
    put(daemon, job("holder", "b", "echo b-private > mine.txt; echo started; sleep 3031",
                    env={"B_SECRET": "b-secret-value"}))
    b_run = trigger(daemon, "b/holder")
    wait_for("b's job to start", lambda: "started" in daemon.output(b_run))
    b_dir = os.path.join(data, "work", "b")
    probes = "".join([
        attempt("read b's file", f"cat {b_dir}/mine.txt"),
        attempt("list b's directory", f"ls {b_dir}"),
        attempt("write into b's directory", f"touch {b_dir}/planted"),
        attempt("list the data directory", f"ls {data}"),
        attempt("read the database", f"cat {data}/chime.db"),
        attempt("read admin.token", f"cat {data}/admin.token"),
        attempt("read secret.key", f"cat {data}/secret.key"),
        attempt("read b's environment", "grep -l b-secret-value /proc/[0-9]*/environ"),
        attempt("see b's process", "grep -l 'sleep 303[1]' /proc/[0-9]*/cmdline"),
        attempt("signal the daemon", f"kill -0 {daemon.proc.pid}"),
        attempt("signal pid 1", "kill -0 1"),
        'echo "uid: $(id -u)"; ',
    ])
    put(daemon, job("probe", "a", probes))
    tok_a = token(daemon, "ops-a", "a")
    r, out = finish(daemon, trigger(daemon, "a/probe", tok_a))
    assert r["state"] == "succeeded", (r, out)
    got = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    for what in ("read b's file", "list b's directory", "write into b's directory",
                 "list the data directory", "read the database", "read admin.token",
                 "read secret.key", "read b's environment", "see b's process",
                 "signal the daemon", "signal pid 1"):
        assert got.get(what) == "refused", (what, out)
    uid = int(got["uid"])
    assert 61184 <= uid <= 65519, out
    assert not os.path.exists(os.path.join(b_dir, "planted"))
    # each namespace has a uid of its own, and its directory is its own
    assert os.stat(b_dir).st_uid not in (0, uid)
    assert stat.S_IMODE(os.stat(os.path.join(data, "work", "a")).st_mode) == 0o700
    status, _ = daemon.request("POST", f"/api/v1/runs/{b_run}/cancel", {})
    assert status in (200, 202), status


def test_a_job_has_no_capability_no_new_privs_and_a_private_tmp(daemon, tmp_path):
    dirs = [d for d in ("/tmp", "/var/tmp", "/dev/shm") if os.path.isdir(d)]
    tag = f"chime-privsep-{os.getpid()}-{tmp_path.name}"
    for d in dirs:
        open(f"{d}/{tag}-host", "w").close()
    try:
        put(daemon, job("caps", "a",
                        "grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs)' /proc/self/status; "
                        + "".join(attempt(f"see the host's {d}", f"test -e {d}/{tag}-host")
                                  for d in dirs)
                        + "".join(f"touch {d}/{tag}-left; " for d in dirs) + "echo done"))
        r, out = finish(daemon, trigger(daemon, "a/caps"))
    finally:
        for d in dirs:
            os.unlink(f"{d}/{tag}-host")
    assert r["state"] == "succeeded", (r, out)
    for cap in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        assert re.search(rf"^{cap}:\s+0+$", out, re.M), (cap, out)
    assert re.search(r"^NoNewPrivs:\s+1$", out, re.M), out
    for d in dirs:
        assert f"see the host's {d}: refused" in out, out
        assert not os.path.exists(f"{d}/{tag}-left"), d


def test_a_namespace_keeps_its_uid_across_restarts(tmp_path):
    d = Daemon(tmp_path / "data").start()
    try:
        put(d, job("id", "a", "id -u"))
        put(d, job("id", "b", "id -u"))
        _, a1 = finish(d, trigger(d, "a/id"))
        _, b1 = finish(d, trigger(d, "b/id"))
    finally:
        d.stop()
    assert a1.strip() != b1.strip() and "0" not in (a1.strip(), b1.strip())
    d = Daemon(tmp_path / "data", port=d.port).start()
    try:
        _, a2 = finish(d, trigger(d, "a/id"))
    finally:
        d.stop()
    assert a2 == a1


def test_a_root_namespace_runs_as_root_and_a_mapped_one_as_its_user(tmp_path):
    d = Daemon(tmp_path / "data", args=["--root-namespaces", "ops", "--run-as",
                                        "mapped=nobody:nogroup"]).start()
    try:
        put(d, job("id", "ops", "id -u"))
        put(d, job("id", "mapped", "id -un; id -gn"))
        put(d, job("id", "other", "id -u"))
        _, ops = finish(d, trigger(d, "ops/id"))
        _, mapped = finish(d, trigger(d, "mapped/id"))
        _, other = finish(d, trigger(d, "other/id"))
    finally:
        d.stop()
    assert ops.strip() == "0"
    assert mapped.split() == ["nobody", "nogroup"]
    assert other.strip() not in ("0", "")


def test_the_fork_flood_stops_at_limits_processes(daemon):
    # each child sleeps, so the processes are alive at once: past the limit
    # fork fails (EAGAIN), and the job says how many it got
    flood = ("exec python3 -c 'import os, time\n"
             "pids = []\n"
             "for i in range(1000):\n"
             "    try:\n"
             "        p = os.fork()\n"
             "    except OSError as e:\n"
             "        print(\"refused\", e.errno)\n"
             "        break\n"
             "    if p == 0:\n"
             "        time.sleep(10)\n"
             "        os._exit(0)\n"
             "    pids.append(p)\n"
             "print(\"started=%d\" % len(pids))\n"
             "for p in pids:\n"
             "    os.kill(p, 9)\n'")
    put(daemon, job("flood", "a", flood, limits={"processes": 64}))
    r, out = finish(daemon, trigger(daemon, "a/flood"), timeout=60)
    m = re.search(r"started=(\d+)", out)
    assert m, (r, out)
    assert int(m.group(1)) < 64 and "refused 11" in out, out


def test_memory_and_cpu_limits_hold_for_a_job_user(daemon):
    """limits.memory and limits.cpu_time on a job that runs as its
    namespace's unprivileged user: the allocation past the limit fails
    inside the job, and the CPU spinner is stopped by the kernel."""
    hog = ("exec python3 -c 'import os\n"
           "print(\"uid\", os.getuid())\n"
           "try:\n"
           "    b = bytearray(256 * 1024 * 1024)\n"
           "    print(\"allocated\")\n"
           "except MemoryError:\n"
           "    print(\"refused\")\n'")
    put(daemon, job("hog", "a", hog, limits={"memory": "64M"}))
    r, out = finish(daemon, trigger(daemon, "a/hog"))
    assert "refused" in out and "allocated" not in out, (r, out)
    assert re.search(r"uid (\d+)", out) and "uid 0" not in out, out
    put(daemon, job("spin", "a", "while :; do :; done", limits={"cpu_time": "1s"},
                    timeout="60s"))
    r, out = finish(daemon, trigger(daemon, "a/spin"), timeout=60)
    # RLIMIT_CPU: SIGXCPU (24) at the soft limit, SIGKILL at the hard one
    assert r["state"] == "failed" and r["signal"] in (9, 24), r
    assert r["cpu_user_ms"] + r["cpu_sys_ms"] < 5000, r


def test_the_data_directory_and_its_files_are_private(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    d = Daemon(data).start()
    try:
        put(d, job("out", "a", "echo hi"))
        finish(d, trigger(d, "a/out"))
    finally:
        d.stop()
    # an older daemon's modes are tightened at start
    os.chmod(data / "chime.db", 0o644)
    os.chmod(data / "admin.token", 0o640)
    os.chmod(data, 0o755)
    d = Daemon(data, port=d.port).start()
    d.stop()
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
    for name in ("chime.db", "admin.token", "secret.key", "chime.lock"):
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o600, name
    for name in os.listdir(data / "runs"):
        assert stat.S_IMODE(os.stat(data / "runs" / name).st_mode) == 0o600, name
    for name in ("runs", "work"):
        assert stat.S_IMODE(os.stat(data / name).st_mode) == 0o700, name


@pytest.mark.parametrize("args, words", [
    (["--uid-range", "100-200"], "uid-range"),
    (["--uid-range", "70000-60000"], "uid-range"),
    (["--uid-range", "abc"], "not LO-HI"),
    (["--uid-range", "1000-99999999999"], "not LO-HI"),
    (["--run-as", "a=no-such-user-zz"], "no user"),
    (["--run-as", "a=root"], "root-namespaces"),
    (["--run-as", "a=nobody", "--run-as", "b=nobody"], "user of its own"),
    (["--run-as", "a=nobody", "--root-namespaces", "a"], "twice"),
    (["--run-as", "A..=nobody"], "run-as"),
    (["--run-as", "a=nobody:no-such-group-zz"], "no group"),
    (["--root-namespaces", "a,,b"], "root-namespaces"),
])
def test_bad_job_user_options_are_refused_before_anything_starts(tmp_path, args, words):
    data = tmp_path / "data"
    p = subprocess.run([CHIME, "serve", "--data-dir", str(data), "--listen", "127.0.0.1:1",
                        *args], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert words in p.stderr, p.stderr
    assert not data.exists()


def test_the_environment_gives_the_same_options(tmp_path):
    p = subprocess.run([CHIME, "serve", "--data-dir", str(tmp_path / "d")], capture_output=True,
                       text=True, timeout=30,
                       env=dict(os.environ, CHIME_RUN_AS="a=nobody,b=nobody"))
    assert p.returncode == 2 and "user of its own" in p.stderr, p.stderr
