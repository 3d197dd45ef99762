"""`chime next`: the time engine on the command line (docs/design.md, the cron dialect)."""
import datetime as dt
import re

import pytest

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def test_prints_fires_after_a_spring_forward_gap(chime):
    r = chime("next", "30 2 * * *", "--tz", "America/New_York",
              "--from", "2026-03-07T12:00:00-05:00", "--count", "3")
    assert r.code == 0, r.err
    assert r.lines == ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00",
                       "2026-03-10T02:30:00-04:00"]
    assert r.err == ""


def test_wildcard_repeats_the_fall_back_hour(chime):
    r = chime("next", "*/30 * * * *", "--tz", "America/New_York",
              "--from", "2026-11-01T00:45:00-04:00")
    assert r.code == 0, r.err
    assert r.lines == ["2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00",
                       "2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00",
                       "2026-11-01T02:00:00-05:00"]


def test_defaults_are_five_fires_after_now_in_the_system_zone(chime):
    before = dt.datetime.now(dt.timezone.utc)
    r = chime("next", "* * * * * *", env={"TZ": "Asia/Kathmandu"})
    assert r.code == 0, r.err
    assert len(r.lines) == 5
    first = dt.datetime.fromisoformat(r.lines[0])
    assert r.lines[0].endswith("+05:45")
    assert first > before
    assert first - before < dt.timedelta(seconds=5)


@pytest.mark.parametrize("start,first", [
    ("2026-01-01T00:00:00Z", "2026-01-01T00:15:00+00:00"),
    ("2026-01-01T00:00:00+01:00", "2025-12-31T23:15:00+00:00"),
    ("2026-01-01T00:00:00.5Z", "2026-01-01T00:15:00+00:00"),
    ("2026-01-01T00:15:00Z", "2026-01-01T00:30:00+00:00"),   # strictly after
])
def test_from_accepts_z_and_numeric_offsets(chime, start, first):
    r = chime("next", "*/15 * * * *", "--tz", "UTC", "--from", start, "--count", "1")
    assert r.code == 0, r.err
    assert r.lines == [first]


def test_from_without_offset_is_local_and_resolves_gaps_and_overlaps(chime):
    # 02:10 does not exist on 2026-03-08 in New York: the first instant after the gap
    r = chime("next", "* * * * *", "--tz", "America/New_York",
              "--from", "2026-03-08T02:10:00", "--count", "1")
    assert r.lines == ["2026-03-08T03:01:00-04:00"], r.err
    # 01:30 occurs twice on 2026-11-01: the first occurrence (EDT)
    r = chime("next", "* * * * *", "--tz", "America/New_York",
              "--from", "2026-11-01T01:30:00", "--count", "1")
    assert r.lines == ["2026-11-01T01:31:00-04:00"], r.err


def test_count_up_to_the_limit(chime):
    r = chime("next", "* * * * * *", "--tz", "UTC", "--from", "2026-01-01T00:00:00Z",
              "--count", "100000")
    assert r.code == 0, r.err
    assert len(r.lines) == 100000
    assert r.lines[-1] == "2026-01-02T03:46:40+00:00"
    assert all(ISO.match(line) for line in r.lines[::997])


def test_quartz_forms_and_seconds(chime):
    r = chime("next", "0 0 12 ? * 2#3", "--tz", "Europe/Berlin",
              "--from", "2026-01-01T00:00:00Z", "--count", "2")
    assert r.lines == ["2026-01-20T12:00:00+01:00", "2026-02-17T12:00:00+01:00"], r.err


def test_reboot_has_no_instants(chime):
    r = chime("next", "@reboot", "--tz", "UTC")
    assert r.code == 0
    assert r.out == ""
    assert "fires when the daemon starts" in r.err


def one_error_line(r, *parts):
    assert r.code == 2, (r.code, r.out, r.err)
    assert r.out == ""
    lines = r.err.strip("\n").split("\n")
    assert len(lines) == 1, r.err
    for part in parts:
        assert part in lines[0], (part, lines[0])


@pytest.mark.parametrize("expr,parts", [
    ("75 * * * *", ["minute", "'75'", "0-59"]),
    ("* * * * 8", ["day-of-week", "'8'"]),
    ("* * 32 * *", ["day-of-month", "'32'"]),
    ("* * * FOO *", ["month", "'FOO'"]),
    ("0 0 30 2 *", ["expression", "never fires"]),
    ("* * * *", ["expression", "4 fields"]),
    ("@every 0s", ["expression", "@every 0s"]),
    ("@sometimes", ["expression", "'@sometimes'"]),
    ("", ["expression"]),
    ("\x01\x02\x7f * * * *", ["minute"]),
])
def test_invalid_expression_is_one_line_naming_field_and_value(chime, expr, parts):
    one_error_line(chime("next", expr, "--tz", "UTC"), *parts)


def test_oversized_expression_is_rejected(chime):
    one_error_line(chime("next", "1," * 20000 + "1 * * * *", "--tz", "UTC"),
                   "expression", "longer than")


@pytest.mark.parametrize("zone,parts", [
    ("Mars/Olympus_Mons", ["timezone", "'Mars/Olympus_Mons'"]),
    ("../../etc/passwd", ["timezone", "'../../etc/passwd'"]),
    ("/etc/passwd", ["timezone"]),
    ("America", ["timezone", "'America'"]),
    ("", ["timezone"]),
    ("x" * 5000, ["timezone"]),
])
def test_invalid_zone_is_one_line(chime, zone, parts):
    one_error_line(chime("next", "* * * * *", "--tz", zone), *parts)


@pytest.mark.parametrize("start", [
    "yesterday", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z",
    "2026-01-01T00:00:00+25:00", "2026-01-01T00:00:00Zjunk", "9" * 400,
])
def test_invalid_from_is_one_line(chime, start):
    one_error_line(chime("next", "* * * * *", "--tz", "UTC", "--from", start), "from")


@pytest.mark.parametrize("count", ["0", "-1", "abc", "100001", "1e3", "99999999999999999999", ""])
def test_invalid_count_is_one_line(chime, count):
    one_error_line(chime("next", "* * * * *", "--tz", "UTC", "--count", count), "count")


@pytest.mark.parametrize("args", [[], ["* * * * *", "extra"], ["--bogus", "* * * * *"]])
def test_bad_usage_exits_2(chime, args):
    r = chime("next", *args)
    assert r.code == 2
    assert r.out == ""
    assert "usage: chime next" in r.err


def test_unknown_command_exits_2(chime):
    r = chime("frobnicate")
    assert r.code == 2
    assert "unknown command" in r.err


@pytest.mark.parametrize("expr,fires", [
    # 2026-01-03 is a Saturday, 2026-01-04 a Sunday
    ("0 0 * * 0-0", ["2026-01-04", "2026-01-11", "2026-01-18"]),
    ("0 0 * * SUN-SUN", ["2026-01-04", "2026-01-11", "2026-01-18"]),
    ("0 0 * * 7-7", ["2026-01-04", "2026-01-11", "2026-01-18"]),
    ("0 0 * * sat-sun", ["2026-01-03", "2026-01-04", "2026-01-10"]),
    ("0 0 * * 0-7", ["2026-01-02", "2026-01-03", "2026-01-04"]),
])
def test_day_of_week_ranges_ending_on_sunday(chime, expr, fires):
    r = chime("next", expr, "--tz", "UTC", "--from", "2026-01-01T00:00:00Z", "--count", "3")
    assert r.code == 0, r.err
    assert r.lines == [f + "T00:00:00+00:00" for f in fires]
    assert r.err == ""


def test_a_step_past_its_field_warns_and_fires_on_the_first_value(chime):
    r = chime("next", "0 0 * * */30", "--tz", "UTC", "--from", "2026-01-01T00:00:00Z",
              "--count", "2")
    assert r.code == 0, r.err
    assert r.lines == ["2026-01-04T00:00:00+00:00", "2026-01-11T00:00:00+00:00"]
    assert r.err == ("chime next: warning: step 30 exceeds day-of-week's range 0-6: "
                     "selects Sunday only\n")
    r = chime("next", "*/90 */30 */45 * *", "--tz", "UTC", "--count", "1")
    assert r.code == 0 and len(r.err.splitlines()) == 3, r.err


@pytest.mark.parametrize("expr,field", [
    ("0 0 * * */65536", "day-of-week"),
    ("*/99999999999999999999999999 * * * *", "minute"),
    ("0 0 * * */0", "day-of-week"),
    ("0 0 * * 6-5", "day-of-week"),
    ("0 */x * * *", "hour"),
])
def test_bad_steps_and_ranges_name_the_field(chime, expr, field):
    r = chime("next", expr)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(f"chime next: {field}: "), r.err


def test_a_save_and_a_preview_carry_the_cron_warnings(tmp_path):
    """A step past its field's range is valid crontab(5) and saved, and the
    save's answer and the preview say what it selects; a plain expression
    says nothing."""
    from daemon import Daemon
    d = Daemon(tmp_path / "data").start()
    try:
        doc = {"name": "odd", "schedule": {"cron": "0 0 * * */30"}, "shell": "true"}
        status, body = d.request("POST", "/api/v1/jobs", doc)
        assert status == 201, (status, body)
        assert len(body["warnings"]) == 1, body
        assert "day-of-week" in body["warnings"][0] and "Sunday" in body["warnings"][0]
        status, body = d.request("POST", "/api/v1/preview?count=2", dict(doc, name="draft"))
        assert status == 200, (status, body)
        assert any("day-of-week" in w for w in body["warnings"]), body
        status, body = d.request("POST", "/api/v1/jobs",
                                 {"name": "plain", "schedule": {"cron": "*/30 * * * *"},
                                  "shell": "true"})
        assert status == 201 and body["warnings"] == [], body
    finally:
        d.stop()
