"""The shared folder beside the checkout (`../shared`): real projects' files and the facts about
PyTorch, uv and GitHub, read in place and never copied into the project.

A user's clone has no `../shared`, so a test that reads it is skipped there, with a reason that
names the missing folder. CI must never skip them: `.ci/run` sets UVTORCH_REQUIRE_SHARED=1, and
then a missing folder fails the collection of every module that needs it instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
REQUIRE_ENV = "UVTORCH_REQUIRE_SHARED"


def missing_reason(*parts: str) -> str | None:
    """Why a test of `../shared/<parts>` cannot run here, or None when the path is there."""
    path = SHARED.joinpath(*parts)
    if path.exists():
        return None
    shown = "/".join(("..", "shared", *parts))
    return f"{shown} is not beside the checkout (looked for {path})"


def needs_shared(*parts: str) -> pytest.MarkDecorator:
    """A mark that skips a test when `../shared/<parts>` is missing, naming it; under
    UVTORCH_REQUIRE_SHARED=1 the missing folder is an error at collection instead."""
    reason = missing_reason(*parts)
    if reason and os.environ.get(REQUIRE_ENV) == "1":
        raise pytest.UsageError(f"{reason}, and {REQUIRE_ENV}=1 forbids skipping its tests")
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def shared_files(*parts: str, pattern: str = "*") -> list[Path]:
    """The paths under `../shared/<parts>` matching `pattern`, sorted, for parametrize. When the
    folder is missing: the folder itself, as one parameter, so that the test (marked with
    `needs_shared`) is reported once as skipped with the reason, not as an empty set."""
    folder = SHARED.joinpath(*parts)
    if not folder.is_dir():
        return [folder]
    return sorted(folder.glob(pattern))
