"""productcore's pure core: model, errors, ports, use cases and cache policy; usable as a library."""

from productcore.errors import (
    FieldError,
    InvalidInput,
    InvalidQuery,
    ProductcoreError,
    ProductNotFound,
    ServiceUnavailable,
    VersionConflict,
    WriteContention,
)
from productcore.model import (
    CachedProduct,
    Page,
    PageRequest,
    PriceStock,
    Product,
    ProductDocument,
    SearchCriteria,
    Sort,
    Total,
    encode_product,
)
from productcore.service import ProductService

__all__ = [
    "CachedProduct",
    "FieldError",
    "InvalidInput",
    "InvalidQuery",
    "Page",
    "PageRequest",
    "PriceStock",
    "Product",
    "ProductDocument",
    "ProductNotFound",
    "ProductService",
    "ProductcoreError",
    "SearchCriteria",
    "ServiceUnavailable",
    "Sort",
    "Total",
    "VersionConflict",
    "WriteContention",
    "encode_product",
]
