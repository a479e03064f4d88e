"""Shared fixtures: the local PyTorch/PyPI mirror, built and served once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mirror import Mirror


@pytest.fixture(scope="session")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    """Fake download.pytorch.org/whl and PyPI for the default torch versions, on 127.0.0.1."""
    with Mirror(tmp_path_factory.mktemp("mirror")) as served:
        yield served
