"""The core is a library: importable with no servers, no configuration and no I/O frameworks."""

import subprocess
import sys

FORBIDDEN = ("psycopg", "psycopg_pool", "redis", "litestar", "limits", "dependency_injector")


def test_importing_productcore_loads_no_io_framework() -> None:
    """`import productcore` (every module) pulls in none of the adapters' libraries."""
    code = (
        "import sys, pkgutil, importlib, productcore\n"
        "for m in pkgutil.walk_packages(productcore.__path__, 'productcore.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(','.join(sorted(n for n in {FORBIDDEN!r} if n in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={})
    assert result.stdout.strip() == ""


def test_core_source_names_no_io_framework() -> None:
    """No module of the core even mentions an I/O framework in an import line."""
    import pathlib

    import productcore

    offenders = []
    for path in pathlib.Path(productcore.__file__).parent.rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and any(
                f" {name}" in stripped.split(" import ")[0] + " " or stripped.startswith(f"import {name}")
                for name in FORBIDDEN
            ):
                offenders.append(f"{path.name}: {stripped}")
    assert offenders == []
