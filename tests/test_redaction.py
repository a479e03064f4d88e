"""Secrets never print (redaction.py): a URL's user info, query and fragment are *** in every
message, diff, report and JSON document; checked on the URLs themselves and through init,
render (its notes and --diff), verify and explain (--json too)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from lock_texts import SEED_LOCK, SEED_PYPROJECT, text

from uvtorch_ci.redaction import holds_secret, redact_text, redact_url

SECRET = "s3cr3t-T0KEN"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"https://user:{SECRET}@host/whl/cu124", "https://***@host/whl/cu124"),
        (f"https://{SECRET}@host/whl", "https://***@host/whl"),  # a token alone
        (f"https://a@b:{SECRET}@host:8443/whl", "https://***@host:8443/whl"),
        (f"https://host/whl?token={SECRET}", "https://host/whl?***"),
        (f"https://host/whl#{SECRET}", "https://host/whl#***"),
        (f"https://u:{SECRET}@[::1]:8080/x?{SECRET}", "https://***@[::1]:8080/x?***"),
        (f"{SECRET}@host/whl", "***@host/whl"),  # no scheme
        ("https://download.pytorch.org/whl/cu124", "https://download.pytorch.org/whl/cu124"),
        ("git+https://github.com/org/tool@abc", "git+https://github.com/org/tool@abc"),
    ],
)
def test_one_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(shown) == shown  # redacting twice changes nothing more
    assert holds_secret(url) == (url != shown)
    if "://" in url:  # in free text a URL is known by its scheme
        assert redact_text(f"before {url} after") == f"before {shown} after"


def test_every_url_in_free_text() -> None:
    message = (
        f"replaced index 'pytorch-cu124' (https://user:{SECRET}@mirror/whl/cu124) with "
        f'https://download.pytorch.org/whl/cu124; url = "https://{SECRET}@m/whl", '
        f"then <http://u:{SECRET}@h/x?a=b>, [file://h/p#{SECRET}]. Done: https://h/x?{SECRET}."
    )
    assert redact_text(message) == (
        "replaced index 'pytorch-cu124' (https://***@mirror/whl/cu124) with "
        'https://download.pytorch.org/whl/cu124; url = "https://***@m/whl", '
        "then <http://***@h/x?***>, [file://h/p#***]. Done: https://h/x?***."
    )
    plain = "torch 2.5.0 (local tag +cu124 or none); uvtorch-ci@git+https://github.com/o/r@sha"
    assert redact_text(plain) == plain


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UVTORCH_", "GITHUB_"))}
    return subprocess.run(
        [sys.executable, "-m", "uvtorch_ci", *args],
        cwd=cwd,
        env={**env, "UVTORCH_CI_CACHE_DIR": "off", "GITHUB_ACTIONS": "true"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


HAND_WRITTEN = f"""\
[project]
name = "demo"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["torch==2.5.0"]

[tool.uv.sources]
torch = [
  {{ index = "pytorch-cu124", marker = "sys_platform == 'linux'" }},
]

[[tool.uv.index]]
name = "pytorch-cu124"
url = "https://user:{SECRET}@mirror.example.com/whl/cu124"
explicit = true
"""
SPEC = """
[tool.uvtorch]
torch = "2.5.0"
repository-root = "."

[[tool.uvtorch.targets]]
platform = "linux-x86_64"
backend = "cu124"
"""


def test_init_never_prints_the_credentials_of_an_index_it_reads(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(HAND_WRITTEN)
    result = _run(["init"], tmp_path)
    assert "index-url: https://***@mirror.example.com/whl" in result.stderr
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("args", [["render", "--check", "--diff"], ["render"]])
def test_render_never_prints_the_credentials_of_an_index_it_replaces(
    tmp_path: Path, args: list[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(HAND_WRITTEN + SPEC)
    result = _run(args, tmp_path)
    assert result.returncode == (1 if "--check" in args else 0), result.stderr
    shown = result.stdout + result.stderr
    assert (
        "replaced index 'pytorch-cu124' (https://***@mirror.example.com/whl/cu124) with "
        "https://download.pytorch.org/whl/cu124"
    ) in shown
    if "--diff" in args:
        assert '-url = "https://***@mirror.example.com/whl/cu124"' in result.stdout
    assert SECRET not in shown


def test_verify_and_explain_never_print_the_credentials_of_a_locked_url(tmp_path: Path) -> None:
    """A hand-edited uv.lock whose torch wheels carry credentials: the table, the problems,
    the annotations and the JSON name the URL with *** in their place."""
    (tmp_path / "pyproject.toml").write_text(text(SEED_PYPROJECT))
    wheels = "https://download.pytorch.org/whl/cu124/torch-2.5.0"
    lock = text(SEED_LOCK).replace(wheels, wheels.replace("//", f"//user:{SECRET}@"))
    assert SECRET in lock
    (tmp_path / "uv.lock").write_text(lock)
    for args in (["verify"], ["explain"], ["explain", "--json"]):
        result = _run(args, tmp_path)
        assert result.returncode == (1 if args == ["verify"] else 0), result.stderr
        shown = result.stdout + result.stderr
        assert "https://***@download.pytorch.org/whl/cu124/torch-2.5.0" in shown, args
        assert SECRET not in shown, args
