"""One of three instances killed (SIGKILL) under load behind nginx: reads retried, no lost write."""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg

from tests.integration.nginx.cluster import cluster
from tests.integration.nginx.conftest import PRODUCTS, InstanceEnv
from tests.integration.nginx.test_nginx_cluster import DELIVERY_BOUND

READERS, WRITERS = 4, 2
BEFORE_KILL, AFTER_KILL = 3.0, 4.0
"""Seconds of load before and after the kill: long enough for each side to see many requests."""
WRITTEN = {0: [31, 32], 1: [33, 34]}
"""The products each writer owns (one writer per product, so the last acknowledged write must win)."""


@dataclass
class Outcomes:
    """What the load saw, by request id; shared by the load threads."""

    reads: dict[str, int | str] = field(default_factory=dict)
    writes: dict[int, list[tuple[Decimal, int | str, int]]] = field(default_factory=dict)
    write_ids: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def _read(http: httpx.Client, outcomes: Outcomes, seed: int) -> None:
    rng = random.Random(seed)
    while not outcomes.stop.is_set():
        request_id = uuid.uuid4().hex
        try:
            status: int | str = http.get(
                f"/products/{rng.randint(1, PRODUCTS)}", headers={"X-Request-ID": request_id}
            ).status_code
        except httpx.TransportError as error:
            status = f"{type(error).__name__}: {error}"
        outcomes.reads[request_id] = status


def _write(http: httpx.Client, outcomes: Outcomes, products: list[int], token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    cents = 100
    while not outcomes.stop.is_set():
        for product in products:
            cents += 1
            price = Decimal(cents) / 100
            version, request_id = 0, uuid.uuid4().hex
            outcomes.write_ids.append(request_id)
            try:
                response = http.put(
                    f"/products/{product}",
                    json={"price": str(price), "stock": cents},
                    headers={**auth, "X-Request-ID": request_id},
                )
                status: int | str = response.status_code
                version = response.json()["version"] if status == 200 else 0
            except httpx.TransportError as error:
                status = type(error).__name__
            outcomes.writes.setdefault(product, []).append((price, status, version))


def test_killing_an_instance_under_load_fails_no_retryable_read_and_loses_no_acknowledged_write(
    instance_env: InstanceEnv, workdir: Path, nginx_database: str, write_token: tuple[str, str]
) -> None:
    """Readers and writers go through nginx while one instance is SIGKILLed: every GET is answered
    200 (nginx retries the next instance), and every product ends with its last acknowledged write
    (or a later one whose answer was lost), in PostgreSQL, through nginx and on each survivor."""
    outcomes = Outcomes()
    with cluster(instance_env(), workdir) as nginx:
        clients = [nginx.client() for _ in range(READERS + WRITERS)]
        threads = [threading.Thread(target=_read, args=(clients[n], outcomes, n)) for n in range(READERS)]
        threads += [
            threading.Thread(target=_write, args=(clients[READERS + n], outcomes, WRITTEN[n], write_token[0]))
            for n in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        try:
            time.sleep(BEFORE_KILL)
            reads_before = len(outcomes.reads)
            victim, *survivors = nginx.instances
            victim.kill()
            time.sleep(AFTER_KILL)
        finally:
            outcomes.stop.set()
            for thread in threads:
                thread.join(timeout=60)
            for http in clients:
                http.close()
        load_ended = time.monotonic()
        assert not any(thread.is_alive() for thread in threads), "a load thread did not stop"

        log = nginx.logged(*outcomes.reads, *outcomes.write_ids)
        failed = {rid: status for rid, status in outcomes.reads.items() if status != 200}
        # granian writes a response's head and its (one-piece) body together, so a dying instance
        # never leaves nginx holding a head without its body: every read that met it was retried.
        assert not failed, [(failed[r], log[r]) for r in failed]
        assert reads_before >= 20 and len(outcomes.reads) - reads_before >= 20, "too little load either side"
        # Whichever request first met the dead instance, read or write, was passed to a survivor.
        everything = [*outcomes.reads, *outcomes.write_ids]
        retried = [log[rid]["upstream"] for rid in everything if "," in log[rid]["upstream"]]
        assert retried and all(u.startswith(victim.address) for u in retried), retried[:5]
        served_after = {log[rid]["upstream"] for rid in list(outcomes.reads)[-20:]}
        assert served_after <= {s.address for s in survivors}

        time.sleep(max(0.0, load_ended + DELIVERY_BOUND - time.monotonic()))
        readers = [nginx.client(), *(s.client() for s in survivors)]
        try:
            for product, writes in outcomes.writes.items():
                _check_final_state(product, writes, nginx_database, readers)
        finally:
            for http in readers:
                http.close()
    statuses = [status for writes in outcomes.writes.values() for _, status, _ in writes]
    print(
        f"\n{len(outcomes.reads)} reads, none failed; "
        f"{len(retried)} requests retried on a survivor; "
        f"{len(statuses)} writes, {statuses.count(200)} acknowledged, others: "
        f"{[s for s in statuses if s != 200]}"
    )


def _check_final_state(
    product: int, writes: list[tuple[Decimal, int | str, int]], database: str, readers: list[httpx.Client]
) -> None:
    """The product holds its last acknowledged write, or a later unacknowledged one, everywhere."""
    acknowledged = [n for n, (_, status, _) in enumerate(writes) if status == 200]
    assert acknowledged, f"no write of product {product} was acknowledged"
    last = acknowledged[-1]
    allowed = {writes[last][0]} | {price for price, _, _ in writes[last + 1 :]}
    assert all(status in (200, 503) or isinstance(status, str) for _, status, _ in writes), writes
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT price, version FROM products WHERE id = %s", (product,)).fetchone()
    assert row is not None and row[0] in allowed and row[1] >= writes[last][2], (product, row, writes[-3:])
    for http in readers:  # the delivery bound of docs/reliability.md has passed since the last write
        body = http.get(f"/products/{product}").json()
        assert (Decimal(body["price"]), body["version"]) == (row[0], row[1]), (product, body, row)
