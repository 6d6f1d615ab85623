"""The purity rule names what makes a domain impure, and lets a pure domain pass."""

from __future__ import annotations

from pathlib import Path

from ketenzicht_common.testing.purity import impurities


def package(root: Path, files: dict[str, str]) -> Path:
    domain = root / "shop" / "domain"
    for name, source in {"__init__.py": "", **files}.items():
        path = domain / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return domain


def test_a_pure_domain_passes(tmp_path: Path) -> None:
    domain = package(
        tmp_path,
        {
            "order.py": "from __future__ import annotations\n"
            "from datetime import date, timedelta\n"
            "from eventsourcing.domain import Aggregate\n"
            "from ketenzicht_common.months import add_months\n"
            "from shop.domain.rules import due\n"
            "from .rules import later\n",
            "rules/__init__.py": "from . import due\nfrom ..order import Order\n",
            "rules/due.py": "import calendar\ndef due(on):\n    return on.replace(day=1)\n",
        },
    )
    assert impurities(domain, "shop.domain") == []


def test_io_frameworks_and_the_outer_layers_are_named(tmp_path: Path) -> None:
    domain = package(
        tmp_path,
        {
            "order.py": "\n".join(
                [
                    "import nats",
                    "import os, time, random",
                    "from faststream.nats import NatsBroker",
                    "from grpc import aio",
                    "import sqlite3",
                    "from eventsourcing.persistence import Recorder",
                    "from eventsourcing.application import Application",
                    "from opentelemetry import trace",
                    "from ketenzicht_common.store import ChainApplication",
                    "from ketenzicht_contracts.events import payload_model",
                    "from shop.application import service",
                    "from ..adapters import grpc_api",
                    "from shop import bootstrap",
                ]
            )
        },
    )
    assert [line.split(": imports ")[1] for line in impurities(domain, "shop.domain")] == [
        "nats",
        "os",
        "time",
        "random",
        "faststream.nats",
        "grpc",
        "sqlite3",
        "eventsourcing.persistence",
        "eventsourcing.application",
        "opentelemetry",
        "ketenzicht_common.store",
        "ketenzicht_contracts.events",
        "shop.application",
        "shop.adapters",
        "shop",
    ]


def test_reading_the_clock_or_a_file_is_named_with_its_line(tmp_path: Path) -> None:
    domain = package(
        tmp_path,
        {
            "order.py": "\n".join(
                [
                    "from datetime import date, datetime",
                    "def due():",
                    "    print(date.today())",
                    "    return datetime.now(), open('orders.txt').read()",
                    "def opened(order):",
                    "    return order.open()",  # a method called open is no file
                ]
            )
        },
    )
    assert impurities(domain, "shop.domain") == [
        "domain/order.py:3: calls print()",
        "domain/order.py:3: reads the clock (.today())",
        "domain/order.py:4: reads the clock (.now())",
        "domain/order.py:4: calls open()",
    ]
