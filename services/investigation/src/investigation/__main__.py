from ketenzicht_common.service import run

from investigation.bootstrap import build, create_application

run("investigation", create_application, build)
