"""The harness's expression evaluator (tests/expressions.py) against what GitHub documents."""

from __future__ import annotations

from typing import Any

import pytest
from expressions import ExpressionError, condition, evaluate, interpolate

CONTEXT: dict[str, Any] = {
    "github": {
        "event_name": "pull_request",
        "repository": "me/project",
        "event": {"pull_request": {"number": 7, "head": {"repo": {"full_name": "Me/Project"}}}},
    },
    "matrix": {"runs-on": ["self-hosted", "gpu"], "gpu": True, "sync-args": ""},
    "needs": {"matrix": {"outputs": {"matrix": '{"include": [{"a": 1}]}'}}},
}
GUARD = (
    "github.event_name != 'pull_request' || "
    "github.event.pull_request.head.repo.full_name == github.repository"
)


def test_operators_give_operands_and_compare_strings_ignoring_case() -> None:
    assert evaluate("github.event.pull_request.number || github.ref", CONTEXT) == 7
    assert evaluate("github.ref || 'refs/heads/main'", CONTEXT) == "refs/heads/main"
    assert evaluate("matrix.gpu && 'yes'", CONTEXT) == "yes"
    assert evaluate(GUARD, CONTEXT) is True  # the same repository, whatever the case
    fork = {**CONTEXT, "github": {**CONTEXT["github"], "repository": "other/project"}}
    assert evaluate(GUARD, fork) is False
    assert evaluate("!matrix.gpu", CONTEXT) is False


def test_values_become_text_as_github_writes_them() -> None:
    assert interpolate("${{ matrix.gpu }}-${{ matrix.sync-args }}x", CONTEXT) == "true-x"
    assert interpolate("${{ matrix.runs-on }}", CONTEXT) == '["self-hosted", "gpu"]'
    assert evaluate("fromJSON(needs.matrix.outputs.matrix)", CONTEXT) == {"include": [{"a": 1}]}
    assert evaluate("join(matrix.runs-on, ' ')", CONTEXT) == "self-hosted gpu"


def test_conditions_follow_the_job_status() -> None:
    assert condition(None, CONTEXT, "success") is True
    assert condition(None, CONTEXT, "failure") is False
    assert condition("${{ always() }}", CONTEXT, "failure") is True
    assert condition("matrix.gpu", CONTEXT, "failure") is False


@pytest.mark.parametrize("text", ["hashFiles('x')", "matrix.gpu ==", "secrets.TOKEN", "a ? b"])
def test_what_it_does_not_know_is_an_error(text: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(text, CONTEXT)
