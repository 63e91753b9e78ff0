"""Entry points: the HTTP app, the CLI, the event consumers, and the composition root that wires them."""
