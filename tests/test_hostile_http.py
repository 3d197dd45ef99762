"""The API under hostile clients, end to end: slow connections from many
addresses, NUL bytes in a request, existence oracles between namespaces,
memory after large requests. A real daemon over real sockets; waits are
polls with a deadline, loads are bounded in count and time."""
import http.client
import socket
import threading
import time

import pytest

from daemon import Daemon, wait_for

HEAD_TIMEOUT = 2  # seconds: --api-head-timeout of the daemons here


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path / "data", args=["--api-head-timeout", f"{HEAD_TIMEOUT}s"]).start()
    yield d
    d.stop()


def job(name, ns="default", **fields):
    doc = {"name": name, "namespace": ns, "schedule": {"manual": True}, "shell": "true"}
    doc.update(fields)
    return doc


def make_token(d, name, role, namespaces=None):
    body = {"name": name, "role": role}
    if namespaces is not None:
        body["namespaces"] = namespaces
    status, tok = d.request("POST", "/api/v1/tokens", body)
    assert status == 201, tok
    return tok["secret"]


def get(d, path, token, timeout=3, source="127.0.0.1"):
    """(status, body text) of GET PATH, on a connection of its own."""
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=timeout,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def closed_by_peer(s):
    """Whether the daemon has closed S: recv sees the end or a reset."""
    try:
        return s.recv(4096) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except (BlockingIOError, socket.timeout):
        return False


# ---- slow clients ----

def test_slow_connections_from_six_addresses_leave_the_api_answering(daemon):
    daemon.put_job(job("tick", schedule={"every": "1s"}))
    runs_before = len(daemon.runs("default/tick"))
    # 300 connections, 50 from each of 127.0.0.1-6, each trickling its head
    slow = []
    for i in range(300):
        s = socket.socket()
        s.bind((f"127.0.0.{i % 6 + 1}", 0))
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", daemon.port))
            s.sendall(b"GET /api/v1/jobs HTTP/1.1\r\nHost: x\r\n")
        except OSError:
            pass  # refused at once: that is not holding anything
        s.setblocking(False)
        slow.append(s)
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            for s in slow:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            stop.wait(0.3)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        # a well-behaved client, from one of the same addresses and from
        # another, is answered throughout, past several head deadlines
        failures, served = [], 0
        end = time.monotonic() + 3 * HEAD_TIMEOUT
        while time.monotonic() < end:
            for source in ("127.0.0.1", "127.0.0.9"):
                try:
                    status, body = get(daemon, "/api/v1/jobs", daemon.token, source=source)
                    if status == 200:
                        served += 1
                    else:
                        failures.append((source, status, body[:200]))
                except OSError as e:
                    failures.append((source, repr(e)))
        assert failures == [] and served > 10, (failures[:5], served)
        # the job kept firing meanwhile
        wait_for("the job to go on firing",
                 lambda: len(daemon.runs("default/tick")) >= runs_before + 2, timeout=10)
        # every slow client has been cut off: the daemon closed its socket,
        # however it trickles
        wait_for("every slow connection to be closed by the daemon",
                 lambda: all(closed_by_peer(s) for s in slow), timeout=2 * HEAD_TIMEOUT + 5)
    finally:
        stop.set()
        t.join(5)
        for s in slow:
            s.close()
    assert get(daemon, "/healthz", daemon.token)[0] == 200


def test_a_request_head_that_never_ends_is_cut_at_its_deadline(daemon):
    s = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    start = time.monotonic()
    s.setblocking(False)

    def cut():
        # a byte each look keeps an idle timeout away, not the deadline
        try:
            s.send(b"X")
        except OSError:
            return True
        return closed_by_peer(s)

    try:
        wait_for("the slow head to be cut", cut, timeout=HEAD_TIMEOUT + 5, interval=0.2)
        assert time.monotonic() - start >= HEAD_TIMEOUT - 0.5
    finally:
        s.close()
