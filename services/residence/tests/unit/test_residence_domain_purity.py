"""The residence domain stays pure: no I/O, no clock, no framework, no wire contracts."""

from __future__ import annotations

import ast
from pathlib import Path

import residence.domain

DOMAIN = Path(residence.domain.__file__).parent

# Standard-library modules without I/O, and the domain itself.
ALLOWED = {
    "__future__",
    "bisect",
    "calendar",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "itertools",
    "typing",
    "uuid",
}
# Outside the standard library, exactly these modules: dateutil's Easter computus (a pure
# function) for the Algemene termijnenwet calendar.
ALLOWED_EXACTLY = {"dateutil.easter", "ketenzicht_common.months"}


def _modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            if node.module:
                found.add(node.module)
    return found


def _files() -> list[Path]:
    files = sorted(DOMAIN.rglob("*.py"))
    assert len(files) > 20
    return files


def test_the_domain_imports_only_pure_modules_and_itself() -> None:
    for path in _files():
        for module in _modules(path):
            top = module.split(".")[0]
            inside = module.startswith("residence.domain")
            allowed = top in ALLOWED or module in ALLOWED_EXACTLY or inside
            assert allowed, f"{path.name} imports {module}"


def test_the_domain_imports_nothing_from_application_adapters_or_contracts() -> None:
    for path in _files():
        for module in _modules(path):
            if module == "ketenzicht_common.months":  # the chain's calendar months: pure
                continue
            for forbidden in (
                "residence.application",
                "residence.adapters",
                "residence.bootstrap",
                "ketenzicht_contracts",
                "ketenzicht_common",
                "pydantic",
            ):
                assert not module.startswith(forbidden), f"{path.name} imports {module}"


def test_the_domain_does_not_open_files_or_read_the_clock() -> None:
    for path in _files():
        source = path.read_text(encoding="utf-8")
        for forbidden in ("open(", ".now(", ".today(", "time.time", "print(", "os.environ"):
            assert forbidden not in source, f"{path.name}: {forbidden}"
