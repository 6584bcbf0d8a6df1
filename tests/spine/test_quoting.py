"""Issue 21 item 4 (STYLE rule 17): every command edgeprof prints for a user to paste quotes its
arguments, so a name holding quotes, ``;``, ``$()`` or a newline is one argument when pasted into
a shell, and the hint stays on one line. Checked by pasting into a real bash."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from edgeprof.errors import command, resume_command

HOSTILE = ["myset", "a'b", 'say "hi"', "x; touch /tmp/edgeprof-pwned", "$(id)", "`id`", "line1\nline2", "tab\there",
           "nel\x85x", "back\\slash'q", "-rf", "", "*", "~root", "$HOME", "é ü 中文"]


def _pasted(line: str) -> list[str]:
    """What bash hands ``edgeprof`` when ``line`` is pasted (edgeprof is a function printing argv)."""
    shell = f"edgeprof() {{ {sys.executable} -c 'import json, sys; print(json.dumps(sys.argv[1:]))' \"$@\"; }}\n{line}\n"
    res = subprocess.run(["bash", "--norc", "--noprofile"], input=shell, capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_is_one_argument_and_the_hint_one_line(name):
    line = command("reference", "show", name, "--model", name)
    assert "\n" not in line and line.isprintable()
    assert _pasted(line) == ["reference", "show", name, "--model", name]


def test_the_resume_command_of_a_hostile_run_directory(tmp_path):
    d = tmp_path / "run; rm -rf ~ $(reboot)\n'x'"
    assert _pasted(resume_command(d)) == ["bench", "--resume", str(d)]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                        max_size=12), min_size=1, max_size=3))
def test_any_text_round_trips_through_bash(args):
    line = command(*args)
    assert "\n" not in line
    assert _pasted(line) == args


def test_no_printed_command_in_the_code_base_pastes_a_value_unquoted():
    """A guard over every module: a hint that writes ``edgeprof <command> ...{value}`` or
    ``--model/--name/--suite {value}`` into an f-string builds it with ``command()`` (or
    ``resume_command()``, ``shlex``) instead."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    hint = re.compile(r"edgeprof (bench|reference|models|history|report|compare|export|devices|tui|predict)"
                      r"( [a-z-]+)*[^\"'{}\u2014:]*\{|--(model|name|suite) '?\{")
    bad = []
    for folder in ("edgeprof", "devices", "exporters"):
        for path in (root / folder).rglob("*.py"):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if hint.search(line) and not re.search(r"command\(|shlex\.", line):
                    bad.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert not bad, "\n".join(bad)


def test_an_error_quoting_a_newline_stays_one_line(tmp_path):
    """The run directory's own name holds a newline: the refusal is still one line (escaped), and
    its resume hint pastes back to that very path."""
    run = tmp_path / "a\nb"
    run.mkdir()
    (run / "plan.json").write_text("{}")
    res = subprocess.run([sys.executable, "-m", "edgeprof", "bench", "--out", str(run), "x.gguf"],
                         capture_output=True, text=True, timeout=60,
                         env=dict(__import__("os").environ, EDGEPROF_HOME=str(tmp_path / "home")))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "a\\nb already holds a run" in res.stderr
    hint = res.stderr.strip().split("finish it with: ", 1)[1]
    assert _pasted(hint) == ["bench", "--resume", str(run)]
