"""The `store` fixture: every contract test runs on each Store implementation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hellow.store.base import Store


@pytest.fixture(params=["sqlite", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    impl: Store
    if request.param == "sqlite":
        from hellow.store.sqlite import SqliteStore

        impl = SqliteStore(tmp_path / "hellow.db")
    else:
        from hellow.store.redis import RedisStore

        impl = RedisStore(request.getfixturevalue("redis_url"), prefix="hellow:v1:")
    await impl.open()
    yield impl
    await impl.close()


@pytest.fixture
async def redis_store(redis_url: str) -> AsyncIterator[Store]:
    """A Redis store alone, for what only Redis has (quarantine, several instances)."""
    from hellow.store.redis import RedisStore

    impl = RedisStore(redis_url)
    await impl.open()
    yield impl
    await impl.close()
