"""The project explains itself: every pointer into docs/ leads somewhere, so the docs cannot rot.

A docstring or comment that names ``docs/domain.md#anchor`` needs that anchor in the domain
document; one that names ``docs/adr/NNNN-title.md`` needs that record; a relative Markdown link
in a document needs its target (and its anchor, when it points into the domain document).
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOMAIN = REPO / "docs" / "domain.md"
SOURCES = ("contracts", "libs", "services", "tools", "tests", "docs", "README.md", "CHANGELOG.md")
SUFFIXES = {".py", ".md", ".proto", ".toml"}

CODE_POINTER = re.compile(r"docs/(domain\.md(?:#[a-z0-9-]+)?|adr/[0-9]{4}[a-z0-9-]*\.md)")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _files() -> list[Path]:
    found: list[Path] = []
    for name in SOURCES:
        path = REPO / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [
                p
                for p in path.rglob("*")
                if p.suffix in SUFFIXES
                and p.is_file()
                and ".generated" not in p.parts
                and "__pycache__" not in p.parts
            ]
    return found


def _anchors(markdown: Path) -> set[str]:
    text = markdown.read_text()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for heading in re.findall(r"^#+ (.+)$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).strip().replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_every_pointer_in_the_code_leads_to_a_section_or_record() -> None:
    anchors = _anchors(DOMAIN)
    broken = []
    for path in _files():
        if path == Path(__file__).resolve():
            continue
        for target in CODE_POINTER.findall(path.read_text()):
            file, _, anchor = target.partition("#")
            if not (REPO / "docs" / file).is_file() or (anchor and anchor not in anchors):
                broken.append(f"{path.relative_to(REPO)}: docs/{target}")
    assert not broken, "pointers into docs/ that lead nowhere:\n" + "\n".join(broken)


def test_every_relative_link_in_the_documents_resolves() -> None:
    broken = []
    for path in _files():
        if path.suffix != ".md":
            continue
        for link in MD_LINK.findall(path.read_text()):
            if re.match(r"[a-z]+:", link):
                continue
            file, _, anchor = link.partition("#")
            target = (path.parent / file).resolve() if file else path
            missing_anchor = bool(anchor) and target == DOMAIN and anchor not in _anchors(DOMAIN)
            if not target.exists() or missing_anchor:
                broken.append(f"{path.relative_to(REPO)}: {link}")
    assert not broken, "links that lead nowhere:\n" + "\n".join(broken)


def test_every_residence_rule_has_its_entry_and_its_file_points_back() -> None:
    anchors = _anchors(DOMAIN)
    folder = REPO / "services/residence/src/residence/domain/rules"
    rules = sorted(folder.glob("r[0-9][0-9]_*.py"))
    assert rules
    for rule in rules:
        number = int(rule.name[1:3])
        assert f"r{number}" in anchors, f"docs/domain.md has no entry for R{number}"
        assert f"docs/domain.md#r{number}." in rule.read_text(), f"{rule.name} does not point there"
        assert rule.name in DOMAIN.read_text(), f"docs/domain.md does not link {rule.name}"
