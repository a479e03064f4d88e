"""Pure: `verify`'s verdicts -> the table and report people read, the one-line summary, and the
JSON `explain --json` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .verdicts import TargetVerdict, Verdicts

RUN_UV_LOCK = "run `uv lock`, then verify again"


def format_table(verdicts: Verdicts) -> str:
    """One row per target x Python x package, and the problems under it."""
    header = ("TARGET", "PYTHON", "PACKAGE", "LOCKED", "INDEX", "WHEEL", "VERDICT")
    rows = [header]
    for target in verdicts.targets:
        for package in target.packages:
            verdict = "ok" if package.ok else "FAIL"
            rows.append(
                (
                    target.name,
                    target.python,
                    package.package,
                    package.version or "missing",
                    package.index_label,
                    "none" if package.wheel_tag is None else package.wheel_tag,
                    verdict,
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    problems = [
        f"  {target.name}, Python {target.python}: {problem}"
        for target in verdicts.targets
        for problem in target.problems
    ] + [
        f"  {target.name}, Python {target.python}, {package.package}: {problem}"
        for target in verdicts.targets
        for package in target.packages
        for problem in package.problems
    ]
    if problems:
        lines += ["", "problems:", *problems]
    if verdicts.problems:
        lines += [
            "",
            "files of the torch family that no target row shows, not where their index "
            "serves them:",
            *(f"  {problem}" for problem in verdicts.problems),
        ]
    return "\n".join(lines) + "\n"


def format_report(verdicts: Verdicts, *, sizes: bool = False) -> str:
    """The table, the stale reasons or the problems, notes, the download sizes when asked,
    and a one-line verdict."""
    out = [format_table(verdicts)]
    if verdicts.stale:
        out.append(
            f"{verdicts.lock_file} is stale: pyproject.toml changed since it was locked, so the "
            "rows above show what the old lock installs.\n"
            + "".join(f"  {reason}\n" for reason in verdicts.stale)
        )
    if sizes:
        out.append(format_sizes(verdicts))
    out += [f"warning: {warning}\n" for warning in verdicts.warnings]
    out += [f"note: {note}\n" for note in verdicts.notes]
    out.append(summary(verdicts) + "\n")
    return "\n".join(part for part in out if part)


def format_sizes(verdicts: Verdicts) -> str:
    lines = ["download per target (the files `uv sync` fetches):"]
    rows = []
    for target in verdicts.targets:
        rows.append((target.name, target.python, f"{target.installed} packages", _size(target)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines += [
        "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _size(target: TargetVerdict) -> str:
    if target.unsized and not target.download_bytes:
        return "unknown (uv.lock records no sizes for these files)"
    text = _human(target.download_bytes)
    if target.unsized:
        return f"at least {text} ({target.unsized} files without a recorded size)"
    return text


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


def summary(verdicts: Verdicts) -> str:
    checked = sum(len(t.packages) for t in verdicts.targets)
    failed = [t for t in verdicts.targets if not t.ok]
    if verdicts.stale:
        also = f" (and {len(failed)} of its target x Python environments FAIL)" if failed else ""
        return f"stale: {verdicts.lock_file} predates pyproject.toml{also}; {RUN_UV_LOCK}"
    count = len(verdicts.problems)
    files = f"; {count} file{'' if count == 1 else 's'} not where its index serves it" * bool(count)
    if not failed:
        if verdicts.problems:
            return f"FAIL: every target gets its build, but{files[1:]}"
        return (
            f"ok: {len(verdicts.targets)} target x Python environments, {checked} packages, "
            "each the build the spec asks for"
        )
    names = ", ".join(dict.fromkeys(t.name for t in failed))
    return (
        f"FAIL: {len(failed)} of {len(verdicts.targets)} target x Python environments "
        f"({names}){files}"
    )


def as_json(verdicts: Verdicts) -> dict[str, Any]:
    """The verdicts for machines; keys are stable."""
    return {
        "lock": verdicts.lock_file,
        "ok": verdicts.ok,
        "stale": bool(verdicts.stale),
        "stale_reasons": list(verdicts.stale),
        "problems": list(verdicts.problems),
        "warnings": list(verdicts.warnings),
        "notes": list(verdicts.notes),
        "targets": [
            {
                "target": t.name,
                "platform": t.build.target.platform,
                "backend": t.build.target.backend,
                "extra": t.build.extra,
                "python": t.python,
                "ok": t.ok,
                "problems": list(t.problems),
                "installed": t.installed,
                "download_bytes": t.download_bytes if t.download_bytes or not t.unsized else None,
                "files_without_size": t.unsized,
                "packages": [
                    {
                        "package": p.package,
                        "version": p.version,
                        "expected_version": p.expected_version,
                        "local_tag": p.local_tag,
                        "expected_local_tag": p.expected_local_tag,
                        "index": p.index,
                        "expected_index": p.expected_index,
                        "wheel": p.wheel,
                        "ok": p.ok,
                        "problems": list(p.problems),
                    }
                    for p in t.packages
                ],
            }
            for t in verdicts.targets
        ],
    }
