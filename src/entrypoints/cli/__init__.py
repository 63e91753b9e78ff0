"""The ``productcore`` command line."""
