"""`make run` in miniature: the whole stack on a small scenario, its report, and a second run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ketenzicht_common.stack import private_profile
from ketenzicht_common.testing.fixtures import REPO_ROOT

pytestmark = pytest.mark.e2e


def run_main_job(profile: Path, var: Path) -> str:
    # Its own process group, so that a hung run takes its whole stack down with it.
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chainsim.run",
            "--profile",
            str(profile),
            "--var",
            str(var),
            "--start",
            "2021-01-01",
            "--end",
            "2022-12-31",
            "--scale",
            "0.05",
            "--no-wait",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
    return stdout


@pytest.mark.timeout(600)
def test_the_main_job_feeds_a_scenario_reports_it_and_reuses_it_on_a_second_run(
    tmp_path: Path,
) -> None:
    profile = private_profile(tmp_path)
    first = run_main_job(profile, tmp_path / "var")
    fed = re.search(r"Fed ([\d,]+) commands: ([\d,]+) accepted", first)
    assert fed, first[-3000:]
    assert int(fed.group(2).replace(",", "")) > 0
    # Every planned fact is accepted: the feeder keeps each case's facts in the source's order
    # (a close waits behind the submission that waits for its suspects' pseudonyms).
    assert fed.group(1) == fed.group(2), re.search(r"Fed .*", first)
    assert "Lead times in days" in first
    assert "Chain figures" in first
    triggers = dict(re.findall(r"^  (\w+)\s+([\d,]+)$", first, re.M))
    assert int(triggers.get("TemporaryPermitApplicationIndicated", "0").replace(",", "")) > 0
    assert re.search(r"Dashboard: http://127\.0\.0\.1:\d+/#token=", first)
    # The feed moved the services' present, and left them on the wall clock afterwards.
    assert "the present moving with the feed" in first
    assert not (tmp_path / "var" / "scenario-clock").exists()
    assert re.search(r"retractions\s+[\d,]+\s+\(\d+\.\d%\)", first), first[-3000:]
    assert "caused by late registration" in first
    # The whole feed, with the plan's victims instead of pseudonyms, for comparing two runs.
    sent = re.search(r"the OM: ([\d,]+) triggers, ([\d,]+) of them retractions", first)
    assert sent, first[-3000:]
    feed = (tmp_path / "var" / "feed-by-plan.txt").read_text().splitlines()
    assert len(feed) == int(sent.group(1).replace(",", ""))
    assert all("|" in line for line in feed)

    second = run_main_job(profile, tmp_path / "var")
    assert "reused" in second
    assert "feeding skipped" in second
    assert "Lead times in days" in second
    assert re.search(r"retractions\s+[\d,]+\s+\(\d+\.\d%\)", second)
