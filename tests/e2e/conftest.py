"""Fixtures of the end-to-end tests: a news site and the three emulators, on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import NewsSite, Sandbox


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with NewsSite() as news_site:
        yield news_site


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as emulators:
        yield emulators
