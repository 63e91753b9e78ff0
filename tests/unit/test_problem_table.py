"""Domain errors map to HTTP problems in one table."""

import pytest
from litestar.exceptions import HTTPException

from entrypoints.http.problems import HTTP_PROBLEMS, PROBLEM_BASE, domain_problem, http_problem
from productcore.errors import (
    FieldError,
    InvalidInput,
    InvalidQuery,
    ProductcoreError,
    ProductNotFound,
    ServiceUnavailable,
    VersionConflict,
)
from productcore.validation import check_product_id


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


@pytest.mark.parametrize("status", [404, 405, 413, 428])
def test_litestar_errors_have_productcore_problem_types(status: int) -> None:
    """Errors Litestar raises get a productcore problem type by status, never about:blank."""
    problem = http_problem(HTTPException(status_code=status))
    assert problem.type_ == PROBLEM_BASE + HTTP_PROBLEMS[status].slug
    assert problem.status_code == status


def test_a_value_the_database_refused_has_no_location() -> None:
    """The repository's catch-all field names the whole request, so it carries no location."""
    problem = domain_problem(
        InvalidInput([FieldError("request", "has a value outside what a product can hold")])
    )
    assert problem.extra == {
        "errors": [{"field": "request", "message": "has a value outside what a product can hold"}]
    }


def test_the_core_names_the_id_as_the_path_parameter() -> None:
    """The core's id error names product_id, as the path parameter does, and maps to the path."""
    with pytest.raises(InvalidInput) as error:
        check_product_id(0)
    problem = domain_problem(error.value)
    assert isinstance(problem.extra, dict)
    assert problem.extra["errors"][0]["field"] == "product_id"
    assert problem.extra["errors"][0]["location"] == "path"
