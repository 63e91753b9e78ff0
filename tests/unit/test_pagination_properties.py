"""Property tests of paging and search over the in-memory repository (the reference semantics)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.memory import InMemoryProductRepository
from productcore import PageRequest, ProductService, SearchCriteria, Sort
from productcore.model import Product
from productcore.pagination import cursor_at, decode_cursor, encode_cursor

names = st.text(alphabet="abcAB %_\\é", min_size=1, max_size=8)
prices = st.decimals(min_value=0, max_value=100, places=2)
catalogues = st.lists(st.tuples(names, prices, st.integers(0, 5)), max_size=40)


def _service(rows: list[tuple[str, Decimal, int]]) -> ProductService:
    repository = InMemoryProductRepository()
    repository.add_many(rows)
    return ProductService(repository)


@settings(max_examples=150, deadline=None)
@given(rows=catalogues, limit=st.integers(1, 7), sort=st.sampled_from(list(Sort)))
async def test_numbered_pages_partition_the_catalogue(rows: list, limit: int, sort: Sort) -> None:
    """Pages 1..total_pages hold every product exactly once, in sort order."""
    service = _service(rows)
    first = await service.list_page(PageRequest(limit=limit, sort=sort))
    seen = []
    for number in range(1, first.total_pages + 1):
        seen += [
            p.id for p in (await service.list_page(PageRequest(page=number, limit=limit, sort=sort))).items
        ]
    assert sorted(seen) == list(range(1, len(rows) + 1))
    assert len(seen) == len(set(seen)) == first.total.value


@settings(max_examples=150, deadline=None)
@given(rows=catalogues, limit=st.integers(1, 7), sort=st.sampled_from(list(Sort)))
async def test_cursor_walks_match_numbered_pages_both_ways(rows: list, limit: int, sort: Sort) -> None:
    """Following next cursors visits the same pages as page numbers; prev cursors walk back."""
    service = _service(rows)
    page = await service.list_page(PageRequest(limit=limit, sort=sort))
    forward = [page]
    while page.next_cursor is not None:
        page = await service.list_page(PageRequest(limit=limit, sort=sort, cursor=page.next_cursor))
        forward.append(page)
    for walked in forward:
        numbered = await service.list_page(PageRequest(page=walked.page, limit=limit, sort=sort))
        assert [p.id for p in walked.items] == [p.id for p in numbered.items]
    backward = [page]
    while page.prev_cursor is not None:
        page = await service.list_page(PageRequest(limit=limit, sort=sort, cursor=page.prev_cursor))
        backward.append(page)
    assert [[p.id for p in b.items] for b in reversed(backward)] == [[p.id for p in f.items] for f in forward]


@settings(max_examples=150, deadline=None)
@given(
    rows=catalogues,
    name=st.none() | names,
    low=st.none() | prices,
    high=st.none() | prices,
)
async def test_search_equals_brute_force_filter(
    rows: list, name: str | None, low: Decimal | None, high: Decimal | None
) -> None:
    """Search returns exactly the products a plain filter keeps."""
    criteria = SearchCriteria(name=name, min_price=low, max_price=high)
    if (
        criteria.is_empty
        or (name is not None and not name.strip())
        or (low is not None and high is not None and low > high)
    ):
        return
    service = _service(rows)
    page = await service.search(criteria, PageRequest(limit=100))
    wanted = name.strip().casefold() if name is not None else None
    expected = [
        i
        for i, (n, p, _) in enumerate(rows, start=1)
        if (wanted is None or wanted in n.casefold())
        and (low is None or p >= low)
        and (high is None or p <= high)
    ]
    assert [p.id for p in page.items] == expected


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(
        st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1, max_size=500
    )
)
def test_every_name_gives_a_cursor_within_512_characters_that_decodes(name: str) -> None:
    """Whatever a name holds (up to 500 characters of up to 4 bytes), the cursor after it is at most
    512 characters and reads back as issued."""
    now = datetime.now(UTC)
    product = Product(
        id=7,
        name=name,
        description=None,
        price=Decimal("1.00"),
        stock=1,
        version=1,
        created_at=now,
        updated_at=now,
    )
    for sort in (Sort.NAME, Sort.NAME_DESC):
        cursor = cursor_at(product, sort, before=False, page=2)
        text = encode_cursor(cursor)
        assert len(text) <= 512
        assert decode_cursor(text) == cursor
        assert cursor.partial == (cursor.key != name)
