"""Test support shared by every service's tests: real servers, started and stopped for you."""

TOKENS = {
    "POLICE": "local-police-token",
    "KMAR": "local-kmar-token",
    "LABOUR_INSPECTORATE": "local-labour-inspectorate-token",
    "OM": "local-om-token",
    "IND": "local-ind-token",
    "ANALYST": "local-analyst-token",
    "AUDITOR": "local-auditor-token",
    "OM_OTHER": "local-om-parket-2-token",  # a second organisation with role OM
}
"""The local profile's tokens (deploy/local/identities.toml), by role; ``OM_OTHER`` is a
second organisation with role OM (a fact's owner is its organisation, not its role)."""


def bearer(role: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {TOKENS[role]}")]


def case_pseudonym(name: str) -> str:
    """A case id of the shape ketenzicht issues (``C-`` and 20 hex digits) for a test's named
    case, the same for the same name. It stands for a pseudonym the investigation service
    issued, in the tests of a service that takes case ids but cannot tell who issued them
    (intake, prosecution, residence): real ones come from an ``OpenCase``."""
    import hashlib

    return "C-" + hashlib.sha256(name.encode()).hexdigest()[:20]


def suspect_pseudonym(name: str) -> str:
    """A suspect id of the shape ketenzicht issues (``S-`` and 20 hex digits) for a test's named
    suspect, the same for the same name. It stands for a pseudonym issued before (by
    investigation's IdentifySuspect, or the OM's RegisterCase): real ones come from those."""
    import hashlib

    return "S-" + hashlib.sha256(name.encode()).hexdigest()[:20]
