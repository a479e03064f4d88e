"""Pure: old pyproject.toml text + rendered blocks -> new text, touching only what the tool owns.

The tool owns: the torch-family requirements in [project].dependencies, the
[tool.uv.sources] entries of the torch family, and the [[tool.uv.index]] tables that point
at a PyTorch index. Everything else is kept byte for byte. Values are edited in place with
tomlkit; whole tables are cut and added on lines (see tomltext.py for why).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import tomlkit
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from .errors import PyprojectError
from .tomltext import Header, scan

FAMILY = ("torch", "torchvision", "torchaudio")
PYTORCH_INDEX_URL = re.compile(r"/whl/(?:nightly/|test/)?(?:cpu|cu[0-9]+|rocm[0-9.]+|xpu)/?$")
INDEX_PATH = ("tool", "uv", "index")
SOURCES_PATH = ("tool", "uv", "sources")


@dataclass(frozen=True)
class Merged:
    """The new pyproject text and what was taken over, for the user."""

    text: str
    notes: tuple[str, ...]


def parse_toml(text: str, file: str) -> dict[str, Any]:
    """tomllib.loads with the error turned into a PyprojectError naming the line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = re.match(r"(.*) \(at (line \d+, column \d+)\)$", message)
        if match:
            raise PyprojectError(
                f"not valid TOML: {match.group(1)}", file=file, where=match.group(2)
            ) from None
        raise PyprojectError(f"not valid TOML: {message}", file=file) from None


def is_pytorch_index(url: str, base: str) -> bool:
    """True for an index URL of the PyTorch layout (<base>/<backend>) or under `base`."""
    url = url.rstrip("/")
    return url.startswith(base.rstrip("/") + "/") or bool(PYTORCH_INDEX_URL.search(url))


def requires_python(data: Mapping[str, Any]) -> str | None:
    project = data.get("project")
    value = project.get("requires-python") if isinstance(project, dict) else None
    return value if isinstance(value, str) else None


def merge_blocks(old_text: str, blocks_text: str, *, file: str, pytorch_base: str) -> Merged:
    """Merge the rendered blocks into `old_text`. Raises PyprojectError on what it cannot own."""
    data = parse_toml(old_text, file)
    blocks = tomllib.loads(blocks_text)
    formatted = tomlkit.parse(blocks_text)
    merge = _Merge(old_text, data, blocks, formatted, file, pytorch_base)
    return merge.run()


class _Merge:
    def __init__(
        self,
        old_text: str,
        data: dict[str, Any],
        blocks: dict[str, Any],
        formatted: tomlkit.TOMLDocument,
        file: str,
        pytorch_base: str,
    ) -> None:
        self.old_text = old_text
        self.data = data
        self.blocks = blocks
        self.formatted = formatted
        self.file = file
        self.base = pytorch_base
        self.notes: list[str] = []
        self.managed = [
            canonicalize_name(Requirement(r).name) for r in blocks["project"]["dependencies"]
        ]
        self.new_indexes: list[dict[str, Any]] = blocks["tool"]["uv"]["index"]
        self.new_sources: dict[str, Any] = blocks["tool"]["uv"]["sources"]
        self.pieces = _cut(formatted.as_string(), blocks)

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
        existing_indexes = self._existing_indexes()
        doc = tomlkit.parse(self.old_text)
        add_dependencies = self._merge_dependencies(doc)
        removals, replaced, renames = self._plan_indexes(existing_indexes)
        missing_sources = self._merge_sources(doc, renames)
        text = tomlkit.dumps(doc)
        text = self._edit_lines(text, removals, replaced, missing_sources, add_dependencies)
        if "\r\n" in self.old_text and not re.search(r"(?<!\r)\n", self.old_text):
            text = re.sub(r"(?<!\r)\n", "\r\n", text)
        self._check(text)
        return Merged(text, tuple(self.notes))

    # -- [project].dependencies ------------------------------------------------------------

    def _merge_dependencies(self, doc: tomlkit.TOMLDocument) -> bool:
        """Edit the dependency array in place; True when there is none yet to edit."""
        rendered: list[str] = self.blocks["project"]["dependencies"]
        wanted = {canonicalize_name(Requirement(r).name): r for r in rendered}
        project: Any = doc["project"]
        if "dependencies" not in project:
            self.notes.append(f"added {', '.join(rendered)} to [project].dependencies")
            return True
        array = project["dependencies"]
        if not isinstance(array, list):
            raise self.fail("[project].dependencies", "must be an array of requirement strings")
        placed: set[str] = set()
        last = -1
        i = 0
        while i < len(array):
            item = array[i]
            try:
                requirement = Requirement(str(item))
            except InvalidRequirement as error:
                raise self.fail(
                    f"[project].dependencies[{i}]",
                    f"{str(item)!r} is not a valid requirement: {error}",
                ) from None
            name = canonicalize_name(requirement.name)
            if name in FAMILY and name not in wanted:
                raise self.fail(
                    f"[project].dependencies[{i}]",
                    f"{name} is a dependency but not in the spec's packages, so its build "
                    "would not match torch's",
                    f'add "{name}" to packages in the spec (or remove the dependency)',
                )
            if name not in wanted:
                i += 1
                continue
            if name in placed:
                self.notes.append(f"removed duplicate dependency {str(item)!r}")
                del array[i]
                continue
            placed.add(name)
            if _same_requirement(str(item), wanted[name]):
                last = i
                i += 1
                continue
            self.notes.append(f"replaced dependency {str(item)!r} with {wanted[name]!r}")
            array[i] = wanted[name]
            last = i
            i += 1
        for name, text in wanted.items():
            if name in placed:
                continue
            if last >= 0:
                last += 1
                array.insert(last, text)
            else:
                array.append(text)
            self.notes.append(f"added dependency {text!r}")
        return False

    # -- [[tool.uv.index]] -----------------------------------------------------------------

    def _existing_indexes(self) -> list[dict[str, Any]]:
        uv = self.data.get("tool", {}).get("uv", {})
        indexes = uv.get("index", [])
        if not isinstance(indexes, list):
            raise self.fail("[tool.uv].index", "must be an array of tables ([[tool.uv.index]])")
        return indexes

    def _plan_indexes(
        self, existing: list[dict[str, Any]]
    ) -> tuple[list[int], dict[int, str], dict[str, str]]:
        """Which existing index tables to remove, which to rewrite, and index renames."""
        by_name = {index["name"]: index for index in self.new_indexes}
        by_url = {index["url"].rstrip("/"): index["name"] for index in self.new_indexes}
        kept_refs = self._references_outside_family()
        removals: list[int] = []
        replaced: dict[int, str] = {}
        renames: dict[str, str] = {}
        for position, index in enumerate(existing):
            name = str(index.get("name", ""))
            url = str(index.get("url", ""))
            if name in by_name:
                if index != by_name[name]:
                    replaced[position] = self.pieces.indexes[name]
                    self.notes.append(f"replaced index {name!r} ({url})")
                continue
            if not is_pytorch_index(url, self.base):
                continue
            ours = by_url.get(url.rstrip("/"))
            if ours is not None:
                renames[name] = ours
                removals.append(position)
                self.notes.append(f"replaced index {name!r} with {ours!r} (same URL {url})")
            elif name not in kept_refs:  # still used by another package's source: keep it
                removals.append(position)
                self.notes.append(f"removed index {name!r} ({url}), no longer used")
        return removals, replaced, renames

    def _references_outside_family(self) -> dict[str, list[str]]:
        sources = self.data.get("tool", {}).get("uv", {}).get("sources", {})
        refs: dict[str, list[str]] = {}
        for package, value in sources.items():
            if canonicalize_name(package) in FAMILY:
                continue
            for entry in value if isinstance(value, list) else [value]:
                if isinstance(entry, dict) and isinstance(entry.get("index"), str):
                    refs.setdefault(entry["index"], []).append(package)
        return refs

    # -- [tool.uv.sources] -----------------------------------------------------------------

    def _merge_sources(self, doc: tomlkit.TOMLDocument, renames: dict[str, str]) -> list[str]:
        """Edit existing source entries in place; return the keys still to be added."""
        uv: Any = doc.get("tool", {}).get("uv", {})
        if "sources" not in uv:
            return list(self.new_sources)
        sources = uv["sources"]
        inline = isinstance(sources, tomlkit.items.InlineTable)
        rendered: Any = self.formatted["tool"]["uv"]["sources"]
        for key in list(sources.keys()):
            name = canonicalize_name(key)
            if name in FAMILY and key not in self.new_sources:
                reason = "not a dependency" if name not in self.managed else "spelt differently"
                self.notes.append(f"removed source for {key!r} ({reason})")
                del sources[key]
                continue
            if name in FAMILY:
                continue
            for entry in _entries(sources[key]):
                old = entry.get("index") if isinstance(entry, dict) else None
                if isinstance(old, str) and old in renames:
                    entry["index"] = renames[old]
                    self.notes.append(f"pointed source {key!r} at index {renames[old]!r}")
        missing: list[str] = []
        for key, value in self.new_sources.items():
            if key not in sources:
                if inline:
                    sources[key] = value
                else:
                    missing.append(key)
                continue
            if _plain(sources[key]) == value:
                continue
            self.notes.append(f"replaced source for {key}")
            sources[key] = value if inline else rendered[key]
        return missing

    # -- whole tables and new keys, on lines ------------------------------------------------

    def _edit_lines(
        self,
        text: str,
        removals: list[int],
        replaced: dict[int, str],
        missing_sources: list[str],
        add_dependencies: bool,
    ) -> str:
        lines = text.splitlines(keepends=True)
        headers = scan(lines)
        index_headers = [h for h in headers if h.path == INDEX_PATH and h.is_array]
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

        if add_dependencies:
            project = _find(headers, ("project",))
            assert project is not None  # [project] exists: checked in run()
            edits.append((project.body_end, project.body_end, self.pieces.dependencies))

        tables: list[str] = []
        sources = _find(headers, SOURCES_PATH)
        if missing_sources and sources is not None:
            keys = "".join(self.pieces.sources[key] for key in missing_sources)
            edits.append((sources.body_end, sources.body_end, keys))
        elif missing_sources:
            uv_sources_inline = "sources" in self.data.get("tool", {}).get("uv", {})
            assert not uv_sources_inline
            keys = "".join(self.pieces.sources[key] for key in missing_sources)
            tables.append("[tool.uv.sources]\n" + keys)

        placed = {index.get("name") for index in existing}
        new_indexes = [t for name, t in self.pieces.indexes.items() if name not in placed]
        kept = [h for i, h in enumerate(index_headers) if i not in removals]
        if new_indexes and kept:
            edits.append((kept[-1].body_end, kept[-1].body_end, "\n" + "\n".join(new_indexes)))
        else:
            tables += new_indexes

        if tables:
            uv = _find(headers, ("tool", "uv"))
            anchor = sources.body_end if sources is not None and not missing_sources else None
            anchor = anchor if anchor is not None else (uv.body_end if uv is not None else None)
            chunk = "\n" + "\n".join(tables)
            if anchor is None:
                anchor = len(lines)
            edits.append((anchor, anchor, chunk))

        for start, end, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
            if new and start > 0 and not lines[start - 1].endswith("\n"):
                new = "\n" + new
            lines[start:end] = [new] if new else []
        return "".join(lines)

    def _check(self, text: str) -> None:
        data = tomllib.loads(text)
        uv = data.get("tool", {}).get("uv", {})
        for key, value in self.new_sources.items():
            assert uv["sources"][key] == value, f"source {key} not merged"
        names = [index.get("name") for index in uv.get("index", [])]
        for index in self.new_indexes:
            assert names.count(index["name"]) == 1, f"index {index['name']} not merged once"


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


@dataclass(frozen=True)
class _Pieces:
    """The rendered blocks cut into the texts that get inserted: key lines and tables."""

    dependencies: str
    sources: dict[str, str]
    indexes: dict[str, str]


def _cut(blocks_text: str, blocks: dict[str, Any]) -> _Pieces:
    lines = blocks_text.splitlines(keepends=True)
    headers = scan(lines)
    project = _find(headers, ("project",))
    sources = _find(headers, SOURCES_PATH)
    assert project is not None
    assert sources is not None
    dependencies = "".join(lines[project.line + 1 : project.body_end])
    source_texts: dict[str, str] = {}
    key = ""
    for line in lines[sources.line + 1 : sources.body_end]:
        if line[:1].strip() and not line.startswith("]"):
            key = line.split("=", 1)[0].strip()
            source_texts[key] = ""
        source_texts[key] += line
    index_headers = [h for h in headers if h.path == INDEX_PATH]
    names = [index["name"] for index in blocks["tool"]["uv"]["index"]]
    indexes = {
        name: "".join(lines[h.line : h.body_end])
        for name, h in zip(names, index_headers, strict=True)
    }
    return _Pieces(dependencies, source_texts, indexes)
