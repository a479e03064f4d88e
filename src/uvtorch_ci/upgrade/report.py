"""The upgrade plan as text: the versions, the Python axis, then one row per target (backend
before and after, the driver minimum, the GPUs it drops, why), and the GPU architectures each
CUDA target gains and loses."""

from __future__ import annotations

from .moves import Move, Upgrade


def _driver(move: Move) -> str:
    if move.new_driver is None:
        return "-"
    if move.old_driver is None or move.old_driver == move.new_driver:
        return f">= {move.new_driver}"
    return f">= {move.new_driver} (was >= {move.old_driver})"


def format_upgrade(upgrade: Upgrade) -> str:
    """The plan, ending with a newline: what `uvtorch-ci upgrade` prints."""
    lines = [f"upgrade: torch {upgrade.old.torch} -> {upgrade.new.torch}"]
    for change in upgrade.versions[1:]:
        where = f" ({change.where})" if change.where else ""
        lines.append(f"  {change.what} {change.old} -> {change.new}{where}")
    if upgrade.spec.torch_text != upgrade.old.torch:
        lines.append(f'  torch = "{upgrade.spec.torch_text}" becomes "{upgrade.new.torch}"')
    wheels = f"{upgrade.new.torch} has wheels for Python {', '.join(upgrade.new.python)}"
    old_py, new_py = ", ".join(upgrade.python_old), ", ".join(upgrade.python_new) or "none"
    if upgrade.python_old == upgrade.python_new:
        lines.append(f"  python: {new_py} (unchanged; {wheels})")
    elif upgrade.python_written:
        lines.append(f"  python: {old_py} -> {new_py} ({wheels})")
    else:
        lines.append(f"  python: default {old_py} -> {new_py} (not in the spec; {wheels})")

    header = ("target", "platform", "backend", "NVIDIA driver", "drops")
    rows = [
        (
            m.target.name,
            m.target.platform,
            f"{m.old} -> {m.new}" if m.changed else m.new,
            _driver(m),
            m.dropped or "-",
        )
        for m in upgrade.moves
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines.append("")
    for row in (header, *rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    notes = [f"{m.target.name}: {m.reason}" for m in upgrade.moves if m.changed]
    notes += [f"{m.target.name}: {m.alternative}" for m in upgrade.moves if m.alternative]
    notes += [
        f"{m.target.name}: GPU architectures, {upgrade.old.torch} {m.old} -> "
        f"{upgrade.new.torch} {m.new}: {m.archs}"
        for m in upgrade.moves
        if m.archs
    ]
    if notes:
        lines.append("")
        lines += notes
    return "\n".join(lines) + "\n"
