"""Every service's domain keeps the one rule of `ketenzicht_common.testing.purity`: no I/O, no
clock, no framework, nothing of its own application or adapters."""

from __future__ import annotations

from pathlib import Path

import pytest

from ketenzicht_common.testing.purity import COMMON_PURE, module_impurities

REPO_ROOT = Path(__file__).resolve().parents[1]
# Every service's domain package (services/<name>/src/<package>/domain), found rather than
# listed, so that a new service is held to the rule from its first commit.
DOMAINS = sorted(f"{path.parent.name}.domain" for path in REPO_ROOT.glob("services/*/src/*/domain"))


def test_every_service_has_a_domain_to_check() -> None:
    assert set(DOMAINS) >= {
        "intake.domain",
        "investigation.domain",
        "prosecution.domain",
        "residence.domain",
        "monitor.domain",
    }


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_domain_is_pure(domain: str) -> None:
    assert module_impurities(domain) == []


@pytest.mark.parametrize("module", COMMON_PURE)
def test_what_a_domain_may_import_from_ketenzicht_common_is_pure_too(module: str) -> None:
    assert module_impurities(module) == []
