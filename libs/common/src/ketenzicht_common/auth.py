"""Who is calling, and what may they do.

Every call is authenticated: by a per-organisation bearer token (the embedded default) or by a
TLS client certificate (switched on by configuration). Roles decide which service an
organisation may call; the caller's identity is recorded in every event it causes.
"""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .errors import PermissionDenied, Unauthenticated


class Role(StrEnum):
    POLICE = "POLICE"
    KMAR = "KMAR"
    LABOUR_INSPECTORATE = "LABOUR_INSPECTORATE"
    OM = "OM"
    IND = "IND"
    ANALYST = "ANALYST"
    AUDITOR = "AUDITOR"
    """Reads the monitor's audit trail of a victim or case, and nothing else of it
    (docs/adr/0022-the-audit-trail-is-the-monitors-and-the-auditors.md)."""


INVESTIGATING_ORGANISATIONS = frozenset({Role.POLICE, Role.KMAR, Role.LABOUR_INSPECTORATE})

SERVICE_ROLES: dict[str, frozenset[Role]] = {
    "intake": INVESTIGATING_ORGANISATIONS,
    "investigation": INVESTIGATING_ORGANISATIONS,
    "prosecution": frozenset({Role.OM}),
    "residence": frozenset({Role.IND}),
    "monitor": frozenset({Role.ANALYST, Role.AUDITOR}),
}
"""Which roles may call which service (issue 2, point 7). The monitor tells its two roles'
RPCs apart itself (``monitor.adapters.grpc_api``)."""


@dataclass(frozen=True)
class Identity:
    organisation: str
    role: Role
    system: str


@dataclass(frozen=True)
class _Entry:
    identity: Identity
    token_digest: str
    certificate_cn: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class IdentityRegistry:
    """The organisations that may call ketenzicht, read from a TOML file:

    .. code-block:: toml

        [[identity]]
        organisation = "politie"
        role = "POLICE"
        system = "police-registration"
        token_sha256 = "…"          # or, for the local profile only: token = "…"
        certificate_cn = "politie"  # when client certificates are used
    """

    def __init__(self, entries: Iterable[_Entry]) -> None:
        self._entries = list(entries)
        self._by_digest = {e.token_digest: e.identity for e in self._entries if e.token_digest}
        self._by_cn = {e.certificate_cn: e.identity for e in self._entries if e.certificate_cn}

    @classmethod
    def from_file(cls, path: str | Path) -> IdentityRegistry:
        data = tomllib.loads(Path(path).read_text())
        entries = []
        for raw in data.get("identity", []):
            token = raw.get("token", "")
            entries.append(
                _Entry(
                    identity=Identity(raw["organisation"], Role(raw["role"]), raw["system"]),
                    token_digest=raw.get("token_sha256", "") or (_digest(token) if token else ""),
                    certificate_cn=raw.get("certificate_cn", ""),
                )
            )
        return cls(entries)

    def by_token(self, token: str) -> Identity | None:
        digest = _digest(token)
        for known, identity in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return identity
        return None

    def by_certificate(self, common_name: str) -> Identity | None:
        return self._by_cn.get(common_name)


def authenticate(
    registry: IdentityRegistry,
    metadata: Sequence[tuple[str, str | bytes]],
    certificate_cns: Sequence[str] = (),
) -> Identity:
    """The caller's identity from its client certificate, else from its bearer token."""
    for common_name in certificate_cns:
        identity = registry.by_certificate(common_name)
        if identity is not None:
            return identity
    for key, value in metadata:
        if key.lower() == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token:
                identity = registry.by_token(token.strip())
                if identity is not None:
                    return identity
                raise Unauthenticated("unknown token")
    raise Unauthenticated("no credentials: send 'authorization: Bearer <token>'")


def authorise(identity: Identity, allowed: frozenset[Role], what: str) -> None:
    if identity.role not in allowed:
        raise PermissionDenied(
            f"role {identity.role} may not call {what}; allowed: " + ", ".join(sorted(allowed))
        )
