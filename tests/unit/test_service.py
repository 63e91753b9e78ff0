"""The use cases over in-memory adapters: results and state, no servers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from adapters.memory import InMemoryProductCache, InMemoryProductRepository
from entrypoints.http.problems import domain_problem
from productcore import (
    InvalidInput,
    InvalidQuery,
    PageRequest,
    PriceStock,
    ProductNotFound,
    ProductService,
    SearchCriteria,
    Sort,
    VersionConflict,
    WriteContention,
)
from productcore.model import CachedProduct, Product


@pytest.fixture(name="repository")
def _repository() -> InMemoryProductRepository:
    repository = InMemoryProductRepository()
    repository.add_many(
        [
            ("Red Kettle", Decimal("25.00"), 3),
            ("Blue kettle", Decimal("9.99"), 0),
            ("Green Mug", Decimal("4.50"), 10),
            ("Kettlebell 8kg", Decimal("30.00"), 2),
            ("Desk Lamp", Decimal("45.00"), 7),
        ]
    )
    return repository


@pytest.fixture(name="service")
def _service(repository: InMemoryProductRepository) -> ProductService:
    return ProductService(repository)


async def test_get_returns_the_stored_product(service: ProductService) -> None:
    """get() returns the product with that id."""
    product = await service.get(3)
    assert (product.name, product.price, product.stock) == ("Green Mug", Decimal("4.50"), 10)


async def test_get_unknown_id_raises_not_found(service: ProductService) -> None:
    """An id no product has raises ProductNotFound."""
    with pytest.raises(ProductNotFound):
        await service.get(999)


@pytest.mark.parametrize("bad_id", [0, -1, 2**63])
async def test_get_rejects_impossible_ids(service: ProductService, bad_id: int) -> None:
    """Ids outside 1..2**63-1 are invalid input, not a lookup."""
    with pytest.raises(InvalidInput):
        await service.get(bad_id)


async def test_update_changes_price_and_stock_and_bumps_version(
    service: ProductService, repository: InMemoryProductRepository
) -> None:
    """update() stores the new values and the next version."""
    updated = await service.update(1, PriceStock(Decimal("19.9"), 4))
    assert (updated.price, updated.stock, updated.version) == (Decimal("19.90"), 4, 2)
    stored = await repository.get(1)
    assert stored is not None and stored.price == Decimal("19.90")


async def test_update_with_stale_version_raises_conflict_and_changes_nothing(
    service: ProductService, repository: InMemoryProductRepository
) -> None:
    """A conditional update against an old version fails with the current version."""
    await service.update(1, PriceStock(Decimal("1.00"), 1))
    with pytest.raises(VersionConflict) as caught:
        await service.update(1, PriceStock(Decimal("2.00"), 2), expected_version=1)
    assert caught.value.current == 2
    stored = await repository.get(1)
    assert stored is not None and stored.price == Decimal("1.00")


@pytest.mark.parametrize(
    ("price", "stock", "field"),
    [
        (Decimal("-0.01"), 1, "price"),
        (Decimal("1.001"), 1, "price"),
        (Decimal("NaN"), 1, "price"),
        (Decimal("Infinity"), 1, "price"),
        (Decimal("10000000000.00"), 1, "price"),
        (Decimal("1.00"), -1, "stock"),
        (Decimal("1.00"), 2**31, "stock"),
    ],
)
async def test_update_rejects_bad_values_and_changes_nothing(
    service: ProductService, repository: InMemoryProductRepository, price: Decimal, stock: int, field: str
) -> None:
    """Out-of-range prices and stock are rejected, naming the field, before any write."""
    with pytest.raises(InvalidInput) as caught:
        await service.update(2, PriceStock(price, stock))
    assert [e.field for e in caught.value.errors] == [field]
    stored = await repository.get(2)
    assert stored is not None and stored.version == 1


async def test_update_unknown_id_raises_not_found(service: ProductService) -> None:
    """Updating a missing product raises ProductNotFound."""
    with pytest.raises(ProductNotFound):
        await service.update(999, PriceStock(Decimal("1.00"), 1))


async def test_search_by_name_is_case_insensitive_substring(service: ProductService) -> None:
    """A name criterion matches anywhere in the name, ignoring case."""
    page = await service.search(SearchCriteria(name="KETTLE"), PageRequest())
    assert [p.name for p in page.items] == ["Red Kettle", "Blue kettle", "Kettlebell 8kg"]
    assert page.total.value == 3 and page.total.exact


async def test_search_by_price_range_and_name_together(service: ProductService) -> None:
    """Both criteria apply together; bounds are inclusive."""
    page = await service.search(
        SearchCriteria(name="kettle", min_price=Decimal("9.99"), max_price=Decimal("25")), PageRequest()
    )
    assert [p.name for p in page.items] == ["Red Kettle", "Blue kettle"]


@pytest.mark.parametrize(
    ("criteria", "field"),
    [
        (SearchCriteria(), "name"),
        (SearchCriteria(name="   "), "name"),
        (SearchCriteria(name="x" * 201), "name"),
        (SearchCriteria(min_price=Decimal("5"), max_price=Decimal("4")), "min_price"),
        (SearchCriteria(min_price=Decimal("-1")), "min_price"),
        (SearchCriteria(max_price=Decimal("NaN")), "max_price"),
    ],
)
async def test_search_rejects_invalid_criteria(
    service: ProductService, criteria: SearchCriteria, field: str
) -> None:
    """Searches without a criterion or with contradictory bounds are invalid queries."""
    with pytest.raises(InvalidQuery) as caught:
        await service.search(criteria, PageRequest())
    assert field in [e.field for e in caught.value.errors]


@pytest.mark.parametrize(("page", "limit"), [(0, 20), (1, 0), (1, 101), (-3, 10)])
async def test_list_rejects_out_of_range_pages(service: ProductService, page: int, limit: int) -> None:
    """page < 1 and limit outside 1..100 are invalid queries."""
    with pytest.raises(InvalidQuery):
        await service.list_page(PageRequest(page=page, limit=limit))


async def test_list_pages_carry_totals_and_cursors(service: ProductService) -> None:
    """Page 2 of 3 has cursors both ways; following them lands on pages 3 and 1."""
    page = await service.list_page(PageRequest(page=2, limit=2, sort=Sort.PRICE))
    assert [p.name for p in page.items] == ["Red Kettle", "Kettlebell 8kg"]
    assert (page.total.value, page.total_pages) == (5, 3)
    assert page.next_cursor is not None and page.prev_cursor is not None
    after = await service.list_page(PageRequest(limit=2, sort=Sort.PRICE, cursor=page.next_cursor))
    before = await service.list_page(PageRequest(limit=2, sort=Sort.PRICE, cursor=page.prev_cursor))
    assert ([p.name for p in after.items], after.page, after.next_cursor) == (["Desk Lamp"], 3, None)
    assert ([p.name for p in before.items], before.page, before.prev_cursor) == (
        ["Green Mug", "Blue kettle"],
        1,
        None,
    )


async def test_cursor_for_another_sort_is_rejected(service: ProductService) -> None:
    """A cursor made for one order cannot be used with another."""
    page = await service.list_page(PageRequest(limit=2, sort=Sort.NAME))
    with pytest.raises(InvalidQuery):
        await service.list_page(PageRequest(limit=2, sort=Sort.PRICE, cursor=page.next_cursor))


async def test_reads_fill_the_cache_and_writes_replace_the_entry(
    repository: InMemoryProductRepository,
) -> None:
    """A miss fills the shared cache; a write stores the new version's document there."""
    cache = InMemoryProductCache()
    service = ProductService(repository, cache)
    document = await service.get_document(1)
    assert (await cache.lookup(1)).entry == CachedProduct(document.version, document.body)
    await service.update(1, PriceStock(Decimal("3.00"), 3))
    entry = (await cache.lookup(1)).entry
    assert entry is not None and entry.version == 2
    assert b'"price":"3.00"' in (entry.body or b"")
    assert (await service.get(1)).price == Decimal("3.00")


class _RacedRepository(InMemoryProductRepository):
    """A repository where another writer changes product 1 just before the first conditional write."""

    raced = False

    async def update(self, product_id: int, change: PriceStock, *, expected_version: int | None) -> Product:
        if expected_version is not None and not self.raced:
            self.raced = True
            await super().update(product_id, PriceStock(Decimal("7.77"), 7), expected_version=None)
        return await super().update(product_id, change, expected_version=expected_version)


async def test_update_if_checks_again_when_the_version_moves_under_it() -> None:
    """update_if writes only on a version its condition was checked against, even under a race."""
    repository = _RacedRepository()
    repository.add_many([("Kettle", Decimal("1.00"), 1)])
    service = ProductService(repository)
    with pytest.raises(VersionConflict) as caught:
        await service.update_if(1, PriceStock(Decimal("2.00"), 2), lambda version: version == 1)
    assert caught.value.current == 2
    stored = await repository.get(1)
    assert stored is not None and stored.price == Decimal("7.77")
    updated = await service.update_if(1, PriceStock(Decimal("3.00"), 3), lambda version: version != 1)
    assert (updated.version, updated.price) == (3, Decimal("3.00"))


class _BusyRepository(InMemoryProductRepository):
    """A repository where another writer changes product 1 just before every conditional write."""

    async def update(self, product_id: int, change: PriceStock, *, expected_version: int | None) -> Product:
        if expected_version is not None:
            await super().update(product_id, PriceStock(Decimal("7.77"), 7), expected_version=None)
        return await super().update(product_id, change, expected_version=expected_version)


async def test_update_if_under_endless_contention_is_a_retryable_503_not_a_failed_precondition() -> None:
    """When concurrent writers keep moving the version while the condition holds for every version,
    the answer is a retryable 503 (with Retry-After), never a 412 naming the version asked for."""
    repository = _BusyRepository()
    repository.add_many([("Kettle", Decimal("1.00"), 1)])
    service = ProductService(repository)
    with pytest.raises(WriteContention) as caught:
        await service.update_if(1, PriceStock(Decimal("2.00"), 2), lambda version: version != 0)
    problem = domain_problem(caught.value)
    assert (problem.status_code, problem.headers) == (503, {"Retry-After": "1"})
    stored = await repository.get(1)
    assert stored is not None and stored.price == Decimal("7.77")
