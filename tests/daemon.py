"""A real `chime serve` for end-to-end tests: started on a free loopback
port with its own data directory, driven over real HTTP, stopped (or
killed) by the test. Waits are polls with a deadline, never sleeps."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import openapi

CHIME = os.environ.get("CHIME_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "build", "chime")


# The admin token of every daemon started here, by URL and by port, for
# CLI runs (conftest's chime fixture) and benchmark clients.
TOKENS = {}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=15.0, interval=0.02):
    """Polls CHECK until it returns something truthy; fails after TIMEOUT."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Daemon:
    def __init__(self, data_dir, args=(), env=None, port=None):
        self.data_dir = str(data_dir)
        self.port = port or free_port()
        self.args = list(args)
        # jobs of "default" run as root, as before privilege separation: the
        # tests hand them paths under tmp_path (0700, root's) and read what
        # they leave there; tests/test_privsep.py covers the other namespaces
        self.env = dict(os.environ, TZ="UTC", CHIME_ROOT_NAMESPACES="default")
        self.env.update(env or {})
        self.proc = None
        self.token = None
        self.log = os.path.join(self.data_dir, "..", f"daemon-{self.port}.log")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, started=True):
        """Starts the daemon and waits for /healthz; with STARTED also for
        start-up's end (/healthz no longer "starting": the jobs directory
        is applied after /healthz answers, before the engine's first tick)."""
        os.makedirs(self.data_dir, exist_ok=True)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [CHIME, "serve", "--data-dir", self.data_dir,
             "--listen", f"127.0.0.1:{self.port}", *self.args],
            stdout=self.logf, stderr=self.logf, env=self.env)
        wait_for("the daemon to answer /healthz", self.healthy)
        if started:
            wait_for("start-up to end", lambda: not self.starting(), timeout=60)
        # the daemon writes its admin token before it answers at all
        with open(os.path.join(self.data_dir, "admin.token")) as f:
            self.token = f.read().strip()
        TOKENS[self.url] = TOKENS[self.port] = self.token
        return self

    def cli_env(self, token=None):
        """The environment for `chime` commands against this daemon."""
        return {"CHIME_URL": self.url, "CHIME_TOKEN": token or self.token}

    def healthy(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"chime serve exited {self.proc.returncode}: {self.logtext()}")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def starting(self):
        """Whether /healthz says start-up has not ended."""
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=5) as r:
                body = json.loads(r.read().decode())
        except urllib.error.HTTPError as e:     # 503: failing, same body
            body = json.loads(e.read().decode())
        return (body["checks"]["loop"]["reason"] or "").startswith("starting")

    def logtext(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        if hasattr(self, "logf"):
            self.logf.close()
        return self.proc.returncode

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.logf.close()

    def request(self, method, path, body=None, headers=None, raw=None, token=True):
        """METHOD PATH with the admin token (TOKEN=True), another token
        (a string) or none (None or False)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token is True:
            token = self.token
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, reply_headers, text = r.status, r.headers, r.read().decode()
                body = (json.loads(text) if text and
                        r.headers.get_content_type().endswith("json") else text)
        except urllib.error.HTTPError as e:
            status, reply_headers, text = e.code, e.headers, e.read().decode()
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        self.check_reply(method, path, status, reply_headers, body)
        return status, body

    def check_reply(self, method, path, status, headers, body):
        """Checks a reply against the OpenAPI document the daemon serves
        (tests/openapi.py), unless CHIME_OPENAPI_CHECK=0."""
        if os.environ.get("CHIME_OPENAPI_CHECK") == "0":
            return
        try:
            doc = openapi.served(self.url, self.token)
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            return  # not served now (the daemon is stopping, say): the next reply checks
        doc.check(method, path, status, dict(headers.items()), body, headers.get("Content-Type"))

    def raw_status(self, head):
        """Sends HEAD (bytes: a request line and headers) as it is and
        returns the status line's code, or None when the daemon closes the
        connection without one."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(head)
            data = b""
            try:
                while b"\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
        return int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.") else None

    def put_job(self, doc):
        status, body = self.request("POST", "/api/v1/jobs", doc)
        assert status == 201, (status, body)
        return body

    def runs(self, job=None, **filters):
        q = "&".join(f"{k}={v}" for k, v in ({"job": job} if job else {}).items())
        extra = "&".join(f"{k}={v}" for k, v in filters.items())
        path = "/api/v1/runs?limit=1000" + (f"&{q}" if q else "") + (f"&{extra}" if extra else "")
        status, body = self.request("GET", path)
        assert status == 200, (status, body)
        return body["items"]

    def run(self, run_id):
        status, body = self.request("GET", f"/api/v1/runs/{run_id}")
        assert status == 200, (status, body)
        return body

    def wait_run(self, run_id, states=("succeeded", "failed", "timed_out", "cancelled", "lost"),
                 timeout=20):
        return wait_for(f"run {run_id} to end",
                        lambda: (r := self.run(run_id))["state"] in states and r, timeout)

    def trigger(self, job, params=None):
        status, body = self.request("POST", f"/api/v1/jobs/{job}/trigger",
                                    {"params": params} if params else {})
        assert status == 202, (status, body)
        return body["run_id"]

    def output(self, run_id):
        status, body = self.request("GET", f"/api/v1/runs/{run_id}/output")
        assert status in (200, 206), (status, body)
        return body
