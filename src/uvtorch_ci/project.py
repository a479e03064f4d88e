"""Pure: a project's texts (pyproject.toml, the spec) in, the plan and every output text out."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import PyprojectError, SpecError
from .plan.planner import Plan, plan_from_data
from .platforms import PLATFORMS
from .pyproject.data import parse_toml, requires_python
from .releases.table import PACKAGES, ReleaseTable
from .resources import SMOKE_PATH

if TYPE_CHECKING:
    from .pyproject.merge import Merged

SPEC_TABLE = "tool.uvtorch"


@dataclass(frozen=True)
class ProjectTexts:
    """A project's inputs: pyproject.toml and, when there is one, a standalone spec file,
    each with the name errors give it. An explicit spec file (--spec) wins over
    [tool.uvtorch]; a found uvtorch.toml only stands in when there is no [tool.uvtorch]."""

    pyproject: str
    pyproject_label: str
    spec: str | None = None
    spec_label: str | None = None
    spec_explicit: bool = True
    # where the project sits in its repository: its folder below the root git found ("" at
    # the root, or no git), and the names of the folders above it, for `repository-root`
    location: str = ""
    parents: tuple[str, ...] = field(default=())
    in_git: bool = False  # whether git knows a repository holding the project


@dataclass(frozen=True)
class Rendered:
    """Everything `render` produces: the merged pyproject and the CI files, by path relative
    to the project (the workflow lies at the repository root: "../../.github/workflows/...").
    `retired` are files an earlier shape had this tool write that this one does not use, and
    `stamp_line` the first line of the header every file generated for this project starts
    with (a workflow under another name that starts so is one of ours, left over)."""

    plan: Plan
    pyproject: Merged
    ci_files: dict[str, str]
    location: str = ""
    retired: tuple[str, ...] = ()
    stamp_line: str = ""

    @property
    def workflows_dir(self) -> str:
        """The repository's .github/workflows/, relative to the project."""
        return posixpath.dirname(next(iter(self.ci_files)))


def spec_data(
    pyproject: dict[str, Any],
    pyproject_label: str,
    spec_text: str | None,
    spec_label: str | None,
    spec_explicit: bool = True,
) -> tuple[dict[str, Any], str, str]:
    """The spec table, the file it came from, and its key prefix.

    An explicit spec file wins; then [tool.uvtorch]; then the project's uvtorch.toml.
    """
    tool = pyproject.get("tool", {})
    if not isinstance(tool, dict):
        raise PyprojectError(
            "must be a table ([tool.…] sections)", file=pyproject_label, where="tool"
        )
    table = tool.get("uvtorch")
    if spec_text is not None and spec_label is not None and (spec_explicit or table is None):
        return parse_toml(spec_text, spec_label), spec_label, ""
    if table is None:
        raise SpecError(
            "no spec: there is no [tool.uvtorch] table and no uvtorch.toml",
            file=pyproject_label,
            hint='add [tool.uvtorch] with torch = "..." and [[tool.uvtorch.targets]], '
            "or run `uvtorch-ci init`",
        )
    if not isinstance(table, dict):
        raise SpecError("must be a table", file=pyproject_label, where=SPEC_TABLE)
    return table, pyproject_label, SPEC_TABLE


def plan_project(
    texts: ProjectTexts, *, env: Mapping[str, str], table: ReleaseTable, routing: bool = True
) -> Plan:
    """Validate the spec and plan, without rendering: all that `verify` needs, and light
    (tomllib and packaging; no Jinja2, no tomlkit). `routing=False`: planned to judge a lock
    only (see make_plan)."""
    pyproject = parse_toml(texts.pyproject, texts.pyproject_label)
    data, file, prefix = spec_data(
        pyproject, texts.pyproject_label, texts.spec, texts.spec_label, texts.spec_explicit
    )
    return plan_from_data(
        data,
        file=file,
        prefix=prefix,
        env=env,
        table=table,
        requires_python=requires_python(pyproject),
        pyproject_file=texts.pyproject_label,
        routing=routing,
    )


def render_project(
    texts: ProjectTexts,
    *,
    env: Mapping[str, str],
    table: ReleaseTable,
    smoke_source: str = "",
    check_environments: bool = False,
    check_owned: bool = False,
    tool: str = "",
) -> Rendered:
    """Plan, render the blocks and merge them into pyproject.toml, render the CI files.

    `smoke_source` is the text of the standalone smoke check, copied next to the workflow
    when the workflow runs it inline (no action of ours to install first). With
    `check_environments`, a `[tool.uv] environments` that shuts out a target is an error
    (render refuses it; verify reports it per target instead). `tool` is the requirement
    the workflow's check job installs uvtorch-ci with (github/workflow.py).
    """
    # the rendering stack is loaded here, not with the module: plan_project goes without it
    from .github.workflow import (
        generated_header,
        render_smoke_copy,
        render_workflow,
        workflow_path,
    )
    from .pyproject.blocks import render_blocks
    from .pyproject.merge import merge_blocks

    plan = plan_project(texts, env=env, table=table)
    environments = {
        t.platform: PLATFORMS[t.platform].marker_environment(plan.spec.python[0])
        for t in plan.spec.targets
        if check_environments
    }
    merged = merge_blocks(
        texts.pyproject,
        render_blocks(plan),
        file=texts.pyproject_label,
        pytorch_base=plan.spec.index_url,
        environments=environments,
        known={
            package: tuple(dict.fromkeys(v for r in table.releases if (v := r.paired(package))))
            for package in ("torch", *PACKAGES)
        },
        managed=plan.spec.packages,
    )
    if check_owned:
        from .pyproject.routes import check_routes

        check_routes(
            parse_toml(texts.pyproject, texts.pyproject_label), plan, table, texts.pyproject_label
        )
    location = project_location(plan, texts)
    up = "/".join([".."] * len(location.split("/"))) if location else ""
    workflow = render_workflow(plan, location, tool)
    ci_files = {posixpath.join(up, workflow_path(plan, location)): workflow}
    retired: tuple[str, ...] = ()
    if plan.spec.action is None:
        ci_files[SMOKE_PATH] = render_smoke_copy(plan, smoke_source, location)
    else:
        retired = (SMOKE_PATH,)
    header = generated_header(plan, location)[0]
    return Rendered(plan, merged, ci_files, location, retired, f"# {header}")


def project_location(plan: Plan, texts: ProjectTexts) -> str:
    """The project's folder relative to the repository root: from `repository-root` when the
    spec gives it, else as git found it."""
    depth = plan.spec.root_depth
    if depth is None:
        return texts.location
    # The boundary: render writes there, so it must lie within git's top level (a clone's
    # spec cannot send the workflow above the repository it came in).
    git_depth = len(texts.location.split("/")) if texts.location else 0
    if depth > git_depth:
        named = "/" + "/".join(texts.parents[: max(len(texts.parents) - depth, 0)])
        top = "/" + "/".join(texts.parents[: len(texts.parents) - git_depth])
        raise SpecError(
            f"names {named}, above "
            + (
                f"the root of the git repository that holds the project ({top})"
                if texts.in_git
                else "the project, which is in no git repository"
            ),
            file=plan.spec.file,
            where=plan.spec.key("repository-root"),
            hint="the repository root holds the project and lies within its git checkout: "
            + (
                f"at most {_up(git_depth)}, or leave repository-root out (git decides)"
                if texts.in_git
                else '"." (or leave repository-root out)'
            ),
        )
    return "/".join(texts.parents[len(texts.parents) - depth :]) if depth else ""


def _up(depth: int) -> str:
    return '"' + ("/".join([".."] * depth) or ".") + '"'
