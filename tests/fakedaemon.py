"""A fake chime daemon: canned answers on 127.0.0.1 for CLI tests.

Routes map (METHOD, PATH) to an answer; an answer is one of the helpers
below, or a function of the request returning one. Every request is kept
in .requests, so a test can check what the CLI sent (or that it sent
nothing). Unknown routes answer 404 with a problem document."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class Request:
    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query          # {key: [values]}
        self.headers = headers      # case-insensitive (email.message.Message)
        self.body = body            # bytes

    def json(self):
        return json.loads(self.body)


class Answer:
    def __init__(self, status=200, body=b"", ctype="application/json", headers=None):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.ctype = ctype
        self.headers = headers or {}

    def send(self, h, req):
        h.send_response(self.status)
        h.send_header("Content-Type", self.ctype)
        h.send_header("Content-Length", str(len(self.body)))
        for k, v in self.headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(self.body)


def js(obj, status=200):
    return Answer(status, json.dumps(obj))


def problem(status, detail, field=None, title="Invalid"):
    doc = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if field is not None:
        doc["field"] = field
    return Answer(status, json.dumps(doc), "application/problem+json")


def text(body, status=200, ctype="text/plain; charset=utf-8"):
    return Answer(status, body, ctype)


class RangedText(Answer):
    """Plain text that honours "Range: bytes=N-" as the daemon does."""

    def __init__(self, body):
        super().__init__(200, body, "text/plain")

    def send(self, h, req):
        rng = req.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(self.body):
                return problem(416, "nothing past byte %d" % start).send(h, req)
            Answer(206, self.body[start:], "text/plain").send(h, req)
        else:
            Answer(200, self.body, "text/plain").send(h, req)


class Events(Answer):
    """A text/event-stream: EVENTS are (name, data, id) triples (name or id
    None to leave the field out), raw strings sent as they are, or numbers
    (seconds to pause). The stream closes after the last one."""

    def __init__(self, events, gap=0.02):
        super().__init__(200, b"", "text/event-stream")
        self.events = events
        self.gap = gap

    def send(self, h, req):
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.end_headers()
        h.wfile.flush()
        for ev in self.events:
            if isinstance(ev, (int, float)):
                time.sleep(ev)
                continue
            if isinstance(ev, str):
                chunk = ev
            else:
                name, data, eid = ev
                chunk = ""
                if name:
                    chunk += "event: %s\n" % name
                if eid is not None:
                    chunk += "id: %s\n" % eid
                for line in data.split("\n"):
                    chunk += "data: %s\n" % line
                chunk += "\n"
            try:
                h.wfile.write(chunk.encode())
                h.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            time.sleep(self.gap)


class FakeDaemon:
    def __init__(self):
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        daemon = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _any(self):
                parts = urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                req = Request(self.command, parts.path, parse_qs(parts.query), self.headers,
                              body)
                with daemon.lock:
                    daemon.requests.append(req)
                    ans = daemon.routes.get((self.command, parts.path))
                if callable(ans):
                    ans = ans(req)
                if ans is None:
                    ans = problem(404, "no route %s %s" % (self.command, parts.path),
                                  title="Not Found")
                ans.send(self, req)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def route(self, method, path, answer):
        with self.lock:
            self.routes[(method, path)] = answer

    def sequence(self, method, path, answers):
        """Answers in turn, the last one again and again."""
        left = list(answers)

        def next_answer(req):
            return left.pop(0) if len(left) > 1 else left[0]
        self.route(method, path, next_answer)

    def sent(self, method=None, path=None):
        with self.lock:
            return [r for r in self.requests
                    if (method is None or r.method == method) and (path is None or r.path == path)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
