"""``python -m residence.adapters.cli preview-rule-change``: what a rule setting change would do.

Reads the residence store (the same ``KETENZICHT_*`` settings as the service; read-only) and
prints, per trigger kind, how many standing triggers the proposed settings would retract, raise
or change, and then each of them: victim pseudonym, kind, date, rule and ground. Nothing is
sent and nothing is stored. Example::

    .venv/bin/python -m residence.adapters.cli preview-rule-change \\
        --prosecution-ground-from 2021-01-01 --data-dir var/residence
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

from ketenzicht_common.bus import CommandBus
from ketenzicht_common.clock import SystemClock
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.settings import ServiceSettings
from residence.application.residence import ResidenceApplication, ResidenceCommands
from residence.bootstrap import ResidenceSettings, rule_settings
from residence.domain import TriggerDecision


def _line(change: str, decision: TriggerDecision) -> str:
    ground = decision.ground.value if decision.ground else ""
    return (
        f"  {change:<9} {decision.victim_id:<24} {decision.kind.value:<40} "
        f"{decision.fires_on.isoformat()} {decision.rule:<4} {ground}"
    )


def preview(commands: ResidenceCommands, proposed_from: dict[str, date], as_of: date) -> str:
    proposed = replace(commands.rules, **proposed_from)
    differences = commands.rule_change(proposed, as_of)
    counts: Counter[tuple[str, str]] = Counter()
    lines: list[str] = []
    for difference in differences:
        for decision in difference.retracted:
            counts["retracted", decision.kind.value] += 1
            lines.append(_line("retracted", decision))
        for decision in difference.raised:
            counts["raised", decision.kind.value] += 1
            lines.append(_line("raised", decision))
        for old, new in difference.changed:
            counts["changed", new.kind.value] += 1
            lines.append(_line("was", old))
            lines.append(_line("becomes", new))
    settings = ", ".join(f"{k}={v.isoformat()}" for k, v in sorted(proposed_from.items()))
    head = [
        f"Rule change preview as of {as_of.isoformat()} ({settings}): "
        f"{len(differences)} victims' feeds would change; nothing was sent."
    ]
    head += [f"  {change:<9} {kind:<40} {n:>6}" for (change, kind), n in sorted(counts.items())]
    return "\n".join(head + (["", *lines] if lines else []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="residence.adapters.cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands_parser = parser.add_subparsers(dest="command", required=True)
    change = commands_parser.add_parser(
        "preview-rule-change", help="the feed difference a rule setting would cause"
    )
    change.add_argument("--prosecution-ground-from", type=date.fromisoformat)
    change.add_argument("--lawful-residents-reflection-from", type=date.fromisoformat)
    change.add_argument("--as-of", type=date.fromisoformat, default=None)
    change.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the residence service's data directory (its SQLite store)",
    )
    args = parser.parse_args(argv)
    proposed = {
        name: value
        for name in ("prosecution_ground_from", "lawful_residents_reflection_from")
        if (value := getattr(args, name)) is not None
    }
    if not proposed:
        parser.error("name at least one setting to change")
    settings = ServiceSettings()
    if args.data_dir is not None:
        settings.data_dir = args.data_dir
    if settings.store.backend == "sqlite" and not settings.store.sqlite_path:
        settings.store.sqlite_path = str(settings.data_dir / "events.sqlite")
        if not Path(settings.store.sqlite_path).exists():
            parser.error(f"no residence store at {settings.store.sqlite_path}")
    app = ResidenceApplication(settings.store)
    bus = CommandBus(app)
    clock = SystemClock()
    try:
        commands = ResidenceCommands(
            app, CommandGateway(bus, clock), rule_settings(ResidenceSettings())
        )
        print(preview(commands, proposed, args.as_of or clock.today()))
    finally:
        bus.close()
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
