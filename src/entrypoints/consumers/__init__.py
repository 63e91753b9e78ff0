"""Long-running consumers that drive the core from events: the invalidation subscriber, the cache relay."""
