"""The IND feed's documented consumer example runs as written, with nats-py only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing.fixtures import REPO_ROOT, ServiceFactory
from ketenzicht_common.testing.jetstream import publish_event, stream_messages
from ketenzicht_contracts.events import intake

pytestmark = pytest.mark.integration


async def test_the_documented_ind_consumer_reads_the_triggers(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    service_factory("residence", nats_server)
    await publish_event(
        nats_server,
        intake.SignalRegistered(
            occurred_on=date(2022, 4, 4),
            victim_id="victim-doc",
            signal_id="signal-doc",
            source_organisation="POLICE",
            form="CRIMINAL",
            minor=True,
            nationality_group="THIRD_COUNTRY",
            residence_position="IRREGULAR",
            region="DEN_HAAG",
        ),
    )
    await publish_event(
        nats_server,
        intake.ReportFiled(
            occurred_on=date(2022, 4, 11), victim_id="victim-doc", case_id="case-doc"
        ),
    )
    # The report reaches the IND's feed; the offer of a reflection period (R1) is the police's.
    await stream_messages(nats_server, "KETENZICHT_IND_TRIGGERS", at_least=1, timeout=20)
    await stream_messages(nats_server, "KETENZICHT_POLICE_TRIGGERS", at_least=1, timeout=20)

    text = (REPO_ROOT / "contracts/ind-trigger-feed.md").read_text()
    example = re.search(r"<!-- ind-feed-example -->\n```python\n(.*?)```", text, re.S)
    assert example, "the feed documentation lost its consumer example"
    script = tmp_path / "ind_consumer.py"
    script.write_text(example.group(1))
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ
        | {"NATS_URL": nats_server.url, "NATS_NKEY_SEED_FILE": str(nats_server.seed("ind"))},
    )
    assert result.returncode == 0, result.stderr
    kind, _trigger_id, occurred_on, rule = result.stdout.split()[:4]
    assert (kind, occurred_on) == ("TemporaryPermitApplicationIndicated", "2022-04-11")
    assert rule == "R7"
    assert "ReflectionPeriodOfferRequired" not in result.stdout
