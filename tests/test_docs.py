"""The documentation stays true: CI runs the README's test command, word for word."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(python3 -m venv[^\n]*)\n```", readme)


def test_the_readme_has_exactly_the_two_setup_commands() -> None:
    demo, tests = readme_commands()
    assert demo.endswith("pip install . && syndicator run")
    assert "python -m pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci


def test_every_template_variable_is_documented() -> None:
    from syndicator.formatting.templates import template_context
    from syndicator.records import Article

    article = Article(id=1, source="s", guid="g", url="https://a.example.com/", title="t")
    variables = template_context(article, title="t", summary="", attribution="A", channel="c")
    documented = (ROOT / "docs" / "templates.md").read_text(encoding="utf-8")
    assert sorted(v for v in variables if f"| `{v}` |" not in documented) == []
