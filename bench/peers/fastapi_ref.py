"""The usual stack, as the original specification describes it: FastAPI, redis-py cache-aside, psycopg 3 pool.

Run: ``uvicorn peers.fastapi_ref:app --app-dir bench --loop uvloop --http httptools`` with
BENCH_DATABASE_URL, BENCH_REDIS_URL and (optionally) BENCH_CACHE_PREFIX set. Same ``products``
table as productcore.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Response
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field
from redis.asyncio import BlockingConnectionPool, Redis

COLUMNS = "id, name, description, price, stock, version, created_at, updated_at"
CACHE_TTL = 3600
PREFIX = os.environ.get("BENCH_CACHE_PREFIX", "product:")

pool = AsyncConnectionPool(
    os.environ["BENCH_DATABASE_URL"], min_size=2, max_size=10, open=False, kwargs={"row_factory": dict_row}
)
# Blocking: past 64 connections a request waits for one (the default pool raises at 100 in use).
cache = Redis.from_pool(BlockingConnectionPool.from_url(os.environ["BENCH_REDIS_URL"], max_connections=64))


class Product(BaseModel):
    id: int
    name: str
    description: str | None
    price: Decimal
    stock: int
    version: int
    created_at: datetime
    updated_at: datetime


class PriceStock(BaseModel):
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    stock: int = Field(ge=0)


class Page(BaseModel):
    items: list[Product]
    page: int
    limit: int
    total: int | None = None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await pool.open(wait=True)
    yield
    await pool.close()
    await cache.aclose()


app = FastAPI(lifespan=lifespan)
PageNo = Annotated[int, Query(ge=1)]
Limit = Annotated[int, Query(ge=1, le=100)]


async def fetch_all(query: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(query, params)
        return await cur.fetchall()


@app.get("/products", response_model=Page)
async def list_products(page: PageNo = 1, limit: Limit = 20) -> Page:
    rows = await fetch_all(
        f"SELECT {COLUMNS} FROM products ORDER BY id LIMIT %(limit)s OFFSET %(offset)s",
        {"limit": limit, "offset": (page - 1) * limit},
    )
    total = (await fetch_all("SELECT count(*) AS n FROM products", {}))[0]["n"]
    return Page(items=[Product(**row) for row in rows], page=page, limit=limit, total=total)


@app.get("/products/search", response_model=Page)
async def search(
    name: str | None = None,
    min_price: Annotated[Decimal | None, Query(ge=0)] = None,
    max_price: Annotated[Decimal | None, Query(ge=0)] = None,
    page: PageNo = 1,
    limit: Limit = 20,
) -> Page:
    clauses, params = [], {"limit": limit, "offset": (page - 1) * limit}
    if name:
        clauses.append("name ILIKE %(name)s")
        params["name"] = "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if min_price is not None:
        clauses.append("price >= %(min_price)s")
        params["min_price"] = min_price
    if max_price is not None:
        clauses.append("price <= %(max_price)s")
        params["max_price"] = max_price
    if not clauses:
        raise HTTPException(400, "give name, min_price or max_price")
    where = " AND ".join(clauses)
    query = f"SELECT {COLUMNS} FROM products WHERE {where} ORDER BY id LIMIT %(limit)s OFFSET %(offset)s"
    return Page(items=[Product(**row) for row in await fetch_all(query, params)], page=page, limit=limit)


@app.get("/products/{product_id}")
async def get_product(product_id: int) -> Response:
    key = f"{PREFIX}{product_id}"
    body = await cache.get(key)
    if body is None:
        rows = await fetch_all(f"SELECT {COLUMNS} FROM products WHERE id = %(id)s", {"id": product_id})
        if not rows:
            raise HTTPException(404, "product not found")
        body = Product(**rows[0]).model_dump_json()
        await cache.set(key, body, ex=CACHE_TTL)
    return Response(body, media_type="application/json")


@app.put("/products/{product_id}")
async def update_product(product_id: int, change: PriceStock) -> Response:
    rows = await fetch_all(
        f"UPDATE products SET price = %(price)s, stock = %(stock)s WHERE id = %(id)s RETURNING {COLUMNS}",
        {"id": product_id, "price": change.price, "stock": change.stock},
    )
    if not rows:
        raise HTTPException(404, "product not found")
    body = Product(**rows[0]).model_dump_json()
    await cache.set(f"{PREFIX}{product_id}", body, ex=CACHE_TTL)
    return Response(body, media_type="application/json")
