"""README and docs/ stay true and stand alone: every `chime serve` option
(as `chime serve --help` lists them) and every command is in README, every
relative link and #anchor in README.md and docs/ resolves, and nothing
points outside the repository."""
import glob
import os
import re
import subprocess

from daemon import CHIME

TOP = os.path.join(os.path.dirname(__file__), "..")


def read(path):
    with open(os.path.join(TOP, path), encoding="utf-8") as f:
        return f.read()


def test_readme_lists_every_serve_option_with_its_variable():
    out = subprocess.run([CHIME, "serve", "--help"], capture_output=True, text=True).stdout
    flags = re.findall(r"^\s+--([a-z-]+).*\[(CHIME_[A-Z_]+)\]$", out, re.M)
    assert len(flags) > 20, out
    table = read("README.md").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [f for f, var in flags
               if f"--{f}" not in table or var not in table and "CHIME_HEALTH_" not in var]
    assert not missing, f"README's Configuration table lacks {missing}"


def test_readme_lists_every_command():
    cmds = re.findall(r'^\s*\{ "([a-z-]+)", cli_', read("src/main.c"), re.M)
    assert len(cmds) > 10
    cli = read("README.md").split("## The CLI", 1)[1].split("\n## ", 1)[0]
    missing = [c for c in cmds if not re.search(rf"chime\s+{re.escape(c)}\b", cli)]
    assert not missing, f"README's CLI section lacks {missing}"


def anchors(path):
    out = set()
    for line in open(path, encoding="utf-8"):
        m = re.match(r"#+\s+(.*)", line)
        if m:
            out.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return out


def test_every_relative_link_resolves_and_none_leaves_the_repository():
    bad = []
    files = ["README.md"] + sorted(glob.glob("docs/*.md", root_dir=TOP)) \
        + sorted(glob.glob("*/README.md", root_dir=TOP))
    for f in files:
        text = re.sub(r"```.*?```", "", read(f), flags=re.S)
        if re.search(r"\.\./shared|DESIGN\.md|STYLE\.md", text):
            bad.append(f"{f}: names a document outside the repository")
        for m in re.finditer(r"\]\(([^)\s]+)\)", text):
            target = m.group(1)
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(TOP, os.path.dirname(f), path)) if path \
                else os.path.join(TOP, f)
            if not os.path.realpath(full).startswith(os.path.realpath(TOP)):
                bad.append(f"{f}: {target} leaves the repository")
            elif not os.path.exists(full):
                bad.append(f"{f}: {target} does not exist")
            elif anchor and full.endswith(".md") and anchor not in anchors(full):
                bad.append(f"{f}: {target} names no heading")
    assert not bad, "\n".join(bad)
