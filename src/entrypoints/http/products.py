"""The ``/products`` resource: read one, read pages, search, change price and stock."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from entrypoints.http.access import WRITE_SECURITY
from entrypoints.http.body import PriceStockRequest, require_json
from entrypoints.http.conditional import NEVER_MATCHES, WritePreconditions, etag, matches_none
from entrypoints.http.freshness import NO_STORE, PRODUCT, UNCOMPRESSED
from entrypoints.http.parameters import (
    DEFAULT_LIMIT,
    FIRST_PAGE,
    TYPE_DECODERS,
    CursorParam,
    Limit,
    NameQuery,
    PageNumber,
    Price,
    ProductId,
    SortParam,
)
from entrypoints.http.problems import READ_PROBLEMS, WRITE_PROBLEMS, problems, version_problem
from entrypoints.http.schemas import PageLinks, PriceStockIn, ProductOut, ProductPage
from productcore.errors import FieldError, InvalidQuery, VersionConflict
from productcore.model import (
    Page,
    PageRequest,
    PriceStock,
    Product,
    ProductDocument,
    SearchCriteria,
    Sort,
    encode_product,
)
from productcore.pagination import decode_cursor, encode_cursor
from productcore.service import ProductService
from productcore.validation import MAX_PAGE, parse_price, parsed


def provide_service(state: State) -> ProductService:
    """Hand the request the service built at start-up."""
    service: ProductService = state.product_service
    return service


def product_body() -> ResponseSpec:
    """The OpenAPI entry of a product response (sent as cached bytes, shaped as ``ProductOut``)."""
    return ResponseSpec(
        data_container=ProductOut, description="The product; its ETag is the version", generate_examples=False
    )


_NO_CACHE = (b"cache-control", PRODUCT.encode())


def _cache_headers(version: int) -> dict[str, str]:
    """What a 200 and a 304 of one product both carry (RFC 9110 §15.4.5)."""
    return {"ETag": etag(version), "Cache-Control": PRODUCT}


def product_answer(
    document: ProductDocument, if_none_match: bytes | None
) -> tuple[int, list[tuple[bytes, bytes]]]:
    """The status (200, or 304 when ``If-None-Match`` names the version) and validator fields of a read.

    Raises:
        InvalidInput: ``If-None-Match`` is not ``*`` or a list of entity tags.
    """
    header = if_none_match.decode("latin-1") if if_none_match is not None else None
    status = 304 if matches_none(header, document.version) else 200
    return status, [(b"etag", etag(document.version).encode()), _NO_CACHE]


def _document_response(document: ProductDocument, status_code: int = 200) -> Response[bytes]:
    return Response(
        content=document.body,
        media_type="application/json",
        status_code=status_code,
        headers=_cache_headers(document.version),
    )


def _page_request(page: int, limit: int, sort: Sort, cursor: str | None) -> PageRequest:
    cursor_at = decode_cursor(cursor) if cursor is not None else None
    return PageRequest(page=int(page), limit=int(limit), sort=sort, cursor=cursor_at)


def _criteria(name: str | None, min_price: str | None, max_price: str | None) -> SearchCriteria:
    """Search criteria from the query; a bad price bound is named with what is wrong with it."""
    errors: list[FieldError] = []
    low = parsed(errors, "min_price", parse_price, min_price) if min_price is not None else None
    high = parsed(errors, "max_price", parse_price, max_price) if max_price is not None else None
    if errors:
        raise InvalidQuery(errors)
    return SearchCriteria(name=name, min_price=low, max_price=high)


def _last_is_known(result: Page) -> bool:
    """Whether a ``last`` link can name a page that has products: only when the total is exact.

    An estimated total (a search past ``PRODUCTCORE_EXACT_COUNT_LIMIT`` matches) may overshoot, and a
    ``last`` page computed from it would be empty; ``next`` links reach the real end.
    """
    return result.total.exact and result.total.value > 0


def _links(path: str, base: dict[str, str], result: Page) -> ProductPage:
    def link(**params: str | int) -> str:
        return f"{path}?{urlencode({**base, 'limit': result.limit, 'sort': result.sort.value, **params})}"

    prev = None
    if result.prev_cursor is not None:
        prev = link(cursor=encode_cursor(result.prev_cursor))
    elif result.page > 1:
        prev = link(page=min(result.page - 1, max(result.total_pages, 1)))
    return ProductPage.of(
        result,
        PageLinks(
            self=link(page=result.page),
            first=link(page=1),
            last=link(page=min(result.total_pages, MAX_PAGE)) if _last_is_known(result) else None,
            next=link(cursor=encode_cursor(result.next_cursor)) if result.next_cursor else None,
            prev=prev,
        ),
    )


class ProductController(Controller):
    """Products: JSON in, JSON out, RFC 9457 problems for every error."""

    path = "/products"
    tags = ["products"]
    dependencies = {"service": Provide(provide_service, sync_to_thread=False)}
    type_decoders = TYPE_DECODERS

    @get(
        "/",
        operation_id="listProducts",
        summary="List products a page at a time",
        response_description="One page of products, with totals and links to other pages",
        responses=problems(400, 503, *READ_PROBLEMS),
        cache_control=NO_STORE,
    )
    async def list_products(
        self,
        request: Request[Any, Any, Any],
        service: NamedDependency[ProductService],
        page: PageNumber = FIRST_PAGE,
        limit: Limit = DEFAULT_LIMIT,
        sort: SortParam = Sort.ID,
        cursor: CursorParam = None,
    ) -> ProductPage:
        """Return one page of all products, with totals and links to neighbouring pages."""
        result = await service.list_page(_page_request(page, limit, sort, cursor))
        return _links(request.url.path, {}, result)

    @get(
        "/search",
        operation_id="searchProducts",
        summary="Search by name and/or price range",
        response_description="One page of matching products, with totals and links to other pages",
        responses=problems(400, 503, *READ_PROBLEMS),
        cache_control=NO_STORE,
    )
    async def search_products(
        self,
        request: Request[Any, Any, Any],
        service: NamedDependency[ProductService],
        name: NameQuery = None,
        min_price: Price = None,
        max_price: Price = None,
        page: PageNumber = FIRST_PAGE,
        limit: Limit = DEFAULT_LIMIT,
        sort: SortParam = Sort.ID,
        cursor: CursorParam = None,
    ) -> ProductPage:
        """Return one page of the products whose name contains ``name`` and whose price is in range."""
        criteria = _criteria(name, min_price, max_price)
        result = await service.search(criteria, _page_request(page, limit, sort, cursor))
        base = {
            k: str(v)
            for k, v in (("name", name), ("min_price", min_price), ("max_price", max_price))
            if v is not None
        }
        return _links(request.url.path, base, result)

    @get(
        "/{product_id:str}",
        operation_id="getProduct",
        summary="Get one product",
        responses={200: product_body(), **problems(400, 404, 503, *READ_PROBLEMS)},
        opt={UNCOMPRESSED: True},
    )
    async def get_product(
        self, request: Request[Any, Any, Any], service: NamedDependency[ProductService], product_id: ProductId
    ) -> Response[bytes]:
        """Return one product; ``If-None-Match`` with its current ETag gives 304 Not Modified.

        The front door answers these requests itself (``front.py``) while the service runs; this
        handler gives the same answer (never compressed: one representation, one ``ETag``).
        """
        document = await service.get_document(int(product_id))
        if_none_match = request.headers.get("if-none-match")
        status, fields = product_answer(document, if_none_match.encode("latin-1") if if_none_match else None)
        headers = {name.decode(): value.decode() for name, value in fields}
        if status == 304:
            return Response(content=b"", status_code=304, headers=headers)
        return Response(content=document.body, media_type="application/json", headers=headers)

    @put(
        "/{product_id:str}",
        operation_id="updateProduct",
        summary="Set price and stock",
        responses={200: product_body(), **problems(400, 404, 412, 428, 503, *WRITE_PROBLEMS)},
        security=WRITE_SECURITY,
        before_request=require_json,
        request_class=PriceStockRequest,
        opt={UNCOMPRESSED: True},
    )
    async def update_product(
        self,
        request: Request[Any, Any, Any],
        service: NamedDependency[ProductService],
        product_id: ProductId,
        data: JSONBody[PriceStockIn],
    ) -> Response[bytes]:
        """Set a product's price and stock; ``If-Match`` / ``If-None-Match`` make the write conditional."""
        preconditions = WritePreconditions.parse(
            request.headers.get("if-match"),
            request.headers.get("if-none-match"),
            require_if_match=request.app.state.settings.require_if_match,
        )
        change = data.change()
        try:
            product = await _write(service, int(product_id), change, preconditions)
        except VersionConflict as conflict:
            raise version_problem(conflict, preconditions.failing(conflict.current)) from None
        return _document_response(ProductDocument(product.version, encode_product(product)))


async def _write(
    service: ProductService, product_id: int, change: PriceStock, preconditions: WritePreconditions
) -> Product:
    """One conditional ``UPDATE`` when ``If-Match`` names at most one version, else check and write."""
    if preconditions.unconditional:
        return await service.update(product_id, change)
    candidates = preconditions.candidates()
    if preconditions.if_none_match is None and len(candidates) <= 1:
        expected = candidates[0] if candidates else NEVER_MATCHES
        return await service.update(product_id, change, expected_version=expected)
    return await service.update_if(product_id, change, preconditions.hold)
