"""Which of the monitor's callers may ask what.

Why: docs/adr/0022-the-audit-trail-is-the-monitors-and-the-auditors.md.

The shared guard admits the monitor's roles (``ketenzicht_common.auth.SERVICE_ROLES``); these
sets tell their questions apart. Analysts work on groups, published under the small-group rule:
lead times, figures, exports. Auditors check the processing itself — who registered and
corrected what about one victim or case, and when — which is no analysis and needs none of the
figures. Both may see how much the monitor holds.
"""

from __future__ import annotations

from ketenzicht_common.auth import Role

ANALYSIS = frozenset({Role.ANALYST})
"""Lead times, chain figures, exports, rebuild (gRPC and the HTTP API and dashboard)."""
AUDIT = frozenset({Role.AUDITOR})
"""The audit trail of a victim or a case."""
STATUS = ANALYSIS | AUDIT
"""How much the monitor holds."""
