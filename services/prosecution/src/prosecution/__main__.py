from ketenzicht_common.service import run
from prosecution.bootstrap import build, create_application

run("prosecution", create_application, build)
