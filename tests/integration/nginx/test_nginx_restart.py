"""One of three instances restarted (SIGTERM, then started again) under load behind nginx: nothing fails."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.integration.nginx.cluster import START_BOUND, _wait, cluster, start_instance
from tests.integration.nginx.conftest import InstanceEnv
from tests.integration.nginx.test_nginx_cluster import DELIVERY_BOUND
from tests.integration.nginx.test_nginx_failover import (
    READERS,
    WRITERS,
    WRITTEN,
    Outcomes,
    _check_final_state,
    _read,
    _write,
)

DRAIN = "1.0"
"""Seconds an instance keeps serving after SIGTERM (it is not ready meanwhile)."""


def test_restarting_an_instance_under_load_fails_no_request(
    instance_env: InstanceEnv, workdir: Path, nginx_database: str, write_token: tuple[str, str]
) -> None:
    """Readers and writers go through nginx while one instance stops gracefully and starts again on
    its port: every read and every write is answered 200, and every product ends with its last write."""
    outcomes = Outcomes()
    env = instance_env(PRODUCTCORE_SHUTDOWN_DRAIN=DRAIN)
    with cluster(env, workdir) as nginx:
        clients = [nginx.client() for _ in range(READERS + WRITERS)]
        threads = [threading.Thread(target=_read, args=(clients[n], outcomes, n)) for n in range(READERS)]
        threads += [
            threading.Thread(target=_write, args=(clients[READERS + n], outcomes, WRITTEN[n], write_token[0]))
            for n in range(WRITERS)
        ]
        for thread in threads:
            thread.start()
        restarted = nginx.instances[0]
        try:
            time.sleep(1.5)
            restarted.terminate()
            stopped_reads = len(outcomes.reads)
            time.sleep(1.0)
            again = start_instance(env, workdir, port=restarted.port)
            nginx.instances[0] = again
            _wait(f"instance {again.address}", again.ready, again.process, again.log, START_BOUND)
            time.sleep(1.5)
        finally:
            outcomes.stop.set()
            for thread in threads:
                thread.join(timeout=60)
            for http in clients:
                http.close()
        assert restarted.process.returncode == 0, restarted.log.read_text()[-2000:]
        load_ended = time.monotonic()
        log = nginx.logged(*outcomes.reads, *outcomes.write_ids)
        failed_reads = {rid: status for rid, status in outcomes.reads.items() if status != 200}
        assert not failed_reads, [(failed_reads[r], log[r]) for r in failed_reads]
        statuses = [status for writes in outcomes.writes.values() for _, status, _ in writes]
        assert all(status == 200 for status in statuses), [s for s in statuses if s != 200]
        assert len(outcomes.reads) - stopped_reads >= 20, "too little load after the stop"
        with again.client() as direct:
            assert direct.get("/products/1").status_code == 200, "the restarted instance serves again"

        time.sleep(max(0.0, load_ended + DELIVERY_BOUND - time.monotonic()))
        readers = [nginx.client(), *(i.client() for i in nginx.instances)]
        try:
            for product, writes in outcomes.writes.items():
                _check_final_state(product, writes, nginx_database, readers)
        finally:
            for http in readers:
                http.close()
    print(f"\n{len(outcomes.reads)} reads and {len(statuses)} writes through a restart, none failed")
