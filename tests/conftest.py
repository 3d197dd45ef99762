"""Shared helpers for end-to-end tests of the real chime binary."""
import os
import subprocess

import pytest

CHIME = os.environ.get("CHIME_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "build", "chime")


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.lines = proc.stdout.splitlines()


@pytest.fixture
def chime():
    """Runs `chime ARGS...` and returns its exit code, stdout and stderr."""
    def run(*args, env=None, timeout=30):
        from daemon import TOKENS
        full_env = dict(os.environ, TZ="UTC")
        full_env.update(env or {})
        # a daemon of tests/daemon.py: its admin token, unless one is given
        if "CHIME_TOKEN" not in (env or {}) and full_env.get("CHIME_URL") in TOKENS:
            full_env["CHIME_TOKEN"] = TOKENS[full_env["CHIME_URL"]]
        proc = subprocess.run([CHIME, *args], capture_output=True, text=True,
                              errors="replace", env=full_env, timeout=timeout)
        return Result(proc)
    return run


@pytest.fixture
def daemon(tmp_path):
    """A real `chime serve` on a fresh data directory (tests/daemon.py),
    stopped after the test; a test file may define its own."""
    from daemon import Daemon
    d = Daemon(tmp_path / "data").start()
    yield d
    d.stop()


@pytest.fixture
def fake_daemon():
    """A fake daemon on 127.0.0.1 with canned answers (tests/fakedaemon.py)."""
    from fakedaemon import FakeDaemon
    d = FakeDaemon()
    yield d
    d.close()


@pytest.fixture
def chime_at(fake_daemon):
    """Runs `chime ARGS...` with CHIME_URL at the fake daemon, INPUT on stdin."""
    def run(*args, env=None, input=None, timeout=30):
        full_env = dict(os.environ, TZ="UTC", CHIME_URL=fake_daemon.url)
        full_env.pop("CHIME_TOKEN", None)
        # no admin.token of a ./chime-data either: the fake sees no token
        full_env["CHIME_DATA_DIR"] = os.path.join(os.path.dirname(__file__), "no-such-data-dir")
        full_env.update(env or {})
        proc = subprocess.run([CHIME, *args], capture_output=True, text=True,
                              errors="replace", env=full_env, input=input, timeout=timeout)
        return Result(proc)
    return run
