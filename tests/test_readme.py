"""The README is the first thing a user reads: its commands and its Python snippet must be true."""

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def run_snippet(code: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    return out.getvalue()


def test_python_snippets_run_and_print_what_the_comments_say():
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) == 3
    printed = run_snippet(blocks[0])
    assert "500 − 0.01·93,750,000 = −937,000" in printed
    assert "1/4 (0,)" in printed
    assert "agree" in printed
    lines = run_snippet(blocks[1]).splitlines()
    assert lines[0] == "(50, 21)"
    assert lines[1] == "5466"
    assert lines[2] == "exploding"
    lines = run_snippet(blocks[2]).splitlines()
    assert lines[:3] == ["baseline 5 exploding", "clip at 1 None exploding", "He init None healthy"]
    assert lines[3] == "638 1.0"
    assert lines[4].startswith("cures it: ") and len(lines) == 7


def test_ci_runs_exactly_the_readme_test_command():
    commands = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    test_command = next(c for c in commands if "pytest" in c)
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci
