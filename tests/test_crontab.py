"""`chime import-crontab` end to end: real crontab files (tests/data/crontab)
into a real daemon, the jobs checked through the API, a job with `%` input
run for real, and hostile files refused whole."""
import json
import os
import shutil

import pytest

from daemon import Daemon

DATA = os.path.join(os.path.dirname(__file__), "data", "crontab")


def data(name):
    return os.path.join(DATA, name)


@pytest.fixture
def cli(chime, daemon):
    def run(*args, **kw):
        return chime("import-crontab", *args, env={"CHIME_URL": daemon.url}, **kw)
    return run


def jobs(daemon, ns):
    status, body = daemon.request("GET", f"/api/v1/jobs?namespace={ns}&limit=1000")
    assert status == 200, body
    return {j["name"]: j for j in body["items"]}


def job(daemon, ns, name):
    status, body = daemon.request("GET", f"/api/v1/jobs/{ns}/{name}")
    assert status == 200, (status, body)
    return body


def test_imports_a_system_crontab(cli, daemon):
    r = cli(data("system"), "--system", "--namespace", "ops")
    assert r.code == 0, r.err
    assert "system format (a user column), namespace ops" in r.lines[0]
    assert "line 10: skipped: MAILTO=root: chime sends no mail" in r.out
    assert r.lines[-1] == "7 jobs: 7 created, 0 updated, 0 unchanged; 1 setting skipped; 0 errors"
    have = jobs(daemon, "ops")
    assert sorted(have) == ["system-anacron-21", "system-anacron-22", "system-anacron-23",
                            "system-certbot-27", "system-echo-20", "system-echo-30",
                            "system-sessionclean-29"]
    hourly = job(daemon, "ops", "system-echo-20")
    assert hourly["schedule"] == {"cron": "17 * * * *", "timezone": None}
    assert hourly["command"] == ["/bin/sh", "-c",
                                 "cd / && echo run-parts --report /etc/cron.hourly"]
    assert hourly["labels"] == {"crontab-file": data("system"), "crontab-user": "root"}
    assert hourly["env"]["PATH"] == \
        "/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin"
    assert hourly["env"]["LOGNAME"] == "root"
    assert hourly["concurrency"] == "allow"
    assert hourly["misfire"]["catch_up"] == "none"
    assert hourly["description"].startswith("line 20 of ")
    weekly = job(daemon, "ops", "system-anacron-22")
    assert weekly["schedule"]["cron"] == "47 6 * * 7"
    certbot = job(daemon, "ops", "system-certbot-27")
    assert certbot["schedule"] == {"cron": "0 */12 * * *", "timezone": "America/New_York"}
    assert job(daemon, "ops", "system-sessionclean-29")["schedule"]["cron"] == "09,39 * * * *"
    reboot = job(daemon, "ops", "system-echo-30")
    assert reboot["schedule"]["cron"] == "@reboot"
    assert reboot["labels"]["crontab-user"] == "www-data"
    assert "@reboot runs when the chime daemon starts" in r.out


def test_importing_again_changes_nothing_and_keeps_a_pause(cli, daemon, tmp_path):
    path = tmp_path / "crontab"
    shutil.copy(data("user"), path)
    first = cli(str(path))
    assert first.code == 0, first.err
    assert "7 jobs: 7 created" in first.lines[-1]
    before = {n: j["version"] for n, j in jobs(daemon, "default").items()}
    status, _ = daemon.request("POST", "/api/v1/jobs/default/crontab-echo-11/pause")
    assert status == 200
    again = cli(str(path))
    assert again.code == 0, again.err
    assert "7 jobs: 0 created, 0 updated, 7 unchanged" in again.lines[-1]
    after = jobs(daemon, "default")
    assert {n: j["version"] for n, j in after.items()} == {**before, "crontab-echo-11":
                                                           after["crontab-echo-11"]["version"]}
    assert after["crontab-echo-11"]["paused"] is True
    # one line changed: that job alone is updated, and stays paused
    path.write_text(path.read_text().replace("30 4 1,15 * 5  echo report",
                                             "30 5 1,15 * 5  echo report"))
    third = cli(str(path), "--json")
    assert third.code == 0, third.err
    report = json.loads(third.out)
    assert report["summary"] == {"jobs": 7, "created": 0, "updated": 1, "unchanged": 6,
                                 "skipped": 1, "errors": 0}
    assert report["imported"] is True
    updated = [line for line in report["lines"] if line.get("status") == "updated"]
    assert [(u["line"], u["job"]) for u in updated] == [(11, "default/crontab-echo-11")]
    now = job(daemon, "default", "crontab-echo-11")
    assert now["schedule"]["cron"] == "30 5 1,15 * 5"
    assert now["paused"] is True


def test_a_job_with_percent_input_reads_it_when_it_runs(cli, daemon):
    r = cli(data("user"), "--namespace", "web")
    assert r.code == 0, r.err
    j = job(daemon, "web", "user-cat-17")
    assert j["schedule"] == {"cron": "0 22 * * 1-5", "timezone": "Europe/Berlin"}
    assert j["env"]["APP_ENV"] == "production"
    assert j["env"]["GREETING"] == "  two spaces each side  "
    assert "MAILTO" not in j["env"]
    run_id = daemon.trigger("web/user-cat-17")
    run = daemon.wait_run(run_id)
    assert run["state"] == "succeeded", run
    # cron pipes "Dear Joe,\n\nWhere are your kids?\n 100% sure\n" to `cat; echo "[$0]"`
    assert daemon.output(run_id) == \
        "Dear Joe,\n\nWhere are your kids?\n 100% sure\n[/bin/bash]\n"
    run_id = daemon.trigger("web/user-echo-15")
    assert daemon.wait_run(run_id)["state"] == "succeeded"
    assert daemon.output(run_id) == "weekly [  two spaces each side  ]\n"


def test_a_bad_line_imports_nothing(cli, daemon):
    r = cli(data("broken"))
    assert r.code == 2
    assert "chime import-crontab: 8 lines cannot be converted; nothing was imported" in r.err
    errors = [line for line in r.lines if ": error: " in line]
    assert [e.split(":")[0] for e in errors] == [
        "line 4", "line 5", "line 6", "line 7", "line 8", "line 9", "line 10", "line 11"]
    assert "line 4: error: minute: '61' is out of range 0-59" in r.lines
    assert any(line.startswith("line 5: error: expression:") and "never fires" in line
               for line in r.lines)
    assert any(line.startswith("line 11: error: CRON_TZ:") for line in r.lines)
    assert jobs(daemon, "default") == {}


def test_a_document_the_daemon_refuses_imports_nothing(chime, tmp_path):
    # a daemon whose zone files lack Europe/Berlin refuses the last job, after
    # the client, which has them, accepted every line
    zones = tmp_path / "zones"
    zones.mkdir()
    shutil.copy("/usr/share/zoneinfo/UTC", zones / "UTC")
    d = Daemon(tmp_path / "data", env={"TZDIR": str(zones)}).start()
    try:
        path = tmp_path / "crontab"
        path.write_text("0 1 * * * echo one\n0 2 * * * echo two\n"
                        "CRON_TZ=Europe/Berlin\n0 3 * * * echo three\n")
        r = chime("import-crontab", str(path), env={"CHIME_URL": d.url})
        assert r.code == 2, (r.out, r.err)
        assert "line 4 (default/crontab-echo-4): nothing was imported" in r.err
        assert "line 4: default/crontab-echo-4: failed" in r.out
        status, body = d.request("GET", "/api/v1/jobs")
        assert status == 200 and body["items"] == []
    finally:
        d.stop()


def test_hostile_files_get_a_clear_error_and_change_nothing(cli, daemon, tmp_path):
    huge = tmp_path / "huge"
    huge.write_bytes(b"0 0 * * * true\n" * 80000)
    r = cli(str(huge))
    assert r.code == 2
    assert "file:" in r.err and "larger than 1 MiB" in r.err
    assert r.out == ""

    binary = tmp_path / "binary"
    binary.write_bytes(bytes(range(256)) * 64 + b"\n\x00\x01* * * * * x\n")
    r = cli(str(binary))
    assert r.code == 2
    assert "cannot be converted; nothing was imported" in r.err
    assert "NUL byte" in r.out

    many = tmp_path / "many"
    many.write_bytes(b"junk\n" * 2000)
    r = cli(str(many))
    assert r.code == 2
    assert "more than 1000 lines cannot be converted" in r.err

    r = cli(str(tmp_path / "nonexistent"))
    assert r.code == 2
    assert "cannot open" in r.err and "nonexistent" in r.err

    r = cli(str(tmp_path))
    assert r.code == 2
    assert "cannot read" in r.err

    long_line = tmp_path / "long"
    long_line.write_text("0 0 * * * echo " + "x" * 5000 + "\n")
    r = cli(str(long_line))
    assert r.code == 2
    assert "line 1: error: line: is 5015 bytes long, more than 4096" in r.out
    assert jobs(daemon, "default") == {}


def test_dry_run_sends_nothing(chime, tmp_path):
    env = {"CHIME_URL": "http://127.0.0.1:9"}    # nobody there
    r = chime("import-crontab", data("user"), "--dry-run", env=env)
    assert r.code == 0, r.err
    assert "7 jobs converted (dry run: nothing sent)" in r.lines[-1]
    assert '      "command": [' in r.out
    r = chime("import-crontab", data("user"), "--dry-run", "--json", env=env)
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["dry_run"] is True and report["imported"] is False
    cat = [line for line in report["lines"] if line.get("job") == "default/user-cat-17"][0]
    assert cat["document"]["command"] == [
        "/bin/sh", "-c", "printf '%s' \"$1\" | exec \"$0\" -c \"$2\"", "/bin/bash",
        "Dear Joe,\n\nWhere are your kids?\n 100% sure\n", "cat; echo \"[$0]\""]
    r = chime("import-crontab", data("broken"), "--dry-run", env=env)
    assert r.code == 2
    assert "nothing was sent (dry run)" in r.err


def test_format_and_standard_input(chime, tmp_path):
    env = {"CHIME_URL": "http://127.0.0.1:9"}
    line = "0 5 * * * root echo hi\n"
    path = tmp_path / "cron.txt"
    path.write_text(line)
    # not /etc/crontab nor /etc/cron.d: user format, "root" is the command
    r = chime("import-crontab", str(path), "--dry-run", "--json", env=env)
    job_line = json.loads(r.out)["lines"][0]
    assert job_line["document"]["command"][2] == "root echo hi" and job_line["user"] is None
    r = chime("import-crontab", str(path), "--dry-run", "--json", "--system", env=env)
    job_line = json.loads(r.out)["lines"][0]
    assert job_line["document"]["command"][2] == "echo hi" and job_line["user"] == "root"
    proc = __import__("subprocess").run(
        [os.environ.get("CHIME_BIN", "build/chime"), "import-crontab", "-", "--dry-run"],
        input=line, capture_output=True, text=True, env=dict(os.environ, **env))
    assert proc.returncode == 0, proc.stderr
    assert "line 1: default/stdin-root-1: converted (0 5 * * *)" in proc.stdout


def test_usage_errors(chime):
    assert chime("import-crontab").code == 2
    r = chime("import-crontab", data("user"), "--user", "--system")
    assert r.code == 2 and "--user and --system together" in r.err
    r = chime("import-crontab", data("user"), "--namespace", "Bad NS")
    assert r.code == 2 and "not a namespace name" in r.err
    r = chime("import-crontab", data("user"), "--bogus")
    assert r.code == 2 and "unknown option" in r.err
    r = chime("import-crontab", "--help")
    assert r.code == 0 and "usage: chime import-crontab" in r.out


def test_an_unreachable_daemon_is_a_failure(chime):
    r = chime("import-crontab", data("user"), env={"CHIME_URL": "http://127.0.0.1:9"})
    assert r.code == 1
    assert "cannot reach the daemon" in r.err


def test_cronie_forms_import_as_cron_reads_them(cli, daemon, tmp_path):
    path = tmp_path / "forms"
    path.write_bytes(b"0 6 * * sat-sun echo weekend\n"
                     b"0 0 * * */30 echo sunday\n"
                     b"0 1 * * * -n echo quiet\n"
                     b"0 2 * * * echo never")                 # no newline: cron ignores it
    r = cli(str(path))
    assert r.code == 0, r.err
    assert ("line 2: default/forms-echo-2: created (0 0 * * */30); warning: step 30 exceeds "
            "day-of-week's range 0-6: selects Sunday only") in r.out
    assert "line 3: default/forms-echo-3: created (0 1 * * *); the '-n' option" in r.out
    assert "line 4: skipped: the last line has no newline at its end" in r.out
    have = jobs(daemon, "default")
    assert sorted(have) == ["forms-echo-1", "forms-echo-2", "forms-echo-3"]
    assert job(daemon, "default", "forms-echo-1")["schedule"]["cron"] == "0 6 * * sat-sun"
    assert job(daemon, "default", "forms-echo-3")["command"] == ["/bin/sh", "-c", "echo quiet"]

    bad = tmp_path / "bad"
    bad.write_bytes(b"0 0 * * 6-5 echo a\n0 0 * * * -x echo b\n0 0 * * * -n -n echo c\n")
    r = cli(str(bad))
    assert r.code == 2
    assert "line 1: error: day-of-week: range 6-5 runs backwards" in r.out
    assert "line 2: error: command: '-x' is not a cron option" in r.out
    assert "line 3: error: command: '-n' is not a cron option" in r.out
    assert sorted(jobs(daemon, "default")) == ["forms-echo-1", "forms-echo-2", "forms-echo-3"]
