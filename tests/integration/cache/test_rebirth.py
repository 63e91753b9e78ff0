"""An id used again (a deleted id inserted again, TRUNCATE ... RESTART IDENTITY) is cached at once."""

from __future__ import annotations

from tests.integration.cache.conftest import SETTLE, Cluster, Instance, eventually, l2_entry


async def _read_twice(instance: Instance, product_id: int) -> tuple[int, int]:
    """Read an id twice through ``instance``; return its version and the PostgreSQL reads it took."""
    before = instance.stats.db_reads
    first = await instance.version(product_id)
    assert await instance.version(product_id) == first
    return first, instance.stats.db_reads - before


async def test_a_deleted_id_inserted_again_is_cached_at_a_newer_version(cluster: Cluster) -> None:
    """After a delete (tombstone at its last version + 1) and an insert of the same id, the new row's
    version is above the tombstone's: the first read fills L2 and the next is a cache hit."""
    a = await cluster.start("a")
    b = await cluster.start("b")
    (product_id,) = cluster.insert(1)
    await eventually(cluster.outbox_empty, within=SETTLE)
    old = await a.version(product_id)
    cluster.sql("UPDATE products SET stock = 9 WHERE id = %s", (product_id,))
    cluster.sql("DELETE FROM products WHERE id = %s", (product_id,))
    await eventually(cluster.outbox_empty, within=SETTLE)
    cluster.sql(
        "INSERT INTO products (id, name, price, stock) OVERRIDING SYSTEM VALUE VALUES (%s, 'Reborn', 1, 1)",
        (product_id,),
    )
    await eventually(cluster.outbox_empty, within=SETTLE)
    version, reads = await _read_twice(b, product_id)
    stored = await l2_entry(b, product_id)
    print(f"\nreborn id: version {old} -> {version}; PostgreSQL reads for two reads: {reads}")
    assert version > old + 1 and reads == 1
    assert stored is not None and stored.version == version and stored.body is not None
    assert a.stats.l2_fills_rejected + b.stats.l2_fills_rejected == 0


async def test_ids_restarted_by_truncate_are_cached_at_newer_versions(cluster: Cluster) -> None:
    """After TRUNCATE ... RESTART IDENTITY (tombstones one version on), new rows with the same ids
    get versions above the tombstones and are cached on first read."""
    a = await cluster.start("a")
    b = await cluster.start("b")
    ids = cluster.insert(3)
    await eventually(cluster.outbox_empty, within=SETTLE)
    old = [await a.version(product_id) for product_id in ids]
    cluster.sql("TRUNCATE products RESTART IDENTITY")
    await eventually(cluster.outbox_empty, within=SETTLE)
    assert cluster.insert(3) == ids
    await eventually(cluster.outbox_empty, within=SETTLE)
    results = [await _read_twice(b, product_id) for product_id in ids]
    print(f"\nids after TRUNCATE RESTART IDENTITY: versions {old} -> {[v for v, _ in results]}")
    assert all(version > before and reads == 1 for (version, reads), before in zip(results, old, strict=True))
    assert b.stats.l2_fills_rejected == 0
