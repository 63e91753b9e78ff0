"""Redis adapter: the L2 cache, the invalidation bus and its subscriber."""

from adapters.redis.bus import RedisInvalidationBus
from adapters.redis.cache import CacheTimes, RedisProductCache
from adapters.redis.client import open_redis, warn_if_persistent, warn_unless_lru
from adapters.redis.health import RedisHealth
from adapters.redis.keys import Keys
from adapters.redis.subscriber import InvalidationSubscriber

__all__ = [
    "CacheTimes",
    "InvalidationSubscriber",
    "Keys",
    "RedisHealth",
    "RedisInvalidationBus",
    "RedisProductCache",
    "open_redis",
    "warn_if_persistent",
    "warn_unless_lru",
]
