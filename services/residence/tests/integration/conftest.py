"""The residence integration tests share `residence_in_process` (next to this file) and the unit
tests' `feed_harness`.

The workspace runs pytest with --import-mode=importlib, which puts no test folder on sys.path;
both folders are added so the tests can import their helpers by name.
"""

import sys
from pathlib import Path

for folder in (Path(__file__).parent, Path(__file__).parents[1] / "unit"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
