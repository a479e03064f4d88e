"""Pure: the user's [[tool.uv.index]] tables against the tool's: which are replaced, renamed or
removed (taken over), which are kept, and what name the tool's index takes then.

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

from packaging.utils import canonicalize_name

from ..errors import PyprojectError
from .data import FAMILY, is_pytorch_index, source_entries


@dataclass(frozen=True)
class IndexPlan:
    """What becomes of the existing [[tool.uv.index]] tables, by position among them."""

    removals: list[int]  # the tables to cut
    replaced: dict[int, str]  # the tables to rewrite: the new table's text
    renames: dict[str, str]  # a removed index's name -> the tool's index that takes its place
    placed: tuple[str, ...] = ()  # the tool's indexes written in place of a user's table


class IndexTakeover:
    """The user's indexes, read once. `ours` are the names of the tool's rendered indexes,
    `managed` the packages the tool routes; notes for the user go to `notes`."""

    def __init__(
        self,
        data: Mapping[str, Any],
        ours: list[str],
        managed: set[str],
        base: str,
        file: str,
        notes: list[str],
    ) -> None:
        self.managed = managed
        self.base = base
        self.file = file
        self.notes = notes
        indexes = data.get("tool", {}).get("uv", {}).get("index", [])
        if not isinstance(indexes, list):
            raise PyprojectError(
                "must be an array of tables ([[tool.uv.index]])", file=file, where="[tool.uv].index"
            )
        self.existing: list[dict[str, Any]] = indexes
        self.users = self._users_outside_managed(data)
        # the user's indexes under one of the tool's names that other packages install from:
        # name -> why it is kept; the tool's index then takes the name in self.index_renames
        self.foreign_in_use = self._foreign_indexes_in_use()
        self.index_renames = self._free_index_names(ours)

    def plan(self, new_indexes: list[dict[str, Any]], tables: Mapping[str, str]) -> IndexPlan:
        """What becomes of each existing index table, given the tool's (renamed) indexes
        and the text of each of their tables."""
        by_name = {index["name"]: index for index in new_indexes}
        by_url = {index["url"].rstrip("/"): index["name"] for index in new_indexes}
        still_used = set(self.users)
        names = {str(index.get("name", "")) for index in self.existing}
        removals: list[int] = []
        replaced: dict[int, str] = {}
        renames: dict[str, str] = {}
        placed: list[str] = []
        seen: set[str] = set()
        for position, index in enumerate(self.existing):
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
                replaced[position] = tables[name]
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
                if ours in names or ours in placed:
                    removals.append(position)
                else:  # rewritten where it is, so the comments in it stay
                    replaced[position] = tables[ours]
                    placed.append(ours)
                self.notes.append(f"replaced index {name!r} with {ours!r} (same URL {url})")
            elif name not in still_used:  # another package still installs from it: keep
                removals.append(position)
                self.notes.append(f"removed index {name!r} ({url}), no longer used")
        return IndexPlan(removals, replaced, renames, tuple(placed))

    def _users_outside_managed(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        """Index name -> the packages outside the torch family whose sources name it."""
        sources = data.get("tool", {}).get("uv", {}).get("sources", {})
        used: dict[str, list[str]] = {}
        for package, value in sources.items():
            if canonicalize_name(package) in self.managed | set(FAMILY):
                continue
            for entry in source_entries(value):
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
        found: dict[str, str] = {}
        for index in self.existing:
            name = index.get("name")
            if not isinstance(name, str) or name in found:
                continue
            if is_pytorch_index(str(index.get("url", "")), self.base):
                continue
            if name in self.users:
                found[name] = f"[tool.uv.sources] installs {', '.join(self.users[name])} from it"
            elif index.get("default") is True:
                found[name] = "it is the default index, which uv installs every package from"
            elif index.get("explicit") is not True:
                found[name] = "uv searches it for every package (it is not explicit)"
        return found

    def _free_index_names(self, ours: list[str]) -> dict[str, str]:
        """The name each of the tool's indexes gets: its own unless a user's index in use holds
        it, then `<name>-uvtorch`, `<name>-uvtorch-2` ... Only the taken names are listed."""
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

    def rename_indexes(self, blocks_text: str, blocks: Mapping[str, Any]) -> str:
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
        wanted = [renames.get(i["name"], i["name"]) for i in blocks["tool"]["uv"]["index"]]
        used = {
            entry["index"] for value in data["tool"]["uv"]["sources"].values() for entry in value
        }
        if names != wanted or used & set(renames):
            raise PyprojectError(
                "could not rename uvtorch-ci's indexes here (please report this)", file=self.file
            )
        return text


def _mirror_hint(url: str) -> str:
    """How to install from a mirror instead of the index at `url` (<base>/<backend>)."""
    backend = url.rstrip("/").rsplit("/", 1)[-1]
    return (
        "to take torch from a mirror, set index-url in the spec (or the UVTORCH_INDEX_URL "
        f"environment variable) to the mirror's base URL: uvtorch-ci then uses <base>/{backend}"
    )
