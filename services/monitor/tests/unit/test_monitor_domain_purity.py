"""The monitor's domain stays pure: no I/O, no framework, no wire contracts (style.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import monitor.domain

DOMAIN = Path(monitor.domain.__file__).parent

# Standard-library modules without I/O, and lifelines for the Kaplan–Meier estimate.
ALLOWED = {
    "__future__",
    "bisect",
    "calendar",
    "collections",
    "csv",
    "dataclasses",
    "datetime",
    "enum",
    "io",  # StringIO only: exports return text, the adapter writes it
    "itertools",
    "lifelines",
    "math",
    "typing",
    "xml",
    "zoneinfo",
}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_domain_imports_no_io_or_framework_modules() -> None:
    files = sorted(DOMAIN.glob("*.py"))
    assert files
    for path in files:
        # ketenzicht_common.months: the chain's calendar months, pure.
        assert imported_modules(path) - {"ketenzicht_common"} <= ALLOWED, path.name


def test_domain_does_not_open_files_or_read_the_clock() -> None:
    for path in DOMAIN.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for forbidden in ("open(", ".now(", ".today(", "time.time", "print("):
            assert forbidden not in source, f"{path.name}: {forbidden}"
