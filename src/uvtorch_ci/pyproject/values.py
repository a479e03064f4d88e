"""Pure: the merge's tomlkit pass: values edited in place in the parsed pyproject.toml: the torch
family's requirements in [project].dependencies and in the backend extras, `[tool.uv]
required-environments` and `conflicts`, and the [tool.uv.sources] entries of the packages the
tool routes. A key or table that is not there yet is left to the line pass (lines.py),
as tomlkit would add it where it reads worst."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tomlkit
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from tomlkit.container import OutOfOrderTableProxy
from tomlkit.items import Table

from ..errors import PyprojectError
from ..platforms import PLATFORMS
from ..releases.table import BACKEND_PATTERN
from .arrays import renew
from .data import FAMILY, source_entries
from .lines import EXTRAS, GROUPS, PROJECT, SOURCES, UV
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
    # each targeted platform's PEP 508 environment; empty: user markers are not checked
    environments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # the versions the release table knows of each torch-family package
    known: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    new_sources: dict[str, Any] = field(init=False)
    new_extras: dict[str, list[str]] = field(init=False)
    new_groups: dict[str, list[str]] = field(init=False)
    missing: dict[tuple[str, ...], list[str]] = field(init=False, default_factory=dict)
    deleted: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.new_sources = self.blocks["tool"]["uv"]["sources"]
        self.new_extras = self.blocks["project"].get("optional-dependencies", {})
        self.new_groups: dict[str, list[str]] = self.blocks.get("dependency-groups", {})

    def fail(self, where: str, message: str, hint: str = "") -> PyprojectError:
        return PyprojectError(message, file=self.file, where=where, hint=hint)

    # -- requirement arrays: [project].dependencies and the extras ---------------------------

    def _merge_array(self, array: Any, rendered: list[str], where: str, *, remove: bool) -> None:
        """Make the managed requirements of `array` equal `rendered`, in place.

        Managed requirements not in `rendered` are removed when `remove` (the array is the
        tool's to fill); a torch-family package the spec does not manage is an error then.
        (A torch requirement in [project].dependencies beside the extras that select the
        backend goes too: with it, uv cannot lock the required environments an extra's
        source leaves to PyPI.)

        What is the user's stays as written: a requirement whose specifier admits exactly the
        versions the tool's admits (`torchaudio~=2.8.0` for `==2.8.0`), and an exclusion next
        to the requirement (`torchvision!=0.24.0; <marker>`), as long as it leaves the spec
        some build.
        """
        wanted = {canonicalize_name(Requirement(r).name): r for r in rendered}
        counts: dict[str, int] = {}
        for item in array:
            if (other := _name(str(item))) is not None:
                counts[other] = counts.get(other, 0) + 1
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
            if name in self.managed and counts.get(name, 0) > 1 and _is_exclusion(item):
                self._check_exclusion(item, self.spec_requirement(name), where, i)
                i += 1  # the user's exclusion, beside the requirement the tool writes
                continue
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
            marker = Requirement(item).marker
            variants = sum(1 for other in array if _name(str(other)) == name)
            if marker is not None and variants == 1 and Requirement(wanted[name]).marker is None:
                # one requirement with a marker is the user's choice of where; several are
                # per-platform variants, which the tool's one requirement and sources replace
                self._check_marker(item, marker, where, i)
                written = item.split(";", 1)[1].strip() if ";" in item else str(marker)
                wanted[name] = f"{wanted[name]} ; {written}"  # the user's marker stays
            if not _same_requirement(item, wanted[name]) and not self._same_versions(
                item, wanted[name]
            ):
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

    def spec_requirement(self, name: str) -> str | None:
        """The requirement the tool writes for `name` (in any place: one spec, one version
        set), or None when it writes none."""
        for requirements in (
            self.blocks["project"]["dependencies"],
            *self.new_extras.values(),
            *self.new_groups.values(),
        ):
            for requirement in requirements:
                if _name(requirement) == name:
                    return str(requirement).split(";", 1)[0].strip()
        return None

    def _admitted(self, requirement: str) -> set[str] | None:
        """The known versions of the requirement's package its specifier admits (None when
        the versions of that package are not known to the merge)."""
        parsed = Requirement(requirement)
        known = self.known.get(canonicalize_name(parsed.name))
        if not known:
            return None
        return {v for v in known if parsed.specifier.contains(v, prereleases=True)}

    def _same_versions(self, item: str, wanted: str) -> bool:
        """The user's requirement admits exactly the versions the tool's admits (the same
        specifiers, or the same of the versions the release table knows), on the same
        platforms and with the same extras: the user's way of writing it stays."""
        mine, theirs = Requirement(item), Requirement(wanted)
        if (mine.extras, mine.url) != (theirs.extras, theirs.url):
            return False
        if not _same_marker(mine.marker, theirs.marker):
            return False
        if mine.specifier == theirs.specifier:
            return True
        admitted = self._admitted(item)
        return admitted is not None and admitted == self._admitted(wanted)

    def _check_exclusion(self, item: str, spec: str | None, where: str, i: int) -> None:
        """An exclusion must leave the spec at least one build: else uv cannot resolve."""
        left = self._admitted(item)
        allowed = self._admitted(spec) if spec is not None else None
        if left is not None and allowed is not None and not left & allowed:
            raise self.fail(
                f"{where}[{i}]",
                f"{item!r} excludes every version the spec allows ({spec}): uv could not "
                "resolve it",
                "narrow the exclusion, or change torch in the spec",
            )

    def _check_marker(self, item: str, marker: Marker, where: str, i: int) -> None:
        """Refuse a user's marker on a torch-family requirement that shuts out a platform the
        spec gives that package on (through this array: its extra, or none)."""
        extra = where.split("].", 1)[1] if where.startswith("[project.optional") else None
        group = where.split("].", 1)[1] if where.startswith("[dependency-groups]") else None
        for platform, environment in self.environments.items():
            routed = any(
                entry.get("extra") == extra
                and entry.get("group") == group
                and Marker(entry["marker"]).evaluate({**environment, "extra": extra or ""})
                for entry in self.new_sources.get("torch", [])
            )
            if routed and not marker.evaluate({**environment, "extra": extra or ""}):
                name = Requirement(item).name
                raise self.fail(
                    f"{where}[{i}]",
                    f"{item!r} has the marker `{marker}`, which leaves out {platform}, a target "
                    f"of the spec: {name} would not be installed there, and verify expects it",
                    f"remove the marker (the spec installs {name} on every target), or remove "
                    f"the {platform} target",
                )

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

    def merge_groups(self, doc: tomlkit.TOMLDocument) -> set[str]:
        """Fill the rendered dependency groups (groups mode); empty the tool's stale ones (named
        after a backend). Returns the groups removed."""
        table: Any = doc.get("dependency-groups")
        removed: set[str] = set()
        if table is None:
            if self.new_groups:
                self.missing[GROUPS] = list(self.new_groups)
                self.notes.append(f"added the dependency groups {', '.join(self.new_groups)}")
            return removed
        inline = isinstance(table, tomlkit.items.InlineTable)
        for group in list(table.keys()):
            where = f"[dependency-groups].{group}"
            if group in self.new_groups:
                self._merge_array(table[group], self.new_groups[group], where, remove=True)
            elif self.new_groups and is_backend_extra(group):
                self._merge_array(table[group], [], where, remove=True)
                if not len(table[group]):
                    del table[group]
                    removed.add(canonicalize_name(group))
                    self.notes.append(f"removed the dependency group {group!r}, now empty")
        for group, requirements in self.new_groups.items():
            if group in table:
                continue
            if inline:
                table[group] = requirements
            else:
                self.missing.setdefault(GROUPS, []).append(group)
            self.notes.append(f"added the dependency group {group!r}")
        return removed

    # -- [tool.uv] required-environments and conflicts ---------------------------------------

    def merge_uv_keys(self, doc: tomlkit.TOMLDocument, removed_extras: set[str]) -> None:
        uv_data = self.data.get("tool", {}).get("uv", {})
        rendered = self.blocks["tool"]["uv"]
        owned = {
            canonicalize_name(e) for e in (*self.new_extras, *self.new_groups)
        } | removed_extras
        wanted: dict[str, Any] = {"required-environments": rendered["required-environments"]}
        defaults = uv_data.get("default-groups")
        if "default-groups" in rendered or (isinstance(defaults, list) and self.new_groups):
            users = [g for g in defaults or [] if canonicalize_name(str(g)) not in owned]
            wanted["default-groups"] = users + rendered.get("default-groups", [])
        kept = [s for s in uv_data.get("conflicts", []) if not _owned_conflict(s, owned)]
        # a set of the user's that holds the tool's (and more: cuda, rocm and mlx) already
        # keeps those apart, so the tool's is not added beside it
        ours = [c for c in rendered.get("conflicts", []) if not any(_holds(k, c) for k in kept)]
        conflicts = kept + ours
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
            inline = isinstance(uv, tomlkit.items.InlineTable)
            if kept and not inline and key == "conflicts":
                # the user's own sets keep their lines and comments; the tool's follow them
                rendered_text = formatted[key].as_string() if key in formatted and ours else "[\n]"
                text = renew(
                    uv[key].as_string(),
                    rendered_text,
                    same=lambda a, b: bool(a == b),
                    keep=lambda group: not _owned_conflict(group, owned),
                )
                if text is None:  # on one line: it stays on one line, the user's sets as written
                    texts = [*_kept_texts(uv[key], owned), *map(_inline_set, ours)]
                    text = "[" + ", ".join(texts) + "]"
                uv[key] = _parsed(text)
                continue
            plain = inline or (kept if key == "conflicts" else key == "default-groups")
            uv[key] = value if plain else formatted[key]

    # -- [tool.uv] index written as an inline array ----------------------------------------

    def merge_inline_indexes(
        self,
        doc: tomlkit.TOMLDocument,
        existing: list[dict[str, Any]],
        gone: set[int],
        new_indexes: list[dict[str, Any]],
    ) -> None:
        """`index = [{ ... }, ...]` edited in place: the entries at the positions in `gone`
        (removed or replaced) go, with their comments; the tool's indexes not there yet are
        added after the user's, one inline table each."""
        uv: Any = doc["tool"]["uv"]
        array = uv["index"]
        gone_names = {str(existing[p].get("name")) for p in gone}
        placed = {str(e.get("name")) for i, e in enumerate(existing) if i not in gone}
        wanted = [i for i in new_indexes if i["name"] not in placed]
        rendered = "[\n" + "".join(f"  {_inline_index(i)},\n" for i in wanted) + "]"
        text = renew(
            array.as_string(),
            rendered,
            same=lambda a, b: isinstance(a, dict) and a.get("name") == b.get("name"),
            keep=lambda entry: str(entry.get("name")) not in gone_names,
        )
        if text is None:  # written on one line: it stays on one line
            kept = [array[i].as_string() for i in range(len(existing)) if i not in gone]
            text = "[" + ", ".join([*kept, *(_inline_index(i) for i in wanted)]) + "]"
        uv["index"] = _parsed(text)

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
            if not inline and isinstance(sources[key], tomlkit.items.Array):
                # the comments in the array stay, those of the entries that go with them
                text = renew(
                    sources[key].as_string(),
                    formatted[key].as_string(),
                    same=lambda a, b: _same_index(a, b, renames),
                    keep=lambda entry: False,
                    near=_same_selector,
                )
                if text is not None:
                    sources[key] = _parsed(text)
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
    """A conflict set made only of extras (or only of groups) the tool owns."""
    if not isinstance(group, list) or not group:
        return False
    for item in group:
        if not isinstance(item, dict) or set(item) not in ({"extra"}, {"group"}):
            return False
        name = canonicalize_name(str(next(iter(item.values()))))
        if name not in owned and not is_backend_extra(name):
            return False
    return True


def _holds(group: Any, ours: list[dict[str, str]]) -> bool:
    """Whether the user's conflict set `group` names every extra (or group) of `ours`."""
    if not isinstance(group, list):
        return False
    items = {_conflict_item(i) for i in group if isinstance(i, dict)}
    return all(_conflict_item(i) in items for i in ours)


def _conflict_item(item: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(
            (k, canonicalize_name(str(v)) if k != "package" else str(v)) for k, v in item.items()
        )
    )


def _name(requirement: str) -> str | None:
    try:
        return canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return None


def _kept_texts(array: Any, owned: set[str]) -> list[str]:
    """The texts of the conflict sets that are the user's (not made of the tool's extras)."""
    groups = _plain(array)
    return [
        array[i].as_string().strip()
        for i in range(len(groups))
        if not _owned_conflict(groups[i], owned)
    ]


def _inline_set(group: list[dict[str, str]]) -> str:
    """One of the tool's conflict sets on one line."""
    return (
        "["
        + ", ".join(
            "{ " + ", ".join(f"{k} = {json.dumps(v)}" for k, v in item.items()) + " }"
            for item in group
        )
        + "]"
    )


def _same_selector(old: Any, new: Any) -> bool:
    """An old source entry selected as a new one is (the same extra or group, or neither)."""
    return isinstance(old, dict) and all(old.get(k) == new.get(k) for k in ("extra", "group"))


def _inline_index(index: dict[str, Any]) -> str:
    """One of the tool's indexes as an inline table (its values are plain strings and true)."""
    items = (
        f"{key} = {json.dumps(value) if isinstance(value, str) else str(value).lower()}"
        for key, value in index.items()
    )
    return "{ " + ", ".join(items) + " }"


def _same_index(old: Any, new: Any, renames: dict[str, str]) -> bool:
    """An old source entry that a new one takes the place of: the same index (renamed)."""
    index = old.get("index") if isinstance(old, dict) else None
    return isinstance(index, str) and renames.get(index, index) == new.get("index")


def _parsed(text: str) -> Any:
    """An array's text as a tomlkit item, its comments and layout included."""
    return tomlkit.parse(f"x = {text}\n")["x"]


def _plain(value: Any) -> Any:
    """A tomlkit item as plain Python values, for comparing with the rendered ones."""
    return value.unwrap() if hasattr(value, "unwrap") else value


def _same_marker(a: Marker | None, b: Marker | None) -> bool:
    """Markers that hold on the same platforms and Pythons (uv and users order them freely:
    `platform_machine == 'x86_64' and sys_platform == 'linux'`)."""
    if str(a) == str(b):
        return True
    if a is None or b is None:
        return False
    for platform in PLATFORMS.values():
        for python in ("3.9", "3.10", "3.11", "3.12", "3.13", "3.14"):
            environment = platform.marker_environment(python)
            if a.evaluate(environment) != b.evaluate(environment):
                return False
    return True


def _is_exclusion(item: str) -> bool:
    """A requirement that only excludes versions (`torchvision!=0.24.0,!=0.24.1; <marker>`)."""
    specifiers = list(Requirement(item).specifier)
    return bool(specifiers) and all(s.operator == "!=" for s in specifiers)


def _same_requirement(a: str, b: str) -> bool:
    try:
        return str(Requirement(a)) == str(Requirement(b))
    except InvalidRequirement:
        return False
