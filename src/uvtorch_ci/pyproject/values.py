"""Pure: the merge's tomlkit pass: values edited in place in the parsed pyproject.toml: the torch
family's requirements in [project].dependencies and in the backend extras, `[tool.uv]
required-environments` and `conflicts`, and the [tool.uv.sources] entries of the packages the
tool routes. A key or table that is not there yet is left to the line pass (lines.py),
as tomlkit would add it where it reads worst."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.items import Table

from ..errors import PyprojectError
from ..releases.table import BACKEND_PATTERN
from .data import FAMILY, source_entries
from .lines import EXTRAS, PROJECT, SOURCES, UV
from .tomltext import scan


def is_backend_extra(name: str) -> bool:
    """An extra named after a backend (plan.extra_name's form: rocm6.2 is the extra rocm6-2)."""
    return bool(BACKEND_PATTERN.fullmatch(canonicalize_name(name).replace("-", ".")))


@dataclass
class ValueMerge:
    """The tomlkit pass over one file: `data` is the file's data, `blocks` the rendered blocks
    (`formatted`: parsed by tomlkit, to copy their layout), `managed` the packages the tool
    routes; notes for the user go to `notes`. What the line pass must then add is in `missing`
    (table path -> keys), the [tool.uv] keys it must cut in `deleted`."""

    data: dict[str, Any]
    blocks: dict[str, Any]
    formatted: tomlkit.TOMLDocument
    managed: set[str]
    old_text: str
    file: str
    notes: list[str]
    new_sources: dict[str, Any] = field(init=False)
    new_extras: dict[str, list[str]] = field(init=False)
    missing: dict[tuple[str, ...], list[str]] = field(init=False, default_factory=dict)
    deleted: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.new_sources = self.blocks["tool"]["uv"]["sources"]
        self.new_extras = self.blocks["project"].get("optional-dependencies", {})

    def fail(self, where: str, message: str, hint: str = "") -> PyprojectError:
        return PyprojectError(message, file=self.file, where=where, hint=hint)

    # -- requirement arrays: [project].dependencies and the extras ---------------------------

    def _merge_array(self, array: Any, rendered: list[str], where: str, *, remove: bool) -> None:
        """Make the managed requirements of `array` equal `rendered`, in place.

        Managed requirements not in `rendered` are removed when `remove` (the array is the
        tool's to fill); a torch-family package the spec does not manage is an error then.
        """
        wanted = {canonicalize_name(Requirement(r).name): r for r in rendered}
        placed: set[str] = set()
        last = -1
        i = 0
        while i < len(array):
            item = str(array[i])
            try:
                name = canonicalize_name(Requirement(item).name)
            except InvalidRequirement as error:
                raise self.fail(
                    f"{where}[{i}]",
                    f"{item!r} is not a valid requirement: {error}",
                    'a PEP 508 requirement, e.g. "numpy>=1.26"',
                ) from None
            if name in FAMILY and name not in self.managed and remove:
                raise self.fail(
                    f"{where}[{i}]",
                    f"{name} is a dependency but not in the spec's packages, so its build "
                    "would not match torch's",
                    f'add "{name}" to packages in the spec (or remove the dependency)',
                )
            if name not in wanted:
                if name in self.managed and remove:
                    self.notes.append(f"removed {item!r} from {where}")
                    del array[i]
                    continue
                i += 1
                continue
            if name in placed:
                self.notes.append(f"removed duplicate {item!r} from {where}")
                del array[i]
                continue
            placed.add(name)
            if not _same_requirement(item, wanted[name]):
                self.notes.append(f"replaced {item!r} with {wanted[name]!r} in {where}")
                array[i] = wanted[name]
            last = i
            i += 1
        for name, requirement in wanted.items():
            if name in placed:
                continue
            last = last + 1 if last >= 0 else len(array)
            array.insert(last, requirement)
            self.notes.append(f"added {requirement!r} to {where}")

    def merge_dependencies(self, doc: tomlkit.TOMLDocument) -> None:
        rendered: list[str] = self.blocks["project"]["dependencies"]
        project: Any = doc["project"]
        if "dependencies" not in project:
            if rendered:
                self.missing.setdefault(PROJECT, []).append("dependencies")
                self.notes.append(f"added {', '.join(rendered)} to [project].dependencies")
            return
        array = project["dependencies"]
        if not isinstance(array, list):
            raise self.fail("[project].dependencies", "must be an array of requirement strings")
        self._merge_array(array, rendered, "[project].dependencies", remove=True)

    def merge_extras(self, doc: tomlkit.TOMLDocument) -> set[str]:
        """Fill the rendered extras; empty the tool's stale ones. Returns the extras removed."""
        project: Any = doc["project"]
        table = project.get("optional-dependencies")
        removed: set[str] = set()
        if table is None:
            if self.new_extras:
                self.missing[EXTRAS] = list(self.new_extras)
                self.notes.append(f"added the extras {', '.join(self.new_extras)}")
            return removed
        inline = isinstance(table, tomlkit.items.InlineTable)
        for extra in list(table.keys()):
            where = f"[project.optional-dependencies].{extra}"
            if extra in self.new_extras:
                self._merge_array(table[extra], self.new_extras[extra], where, remove=True)
            elif is_backend_extra(extra):
                self._merge_array(table[extra], [], where, remove=True)
                if not len(table[extra]):
                    del table[extra]
                    removed.add(canonicalize_name(extra))
                    self.notes.append(f"removed the extra {extra!r}, now empty")
        for extra, requirements in self.new_extras.items():
            if extra in table:
                continue
            if inline:
                table[extra] = requirements
            else:
                self.missing.setdefault(EXTRAS, []).append(extra)
            self.notes.append(f"added the extra {extra!r}")
        return removed

    # -- [tool.uv] required-environments and conflicts ---------------------------------------

    def merge_uv_keys(self, doc: tomlkit.TOMLDocument, removed_extras: set[str]) -> None:
        uv_data = self.data.get("tool", {}).get("uv", {})
        rendered = self.blocks["tool"]["uv"]
        owned = {canonicalize_name(e) for e in self.new_extras} | removed_extras
        wanted: dict[str, Any] = {"required-environments": rendered["required-environments"]}
        kept = [s for s in uv_data.get("conflicts", []) if not _owned_conflict(s, owned)]
        conflicts = kept + rendered.get("conflicts", [])
        if conflicts or "conflicts" in uv_data:
            wanted["conflicts"] = conflicts
        uv: Any = doc.get("tool", {}).get("uv")
        for key, value in wanted.items():
            if key not in uv_data:
                if value:
                    self.missing.setdefault(UV, []).append(key)
                    self.notes.append(f"added [tool.uv] {key}")
                continue
            if _plain(uv[key]) == value:
                continue
            if not value:
                self.deleted.append(key)  # on lines: tomlkit drops a table left empty
                self.notes.append(f"removed [tool.uv] {key}, now empty")
                continue
            self.notes.append(f"replaced [tool.uv] {key}")
            formatted: Any = self.formatted["tool"]["uv"]
            plain_inline = isinstance(uv, tomlkit.items.InlineTable) or kept
            uv[key] = value if plain_inline else formatted[key]

    # -- [tool.uv.sources] -----------------------------------------------------------------

    def merge_sources(self, doc: tomlkit.TOMLDocument, renames: dict[str, str]) -> None:
        uv: Any = doc.get("tool", {}).get("uv", {})
        if "sources" not in uv:
            self.missing[SOURCES] = list(self.new_sources)
            return
        sources = uv["sources"]
        inline = isinstance(sources, tomlkit.items.InlineTable)
        formatted: Any = self.formatted["tool"]["uv"]["sources"]
        self._refuse_source_tables()
        for key in list(sources.keys()):
            name = canonicalize_name(key)
            if name in (self.managed | set(FAMILY)) and key not in self.new_sources:
                reason = "not routed by the spec" if name not in self.managed else "respelt"
                self.notes.append(f"removed the source for {key!r} ({reason})")
                del sources[key]
                continue
            if name in self.managed:
                continue
            for entry in source_entries(sources[key]):
                old = entry.get("index") if isinstance(entry, dict) else None
                if isinstance(old, str) and old in renames:
                    entry["index"] = renames[old]
                    self.notes.append(f"pointed the source for {key!r} at {renames[old]!r}")
        for key, value in self.new_sources.items():
            if key not in sources:
                if inline:
                    sources[key] = value
                else:
                    self.missing.setdefault(SOURCES, []).append(key)
                continue
            if _plain(sources[key]) == value:
                continue
            self.notes.append(f"replaced the source for {key}")
            if not inline and isinstance(sources[key], Table | OutOfOrderTableProxy):
                # dotted keys (torch.index = ...): tomlkit would write the new value below
                # whatever follows them, so they go, and the new key is added on lines
                del sources[key]
                self.missing.setdefault(SOURCES, []).append(key)
                continue
            sources[key] = value if inline else formatted[key]

    def _refuse_source_tables(self) -> None:
        """The sources of a package the tool routes, written as a table of their own
        ([tool.uv.sources.torch] or [[tool.uv.sources.torch]]): tomlkit drops the lines after
        a table it replaces or deletes, so the user removes it instead."""
        for header in scan(self.old_text.splitlines(keepends=True)):
            if header.path[:3] != SOURCES or len(header.path) < 4:
                continue
            key = header.path[3]
            if canonicalize_name(key) in self.managed | set(FAMILY):
                table = ".".join(header.path[:4])
                shown = (
                    f"[[{table}]]" if header.is_array and len(header.path) == 4 else f"[{table}]"
                )
                raise self.fail(
                    shown,
                    f"uvtorch-ci writes the sources of {key} itself and cannot replace them "
                    "when they are written as a table of their own",
                    f"delete {shown}, then render again",
                )


def _owned_conflict(group: Any, owned: set[str]) -> bool:
    """A conflict set made only of extras the tool owns."""
    if not isinstance(group, list) or not group:
        return False
    for item in group:
        if not isinstance(item, dict) or set(item) != {"extra"}:
            return False
        extra = canonicalize_name(str(item["extra"]))
        if extra not in owned and not is_backend_extra(extra):
            return False
    return True


def _plain(value: Any) -> Any:
    """A tomlkit item as plain Python values, for comparing with the rendered ones."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _same_requirement(a: str, b: str) -> bool:
    try:
        return str(Requirement(a)) == str(Requirement(b))
    except InvalidRequirement:
        return False
