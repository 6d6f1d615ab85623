from ketenzicht_common.service import run

from intake.bootstrap import build, create_application

run("intake", create_application, build)
