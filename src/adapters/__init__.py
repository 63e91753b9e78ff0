"""Adapters that implement productcore's ports with real infrastructure or in memory."""
