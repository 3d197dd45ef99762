"""Every command's options come from one table (src/cli/cmdline.c): --help is
generated from the rows and lists every option, and a malformed command line
is one clear line on stderr, exit 2, before any request."""
import re

import pytest

from fakedaemon import js

# each command and the options its --help must list
COMMANDS = [
    (["next"], ["tz", "from", "count"]),
    (["jobs"], ["namespace", "label", "json"]),
    (["job", "add"], []),
    (["job", "edit"], []),
    (["job", "show"], ["json"]),
    (["job", "rm"], []),
    (["job", "pause"], []),
    (["job", "resume"], []),
    (["job", "history"], ["limit", "json"]),
    (["job", "diff"], ["json"]),
    (["job", "rollback"], ["json"]),
    (["run"], ["param", "wait", "timeout", "json"]),
    (["runs"], ["state", "since", "until", "limit", "json"]),
    (["logs"], ["follow"]),
    (["import-crontab"], ["namespace", "user", "system", "dry-run", "json"]),
    (["export"], ["namespace", "include-tokens", "output"]),
    (["import"], ["dry-run", "prune", "namespace", "json"]),
    (["apply"], ["dry-run", "json"]),
    (["backup"], ["force", "json"]),
    (["restore"], ["data-dir", "json"]),
    (["token", "create"], ["role", "namespace", "expires", "json"]),
    (["token", "list"], ["all", "json"]),
    (["token", "revoke"], []),
    (["audit"], ["job", "token", "since", "until", "limit", "json"]),
    (["notifications"], ["state", "job", "channel", "limit", "json"]),
    (["notifications", "retry"], []),
    (["channels"], ["json"]),
    (["dead-letters"], ["limit", "json"]),
    (["requeue"], ["json"]),
    (["cancel"], ["json"]),
    (["serve"], ["data-dir", "listen", "jobs-dir", "log-level", "run-as"]),
]


def usage_options(out):
    """The --NAMEs of the usage line (it may wrap onto indented lines)."""
    head = re.match(r"usage: .*?(?=\n(?! {8}))", out, re.S).group(0)
    return re.findall(r"--([a-z-]+)", head)


@pytest.mark.parametrize("cmd,options", COMMANDS, ids=[" ".join(c) for c, _ in COMMANDS])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_is_generated_from_the_rows_and_lists_every_option(chime, cmd, options, flag):
    r = chime(*cmd, flag)
    assert r.code == 0, r.err
    assert r.err == ""
    assert r.out.startswith("usage: chime " + " ".join(cmd)), r.out
    described = re.findall(r"^\s+(?:-[a-zA-Z], )?--([a-z-]+)", r.out, re.M)
    shown = usage_options(r.out)
    for o in options:
        assert o in described, (o, r.out)
    # the usage line and the option lines come from the same rows (a long
    # table says [OPTIONS] in the usage line)
    if "[OPTIONS]" not in r.out.split("\n")[0]:
        assert sorted(set(shown)) == sorted(set(described)), r.out


def test_help_anywhere_on_the_line_wins_and_sends_nothing(chime_at, fake_daemon):
    r = chime_at("runs", "tick", "--limit", "3", "--help")
    assert r.code == 0 and r.out.startswith("usage: chime runs")
    assert fake_daemon.sent() == []


@pytest.mark.parametrize("args,message", [
    # unknown, with the nearest option named
    (["runs", "--sate", "failed"], "unknown option '--sate': did you mean '--state'?"),
    (["audit", "--limt", "5"], "unknown option '--limt': did you mean '--limit'?"),
    (["jobs", "-json"], "unknown option '-json': did you mean '--json'?"),
    (["jobs", "--frobnicate"], "unknown option '--frobnicate' (see chime jobs --help)"),
    (["cancel", "-3"], "unknown option '-3'"),
    (["runs", "--s", "x"], "ambiguous option '--s'"),
    (["job", "shwo", "x"], "unknown subcommand 'shwo': did you mean 'show'?"),
    (["token", "crate", "x"], "unknown subcommand 'crate': did you mean 'create'?"),
    (["tokne"], "unknown command 'tokne': did you mean 'token'?"),
    # a missing value
    (["runs", "--limit"], "chime runs: --limit needs a value (see chime runs --help)"),
    (["token", "create", "ci", "--role"], "--role needs a value"),
    (["export", "-o"], "-o needs a value"),
    # a value that is an option: the value was forgotten
    (["runs", "--state", "--json"], "--state needs a value, not the option '--json'"),
    (["notifications", "--channel", "--json"], "--channel needs a value, not the option"),
    (["export", "-o", "--namespace", "x"], "-o needs a value, not the option '--namespace'"),
    # given twice
    (["runs", "--limit", "5", "--limit", "6"], "--limit is given more than once"),
    (["audit", "--job", "a", "--job", "b"], "--job is given more than once"),
    (["restore", "b.tar", "--data-dir", "a", "--data-dir", "b"],
     "--data-dir is given more than once"),
    # a flag with a value
    (["jobs", "--json=yes"], "--json takes no value"),
    # bad numbers and durations, quoted
    (["runs", "--limit", "9" * 30], "limit: '999999999999999999999999999999' is not a whole "
                                    "number from 1 to 1000"),
    (["dead-letters", "--limit", "0"], "limit: '0' is not a whole number from 1 to 1000"),
    (["job", "history", "x", "--limit", "1e3"], "limit: '1e3' is not a whole number"),
    (["run", "x", "--wait", "--timeout", "soon"], "timeout: 'soon'"),
    (["token", "create", "ci", "--role", "viewer", "--expires", "forever"], "expires: 'forever'"),
    # oversized values: refused, quoted short
    (["notifications", "--channel", "x" * 70000], "channel: 'xxxxxxxx"),
    (["jobs", "--namespace", "n" * 5000], "namespace: 'nnnn"),
    # too many of a repeatable one
    (["jobs"] + ["--label", "a=b"] * 17, "label: more than 16 values"),
    # required
    (["token", "create", "ci"], "--role is needed"),
    # positional arguments
    (["logs"], "chime logs: missing RUN"),
    (["backup", "a", "b"], "chime backup: more than one PATH"),
    (["audit", "extra"], "chime audit: unexpected argument 'extra'"),
])
def test_a_malformed_command_line_is_one_clear_line_and_exit_2(chime_at, fake_daemon, args,
                                                                message):
    r = chime_at(*args)
    assert r.code == 2, (r.code, r.err)
    assert r.out == ""
    assert len(r.err.splitlines()) == 1, r.err
    assert r.err.startswith("chime"), r.err
    assert message in r.err, r.err
    assert len(r.err) < 400, r.err
    assert fake_daemon.sent() == []


def test_an_oversized_value_says_how_big_it_may_be(chime_at, fake_daemon):
    r = chime_at("notifications", "--channel", "x" * 70000)
    assert r.code == 2
    assert "is longer than 64 KiB" in r.err
    assert fake_daemon.sent() == []


EMPTY = {"items": [], "next_cursor": None, "total": 0}


def test_a_value_that_begins_with_a_dash_is_written_with_an_equals_sign(chime_at, fake_daemon):
    fake_daemon.route("GET", "/api/v1/notifications", js(EMPTY))
    r = chime_at("notifications", "--channel=--odd")
    assert r.code == 0, r.err
    assert fake_daemon.sent()[0].query["channel"] == ["--odd"]


def test_prefixes_short_options_and_order_are_read_as_before(chime_at, fake_daemon, tmp_path):
    fake_daemon.route("GET", "/api/v1/runs", js(EMPTY))
    r = chime_at("runs", "--lim", "7", "default/tick", "--json")
    assert r.code == 0, r.err
    q = fake_daemon.sent()[0].query
    assert q["limit"] == ["7"] and q["job"] == ["default/tick"]
    fake_daemon.route("GET", "/api/v1/export", js({"chime_export": 1, "jobs": []}))
    out = tmp_path / "e.json"
    r = chime_at("export", f"-o{out}")
    assert r.code == 0, r.err
    assert out.exists()


def test_every_command_in_chime_help_has_generated_help(chime):
    r = chime("help")
    assert r.code == 0
    cmds = sorted(set(re.findall(r"^  chime ([a-z][a-z-]*)", r.out, re.M)))
    assert len(cmds) > 15, r.out
    listed = {c[0] for c, _ in COMMANDS} | {"help"}
    assert not set(cmds) - listed, set(cmds) - listed
    for c in set(cmds) - {"help"}:
        h = chime(c, "--help")
        assert h.code == 0 and h.out.startswith("usage: chime " + c), (c, h.out, h.err)
