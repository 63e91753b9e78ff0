"""In-process implementations of the ports: fakes for tests and the near cache."""

from adapters.memory.cache import NullProductCache
from adapters.memory.repository import InMemoryProductRepository

__all__ = ["InMemoryProductRepository", "NullProductCache"]
