"""Finding uv: its binary on PATH, else the one the `uv` Python package ships."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import UvtorchError


def find_uv(env: Mapping[str, str], *, needed_for: str = "--lock") -> str:
    """The uv binary: on PATH, else the one the `uv` Python package ships; `needed_for`
    names what needs it in the error when there is none."""
    import shutil

    uv = shutil.which("uv", path=env.get("PATH"))
    if uv is not None:
        return uv
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        raise UvtorchError(
            f"{needed_for}: uv is not installed (not on PATH, no `uv` Python package)",
            hint="install uv (https://docs.astral.sh/uv/)"
            + (
                ", or leave --lock out and run `uv lock` yourself" if needed_for == "--lock" else ""
            ),
        ) from None
