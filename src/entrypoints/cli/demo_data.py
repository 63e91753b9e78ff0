"""Synthetic but plausible products: brand, adjective, material, item and a model code."""

from __future__ import annotations

import random
import string
from collections.abc import Iterator
from decimal import Decimal

from adapters.postgres.bulk import ProductRow

BRANDS = (
    "Acme",
    "Nordhavn",
    "Brightline",
    "Kestrel",
    "Oakridge",
    "Lumen",
    "Vantage",
    "Solace",
    "Meridian",
    "Copperfield",
    "Halcyon",
    "Tundra",
    "Bluewater",
    "Ironbark",
    "Pinecrest",
    "Zephyr",
    "Atlas",
    "Cobalt",
    "Juniper",
    "Redwood",
    "Silverline",
    "Everest",
    "Harbor",
    "Quartz",
    "Summit",
    "Willow",
    "Orion",
    "Ember",
)
ADJECTIVES = (
    "Compact",
    "Deluxe",
    "Portable",
    "Ergonomic",
    "Classic",
    "Smart",
    "Wireless",
    "Heavy-Duty",
    "Ultra-Light",
    "Premium",
    "Eco",
    "Foldable",
    "Insulated",
    "Waterproof",
    "Adjustable",
    "Rechargeable",
    "Vintage",
    "Modular",
    "Quiet",
    "Rugged",
    "Slim",
    "Cordless",
    "Stackable",
    "Digital",
)
MATERIALS = (
    "Steel",
    "Bamboo",
    "Ceramic",
    "Cotton",
    "Leather",
    "Oak",
    "Aluminium",
    "Glass",
    "Wool",
    "Linen",
    "Carbon",
    "Granite",
    "Walnut",
    "Silicone",
    "Copper",
    "Canvas",
    "Titanium",
    "Marble",
)
ITEMS = (
    "Kettle",
    "Desk Lamp",
    "Backpack",
    "Headphones",
    "Chair",
    "Water Bottle",
    "Cutting Board",
    "Blender",
    "Jacket",
    "Notebook",
    "Speaker",
    "Frying Pan",
    "Tent",
    "Keyboard",
    "Mug",
    "Towel Set",
    "Wall Clock",
    "Bookshelf",
    "Coffee Grinder",
    "Yoga Mat",
    "Bicycle Helmet",
    "Phone Stand",
    "Rug",
    "Toaster",
    "Umbrella",
    "Sunglasses",
    "Wallet",
    "Plant Pot",
    "Power Bank",
    "Throw Blanket",
)
FEATURES = (
    "built to last",
    "easy to clean",
    "backed by a two-year warranty",
    "designed for everyday use",
    "made from responsibly sourced materials",
    "tested for heavy use",
    "with a minimalist finish",
    "ideal as a gift",
    "packed flat for shipping",
    "with replaceable parts",
)
_CODE = string.ascii_uppercase + string.digits


def demo_products(count: int, seed: int = 20_261_125) -> Iterator[ProductRow]:
    """Yield ``count`` products; the same seed yields the same catalogue.

    Names end in a model code such as ``QX-7F2K9`` so that a code is a rare substring.
    """
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    choice, random_ = rng.choice, rng.random
    for _ in range(count):
        item = choice(ITEMS)
        code = "".join(rng.choices(_CODE, k=2)) + "-" + "".join(rng.choices(_CODE, k=5))
        name = f"{choice(BRANDS)} {choice(ADJECTIVES)} {choice(MATERIALS)} {item} {code}"
        # Prices follow a skewed curve: most under 100, a few in the thousands.
        price = Decimal(round(min(4.99 + rng.lognormvariate(3.2, 1.1), 9_999.99), 2)).quantize(
            Decimal("0.01")
        )
        stock = 0 if random_() < 0.08 else int(rng.expovariate(1 / 120))
        description = f"{item} by {name.split(' ', 1)[0]}, {choice(FEATURES)}." if random_() < 0.9 else None
        yield ProductRow(name=name, description=description, price=price, stock=stock)
