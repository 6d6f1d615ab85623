from intake.bootstrap import build, create_application
from ketenzicht_common.service import run

run("intake", create_application, build)
