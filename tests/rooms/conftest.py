"""The domain services on in-memory storage (see tests/support/domain.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.domain import Cohort, Domain


@pytest.fixture
async def domain() -> AsyncIterator[Domain]:
    built = Domain.build()
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture
async def cohort(domain: Domain) -> Cohort:
    return await Cohort.gather(domain)
