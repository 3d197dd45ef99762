"""Notifications end to end: a real daemon, real receivers on 127.0.0.1
(an HTTP server in a thread, an aiosmtpd SMTP server), and endpoints that
are down, hang, fail or redirect forever. Waits are polls with deadlines."""
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from daemon import CHIME, Daemon, free_port, wait_for

SECRET = "s3cret-for-tests"
FAST_RETRY = {"backoff": "200ms", "factor": 2, "max_backoff": "1s", "jitter": 0.2,
              "max_attempts": 40}


class Receiver:
    """An HTTP endpoint recording every POST. MODE: ok, 500, redirect."""

    def __init__(self, port=0, mode="ok"):
        self.mode = mode
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append((self.path, self.headers, body))
                if receiver.mode == "500":
                    self.send_response(500)
                    out = b"broken"
                elif receiver.mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{receiver.port}/again")
                    out = b""
                else:
                    self.send_response(200)
                    out = b"ok"
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def bodies(self):
        with self.lock:
            return [json.loads(b) for _, _, b in self.requests]

    def count(self):
        with self.lock:
            return len(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Hang:
    """A port that accepts connections and never answers."""

    def __init__(self, port=0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)        # read nothing, answer nothing

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self):
        self.stop = True
        for c in self.conns:
            c.close()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)    # wakes the accept
        except OSError:
            pass
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.fixture
def receivers():
    made = []

    def make(*args, **kw):
        r = Receiver(*args, **kw)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def write_channels(path, channels):
    with open(path, "w") as f:
        json.dump({"channels": channels}, f)
    return str(path)


def webhook(url, **extra):
    return {"kind": "webhook", "url": url, "secret": SECRET, "timeout": "3s",
            "connect_timeout": "1s", "retry": dict(FAST_RETRY), **extra}


def job(name, command, notify, schedule=None):
    return {"name": name, "schedule": schedule or {"manual": True}, "command": command,
            "notify": notify}


def notifications(d, **filters):
    q = "&".join(f"{k}={v}" for k, v in filters.items())
    status, body = d.request("GET", "/api/v1/notifications?limit=1000" + (f"&{q}" if q else ""))
    assert status == 200, (status, body)
    return body["items"]


def start(tmp_path, channels_file, name="data", **kw):
    return Daemon(tmp_path / name, args=["--channels", channels_file], **kw).start()


def test_webhook_is_signed_and_carries_its_delivery_id(tmp_path, receivers, chime):
    r = receivers()
    d = start(tmp_path, write_channels(tmp_path / "ch.json", {"hook": webhook(r.url)}))
    try:
        d.put_job(job("boom", ["sh", "-c", "echo bad; exit 3"],
                      {"on_failure": ["hook"], "on_success": ["hook"]}))
        run_id = d.trigger("default/boom")
        wait_for("the failure to arrive", lambda: r.count() >= 1)
        path, headers, body = r.requests[0]
        want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Chime-Signature"] == want
        doc = json.loads(body)
        assert headers["X-Chime-Delivery"] == doc["delivery_id"]
        assert len(doc["delivery_id"]) == 32
        assert headers["X-Chime-Event"] == "failure"
        assert headers["Content-Type"] == "application/json"
        assert doc["event"] == "failure" and doc["job"] == "default/boom"
        assert doc["channel"] == "hook"
        assert doc["run"]["id"] == run_id and doc["run"]["exit_code"] == 3
        assert doc["run"]["state"] == "failed"
        assert doc["summary"] == f"job default/boom failed: run {run_id} (attempt 1) exited with code 3"
        # the outbox: delivered once, with the same delivery id
        items = wait_for("the outbox to say delivered",
                         lambda: [n for n in notifications(d) if n["state"] == "delivered"])
        assert len(items) == 1
        n = items[0]
        assert n["delivery_id"] == doc["delivery_id"] and n["attempts"] == 1
        assert n["last_status"] == 200 and n["run_id"] == run_id and n["event"] == "failure"
        status, one = d.request("GET", f"/api/v1/notifications/{n['id']}")
        assert status == 200 and one["delivery_id"] == n["delivery_id"]
        # the CLI: a table and JSON
        env = d.cli_env()
        res = chime("notifications", env=env)
        assert res.code == 0, res.err
        assert "delivered" in res.out and "default/boom" in res.out and "hook" in res.out
        res = chime("notifications", "--state", "delivered", "--json", env=env)
        assert res.code == 0 and json.loads(res.out)["items"][0]["id"] == n["id"]
        res = chime("notifications", "--state", "bogus", env=env)
        assert res.code == 2 and "not a notification state" in res.err
        res = chime("channels", env=env)
        assert res.code == 0 and "hook" in res.out and "webhook" in res.out
        assert SECRET not in res.out
        # filters
        assert notifications(d, state="pending") == []
        assert len(notifications(d, channel="hook", job="default/boom")) == 1
        status, body = d.request("GET", "/api/v1/notifications?state=nope")
        assert status == 400 and body["field"] == "state"
    finally:
        d.stop()


def test_a_job_naming_an_unknown_channel_is_refused(tmp_path, receivers):
    r = receivers()
    d = start(tmp_path, write_channels(tmp_path / "ch.json", {
        "hook": webhook(r.url),
        "sales-only": webhook(r.url, namespaces=["sales"])}))
    try:
        status, body = d.request("POST", "/api/v1/jobs",
                                 job("a", ["true"], {"on_failure": ["hook", "pager"]}))
        assert status == 400, body
        assert body["field"] == "notify.on_failure[1]"
        assert "'pager' is not a channel" in body["detail"]
        status, body = d.request("POST", "/api/v1/jobs",
                                 job("b", ["true"], {"on_success": ["sales-only"]}))
        assert status == 400 and body["field"] == "notify.on_success[0]", body
        doc = job("b", ["true"], {"on_success": ["sales-only"]})
        doc["namespace"] = "sales"
        d.put_job(doc)
        # nothing of the refused job was saved
        status, _ = d.request("GET", "/api/v1/jobs/default/a")
        assert status == 404
        status, body = d.request("GET", "/api/v1/channels")
        assert status == 200 and [c["name"] for c in body["items"]] == ["hook", "sales-only"]
        assert body["items"][0]["signed"] is True
        assert SECRET not in json.dumps(body)
        # the OpenAPI document has the routes
        status, doc = d.request("GET", "/api/v1/openapi.json")
        assert "/api/v1/notifications" in doc["paths"]
        assert "/api/v1/notifications/{notification_id}/retry" in doc["paths"]
        assert "/api/v1/channels" in doc["paths"]
        assert "Notification" in doc["components"]["schemas"]
    finally:
        d.stop()


@pytest.mark.parametrize("channel, message", [
    ({"kind": "pager", "url": "https://x"}, "unknown kind 'pager'"),
    ({"kind": "webhook"}, "url is missing"),
    ({"kind": "webhook", "url": "ftp://example.com/x"}, "is not a http:// or https:// url"),
    ({"kind": "email", "url": "http://x", "from": "a@b", "to": ["c@d"]},
     "is not a smtp:// or smtps:// url"),
    ({"kind": "email", "url": "smtp://x", "to": ["c@d"]}, "from is missing"),
])
def test_bad_channel_definitions_stop_the_daemon_with_a_clear_error(tmp_path, chime, channel,
                                                                      message):
    path = write_channels(tmp_path / "ch.json", {"ops": channel})
    res = chime("serve", "--data-dir", str(tmp_path / "data"), "--listen", "127.0.0.1:0",
                "--channels", path)
    assert res.code == 2
    assert message in res.err and "channels.ops" in res.err and "ch.json" in res.err


def test_a_receiver_that_is_down_gets_every_event_once_when_it_is_back(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    d = start(tmp_path, write_channels(tmp_path / "ch.json", {"hook": webhook(url)}))
    r = None
    try:
        d.put_job(job("ok", ["true"], {"on_success": ["hook"]}))
        runs = []
        for _ in range(5):      # one after the other: the job forbids overlaps
            runs.append(d.trigger("default/ok"))
            d.wait_run(runs[-1])
        # down: every notification fails at least twice, and stays pending
        wait_for("failed attempts while the receiver is down",
                 lambda: len([n for n in notifications(d) if n["attempts"] >= 2]) == 5)
        items = notifications(d)
        assert all(n["state"] in ("pending", "delivering") for n in items)
        assert any(n["last_error"] for n in items)
        r = Receiver(port=port)
        items = wait_for("all delivered after the receiver is back",
                         lambda: (ns := notifications(d))
                         and all(n["state"] == "delivered" for n in ns) and ns, timeout=30)
        assert len(items) == 5
        got = {}
        for b in r.bodies():
            got.setdefault(b["delivery_id"], b)
        # deduplicated by delivery id: each event exactly once, none missing
        assert set(got) == {n["delivery_id"] for n in items}
        assert sorted(b["run"]["id"] for b in got.values()) == sorted(runs)
        assert all(b["event"] == "success" for b in got.values())
    finally:
        d.stop()
        if r:
            r.close()


def test_a_hanging_endpoint_times_out_and_scheduling_keeps_time(tmp_path):
    hang = Hang()
    chans = {"slow": {"kind": "webhook", "url": hang.url, "timeout": "1s",
                      "connect_timeout": "1s", "retry": {"max_attempts": 2, "backoff": "100ms"}}}
    d = start(tmp_path, write_channels(tmp_path / "ch.json", chans))
    try:
        d.put_job(job("tick", ["true"], {"on_success": ["slow"]}, schedule={"every": "1s"}))
        wait_for("a delivery to time out", lambda: any(
            "timed out" in (n["last_error"] or "") for n in notifications(d)), timeout=20)
        first = len(d.runs("default/tick"))
        wait_for("four more fires", lambda: len(d.runs("default/tick")) >= first + 4,
                 timeout=20)
        # ended runs only: the next fire is recorded up to 25 ms ahead of its
        # instant (docs/sched.md) and has not started yet
        runs = sorted((r for r in d.runs("default/tick") if r["finished_at"]),
                      key=lambda r: r["fire_time"])[-5:]
        fires = [iso(r["fire_time"]) for r in runs]
        # one fire a second, none skipped, each started on time
        assert all(abs(b - a - 1.0) < 0.01 for a, b in zip(fires, fires[1:])), fires
        for r in runs:
            assert r["started_at"] and iso(r["started_at"]) - iso(r["fire_time"]) < 0.5, r
        failed = wait_for("a notification to give up", lambda: [
            n for n in notifications(d, state="failed")], timeout=20)
        assert failed[0]["attempts"] == 2
        assert "gave up after 2 attempts: timed out" in failed[0]["last_error"]
    finally:
        d.stop()
        hang.close()


def iso(text):
    from datetime import datetime
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def test_500_is_retried_then_failed_and_a_redirect_loop_is_not_followed(tmp_path, receivers,
                                                                        chime):
    bad, loop = receivers(mode="500"), receivers(mode="redirect")
    d = start(tmp_path, write_channels(tmp_path / "ch.json", {
        "bad": webhook(bad.url, retry={"max_attempts": 3, "backoff": "100ms"}),
        "loop": webhook(loop.url, retry={"max_attempts": 3, "backoff": "100ms"})}))
    try:
        d.put_job(job("f", ["false"], {"on_failure": ["bad", "loop"]}))
        d.trigger("default/f")
        items = wait_for("both to fail for good", lambda: (ns := notifications(d, state="failed"))
                         and len(ns) == 2 and ns, timeout=20)
        by = {n["channel"]: n for n in items}
        assert by["bad"]["attempts"] == 3 and by["bad"]["last_status"] == 500
        assert "gave up after 3 attempts: HTTP 500: broken" == by["bad"]["last_error"]
        assert bad.count() == 3
        assert by["loop"]["attempts"] == 1 and by["loop"]["last_status"] == 302
        assert "redirect" in by["loop"]["last_error"] and "not followed" in by["loop"]["last_error"]
        assert loop.count() == 1
        # sent again by hand: the same delivery id, attempts counted anew
        loop.mode = "ok"
        res = chime("notifications", "retry", str(by["loop"]["id"]), env=d.cli_env())
        assert res.code == 0, res.err
        n = wait_for("the retried one to be delivered", lambda: (
            x := d.request("GET", f"/api/v1/notifications/{by['loop']['id']}")[1])
            ["state"] == "delivered" and x)
        assert n["attempts"] == 1 and n["delivery_id"] == by["loop"]["delivery_id"]
        assert loop.bodies()[-1]["delivery_id"] == n["delivery_id"]
        status, body = d.request("POST", f"/api/v1/notifications/{n['id']}/retry")
        assert status == 409, body          # only a failed one
        status, body = d.request("POST", "/api/v1/notifications/999999/retry")
        assert status == 404
    finally:
        d.stop()


def test_slack_gets_an_incoming_webhook_message(tmp_path, receivers):
    r = receivers()
    d = start(tmp_path, write_channels(tmp_path / "ch.json", {
        "chat": {"kind": "slack", "url": r.url}}))
    try:
        d.put_job(job("s", ["true"], {"on_success": ["chat"]}))
        run_id = d.trigger("default/s")
        wait_for("the message", lambda: r.count() == 1)
        msg = r.bodies()[0]
        assert msg["text"] == f":white_check_mark: job default/s succeeded: run {run_id} (attempt 1)"
        assert msg["attachments"][0]["fields"][0] == {"title": "Job", "value": "default/s",
                                                      "short": True}
    finally:
        d.stop()


def test_email_reaches_a_real_smtp_server(tmp_path):
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append(envelope)
            return "250 OK"

    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    d = start(tmp_path, write_channels(tmp_path / "ch.json", {"mail": {
        "kind": "email", "url": f"smtp://127.0.0.1:{port}", "from": "chime@example.com",
        "to": ["ops@example.com", "oncall@example.com"], "subject": "[chime] {job} {event}",
        "timeout": "5s"}}))
    try:
        d.put_job(job("m", ["sh", "-c", "exit 7"], {"on_failure": ["mail"]}))
        run_id = d.trigger("default/m")
        wait_for("the mail", lambda: inbox.messages)
        env = inbox.messages[0]
        assert env.mail_from == "chime@example.com"
        assert sorted(env.rcpt_tos) == ["oncall@example.com", "ops@example.com"]
        text = env.content.decode()
        assert "Subject: [chime] default/m failure\r\n" in text
        n = wait_for("delivered", lambda: notifications(d, state="delivered"))[0]
        assert f"X-Chime-Delivery: {n['delivery_id']}\r\n" in text
        assert f"job default/m failed: run {run_id} (attempt 1) exited with code 7" in text
        assert "Exit code: 7" in text
    finally:
        d.stop()
        smtp.stop()


def test_undelivered_rows_survive_a_restart(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    chans = write_channels(tmp_path / "ch.json", {"hook": webhook(url)})
    d = start(tmp_path, chans)
    r = None
    try:
        d.put_job(job("ok", ["true"], {"on_success": ["hook"]}))
        runs = []
        for _ in range(3):
            runs.append(d.trigger("default/ok"))
            d.wait_run(runs[-1])
        wait_for("attempts while down", lambda: len(
            [n for n in notifications(d) if n["attempts"] >= 1 and n["last_error"]]) == 3)
        assert d.stop() == 0
        r = Receiver(port=port)
        d = Daemon(tmp_path / "data", args=["--channels", chans], port=d.port).start()
        items = wait_for("delivered after the restart", lambda: (
            ns := notifications(d)) and all(n["state"] == "delivered" for n in ns) and ns)
        assert sorted(n["run_id"] for n in items) == sorted(runs)
        ids = {b["delivery_id"] for b in r.bodies()}
        assert ids == {n["delivery_id"] for n in items}
    finally:
        d.stop()
        if r:
            r.close()


def test_a_delivery_cut_by_kill_9_is_sent_again_after_the_restart(tmp_path):
    hang = Hang()
    port = hang.port
    chans = write_channels(tmp_path / "ch.json", {"hook": {
        "kind": "webhook", "url": hang.url, "timeout": "60s", "connect_timeout": "5s"}})
    d = start(tmp_path, chans)
    r = None
    try:
        d.put_job(job("ok", ["true"], {"on_success": ["hook"]}))
        run_id = d.trigger("default/ok")
        n = wait_for("the delivery to hang", lambda: notifications(d, state="delivering"))[0]
        assert n["attempts"] == 1
        d.kill9()
        hang.close()
        r = Receiver(port=port)
        d = Daemon(tmp_path / "data", args=["--channels", chans], port=d.port).start()
        n = wait_for("delivered after the restart",
                     lambda: notifications(d, state="delivered"))[0]
        assert n["attempts"] == 2 and n["run_id"] == run_id
        assert [b["delivery_id"] for b in r.bodies()] == [n["delivery_id"]]
        assert r.requests[0][1]["X-Chime-Attempt"] == "2"
    finally:
        d.stop()
        if r:
            r.close()


def test_sighup_reloads_the_channels(tmp_path, receivers):
    r = receivers()
    path = write_channels(tmp_path / "ch.json", {"hook": webhook(r.url)})
    d = start(tmp_path, path)
    try:
        doc = job("late", ["true"], {"on_success": ["later"]})
        status, body = d.request("POST", "/api/v1/jobs", doc)
        assert status == 400 and "'later' is not a channel" in body["detail"]
        write_channels(tmp_path / "ch.json", {"hook": webhook(r.url), "later": webhook(r.url)})
        d.proc.send_signal(signal.SIGHUP)
        wait_for("the new channel", lambda: "later" in [
            c["name"] for c in d.request("GET", "/api/v1/channels")[1]["items"]])
        d.put_job(doc)
        # a bad file is logged and the channels in use stay
        with open(tmp_path / "ch.json", "w") as f:
            f.write("{not json")
        d.proc.send_signal(signal.SIGHUP)
        wait_for("the refusal in the log", lambda: "not reloaded" in d.logtext())
        assert len(d.request("GET", "/api/v1/channels")[1]["items"]) == 2
    finally:
        d.stop()


def test_every_event_kind_reaches_the_receiver(tmp_path, receivers):
    r = receivers()
    d = start(tmp_path, write_channels(tmp_path / "ch.json", {"hook": webhook(r.url)}))
    every = ["hook"]
    notify = {f"on_{e}": every for e in ("failure", "success", "timeout", "retry", "recovery",
                                         "disabled")}
    flag = tmp_path / "flag"
    try:
        # timeout and retry, then the last attempt's failure
        doc = job("slow", ["sleep", "30"], notify)
        doc.update(timeout="300ms", kill_grace="100ms",
                   retry={"max_attempts": 2, "backoff": "100ms"})
        d.put_job(doc)
        d.trigger("default/slow")
        wait_for("timeout, retry, timeout, failure", lambda: sorted(
            b["event"] for b in r.bodies()) == ["failure", "retry", "timeout", "timeout"],
            timeout=20)
        by = {(b["event"], b["run"]["attempt"]): b for b in r.bodies()}
        assert by[("retry", 1)]["run"]["state"] == "timed_out"
        assert by[("failure", 2)]["run"]["state"] == "timed_out"
        assert by[("failure", 2)]["summary"].endswith("timed out")
        # a failure that pauses the job
        doc = job("pausing", ["false"], notify)
        doc["disable_after_failures"] = 1
        d.put_job(doc)
        failed = d.trigger("default/pausing")
        wait_for("disabled", lambda: "disabled" in [b["event"] for b in r.bodies()])
        disabled = [b for b in r.bodies() if b["event"] == "disabled"][0]
        assert disabled["job"] == "default/pausing" and disabled["run"] is None
        status, view = d.request("GET", "/api/v1/jobs/default/pausing")
        assert view["paused"] is True
        # a failure, then the first success after it: a recovery
        d.put_job(job("flaky", ["sh", "-c", f"test -f {flag} || {{ touch {flag}; exit 1; }}"],
                      notify))
        first = d.trigger("default/flaky")
        d.wait_run(first)
        second = d.trigger("default/flaky")
        wait_for("recovery and success", lambda: {"recovery", "success"} <= {
            b["event"] for b in r.bodies() if b["job"] == "default/flaky"})
        got = {(b["event"], b["run"]["id"] if b["run"] else None)
               for b in r.bodies() if b["job"] != "default/slow"}
        assert got == {("failure", failed), ("disabled", None), ("failure", first),
                       ("recovery", second), ("success", second)}
        # the outbox agrees: every one delivered, once
        items = wait_for("all delivered", lambda: (ns := notifications(d)) and all(
            n["state"] == "delivered" for n in ns) and ns)
        assert len(items) == 9 == len({n["delivery_id"] for n in items})
    finally:
        d.stop()
