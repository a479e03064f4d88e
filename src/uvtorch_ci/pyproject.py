"""Pure: old pyproject.toml text + rendered blocks -> new text, touching only what the tool owns.

The tool owns: the torch-family requirements in [project].dependencies and in extras named
after a backend (cpu, cu126, rocm6-2 ...), those extras' entries in `[tool.uv] conflicts`,
`[tool.uv] required-environments`, the [tool.uv.sources] entries of the packages it
routes, and the [[tool.uv.index]] tables that point at a PyTorch index. Everything else is
kept byte for byte. Values are edited in place with tomlkit; keys and whole tables are added
and cut on lines (tomlkit attaches the comments above a header to the table before it, so
adding or removing tables through it would move other people's comments; see tomltext.py).

An index the user wrote under one of the tool's index names (pytorch-cu124, pytorch-cpu ...)
but pointing at something that is not a PyTorch index (a private PyPI, a mirror of another
layout) is the user's, not the tool's: what happens to it depends on who installs from it.

- Nothing but the torch family does (it is `explicit`, not the `default`, and no other package's
  source names it): it is taken over, its URL replaced with the PyTorch index's, and a note
  names both URLs and says how to keep a mirror (`index-url` in the spec, or
  UVTORCH_INDEX_URL). Replacing it in place keeps the name its torch sources already use.
- Another package does (a [tool.uv.sources] entry outside the torch family names it; or uv
  searches it for every package, because it is not `explicit` or it is the `default`): taking
  it over would send those packages to a PyTorch index, or drop the user's index for them. It
  is kept as it is, and the tool's index gets a name of its own, `<name>-uvtorch`
  (`-uvtorch-2` ... if that is taken too), which the torch sources then use; a note says so.
  Refusing would be as safe, but would stop a render that can be done without touching any
  entry the user relies on. The choice depends only on the file, so a second render makes it
  again, finds the index already in place and changes nothing.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tomlkit
from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.items import Table

from .errors import PyprojectError
from .releases import BACKEND_PATTERN
from .tomldata import FAMILY, is_pytorch_index, parse_toml
from .tomltext import Header, key_spans, key_texts, scan

PROJECT = ("project",)
EXTRAS = ("project", "optional-dependencies")
UV = ("tool", "uv")
SOURCES = ("tool", "uv", "sources")
INDEX = ("tool", "uv", "index")
UV_KEYS = ("required-environments", "conflicts")


@dataclass(frozen=True)
class Merged:
    """The new pyproject text and what was taken over, for the user."""

    text: str
    notes: tuple[str, ...]


def is_backend_extra(name: str) -> bool:
    """An extra named after a backend (plan.extra_name's form: rocm6.2 is the extra rocm6-2)."""
    return bool(BACKEND_PATTERN.match(canonicalize_name(name).replace("-", ".")))


def merge_blocks(
    old_text: str,
    blocks_text: str,
    *,
    file: str,
    pytorch_base: str,
    environments: Mapping[str, Mapping[str, str]] | None = None,
) -> Merged:
    """Merge the rendered blocks into `old_text`. Raises PyprojectError on what it cannot own.

    `environments` maps each targeted platform to a PEP 508 environment; a `[tool.uv]
    environments` setting that shuts one of them out is refused.
    """
    data = parse_toml(old_text, file)
    _check_shapes(data, file)
    merge = _Merge(old_text, data, blocks_text, file, pytorch_base)
    merge.check_environments(environments or {})
    return merge.run()


def _check_shapes(data: Mapping[str, Any], file: str) -> None:
    """Refuse, naming the key, a value of the wrong type where the merge reads one (uv would
    refuse the file too), so that nothing below meets a string where it expects a table."""

    def fail(where: str, what: str) -> PyprojectError:
        return PyprojectError(f"must be {what}", file=file, where=where)

    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise fail("tool", "a table ([tool])")
    uv = tool.get("uv", {})
    if not isinstance(uv, dict):
        raise fail("[tool].uv", "a table ([tool.uv])")
    if not isinstance(uv.get("sources", {}), dict):
        raise fail("[tool.uv].sources", "a table ([tool.uv.sources])")
    index = uv.get("index", [])
    if not isinstance(index, list) or not all(isinstance(i, dict) for i in index):
        raise fail("[tool.uv].index", "an array of tables ([[tool.uv.index]])")
    conflicts = uv.get("conflicts", [])
    if not isinstance(conflicts, list) or not all(isinstance(c, list) for c in conflicts):
        raise fail("[tool.uv].conflicts", 'an array of arrays, e.g. [[{ extra = "cpu" }, ...]]')
    environments = uv.get("environments", [])
    if not isinstance(environments, str | list) or not all(
        isinstance(e, str)
        for e in ([environments] if isinstance(environments, str) else environments)
    ):
        raise fail("[tool.uv].environments", "a marker string or an array of marker strings")
    project = data.get("project")
    if not isinstance(project, dict):
        return  # run() says what is missing
    if not isinstance(project.get("dynamic", []), list):
        raise fail("[project].dynamic", "an array of field names")
    extras = project.get("optional-dependencies", {})
    if not isinstance(extras, dict):
        raise fail("[project].optional-dependencies", "a table ([project.optional-dependencies])")
    for extra, requirements in extras.items():
        if not isinstance(requirements, list):
            raise fail(
                f"[project.optional-dependencies].{extra}", "an array of requirement strings"
            )


@dataclass(frozen=True)
class _Pieces:
    """The rendered blocks cut into the texts that get inserted: key lines and tables."""

    keys: dict[tuple[str, ...], dict[str, str]]  # table path -> key -> its lines
    indexes: dict[str, str]  # index name -> its [[tool.uv.index]] table

    def table(self, path: tuple[str, ...], keys: list[str]) -> str:
        header = "[" + ".".join(path) + "]\n"
        return header + "".join(self.keys[path][key] for key in keys)


def _cut(blocks_text: str, blocks: dict[str, Any]) -> _Pieces:
    lines = blocks_text.splitlines(keepends=True)
    headers = scan(lines)
    keys = {h.path: key_texts(lines[h.line + 1 : h.body_end]) for h in headers if not h.is_array}
    index_headers = [h for h in headers if h.path == INDEX]
    names = [index["name"] for index in blocks["tool"]["uv"]["index"]]
    indexes = {
        name: "".join(lines[h.line : h.body_end])
        for name, h in zip(names, index_headers, strict=True)
    }
    return _Pieces(keys, indexes)


class _Merge:
    def __init__(
        self, old_text: str, data: dict[str, Any], blocks_text: str, file: str, base: str
    ) -> None:
        self.old_text = old_text
        self.data = data
        self.file = file
        self.base = base
        self.notes: list[str] = []
        self.blocks = tomllib.loads(blocks_text)
        self.managed = {canonicalize_name(p) for p in self.blocks["tool"]["uv"]["sources"]}
        # the user's indexes under one of the tool's names that other packages install from:
        # name -> why it is kept; the tool's index then takes the name in self.index_renames
        self.foreign_in_use = self._foreign_indexes_in_use()
        self.index_renames = self._free_index_names()
        if self.index_renames:
            blocks_text = self._rename_indexes(blocks_text)
            self.blocks = tomllib.loads(blocks_text)
        self.formatted = tomlkit.parse(blocks_text)
        self.pieces = _cut(blocks_text, self.blocks)
        uv = self.blocks["tool"]["uv"]
        self.new_sources: dict[str, Any] = uv["sources"]
        self.new_indexes: list[dict[str, Any]] = uv["index"]
        self.new_extras: dict[str, list[str]] = self.blocks["project"].get(
            "optional-dependencies", {}
        )
        # what gets inserted on lines after the tomlkit pass: table path -> keys
        self.missing: dict[tuple[str, ...], list[str]] = {}
        self.deleted: list[str] = []  # [tool.uv] keys removed on lines

    def fail(self, where: str, message: str, hint: str = "") -> PyprojectError:
        return PyprojectError(message, file=self.file, where=where, hint=hint)

    def check_environments(self, environments: Mapping[str, Mapping[str, str]]) -> None:
        declared = self.data.get("tool", {}).get("uv", {}).get("environments")
        if not declared:
            return
        declared = [declared] if isinstance(declared, str) else declared
        try:
            markers = [Marker(m) for m in declared]
        except InvalidMarker as error:
            raise self.fail("[tool.uv].environments", f"holds an invalid marker: {error}") from None
        for platform, environment in environments.items():
            if not any(m.evaluate(dict(environment)) for m in markers):
                raise self.fail(
                    "[tool.uv].environments",
                    f"shuts out {platform}, which the spec targets: uv would not lock for it",
                    f"add a marker for {platform} to environments, or remove the setting",
                )

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
        visible, hidden = _hide_arrays_of_tables(self.old_text)
        doc = tomlkit.parse(visible)
        written = tomlkit.dumps(doc)
        if written != visible:
            raise self._layout_error(_unhide(written, hidden) or written)
        self._merge_dependencies(doc)
        removed_extras = self._merge_extras(doc)
        self._merge_uv_keys(doc, removed_extras)
        removals, replaced, renames = self._plan_indexes()
        self._merge_sources(doc, renames)
        written = tomlkit.dumps(doc)
        unhidden = _unhide(written, hidden)
        if unhidden is None:
            raise self._layout_error(written)
        text = self._edit_lines(unhidden, removals, replaced)
        if "\r\n" in self.old_text and not re.search(r"(?<!\r)\n", self.old_text):
            text = re.sub(r"(?<!\r)\n", "\r\n", text)
        self._check(text)
        return Merged(text, tuple(self.notes))

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

    def _merge_dependencies(self, doc: tomlkit.TOMLDocument) -> None:
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

    def _merge_extras(self, doc: tomlkit.TOMLDocument) -> set[str]:
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

    def _merge_uv_keys(self, doc: tomlkit.TOMLDocument, removed_extras: set[str]) -> None:
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

    # -- [[tool.uv.index]] -----------------------------------------------------------------

    def _existing_indexes(self) -> list[dict[str, Any]]:
        indexes = self.data.get("tool", {}).get("uv", {}).get("index", [])
        if not isinstance(indexes, list):
            raise self.fail("[tool.uv].index", "must be an array of tables ([[tool.uv.index]])")
        return indexes

    def _plan_indexes(self) -> tuple[list[int], dict[int, str], dict[str, str]]:
        """Which existing index tables to remove, which to rewrite, and index renames."""
        by_name = {index["name"]: index for index in self.new_indexes}
        by_url = {index["url"].rstrip("/"): index["name"] for index in self.new_indexes}
        still_used = set(self._users_outside_managed())
        existing = self._existing_indexes()
        names = {str(index.get("name", "")) for index in existing}
        removals: list[int] = []
        replaced: dict[int, str] = {}
        renames: dict[str, str] = {}
        seen: set[str] = set()
        for position, index in enumerate(existing):
            name = str(index.get("name", ""))
            url = str(index.get("url", ""))
            if name in self.index_renames:  # the user's, and in use: left as it is
                given = self.index_renames[name]
                if given not in names and name not in seen:  # said once, when ours is added
                    seen.add(name)
                    given_url = by_name[given]["url"]
                    self.notes.append(
                        f"kept index {name!r} ({url}): it is not a PyTorch index and "
                        f"{self.foreign_in_use[name]}, so uvtorch-ci's index is added as "
                        f"{given!r} ({given_url}); {_mirror_hint(given_url)}"
                    )
                continue
            if name in seen:  # a second table with one of the tool's index names
                removals.append(position)
                self.notes.append(f"removed the duplicate index {name!r} ({url})")
                continue
            if name in by_name:
                seen.add(name)
                if index == by_name[name]:
                    continue
                replaced[position] = self.pieces.indexes[name]
                new_url = by_name[name]["url"]
                if not is_pytorch_index(url, self.base):
                    self.notes.append(
                        f"replaced index {name!r} ({url}, not a PyTorch index) with "
                        f"{new_url}; {_mirror_hint(new_url)}"
                    )
                elif url.rstrip("/") != new_url.rstrip("/"):
                    self.notes.append(f"replaced index {name!r} ({url}) with {new_url}")
                else:
                    self.notes.append(f"replaced index {name!r} ({url})")
                continue
            if not is_pytorch_index(url, self.base):
                continue
            ours = by_url.get(url.rstrip("/"))
            if ours is not None:
                renames[name] = ours
                removals.append(position)
                self.notes.append(f"replaced index {name!r} with {ours!r} (same URL {url})")
            elif name not in still_used:  # another package still installs from it: keep
                removals.append(position)
                self.notes.append(f"removed index {name!r} ({url}), no longer used")
        return removals, replaced, renames

    def _users_outside_managed(self) -> dict[str, list[str]]:
        """Index name -> the packages outside the torch family whose sources name it."""
        sources = self.data.get("tool", {}).get("uv", {}).get("sources", {})
        used: dict[str, list[str]] = {}
        for package, value in sources.items():
            if canonicalize_name(package) in self.managed | set(FAMILY):
                continue
            for entry in _entries(value):
                if isinstance(entry, dict) and isinstance(entry.get("index"), str):
                    users = used.setdefault(entry["index"], [])
                    if package not in users:
                        users.append(package)
        return used

    def _foreign_indexes_in_use(self) -> dict[str, str]:
        """The user's indexes that point at something that is not a PyTorch index and that
        packages outside the torch family install from (a source names it, or it is not
        explicit, or it is the default): name -> why, for the note. None of the tool's
        indexes takes the name of one of them."""
        users = self._users_outside_managed()
        found: dict[str, str] = {}
        for index in self._existing_indexes():
            name = index.get("name")
            if not isinstance(name, str) or name in found:
                continue
            if is_pytorch_index(str(index.get("url", "")), self.base):
                continue
            if name in users:
                found[name] = f"[tool.uv.sources] installs {', '.join(users[name])} from it"
            elif index.get("default") is True:
                found[name] = "it is the default index, which uv installs every package from"
            elif index.get("explicit") is not True:
                found[name] = "uv searches it for every package (it is not explicit)"
        return found

    def _free_index_names(self) -> dict[str, str]:
        """The name each of the tool's indexes gets: its own unless a user's index in use holds
        it, then `<name>-uvtorch`, `<name>-uvtorch-2` ... Only the taken names are listed."""
        ours = [str(index["name"]) for index in self.blocks["tool"]["uv"]["index"]]
        taken = set(self.foreign_in_use) | set(ours)
        renames: dict[str, str] = {}
        for name in ours:
            if name not in self.foreign_in_use:
                continue
            candidate, number = f"{name}-uvtorch", 1
            while candidate in taken:
                number += 1
                candidate = f"{name}-uvtorch-{number}"
            taken.add(candidate)
            renames[name] = candidate
        return renames

    def _rename_indexes(self, blocks_text: str) -> str:
        """The rendered blocks with the tool's indexes under the names `index_renames` gives:
        the `name` of each index table and the `index` of each source (the template writes
        both as `key = "name"`, a JSON-quoted string)."""
        renames = self.index_renames
        pattern = re.compile(
            r'(^name = |\bindex = )("(?:' + "|".join(re.escape(n) for n in renames) + r')")',
            re.MULTILINE,
        )
        text = pattern.sub(lambda m: m[1] + json.dumps(renames[json.loads(m[2])]), blocks_text)
        data = tomllib.loads(text)
        names = [index["name"] for index in data["tool"]["uv"]["index"]]
        wanted = [renames.get(i["name"], i["name"]) for i in self.blocks["tool"]["uv"]["index"]]
        used = {
            entry["index"] for value in data["tool"]["uv"]["sources"].values() for entry in value
        }
        if names != wanted or used & set(renames):
            raise self.fail("", "could not rename uvtorch-ci's indexes here (please report this)")
        return text

    # -- [tool.uv.sources] -----------------------------------------------------------------

    def _merge_sources(self, doc: tomlkit.TOMLDocument, renames: dict[str, str]) -> None:
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
            for entry in _entries(sources[key]):
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

    # -- keys and whole tables, on lines ---------------------------------------------------

    def _edit_lines(self, text: str, removals: list[int], replaced: dict[int, str]) -> str:
        lines = text.splitlines(keepends=True)
        headers = scan(lines)
        index_headers = [h for h in headers if h.path == INDEX and h.is_array]
        existing = self._existing_indexes()
        if existing and len(index_headers) != len(existing):
            raise self.fail(
                "[tool.uv].index",
                "is written as an inline array; uvtorch-ci edits [[tool.uv.index]] tables",
                "write each index as its own [[tool.uv.index]] table",
            )
        edits: list[tuple[int, int, str]] = []  # replace lines[start:end] with text
        for position, table in replaced.items():
            header = index_headers[position]
            edits.append((header.line, header.body_end, table))
        for position in removals:
            header = index_headers[position]
            end = header.body_end
            before_blank = header.first == 0 or _blank(lines[header.first - 1])
            if before_blank and end < len(lines) and _blank(lines[end]):
                end += 1
            edits.append((header.first, end, ""))

        if self.deleted:
            uv_header = _find(headers, UV)
            if uv_header is None:
                raise self.fail(
                    "[tool.uv]", "is written inline; uvtorch-ci edits a [tool.uv] table"
                )
            spans = key_spans(lines, uv_header.line + 1, uv_header.body_end)
            for key in self.deleted:
                edits.append((*spans[key], ""))

        # New keys go at the end of their table; a missing table is made where it reads best.
        after: dict[int, list[str]] = {}  # line -> new tables inserted there
        project = _find(headers, PROJECT)
        if project is None:
            raise self.fail(
                "[project]",
                "is written inline; uvtorch-ci edits a [project] table",
                "write it as a [project] table",
            )
        first_uv = next((h.first for h in headers if h.path[:2] == UV), len(lines))
        for path in (PROJECT, EXTRAS, UV, SOURCES):
            keys = self.missing.get(path)
            if not keys:
                continue
            found = _find(headers, path)
            if found is not None:
                text_of_keys = "".join(self.pieces.keys[path][key] for key in keys)
                edits.append((found.body_end, found.body_end, text_of_keys))
            elif path == EXTRAS and not self._dotted(EXTRAS, headers):
                after.setdefault(project.body_end, []).append(self.pieces.table(path, keys))
            elif path == UV and not self._uv_has_dotted_keys():
                after.setdefault(first_uv, []).append(self.pieces.table(path, keys))
            elif path == SOURCES and not self._dotted(SOURCES, headers):
                uv_header = _find(headers, UV)
                anchor = uv_header.body_end if uv_header is not None else first_uv
                after.setdefault(anchor, []).append(self.pieces.table(path, keys))
            else:
                raise self.fail(
                    "[" + ".".join(path) + "]",
                    "is written with dotted keys, where uvtorch-ci cannot add to it",
                    f"write it as a [{'.'.join(path)}] table",
                )

        placed = {index.get("name") for index in existing}
        new_indexes = [t for name, t in self.pieces.indexes.items() if name not in placed]
        kept = [h for i, h in enumerate(index_headers) if i not in removals]
        if new_indexes and kept:
            edits.append((kept[-1].body_end, kept[-1].body_end, "\n" + "\n".join(new_indexes)))
        elif new_indexes:
            sources = _find(headers, SOURCES)
            if sources is not None:
                edits.append((sources.body_end, sources.body_end, "\n" + "\n".join(new_indexes)))
            else:
                anchor = next(
                    (a for a, ts in after.items() if any("[tool.uv.sources]" in t for t in ts)),
                    len(lines),
                )
                after.setdefault(anchor, []).extend(new_indexes)

        for anchor, tables in after.items():
            starts_table = anchor < len(lines) and anchor == next(
                (h.first for h in headers if h.first == anchor), None
            )
            if starts_table:
                edits.append((anchor, anchor, "\n".join(tables) + "\n"))
            else:
                edits.append((anchor, anchor, "\n" + "\n".join(tables)))

        # Bottom up, so line numbers stay valid; edits at one line land in the order made.
        order = sorted(range(len(edits)), key=lambda i: (edits[i][0], edits[i][1], i))
        for start, end, new in (edits[i] for i in reversed(order)):
            if new and start > 0 and not lines[start - 1].endswith("\n"):
                new = "\n" + new
            lines[start:end] = [new] if new else []
        return "".join(lines)

    def _dotted(self, path: tuple[str, ...], headers: list[Header]) -> bool:
        """The table at `path` has no header but keys that no header under it makes: they are
        dotted keys in another table, and a [table] header of its own may not follow."""
        data: Any = self.data
        for part in path:
            data = data.get(part) if isinstance(data, dict) else None
        if not isinstance(data, dict) or _find(headers, path) is not None:
            return False
        made = {
            h.path[len(path)] for h in headers if h.path[: len(path)] == path and h.path != path
        }
        return any(key not in made for key in data)

    def _uv_has_dotted_keys(self) -> bool:
        """[tool.uv] keys written as `uv.key = ...` under [tool]: no [tool.uv] header can follow."""
        uv = self.data.get("tool", {}).get("uv", {})
        return any(not isinstance(v, dict | list) for v in uv.values())

    def _check(self, text: str) -> None:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise self.fail("", f"could not merge the torch entries here ({error})") from None
        uv = data.get("tool", {}).get("uv", {})
        names = [index.get("name") for index in uv.get("index", [])]
        merged = all(uv.get("sources", {}).get(k) == v for k, v in self.new_sources.items())
        merged = merged and all(names.count(i["name"]) == 1 for i in self.new_indexes)
        if not merged:
            raise self.fail("", "could not merge the torch entries here (please report this)")


def _hide_arrays_of_tables(text: str) -> tuple[str, dict[str, str]]:
    """`text` with each [[array.of.tables]] the tomlkit pass does not edit (all but those
    under [project] and [tool.uv.sources]) swapped for a placeholder comment line, and the
    placeholders with the lines they stand for.

    tomlkit regroups the tables of an array split by another table of the same parent
    ([[tool.uv.index]], [tool.uv.sources], [[tool.uv.index]]) when it writes a document
    back, which would move the user's lines; those tables are edited on lines anyway.
    """
    lines = text.splitlines(keepends=True)
    headers = scan(lines)
    token = "#uvtorch-ci-hidden-"
    while token in text:
        token += "-"
    hidden: dict[str, str] = {}
    arrays: list[tuple[str, ...]] = []
    out: list[str] = lines[: headers[0].line] if headers else lines
    for i, header in enumerate(headers):
        end = headers[i + 1].line if i + 1 < len(headers) else len(lines)
        section = lines[header.line : end]
        edited = header.path[:1] == PROJECT or header.path[:3] == SOURCES
        if header.is_array and not edited:
            arrays.append(header.path)
        child = any(header.path[: len(a)] == a for a in arrays)
        if not child:
            out += section
            continue
        if hidden and out and out[-1] in hidden:  # one placeholder for adjacent sections
            hidden[out[-1]] += "".join(section)
            continue
        last = section[-1]
        newline = last[len(last.rstrip("\r\n")) :]
        placeholder = f"{token}{len(hidden)}{newline}"
        hidden[placeholder] = "".join(section)
        out.append(placeholder)
    return "".join(out), hidden


def _unhide(text: str, hidden: Mapping[str, str]) -> str | None:
    """`text` with the hidden lines back in place; None when a placeholder went missing."""
    for placeholder, section in hidden.items():
        if text.count(placeholder) != 1:
            return None
        text = text.replace(placeholder, section)
    return text


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


def _mirror_hint(url: str) -> str:
    """How to install from a mirror instead of the index at `url` (<base>/<backend>)."""
    backend = url.rstrip("/").rsplit("/", 1)[-1]
    return (
        "to take torch from a mirror, set index-url in the spec (or the UVTORCH_INDEX_URL "
        f"environment variable) to the mirror's base URL: uvtorch-ci then uses <base>/{backend}"
    )


def _entries(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _plain(value: Any) -> Any:
    """A tomlkit item as plain Python values, for comparing with the rendered ones."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _same_requirement(a: str, b: str) -> bool:
    try:
        return str(Requirement(a)) == str(Requirement(b))
    except InvalidRequirement:
        return False


def _blank(line: str) -> bool:
    return not line.strip()


def _find(headers: list[Header], path: tuple[str, ...]) -> Header | None:
    for header in headers:
        if header.path == path and not header.is_array:
            return header
    return None
