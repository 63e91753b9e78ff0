"""Domain errors map to HTTP problems in one table."""

import pytest

from entrypoints.http.problems import PROBLEM_BASE, domain_problem
from productcore.errors import (
    FieldError,
    InvalidInput,
    InvalidQuery,
    ProductcoreError,
    ProductNotFound,
    ServiceUnavailable,
    VersionConflict,
)


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (ProductNotFound(7), 404, "product-not-found"),
        (InvalidInput([FieldError("price", "must not be negative")]), 400, "invalid-request"),
        (InvalidQuery([FieldError("limit", "too big")]), 400, "invalid-request"),
        (VersionConflict(7, expected=1, current=3), 412, "version-mismatch"),
        (ServiceUnavailable("database down"), 503, "service-unavailable"),
        (ProductcoreError("unmapped"), 500, "internal-error"),
    ],
)
def test_each_domain_error_has_its_status(error: ProductcoreError, status: int, slug: str) -> None:
    """Every domain error class maps to one status and problem type."""
    problem = domain_problem(error)
    assert (problem.status_code, problem.type_) == (status, PROBLEM_BASE + slug)


def test_unmapped_errors_do_not_leak_their_message() -> None:
    """An unexpected domain error says nothing of its internals."""
    problem = domain_problem(ProductcoreError("secret table name"))
    assert "secret" not in problem.detail


def test_conflicts_carry_the_current_version_and_etag() -> None:
    """412 tells the client the version to retry with."""
    problem = domain_problem(VersionConflict(7, expected=1, current=3))
    assert problem.extra == {"current_version": 3}
    assert problem.headers == {"ETag": '"3"'}
