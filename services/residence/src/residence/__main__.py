from ketenzicht_common.service import run
from residence.bootstrap import build, create_application

run("residence", create_application, build)
