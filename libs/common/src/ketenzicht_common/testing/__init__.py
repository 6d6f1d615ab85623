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
