"""Redis Cluster without a cluster: URLs, hash tags, and how a batch is split by slot and put back."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from adapters.redis.budgets import BatchedBudgets
from adapters.redis.cluster import ClusterUrl, is_cluster_url, parse_cluster_url
from adapters.redis.keys import Keys, TaggedKeys
from adapters.redis.slots import Layout, group_by_slot, merge, slot_of, split
from entrypoints.settings import ConfigError, Settings


def test_a_products_keys_share_a_slot_on_a_cluster_and_products_spread() -> None:
    """Entry and lease of one id hash to one slot (the scripts touch both); 1000 ids use many slots."""
    keys = TaggedKeys("productcore:cache")
    assert keys.entry(42) == "productcore:cache:p:{42}"
    assert all(slot_of(keys.entry(i)) == slot_of(keys.lease(i)) for i in range(1000))
    assert len({slot_of(keys.entry(i)) for i in range(1000)}) > 900


def test_one_servers_key_names_are_unchanged() -> None:
    """On one server the keys are named as before clusters were supported (an upgrade finds them)."""
    keys = Keys("productcore:cache")
    assert (keys.entry(42), keys.lease(42)) == ("productcore:cache:p:42", "productcore:cache:l:42")


def test_an_identitys_budgets_share_a_slot() -> None:
    """The read and write budgets of one identity are in one slot: a batch needs no split for them."""
    budgets = BatchedBudgets(Redis(), "productcore:ratelimit", "sliding-window-counter")  # no connection
    assert slot_of(budgets.key("read", "10.0.0.7")) == slot_of(budgets.key("write", "10.0.0.7"))


def test_slot_of_reads_str_and_bytes_alike() -> None:
    """Keys from the service (str) and from SCAN (bytes) hash alike, by redis-py's CRC16."""
    assert slot_of("a:p:{7}") == slot_of(b"a:p:{7}") == key_slot(b"7")


def test_a_batch_is_split_by_slot_and_its_replies_put_back_in_order() -> None:
    """Items group by the slot of their first key, in order; each call carries the shared arguments,
    then its items' own; the calls' replies come back in the items' order."""
    keys = TaggedKeys("c")
    ids = [1, 2, 1001, 3, 1002]
    flat_keys = [key for i in ids for key in (keys.entry(i), keys.lease(i))]
    flat_args: list[str | int] = ["ttl", *(part for i in ids for part in (f"token{i}", i))]
    layout = Layout(keys=2, head=1, args=2)
    groups = group_by_slot(flat_keys, layout.keys)
    assert sorted(index for indexes in groups.values() for index in indexes) == list(range(len(ids)))
    for slot, indexes in groups.items():
        assert indexes == sorted(indexes)
        assert {slot_of(keys.entry(ids[index])) for index in indexes} == {slot}
    calls = split(flat_keys, flat_args, layout, groups)
    for (call_keys, call_args), indexes in zip(calls, groups.values(), strict=True):
        assert call_keys == [
            key for index in indexes for key in (keys.entry(ids[index]), keys.lease(ids[index]))
        ]
        assert call_args == [
            "ttl",
            *(part for index in indexes for part in (f"token{ids[index]}", ids[index])),
        ]
        assert len({slot_of(key) for key in call_keys}) == 1
    replies = [[f"reply{ids[index]}" for index in indexes] for indexes in groups.values()]
    assert merge(replies, groups, len(ids)) == [f"reply{i}" for i in ids]


def test_items_of_one_slot_make_one_group() -> None:
    """Keys with one hash tag (one product, or one identity's budgets) are one call."""
    assert group_by_slot(["x:{9}:read", "x:{9}:write", "y:{9}"], 1) == {key_slot(b"9"): [0, 1, 2]}


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("redis+cluster://10.0.0.1:7000", ClusterUrl((("10.0.0.1", 7000),))),
        (
            "redis+cluster://:s3cret@a:7000,b:7001/0",
            ClusterUrl((("a", 7000), ("b", 7001)), None, "s3cret"),
        ),
        ("rediss+cluster://user:pw@[::1]:7000", ClusterUrl((("::1", 7000),), "user", "pw", tls=True)),
    ],
)
def test_cluster_urls_in_the_form_limits_uses_are_read(url: str, parsed: ClusterUrl) -> None:
    """``redis+cluster://[user:password@]host:port[,host:port...]``: seed nodes and credentials."""
    assert is_cluster_url(url)
    assert parse_cluster_url(url) == parsed


@pytest.mark.parametrize(
    "url",
    [
        "redis+cluster://a",
        "redis+cluster://a:0",
        "redis+cluster://a:7000,b",
        "redis+cluster://a:7000/1",
        "redis+cluster://a:7000?ssl=true",
    ],
)
def test_a_bad_cluster_url_is_refused_at_start(url: str) -> None:
    """A node without a port, database 1, or options: the setting names what is wrong."""
    with pytest.raises(ConfigError, match="PRODUCTCORE_REDIS_URL is invalid"):
        Settings.from_env({"PRODUCTCORE_REDIS_URL": url})


def test_a_cluster_url_is_a_valid_setting() -> None:
    """The settings accept the cluster form (and a plain URL is no cluster)."""
    url = "redis+cluster://127.0.0.1:7000,127.0.0.1:7001"
    assert Settings.from_env({"PRODUCTCORE_REDIS_URL": url}).redis_url == url
    assert not is_cluster_url("redis://127.0.0.1:6379/0")
