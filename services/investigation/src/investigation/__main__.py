from investigation.bootstrap import build, create_application
from ketenzicht_common.service import run

run("investigation", create_application, build)
