"""Path and query parameters of ``/products``: what each accepts, and how the schema documents it."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from litestar.openapi.spec import OpenAPIType
from litestar.params import Parameter

from entrypoints.http.schemas import PRICE_PATTERN
from productcore.model import Sort
from productcore.validation import MAX_ID, MAX_LIMIT, MAX_NAME_QUERY, MAX_PAGE, whole_number


class WholeNumber(int):
    """An integer parameter sent as plain ASCII digits, between ``low`` and ``high``.

    Litestar would read ``1e3``, ``1.0`` or ``10e-1`` into an ``int`` (rounding through a float on
    the way); these types accept digits only, via :func:`decode_whole_number`. Handlers pass them on
    as plain ``int`` (msgspec encodes no subclass of it).
    """

    low: ClassVar[int]
    high: ClassVar[int]

    @classmethod
    def schema(cls, default: int | None = None) -> dict[str, Any]:
        """The OpenAPI schema keywords that state the same rule (and the default, as a plain int)."""
        extra: dict[str, Any] = {"type": OpenAPIType.INTEGER, "minimum": cls.low, "maximum": cls.high}
        return extra if default is None else {**extra, "default": default}


class IdDigits(WholeNumber):
    """A product id."""

    low, high = 1, MAX_ID


class PageDigits(WholeNumber):
    """A page number."""

    low, high = 1, MAX_PAGE


class LimitDigits(WholeNumber):
    """Products per page."""

    low, high = 1, MAX_LIMIT


def is_whole_number(annotation: Any) -> bool:
    """Whether :func:`decode_whole_number` reads parameters of this type."""
    return isinstance(annotation, type) and issubclass(annotation, WholeNumber)


def decode_whole_number(target: type[WholeNumber], value: Any) -> WholeNumber:
    """Read a :class:`WholeNumber` from its text; the error message is what the client is told."""
    try:
        number = whole_number(value, target.high) if isinstance(value, str) else None
    except ValueError:
        number = None
    if number is not None and target.low <= number <= target.high:
        return target(number)
    raise ValueError(f"must be a whole number from {target.low} to {target.high}, in plain digits")


TYPE_DECODERS = [(is_whole_number, decode_whole_number)]
"""The decoders the controller needs for these parameters."""


ProductId = Annotated[IdDigits, Parameter(description="Product id", schema_extra=IdDigits.schema())]
FIRST_PAGE = PageDigits(1)
DEFAULT_LIMIT = LimitDigits(20)
PageNumber = Annotated[
    PageDigits, Parameter(description="Page number, from 1", schema_extra=PageDigits.schema(default=1))
]
Limit = Annotated[
    LimitDigits,
    Parameter(description="Products per page, 1 to 100", schema_extra=LimitDigits.schema(default=20)),
]
SortParam = Annotated[Sort, Parameter(description="Order: id, price or name; a leading - reverses it")]
CursorParam = Annotated[
    str | None,
    Parameter(
        description="Keyset cursor from a next/prev link (opaque); overrides page",
        # Checked by decode_cursor, which refuses every bad cursor alike.
        schema_extra={"pattern": r"^[A-Za-z0-9_-]+$", "min_length": 1, "max_length": 512},
    ),
]
Price = Annotated[
    str | None,
    Parameter(
        description="Amount with at most two decimals, e.g. 10 or 19.99",
        # Read by the core's parse_price, which says what is wrong with the amount.
        schema_extra={"pattern": PRICE_PATTERN},
    ),
]
NameQuery = Annotated[
    str | None,
    Parameter(
        description="Case-insensitive substring of the name (not blank, no NUL)",
        # Checked by the service's search criteria (as the CLI's --name is), which say what is wrong.
        schema_extra={
            "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$",
            "min_length": 1,
            "max_length": MAX_NAME_QUERY,
        },
    ),
]
