"""Where the generated check job installs uvtorch-ci from: the copy that rendered the workflow,
read from its install record (PEP 610's direct_url.json) as uv and pip write it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from uvtorch_ci.commands.toolsource import tool_requirement
from uvtorch_ci.resources import REPOSITORY

COMMIT = "dec9da0c1ea9560b86e510ce8813fee8a9cfc129"
TAGGED = f"uvtorch-ci @ git+{REPOSITORY}@v1.2.3"


def installed(tmp_path: Path, record: object | None) -> str:
    folder = tmp_path / "uvtorch_ci-1.2.3.dist-info"
    folder.mkdir()
    if record is not None:
        text = record if isinstance(record, str) else json.dumps(record)
        (folder / "direct_url.json").write_text(text)
    return str(folder)


def git(url: str, commit: str = COMMIT) -> dict[str, object]:
    return {"url": url, "vcs_info": {"vcs": "git", "commit_id": commit, "requested_revision": "v1"}}


def test_a_git_install_names_its_exact_commit(tmp_path: Path) -> None:
    folder = installed(tmp_path, git("https://github.com/someone/uvtorch-ci"))
    assert tool_requirement(folder, "1.2.3") == (
        f"uvtorch-ci @ git+https://github.com/someone/uvtorch-ci@{COMMIT}"
    )


def test_an_index_install_names_its_release(tmp_path: Path) -> None:
    assert tool_requirement(installed(tmp_path, None), "1.2.3") == "uvtorch-ci==1.2.3"


@pytest.mark.parametrize(
    "record",
    [
        {"url": "file:///home/me/uvtorch-ci", "dir_info": {"editable": True}},
        {"url": "file:///tmp/uvtorch_ci-1.2.3-py3-none-any.whl", "archive_info": {}},
        git("file:///home/me/uvtorch-ci"),  # a clone CI cannot reach
        git("https://me:token@github.com/me/uvtorch-ci"),  # never into a workflow
        git("https://github.com/me/uvtorch-ci", commit="v1"),  # not a commit
        "{not json",
        ["a", "list"],
    ],
    ids=["editable", "wheel", "local-clone", "credentials", "no-commit", "broken", "not-a-table"],
)
def test_anything_ci_cannot_fetch_gives_the_versions_tag(tmp_path: Path, record: object) -> None:
    assert tool_requirement(installed(tmp_path, record), "1.2.3") == TAGGED


def test_a_source_tree_gives_the_versions_tag(tmp_path: Path) -> None:
    assert tool_requirement(str(tmp_path / "absent.dist-info"), "1.2.3") == TAGGED
