"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s typecheck``; ``nox -s bench`` on demand."""

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole suite (servers chosen as tests/servers.py says)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict on the core package."""
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session(reuse_venv=True)
def bench(session: nox.Session) -> None:
    """The benchmark harness (docs/performance.md, "Benchmarks"); options after ``--`` go to bench/run.py."""
    session.install("-e", ".[bench]")
    session.run("python", "bench/run.py", *session.posargs)
