"""Key names of the L2 cache: untagged on one server, a hash tag per product on Redis Cluster."""

from __future__ import annotations


class Keys:
    """Key names under one prefix (all keys of one deployment share it)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.generation = f"{prefix}:gen"
        self.relayed = f"{prefix}:relayed"
        self.channel = f"{prefix}:invalidations"

    def entry(self, product_id: int) -> str:
        """The key of a product's document, tombstone or negative entry."""
        return f"{self.prefix}:p:{product_id}"

    def lease(self, product_id: int) -> str:
        """The key of a product's fill lease."""
        return f"{self.prefix}:l:{product_id}"


class TaggedKeys(Keys):
    """Key names on Redis Cluster: a product's keys carry its id as a hash tag (``<prefix>:p:{42}``,
    ``<prefix>:l:{42}``), so the scripts that touch both run in one slot. (On one server the names
    stay untagged, as they always were, so an upgrade finds the keys it wrote before.)"""

    def entry(self, product_id: int) -> str:
        """The key of a product's document, tombstone or negative entry."""
        return f"{self.prefix}:p:{{{product_id}}}"

    def lease(self, product_id: int) -> str:
        """The key of a product's fill lease."""
        return f"{self.prefix}:l:{{{product_id}}}"
