"""The shared suite of the command services reads each service's cases from that service's
tests (services/<name>/tests/integration/<name>_cases.py).

The workspace runs pytest with --import-mode=importlib, which puts no test folder on sys.path;
those folders are added so the suite can import the cases by name.
"""

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
for _service in ("intake", "investigation", "prosecution"):
    _cases = str(_REPO / "services" / _service / "tests" / "integration")
    if _cases not in sys.path:
        sys.path.insert(0, _cases)
