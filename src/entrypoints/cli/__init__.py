"""The ``productcore`` command line: serve, relay, migrate, seed, import, get, search and update."""
