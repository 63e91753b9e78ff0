"""In-process implementations of the ports: fakes for tests and the near cache."""

from adapters.memory.cache import InMemoryBus, InMemoryProductCache, NullProductCache
from adapters.memory.near_cache import LruNearCache
from adapters.memory.repository import InMemoryProductRepository

__all__ = [
    "InMemoryBus",
    "InMemoryProductCache",
    "InMemoryProductRepository",
    "LruNearCache",
    "NullProductCache",
]
