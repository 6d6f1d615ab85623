"""The shared suite of the command services reads its per-service cases from the modules next
to this file.

The workspace runs pytest with --import-mode=importlib, which puts no test folder on sys.path;
this folder is added so the suite can import them by name.
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
