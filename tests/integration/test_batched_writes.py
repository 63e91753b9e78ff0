"""Concurrent writes share statements and commits, yet each is applied, conditional and answered alone."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from adapters.postgres import PostgresProductRepository
from productcore.errors import InvalidInput, ProductNotFound, VersionConflict
from productcore.model import PriceStock
from tests.integration.conftest import NewProduct


async def test_concurrent_writes_are_committed_together_and_each_answered(
    repository: PostgresProductRepository, new_product: NewProduct
) -> None:
    """Forty writes at once to distinct products: every one stored and returned, in a few batches."""
    products = [await new_product() for _ in range(40)]
    before = repository.writes.batches_sent
    stored = await asyncio.gather(
        *(
            repository.update(p.id, PriceStock(Decimal(n) + Decimal("0.25"), n), expected_version=None)
            for n, p in enumerate(products)
        )
    )
    assert [(s.id, s.price, s.stock, s.version) for s in stored] == [
        (p.id, Decimal(n) + Decimal("0.25"), n, p.version + 1) for n, p in enumerate(products)
    ]
    assert repository.writes.batches_sent - before <= 5, "writes of one moment share a batch"
    for product, written in zip(products, stored, strict=True):
        again = await repository.get(product.id)
        assert again is not None and again.version == written.version and again.stock == written.stock


async def test_two_writes_of_one_product_in_a_batch_apply_in_order(
    repository: PostgresProductRepository, new_product: NewProduct
) -> None:
    """Two concurrent writes of one id: both applied, one after the other, each answered with its version."""
    product = await new_product()
    first, second = await asyncio.gather(
        repository.update(product.id, PriceStock(Decimal("1.00"), 1), expected_version=None),
        repository.update(product.id, PriceStock(Decimal("2.00"), 2), expected_version=None),
    )
    assert (first.version, second.version) == (product.version + 1, product.version + 2)
    assert (first.stock, second.stock) == (1, 2)
    stored = await repository.get(product.id)
    assert stored is not None and (stored.stock, stored.version) == (2, product.version + 2)


async def test_a_conflict_or_a_missing_product_fails_alone(
    repository: PostgresProductRepository, new_product: NewProduct
) -> None:
    """In one batch: a stale If-Match conflicts, an unknown id is not found, the others are written."""
    ok, stale = await new_product(), await new_product()
    outcomes = await asyncio.gather(
        repository.update(ok.id, PriceStock(Decimal("3.00"), 3), expected_version=ok.version),
        repository.update(stale.id, PriceStock(Decimal("4.00"), 4), expected_version=stale.version + 7),
        repository.update(9_000_000_000_000, PriceStock(Decimal("5.00"), 5), expected_version=None),
        return_exceptions=True,
    )
    written, conflict, missing = outcomes
    assert not isinstance(written, BaseException) and written.version == ok.version + 1
    assert isinstance(conflict, VersionConflict) and conflict.current == stale.version
    assert isinstance(missing, ProductNotFound)
    unchanged = await repository.get(stale.id)
    assert unchanged is not None and unchanged.version == stale.version


async def test_a_value_the_database_refuses_fails_only_its_own_write(
    repository: PostgresProductRepository, new_product: NewProduct
) -> None:
    """A price too large for the column, in a batch with good writes: only that write is refused."""
    good, bad = await new_product(), await new_product()
    outcomes = await asyncio.gather(
        repository.update(good.id, PriceStock(Decimal("6.00"), 6), expected_version=None),
        repository.update(bad.id, PriceStock(Decimal("100000000000.00"), 6), expected_version=None),
        return_exceptions=True,
    )
    assert not isinstance(outcomes[0], BaseException) and outcomes[0].stock == 6
    assert isinstance(outcomes[1], InvalidInput)
    with pytest.raises(InvalidInput):
        await repository.update(bad.id, PriceStock(Decimal("100000000000.00"), 6), expected_version=None)
