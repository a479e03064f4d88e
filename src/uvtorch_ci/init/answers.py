"""Pure: `init`'s answers (torch, targets, companions, Pythons) from its flags or the questions
it asks, each answer checked by the spec reader and the plan; and the reader's errors placed
on the flag that gave the value."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ..errors import SpecError
from ..plan.planner import plan_from_data
from ..releases.table import PACKAGES, Release, ReleaseTable

# The seed's three platforms plus Windows; None: the newest CUDA the release publishes there.
DEFAULT_TARGETS: tuple[tuple[str, str | None], ...] = (
    ("linux-x86_64", None),
    ("macos-arm64", "mps"),
    ("linux-aarch64", "cpu"),
    ("windows-x86_64", None),
)
CUDA = re.compile(r"^cu([0-9]{3})$")
NONE_WORDS = ("", "none", "-")
AUTO_WORDS = ("", "auto", "default")

# ask(question, default text, check) -> the answer text; `check` raises ValueError on an
# answer worth asking again for.
Ask = Callable[[str, str, Callable[[str], object]], str]


@dataclass(frozen=True)
class TargetChoice:
    """One `--target platform:backend[:runner]`."""

    platform: str
    backend: str
    runner: str | None = None
    extra: str | None = None  # the extra that selects it, when not the backend's own name
    group: str | None = None  # the dependency group that selects it (groups mode)

    @property
    def option(self) -> str:
        return ":".join(part for part in (self.platform, self.backend, self.runner) if part)


@dataclass(frozen=True)
class Answers:
    """What `init` writes into the spec. Empty `packages` / `python`: the keys are left out
    (no companions; the plan picks one Python)."""

    torch: str
    targets: tuple[TargetChoice, ...]
    packages: tuple[str, ...] = ()
    python: tuple[str, ...] = ()
    index_url: str | None = None  # a mirror's base, inferred from an existing project
    file_hosts: tuple[str, ...] = ()  # where the mirror's pages link files, from the lock
    selector: str | None = None  # "extras" for a project whose extras select the backend
    default_group: str | None = None  # groups mode: the group a bare `uv sync` installs
    # package -> what it gets where its index does not publish it (missing-builds)
    missing_builds: dict[str, str] = field(default_factory=dict, compare=False)
    # the keys that took their default without a terminal to ask ("torch", "targets"...)
    defaults: tuple[str, ...] = field(default=(), compare=False)


@dataclass
class Inferred:
    """What the project configures. `torch` None: no pin (or none to infer); `targets` empty
    with `missing` set: the backends could not be read (the reason, naming the flag)."""

    torch: str | None = None
    packages: tuple[str, ...] = ()
    targets: tuple[TargetChoice, ...] = ()
    index_url: str | None = None
    file_hosts: tuple[str, ...] = ()
    selector: str | None = None
    default_group: str | None = None
    python: tuple[str, ...] = ()  # the CI Python the lock's builds say
    missing_builds: dict[str, str] = field(default_factory=dict)  # as the project had them
    has_torch: bool = False
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # mistakes in what the author wrote
    missing: dict[str, str] = field(default_factory=dict)  # flag -> why it must be given


def parse_target(text: str) -> TargetChoice:
    """`platform:backend[:runner]` -> TargetChoice. ValueError on a malformed one; whether the
    platform and backend exist is the spec reader's question."""
    parts = [part.strip() for part in text.strip().split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(
            f"{text.strip()!r} is not platform:backend[:runner] "
            "(e.g. linux-x86_64:cu126, macos-arm64:mps, linux-x86_64:cu126:gpu-runner)"
        )
    return TargetChoice(parts[0], parts[1], parts[2] if len(parts) == 3 else None)


def split_words(text: str) -> tuple[str, ...]:
    """A comma- or space-separated answer -> its words."""
    return tuple(word for word in re.split(r"[,\s]+", text.strip()) if word)


def torch_specifier(torch: str) -> SpecifierSet | None:
    """The specifier a torch answer means (an exact version becomes ==X); None if neither."""
    try:
        return SpecifierSet(f"=={Version(torch)}")
    except InvalidVersion:
        pass
    try:
        return SpecifierSet(torch)
    except InvalidSpecifier:
        return None


def matching_releases(torch: str, table: ReleaseTable) -> tuple[Release, ...]:
    specifier = torch_specifier(torch.strip())
    return table.matching(specifier) if specifier is not None else ()


def default_torch(table: ReleaseTable) -> str:
    """The newest torch release in the table."""
    return table.newest().torch


def newest_cuda(release: Release, platform: str) -> str | None:
    cudas = [b for b in release.backends(platform) if CUDA.fullmatch(b)]
    return max(cudas, key=lambda b: int(b[2:])) if cudas else None


def default_targets(torch: str, table: ReleaseTable) -> tuple[TargetChoice, ...]:
    """linux-x86_64 and windows-x86_64 with the newest CUDA the (newest matching) release
    publishes there (cpu when none), macos-arm64 with mps, linux-aarch64 with cpu.

    An answer no release matches falls back to the newest release: the spec reader then
    reports the torch version, which is the real mistake."""
    releases = matching_releases(torch, table)
    release = releases[-1] if releases else table.newest()
    return tuple(
        TargetChoice(platform, backend or newest_cuda(release, platform) or "cpu")
        for platform, backend in DEFAULT_TARGETS
    )


def gather_answers(
    *,
    torch: str | None,
    targets: Sequence[str],
    packages: Sequence[str],
    python: Sequence[str],
    table: ReleaseTable,
    ask: Ask | None,
    requires_python: str | None = None,
    inferred: Inferred | None = None,
) -> Answers:
    """The answers from the flags; each flag left out is asked for when `ask` is given (a
    terminal is attached), else takes its default. An answer the release table rules out is
    asked for again; flags are checked later, with the whole spec. Raises SpecError on a
    malformed --target. `requires_python` is the existing project's.

    `inferred` is what an existing project configures: it answers for the flags left out
    (the companions found join those given). What it could not infer is asked for with a
    terminal; without one, SpecError names the flag to give, so no backend changes silently."""
    inferred = inferred or Inferred()
    if torch is None and inferred.torch is not None:
        torch = inferred.torch
    if not targets and inferred.targets:
        targets = [t.option for t in inferred.targets]
    for flag, given in (("--torch", torch), ("--target", targets)):
        if flag in inferred.missing and not given and not ask:
            value = "VERSION" if flag == "--torch" else "PLATFORM:BACKEND[:RUNNER]"
            raise SpecError(
                f"cannot infer it: {inferred.missing[flag]}",
                where=flag,
                hint=f"give {flag} {value}" + (" for each platform" if flag == "--target" else ""),
            )
    if inferred.packages:
        packages = [*packages, *(p for p in inferred.packages if p not in packages)]
    if not python and inferred.python and torch == inferred.torch:
        python = inferred.python

    def check(key: str, change: Callable[[str], Answers]) -> Callable[[str], object]:
        """A prompt's check: ValueError when the spec reader or the plan rules out `key`."""

        def run(text: str) -> None:
            error = problem(change(text), table, requires_python)
            if error is not None and (error.where or "").startswith(f"tool.uvtorch.{key}"):
                placed = flag_error(error, change(text))
                _, _, value = (placed.where or "").partition(" ")  # "--target <value>"
                hint = f" ({placed.hint})" if placed.hint else ""
                raise ValueError(f"{value + ': ' if value else ''}{placed.message}{hint}")

        return run

    def with_torch(text: str) -> Answers:
        return Answers(text.strip(), default_targets(text.strip(), table))

    taken: list[str] = []
    if torch is None:
        default = default_torch(table)
        torch = (
            ask("torch version (or a specifier)", default, check("torch", with_torch))
            if ask
            else default
        )
        if not ask:
            taken.append("torch")
    chosen = _targets(targets)
    if inferred.targets and chosen == tuple(
        replace(t, extra=None, group=None) for t in inferred.targets
    ):
        chosen = inferred.targets  # their extras too
    own = chosen == inferred.targets  # the selector and default go with the inferred targets
    answers = Answers(
        torch.strip(),
        chosen,
        index_url=inferred.index_url,
        file_hosts=inferred.file_hosts,
        selector=inferred.selector if own else None,
        default_group=inferred.default_group if own else None,
        missing_builds=inferred.missing_builds if own else {},
    )
    if ask:  # a --torch the table rules out: say so before asking the rest
        error = problem(with_torch(torch), table)
        if error is not None and error.where == "tool.uvtorch.torch":
            raise flag_error(error, answers)

    if not answers.targets:
        defaults = ", ".join(t.option for t in default_targets(answers.torch, table))
        if ask:

            def with_targets(text: str) -> Answers:
                return replace(answers, targets=_parse_targets(text))

            text = ask(
                "Targets (platform:backend[:runner], comma-separated)",
                defaults,
                check("targets", with_targets),
            )
            answers = with_targets(text)
        else:
            answers = replace(answers, targets=_parse_targets(defaults))
            taken.append("targets")

    def with_packages(text: str) -> Answers:
        words = () if text.strip().lower() in NONE_WORDS else split_words(text)
        return replace(answers, packages=tuple(dict.fromkeys(words)))

    if packages:
        answers = with_packages(",".join(packages))
    elif ask:
        text = ask(
            f"Packages that follow torch's build ({', '.join(PACKAGES)}; comma-separated, or none)",
            "none",
            check("packages", with_packages),
        )
        answers = with_packages(text)

    def with_python(text: str) -> Answers:
        words = () if text.strip().lower() in AUTO_WORDS else split_words(text)
        return replace(answers, python=tuple(dict.fromkeys(words)))

    if python:
        answers = with_python(",".join(python))
    elif ask:
        text = ask(
            "Python versions for the CI jobs (comma-separated, or auto)",
            "auto",
            check("python", with_python),
        )
        answers = with_python(text)
    if not ask and not inferred.has_torch:  # nothing inferred either: say what was chosen
        taken += [key for key, given in (("packages", packages), ("python", python)) if not given]
    return replace(answers, defaults=tuple(taken))


def problem(
    answers: Answers, table: ReleaseTable, requires_python: str | None = None
) -> SpecError | None:
    """What the spec reader and the plan say about the answers (None: nothing)."""
    try:
        plan_from_data(
            spec_table(answers),
            file="",
            prefix="tool.uvtorch",
            env={},
            table=table,
            requires_python=requires_python,
        )
    except SpecError as error:
        return error
    return None


def _parse_targets(text: str) -> tuple[TargetChoice, ...]:
    words = split_words(text)
    if not words:
        raise ValueError("at least one target is needed")
    return tuple(parse_target(word) for word in words)


def _targets(options: Sequence[str]) -> tuple[TargetChoice, ...]:
    choices = []
    for option in options:
        try:
            choices.append(parse_target(option))
        except ValueError as error:
            raise SpecError(str(error), where=f"--target {option}") from None
    return tuple(choices)


def spec_table(answers: Answers) -> dict[str, Any]:
    """The spec as data, as the reader sees it ([tool.uvtorch] or a uvtorch.toml)."""
    data: dict[str, Any] = {"torch": answers.torch}
    if answers.packages:
        data["packages"] = list(answers.packages)
    if answers.python:
        data["python"] = list(answers.python)
    if answers.index_url:
        data["index-url"] = answers.index_url
    if answers.file_hosts:
        data["file-hosts"] = list(answers.file_hosts)
    if answers.selector:
        data["selector"] = answers.selector
    if answers.default_group:
        data["default-group"] = answers.default_group
    chosen = {p: m for p, m in answers.missing_builds.items() if p in answers.packages}
    if chosen:
        data["missing-builds"] = chosen
    data["targets"] = [
        {
            "platform": t.platform,
            "backend": t.backend,
            **({"runner": t.runner} if t.runner else {}),
            **({"extra": t.extra} if t.extra else {}),
            **({"group": t.group} if t.group else {}),
        }
        for t in answers.targets
    ]
    return data


def flag_error(error: SpecError, answers: Answers) -> SpecError:
    """The spec reader's error about a key init wrote, placed on the flag that gave it
    (`--target linux-x86_64:cu999` rather than tool.uvtorch.targets[0].backend)."""
    where = error.where or ""
    key = where.removeprefix("tool.uvtorch.")
    if key == where:
        return error
    flag: str | None = None
    if match := re.match(r"targets\[(\d+)\]", key):
        index = int(match.group(1))
        if index < len(answers.targets):
            flag = f"--target {answers.targets[index].option}"
    elif key == "torch":
        flag = f"--torch {answers.torch}"
    elif match := re.match(r"(python|packages)\[(\d+)\]", key):
        values = answers.python if match.group(1) == "python" else answers.packages
        index = int(match.group(2))
        name = "--python" if match.group(1) == "python" else "--package"
        flag = f"{name} {values[index]}" if index < len(values) else name
    elif key in ("python", "packages"):
        flag = "--python" if key == "python" else "--package"
    if flag is None:
        return error
    return SpecError(error.message, where=flag, hint=error.hint)
