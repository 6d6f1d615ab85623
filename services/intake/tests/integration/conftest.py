"""Intake's integration tests share `intake_cases` (also the shared suite's), next to this file.

The workspace runs pytest with --import-mode=importlib, which puts no test folder on sys.path;
this folder is added so the tests can import it by name.
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
