"""Pure: old pyproject.toml text + rendered blocks -> new text, touching only what the tool owns.

The tool owns: the torch-family requirements in [project].dependencies and in extras named
after a backend (cpu, cu126, rocm6-2 ...), those extras' entries in `[tool.uv] conflicts`,
`[tool.uv] required-environments`, the [tool.uv.sources] entries of the packages it
routes, and the [[tool.uv.index]] tables that point at a PyTorch index. Everything else is
kept byte for byte.

Values are edited in place with tomlkit (values.py); keys and whole tables are added
and cut on lines (lines.py: tomlkit attaches the comments above a header to the table
before it, so adding or removing tables through it would move other people's comments). What
becomes of the user's own indexes is decided in takeover.py; the values refused before
anything is edited, in shapes.py.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import tomlkit
import tomlkit.exceptions
from packaging.utils import canonicalize_name

from ..errors import PyprojectError
from .data import BOM, nesting_error, parse_toml
from .lines import cut, edit_lines, hide_arrays_of_tables, unhide
from .shapes import check_environments, check_shapes
from .takeover import IndexTakeover
from .tomltext import scan
from .values import ValueMerge


@dataclass(frozen=True)
class Merged:
    """The new pyproject text and what was taken over, for the user."""

    text: str
    notes: tuple[str, ...]


def merge_blocks(
    old_text: str,
    blocks_text: str,
    *,
    file: str,
    pytorch_base: str,
    environments: Mapping[str, Mapping[str, str]] | None = None,
    known: Mapping[str, tuple[str, ...]] | None = None,
    managed: Iterable[str] = (),
) -> Merged:
    """Merge the rendered blocks into `old_text`. Raises PyprojectError on what it cannot own.

    `environments` maps each targeted platform to a PEP 508 environment; a `[tool.uv]
    environments` setting that shuts one of them out is refused. `known` gives the versions
    of each torch-family package the release table knows: a requirement of the user's that
    admits the same of them as the tool's stays as the user wrote it. `managed` names packages
    the tool owns besides those the blocks give sources (one left to PyPI everywhere: a
    source of the user's for it goes).
    """
    if old_text.startswith(BOM):  # uv reads past a byte order mark; it stays where it is
        merged = merge_blocks(
            old_text.removeprefix(BOM),
            blocks_text,
            file=file,
            pytorch_base=pytorch_base,
            environments=environments,
            known=known,
            managed=managed,
        )
        return Merged(BOM + merged.text, merged.notes)
    data = parse_toml(old_text, file)
    check_shapes(data, file)
    merge = _Merge(
        old_text, data, blocks_text, file, pytorch_base, environments or {}, known or {}, managed
    )
    check_environments(data, environments or {}, file)
    try:
        return merge.run()
    except RecursionError:  # a value deep enough for tomllib, too deep for tomlkit's writer
        raise nesting_error(old_text, file) from None


class _Merge:
    """One merge: the passes over the file in turn, and the notes they leave for the user."""

    def __init__(
        self,
        old_text: str,
        data: dict[str, Any],
        blocks_text: str,
        file: str,
        base: str,
        environments: Mapping[str, Mapping[str, str]],
        known: Mapping[str, tuple[str, ...]],
        also_managed: Iterable[str] = (),
    ) -> None:
        self.old_text = old_text
        self.data = data
        self.file = file
        self.notes: list[str] = []
        blocks = tomllib.loads(blocks_text)
        managed: set[str] = {canonicalize_name(p) for p in blocks["tool"]["uv"]["sources"]}
        managed |= {canonicalize_name(p) for p in also_managed}
        ours = [str(index["name"]) for index in blocks["tool"]["uv"]["index"]]
        self.takeover = IndexTakeover(data, ours, managed, base, file, self.notes)
        if self.takeover.index_renames:
            blocks_text = self.takeover.rename_indexes(blocks_text, blocks)
            blocks = tomllib.loads(blocks_text)
        formatted = tomlkit.parse(blocks_text)
        self.pieces = cut(blocks_text, blocks)
        self.new_indexes: list[dict[str, Any]] = blocks["tool"]["uv"]["index"]
        self.values = ValueMerge(
            data, blocks, formatted, managed, old_text, file, self.notes, environments, known
        )

    def fail(self, where: str, message: str, hint: str = "") -> PyprojectError:
        return PyprojectError(message, file=self.file, where=where, hint=hint)

    def run(self) -> Merged:
        project = self.data.get("project")
        if not isinstance(project, dict):
            raise self.fail(
                "[project]",
                "missing: uv applies [tool.uv.sources] only to a project with a [project] table",
                "add [project] with name, version and requires-python",
            )
        if "dependencies" in project.get("dynamic", []):
            raise self.fail(
                "[project].dynamic",
                "dependencies are dynamic, so uvtorch-ci cannot declare torch in them",
                "list dependencies in [project].dependencies instead",
            )
        visible, hidden = hide_arrays_of_tables(self.old_text)
        try:
            doc = tomlkit.parse(visible)
        except tomlkit.exceptions.ParseError as error:
            raise tomlkit_refusal(error, self.file) from None
        written = tomlkit.dumps(doc)
        if written != visible:
            raise self._layout_error(unhide(written, hidden) or written)
        self.values.merge_dependencies(doc)
        removed_extras = self.values.merge_extras(doc) | self.values.merge_groups(doc)
        self.values.merge_uv_keys(doc, removed_extras)
        indexes = self.takeover.plan(self.new_indexes, self.pieces.indexes)
        self.values.merge_sources(doc, indexes.renames)
        inline = self._inline_indexes()
        if inline:
            gone = set(indexes.removals) | set(indexes.replaced)
            self.values.merge_inline_indexes(doc, self.takeover.existing, gone, self.new_indexes)
        written = tomlkit.dumps(doc)
        unhidden = unhide(written, hidden)
        if unhidden is None:
            raise self._layout_error(written)
        text = edit_lines(
            unhidden,
            self.data,
            self.pieces,
            existing=[] if inline else self.takeover.existing,
            removals=[] if inline else indexes.removals,
            replaced={} if inline else indexes.replaced,
            placed=() if inline else indexes.placed,
            indexes_inline=inline,
            missing=self.values.missing,
            deleted=self.values.deleted,
            file=self.file,
        )
        if "\r\n" in self.old_text and not re.search(r"(?<!\r)\n", self.old_text):
            text = re.sub(r"(?<!\r)\n", "\r\n", text)
        self._check(text)
        return Merged(text, tuple(self.notes))

    def _inline_indexes(self) -> bool:
        """`[tool.uv] index` written as an inline array (`index = [{ ... }]`), not as
        [[tool.uv.index]] tables."""
        if not self.takeover.existing:
            return False
        headers = scan(self.old_text.splitlines(keepends=True))
        return not any(h.path == ("tool", "uv", "index") and h.is_array for h in headers)

    def _layout_error(self, written: str) -> PyprojectError:
        """tomlkit would not write the file back as it was: refuse rather than move lines."""
        old = self.old_text.splitlines()
        new = written.splitlines()
        line = next(
            (i for i, pair in enumerate(zip(old, new, strict=False)) if len(set(pair)) > 1), None
        )
        line = min(len(old), len(new)) if line is None else line
        return self.fail(
            f"line {line + 1}",
            "uvtorch-ci cannot edit this file without moving its lines (tomlkit, which it edits "
            "TOML with, would regroup or drop lines here)",
            "keep the parts of each table together, then render again",
        )

    def _check(self, text: str) -> None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise self.fail("", f"could not merge the torch entries here ({error})") from None
        uv = data.get("tool", {}).get("uv", {})
        names = [index.get("name") for index in uv.get("index", [])]
        merged = all(uv.get("sources", {}).get(k) == v for k, v in self.values.new_sources.items())
        merged = merged and all(names.count(i["name"]) == 1 for i in self.new_indexes)
        if not merged:
            raise self.fail("", "could not merge the torch entries here (please report this)")


def tomlkit_refusal(error: tomlkit.exceptions.ParseError, file: str) -> PyprojectError:
    """The error for what tomllib reads and tomlkit does not (nesting past its 100 levels):
    every writer that edits a file with tomlkit refuses it so."""
    return PyprojectError(
        "uvtorch-ci cannot edit this file: tomlkit, which it edits TOML with, "
        f"refuses it ({re.sub(r' at line [0-9]+ col [0-9]+$', '', str(error))})",
        file=file,
        where=f"line {error.line}, column {error.col}",
        hint="nest fewer levels" if "nested" in str(error) else "",
    )
