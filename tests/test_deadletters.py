"""Dead letters end to end: the reason is the last attempt's outcome, and
`chime dead-letters`, `chime requeue` and `chime cancel` against a real
daemon, with bad and foreign ids."""
import json

import pytest

from daemon import wait_for


def cli(chime, d, *args, token=None):
    return chime(*args, env=d.cli_env(token))


def dead_letters(d):
    status, body = d.request("GET", "/api/v1/dead-letters")
    assert status == 200, body
    return body["items"]


def failing(d, name="flaky", ns="default", code=3):
    d.put_job({"name": name, "namespace": ns, "schedule": {"manual": True},
               "shell": f"echo attempt $CHIME_ATTEMPT; exit {code}",
               "retry": {"max_attempts": 2, "backoff": "1s"}})
    first = d.trigger(f"{ns}/{name}")
    runs = wait_for("two failed attempts", lambda: (rs := [
        r for r in d.runs(f"{ns}/{name}") if r["state"] == "failed"]) and len(rs) == 2 and rs)
    last = max(runs, key=lambda r: r["attempt"])
    assert last["attempt"] == 2 and last["exit_code"] == code and first != last["id"]
    return wait_for("the dead letter", lambda: [
        x for x in dead_letters(d) if x["run_id"] == last["id"]])[0]


def test_a_dead_letter_says_how_the_last_attempt_ended(daemon, chime):
    letter = failing(daemon)
    assert letter["job"] == "default/flaky"
    assert letter["reason"] == "failed (exit code 3) after 2 attempts", letter
    # the CLI's table and JSON show the same letter
    r = cli(chime, daemon, "dead-letters")
    assert r.code == 0, r.err
    head, *rows = r.lines
    assert head.split() == ["RUN", "JOB", "FIRE", "TIME", "DEAD", "SINCE", "REASON"]
    assert len(rows) == 1 and rows[0].split()[0] == str(letter["run_id"])
    assert rows[0].endswith("failed (exit code 3) after 2 attempts")
    r = cli(chime, daemon, "dead-letters", "flaky", "--json")
    assert r.code == 0, r.err
    assert [x["run_id"] for x in json.loads(r.out)["items"]] == [letter["run_id"]]
    r = cli(chime, daemon, "dead-letters", "other")
    assert r.code == 1 and "job 'default/other' does not exist" in r.err, r.err


def test_a_dead_letter_of_a_killed_run_names_the_signal(daemon):
    daemon.put_job({"name": "killed", "schedule": {"manual": True}, "shell": "kill -9 $$"})
    rid = daemon.trigger("default/killed")
    assert daemon.wait_run(rid)["state"] == "failed"
    letter = wait_for("the dead letter", lambda: dead_letters(daemon))[0]
    assert letter["reason"] == "failed (signal 9) after 1 attempt", letter


def test_dead_letters_pages_with_limit(daemon, chime):
    for name in ["a", "b"]:
        daemon.put_job({"name": name, "schedule": {"manual": True}, "shell": "exit 1"})
        daemon.wait_run(daemon.trigger(f"default/{name}"))
    wait_for("two dead letters", lambda: len(dead_letters(daemon)) == 2)
    r = cli(chime, daemon, "dead-letters", "--limit", "1")
    assert r.code == 0, r.err
    assert len(r.lines) == 2 and "the first 1 dead letters shown (--limit N for more)" in r.err
    for bad in ["0", "1001", "x", "-1"]:
        r = cli(chime, daemon, "dead-letters", "--limit", bad)
        assert r.code == 2 and "limit" in r.err, (bad, r.err)
    r = cli(chime, daemon, "dead-letters", "Bad/Name!")
    assert r.code == 2 and "job" in r.err
    assert cli(chime, daemon, "dead-letters", "a", "b").code == 2


def test_requeue_runs_the_job_again_and_drops_the_letter(daemon, chime):
    letter = failing(daemon)
    r = cli(chime, daemon, "requeue", str(letter["run_id"]))
    assert r.code == 0, r.err
    assert r.out.startswith(f"dead letter {letter['run_id']} requeued: run ")
    new = int(r.out.split()[-1])
    assert new > letter["run_id"]
    run = daemon.wait_run(new)
    assert run["job"] == "default/flaky" and run["reason"] == "manual"
    assert letter["run_id"] not in [x["run_id"] for x in dead_letters(daemon)]
    # twice: the letter is gone
    r = cli(chime, daemon, "requeue", str(letter["run_id"]))
    assert r.code == 1 and "is not dead-lettered" in r.err and len(r.err.splitlines()) == 1


def test_cancel_ends_a_running_run_cancelled(daemon, chime):
    daemon.put_job({"name": "slow", "schedule": {"manual": True}, "shell": "sleep 60"})
    rid = daemon.trigger("default/slow")
    daemon.wait_run(rid, states=("running",))
    r = cli(chime, daemon, "cancel", str(rid))
    assert r.code == 0, r.err
    assert r.out.startswith(f"run {rid}: cancel")
    assert daemon.wait_run(rid)["state"] == "cancelled"
    # an ended run cannot be cancelled
    r = cli(chime, daemon, "cancel", str(rid))
    assert r.code == 1 and "has already ended (cancelled)" in r.err
    # a cancel is not a failure: no dead letter
    assert dead_letters(daemon) == []


@pytest.mark.parametrize("cmd", ["requeue", "cancel"])
def test_bad_and_unknown_ids_are_refused_clearly(daemon, chime, cmd):
    r = cli(chime, daemon, cmd, "-3")
    assert r.code == 2 and "unknown option '-3'" in r.err
    for bad in ["0", "abc", "1x", " 7", "99999999999999999999999", "x" * 5000]:
        r = cli(chime, daemon, cmd, bad)
        assert r.code == 2 and "is not a run id" in r.err, (bad, r.err)
        assert len(r.err.splitlines()) == 1
    assert cli(chime, daemon, cmd).code == 2
    assert cli(chime, daemon, cmd, "1", "2").code == 2
    r = cli(chime, daemon, cmd, "424242")
    assert r.code == 1 and "424242" in r.err and "does not exist" in r.err, r.err


def test_a_namespace_token_sees_foreign_ids_as_missing(daemon, chime):
    letter = failing(daemon, name="theirs", ns="team-b")
    daemon.put_job({"name": "slow", "namespace": "team-b", "schedule": {"manual": True},
                    "shell": "sleep 60"})
    slow = daemon.trigger("team-b/slow")
    daemon.wait_run(slow, states=("running",))
    status, tok = daemon.request("POST", "/api/v1/tokens", {
        "name": "ops-a", "role": "operator", "namespaces": ["team-a"]})
    assert status == 201, tok
    mine = tok["secret"]
    r = cli(chime, daemon, "dead-letters", token=mine)
    assert r.code == 0 and r.lines[1:] == []
    r = cli(chime, daemon, "dead-letters", "team-b/theirs", token=mine)
    assert r.code == 1 and "does not exist" in r.err
    for cmd, rid in [("requeue", letter["run_id"]), ("cancel", slow)]:
        r = cli(chime, daemon, cmd, str(rid), token=mine)
        assert r.code == 1 and f"run {rid} does not exist" in r.err, (cmd, r.err)
    # nothing happened to them
    assert daemon.run(slow)["state"] == "running"
    assert letter["run_id"] in [x["run_id"] for x in dead_letters(daemon)]
    assert cli(chime, daemon, "cancel", str(slow)).code == 0
