"""The API docs pages (Scalar at ``/docs``, Swagger UI at ``/docs/swagger``), served with no network.

Litestar's render plugins load their scripts, styles, fonts and favicon from public CDNs, so on a
machine without internet the pages are blank. Here every asset comes from ``docs_assets/`` in this
package (the files of the npm packages named there, gzipped, with their licences), under
``/docs/assets/<package>-<version>/``: a new version is a new URL, so browsers may keep them for a year.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.params import FromPath

from entrypoints.http.freshness import UNCOMPRESSED

ASSETS = Path(__file__).with_name("docs_assets")
SCALAR = "scalar-api-reference-1.76.0"
SWAGGER = "swagger-ui-dist-5.35.0"
PREFIX = "/docs/assets"
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}
IMMUTABLE = CacheControlHeader(max_age=31_536_000, immutable=True)
"""Versioned asset URLs never change content."""


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """Scalar (the default page) and Swagger UI, with every asset from this server."""
    return [
        ScalarRenderPlugin(
            js_url=f"{PREFIX}/{SCALAR}/standalone.js",
            css_url="data:text/css,",  # Scalar's bundle carries its own styles
            favicon="",
            options={"withDefaultFonts": False},
        ),
        SwaggerRenderPlugin(
            path="/swagger",
            js_url=f"{PREFIX}/{SWAGGER}/swagger-ui-bundle.js",
            css_url=f"{PREFIX}/{SWAGGER}/swagger-ui.css",
            standalone_preset_js_url=f"{PREFIX}/{SWAGGER}/swagger-ui-standalone-preset.js",
            favicon="",
        ),
    ]


@cache
def _compressed(package: str, name: str) -> bytes | None:
    """The gzipped file, read once; None unless it is one of the shipped assets."""
    if package not in (SCALAR, SWAGGER) or Path(name).suffix not in _MEDIA_TYPES or "/" in name:
        return None
    path = ASSETS / package / f"{name}.gz"
    return path.read_bytes() if path.is_file() else None


@get(
    "/{package:str}/{name:str}",
    include_in_schema=False,
    cache_control=IMMUTABLE,
    opt={UNCOMPRESSED: True},
    sync_to_thread=False,
)
def asset(request: Request[Any, Any, Any], package: FromPath[str], name: FromPath[str]) -> Response[bytes]:
    """One asset: gzip as stored to clients that take it (every browser), else decompressed."""
    body = _compressed(package, name)
    if body is None:
        raise NotFoundException(f"no docs asset {package}/{name}")
    headers = {"Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        headers["Content-Encoding"] = "gzip"
    else:
        body = gzip.decompress(body)
    return Response(body, media_type=_MEDIA_TYPES[Path(name).suffix], headers=headers)


def assets_router() -> Router:
    """``/docs/assets/<package>/<file>``."""
    return Router(PREFIX, route_handlers=[asset], include_in_schema=False)
