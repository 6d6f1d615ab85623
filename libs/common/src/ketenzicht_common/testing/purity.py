"""The one rule every service's domain keeps: pure Python, no I/O, no clock, no framework.

A domain is handed its facts and a date and returns decisions; the application and the adapters
around it store, publish, serve and read the clock. `impurities` reads a domain's source (it
imports nothing) and names each import or call that breaks the rule, so one test can hold every
service to the same rule (tests/test_domain_purity.py).

Allowed is a list, not a ban list: anything not named here (nats, faststream, grpc, sqlite3,
psycopg, eventsourcing's application and persistence, opentelemetry, pydantic, the wire
contracts, time, os, random, logging, another service) is refused, as is an import of the
service's own application, adapters or bootstrap.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Final

PURE_STANDARD_LIBRARY: Final = frozenset(
    {
        "__future__",
        "abc",
        "bisect",
        "calendar",
        "collections",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "functools",
        "itertools",
        "math",
        "operator",
        "re",
        "statistics",
        "types",
        "typing",
        "uuid",
        # Silencing a numerical library's warnings about a fit it is then judged on
        # (monitor.domain.dark_number).
        "warnings",
        # Calendar data: the Dutch civil day of an instant.
        "zoneinfo",
        # The monitor's exports build CSV and XES text in memory (io.StringIO); the adapter that
        # serves them does the writing.
        "csv",
        "io",
        "xml",
    }
)

PURE_MODULES: Final = frozenset(
    {
        # The aggregate base: eventsourcing's domain module, without its application or stores.
        "eventsourcing.domain",
        # Easter's date (a pure function) for the Algemene termijnenwet calendar.
        "dateutil.easter",
        # The Kaplan–Meier estimate of the monitor's lead times.
        "lifelines",
        # The dark number's Poisson log-linear models and their bootstrap (seeded generators).
        "numpy",
        "statsmodels",
        # ketenzicht_common's own pure modules (checked by the same rule, see `COMMON_PURE`).
        "ketenzicht_common.domain",
        "ketenzicht_common.errors",
        "ketenzicht_common.months",
    }
)

COMMON_PURE: Final = tuple(sorted(m for m in PURE_MODULES if m.startswith("ketenzicht_common.")))
"""The modules of ketenzicht_common a domain may import; they keep the rule themselves."""

FORBIDDEN_CALLS: Final = frozenset(
    {"open", "print", "input", "breakpoint", "exec", "eval", "__import__"}
)
"""Built-ins that read, write or run what the domain was not handed."""

CLOCK_READS: Final = frozenset({"now", "today", "utcnow"})
"""``datetime.now()``, ``date.today()``, ``clock.today()``: a domain is handed its date."""


def _allowed(module: str, domain: str) -> bool:
    top = module.split(".")[0]
    return (
        top in PURE_STANDARD_LIBRARY
        or module == domain
        or module.startswith(domain + ".")
        or any(module == pure or module.startswith(pure + ".") for pure in PURE_MODULES)
    )


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level == 0:
        yield node.module or ""
        return
    # A relative import, resolved against the package the file lives in.
    here = module.split(".") if is_package else module.split(".")[:-1]
    base = here[: len(here) - (node.level - 1)]
    yield ".".join([*base, node.module] if node.module else base)


def _file_impurities(path: Path, module: str, allowed_own: str, where: str) -> Iterator[str]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imported(node, module, is_package):
                if not _allowed(name, allowed_own):
                    yield f"{where}:{node.lineno}: imports {name}"
        elif isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id in FORBIDDEN_CALLS:
                yield f"{where}:{node.lineno}: calls {function.id}()"
            elif isinstance(function, ast.Attribute) and function.attr in CLOCK_READS:
                yield f"{where}:{node.lineno}: reads the clock (.{function.attr}())"


def impurities(root: Path, package: str) -> list[str]:
    """Every import and call in the package at ``root`` (named ``package``) that breaks the
    rule, as ``file:line: what``; empty when the package is pure."""
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        where = str(path.relative_to(root.parent))
        found.extend(_file_impurities(path, _module_name(path, root, package), package, where))
    return found


def module_impurities(module: str) -> list[str]:
    """`impurities` of one installed module or package, such as ``residence.domain``."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise LookupError(f"{module} is not installed")
    path = Path(spec.origin)
    if spec.submodule_search_locations:
        return impurities(path.parent, module)
    return list(_file_impurities(path, module, module, path.name))
