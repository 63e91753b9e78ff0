"""Redis adapter: the L2 cache, the invalidation bus and its feed, rate-limit budgets, client, health."""

from adapters.redis.bus import RedisInvalidationBus
from adapters.redis.cache import CacheTimes, RedisProductCache
from adapters.redis.client import open_redis, warn_if_persistent, warn_unless_lru
from adapters.redis.health import RedisHealth
from adapters.redis.keys import Keys
from adapters.redis.subscriber import RedisInvalidationFeed

__all__ = [
    "CacheTimes",
    "Keys",
    "RedisHealth",
    "RedisInvalidationBus",
    "RedisInvalidationFeed",
    "RedisProductCache",
    "open_redis",
    "warn_if_persistent",
    "warn_unless_lru",
]
