"""Domain errors: plain exceptions, mapped to transport status codes by each entry point."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input field and what is wrong with it."""

    field: str
    message: str


class ProductcoreError(Exception):
    """Base class of every error productcore raises on purpose."""


class ProductNotFound(ProductcoreError):
    """No product has the requested id."""

    def __init__(self, product_id: int) -> None:
        super().__init__(f"product {product_id} does not exist")
        self.product_id = product_id


class InvalidInput(ProductcoreError):
    """Input that can never succeed as given; ``errors`` names each bad field."""

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


class InvalidQuery(InvalidInput):
    """A page or search request that is invalid as a whole or in a field."""


class VersionConflict(ProductcoreError):
    """A conditional write expected another version than the current one."""

    def __init__(self, product_id: int, expected: int, current: int) -> None:
        super().__init__(f"product {product_id} is at version {current}, not {expected}")
        self.product_id = product_id
        self.expected = expected
        self.current = current


class ServiceUnavailable(ProductcoreError):
    """A backing store needed for the request cannot be reached right now."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WriteContention(ServiceUnavailable):
    """Concurrent writers kept changing a product while a conditional write checked it: retry later.

    Not a failed precondition: the condition held for every version seen, the write just never
    got in between the others.
    """

    def __init__(self, product_id: int, attempts: int) -> None:
        super().__init__(
            f"product {product_id} kept changing under concurrent writes ({attempts} tries); retry"
        )
        self.product_id = product_id
