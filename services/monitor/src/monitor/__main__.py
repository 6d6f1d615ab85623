import os

from ketenzicht_common.service import run
from monitor.bootstrap import build, create_application

# The monitor stores no events, so its relay would have nothing to publish; an explicit
# KETENZICHT_RELAY_ENABLED still wins.
os.environ.setdefault("KETENZICHT_RELAY_ENABLED", "false")

run("monitor", create_application, build)
