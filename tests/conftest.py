"""Shared fixtures: the local PyTorch/PyPI mirror, built and served once per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mirror import OTHER_HOST, Mirror


@pytest.fixture(scope="session")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    """Fake download.pytorch.org/whl and PyPI for the default torch versions, on 127.0.0.1."""
    with Mirror(tmp_path_factory.mktemp("mirror")) as served:
        yield served


@pytest.fixture(scope="session")
def other_host_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    """The same indexes laid out as download.pytorch.org is today: pages on 127.0.0.1, every
    file they link on `localhost` (the same server under a second loopback name)."""
    with Mirror(tmp_path_factory.mktemp("other-host-mirror"), layout=OTHER_HOST) as served:
        yield served
