from ketenzicht_common.service import run

from monitor.bootstrap import build, create_application

run("monitor", create_application, build)
