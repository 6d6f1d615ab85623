"""Test support shared by every service's tests: real servers, started and stopped for you."""

TOKENS = {
    "POLICE": "local-police-token",
    "KMAR": "local-kmar-token",
    "LABOUR_INSPECTORATE": "local-labour-inspectorate-token",
    "OM": "local-om-token",
    "IND": "local-ind-token",
    "ANALYST": "local-analyst-token",
}
"""The local profile's tokens (deploy/local/identities.toml)."""


def bearer(role: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {TOKENS[role]}")]
