"""``productcore keys``: make API keys; only their digests ever reach the configuration."""

from __future__ import annotations

import click
import msgspec

from entrypoints.apikeys import SCOPES, ApiKeyConfigError, generate, parse_keys


@click.group()
def keys() -> None:
    """API keys for writes (and for reads when PRODUCTCORE_REQUIRE_KEY_FOR_READS is set)."""


@keys.command("create")
@click.argument("key_id")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    default=("write",),
    show_default=True,
    type=click.Choice(SCOPES),
    help="What the key may do (repeat for several); write includes read.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the key and its entry as one JSON object.")
def create(key_id: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Make a key named KEY_ID, print it once, and print its PRODUCTCORE_API_KEYS entry.

    The key itself is not stored anywhere: hand it to the client now. The entry holds only its
    SHA-256 digest; append it to PRODUCTCORE_API_KEYS (entries are comma separated) and restart.
    """
    try:
        token, key = generate(key_id, scopes)
    except ApiKeyConfigError as error:
        raise click.BadParameter(str(error), param_hint="KEY_ID") from None
    if as_json:
        entry = {"id": key.id, "key": token, "config_entry": key.config_entry}
        click.echo(msgspec.json.encode(entry).decode())
        return
    click.echo(f"API key (shown only now; give it to the client): {token}")
    click.echo(f"PRODUCTCORE_API_KEYS entry: {key.config_entry}")


def with_demo_key(configured: str) -> tuple[str, str]:
    """Make a write key for one ``serve --demo`` run: return it and the key list that accepts it."""
    taken = {key.id for key in parse_keys(configured)}
    key_id, n = "demo", 1
    while key_id in taken:
        key_id, n = f"demo-{n}", n + 1
    token, key = generate(key_id, ["write"])
    return token, ",".join(entry for entry in (configured.strip(), key.config_entry) if entry)
