"""The README's example runs as written against live services, so the documentation cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ketenzicht_common.bus_access import permission_table
from ketenzicht_common.processes import NatsServer
from ketenzicht_common.testing.fixtures import REPO_ROOT, ServiceFactory

pytestmark = pytest.mark.integration


def readme_example() -> str:
    text = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"<!-- readme-example -->\n```python\n(.*?)```", text, re.S)
    assert match, "the README lost its client example"
    return match.group(1)


def test_the_readme_client_example_files_a_report(
    nats_server: NatsServer, service_factory: ServiceFactory, tmp_path: Path
) -> None:
    intake = service_factory("intake", nats_server)
    investigation = service_factory("investigation", nats_server)
    script = tmp_path / "example.py"
    script.write_text(readme_example())
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ
        | {"KETENZICHT_INTAKE": intake.address, "KETENZICHT_INVESTIGATION": investigation.address},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("report stored as event ")


def test_the_readmes_permission_table_is_the_one_the_server_runs() -> None:
    text = (REPO_ROOT / "README.md").read_text()
    match = re.search(r"<!-- bus-permissions -->\n(.*?)<!-- /bus-permissions -->", text, re.S)
    assert match, "the README lost the bus's permission table"
    assert match.group(1) == permission_table(), (
        "bus_access's table changed: paste permission_table() into the README"
    )
