"""Entry points of productcore: the HTTP app, the CLI, and the container that wires them."""
