"""Writes the JSON Schema of every event payload, and of the envelope a payload travels in
(``envelope.v2.json``), to ``contracts/events/`` and checks for drift.

python -m ketenzicht_contracts.schemas write   # after changing a payload model
python -m ketenzicht_contracts.schemas check   # exits 1 when models and files disagree
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .envelope import ENVELOPE_VERSION, StructuredEnvelope
from .events import all_payload_models
from .events.base import EventPayload

EVENTS_DIR = Path(__file__).resolve().parents[3] / "events"


def schema_of(model: type[EventPayload]) -> dict[str, object]:
    schema = model.model_json_schema()
    schema["$id"] = f"ketenzicht:{model.schema_name()}"
    schema["x-service"] = model.SERVICE
    schema["x-event-type"] = model.event_type()
    schema["x-version"] = model.VERSION
    return schema


def rendered() -> dict[Path, str]:
    files = {
        EVENTS_DIR / f"{model.schema_name()}.json": json.dumps(
            schema_of(model), indent=2, sort_keys=True
        )
        + "\n"
        for model in all_payload_models()
    }
    files[EVENTS_DIR / f"envelope.v{ENVELOPE_VERSION}.json"] = (
        json.dumps(StructuredEnvelope.json_schema(), indent=2, sort_keys=True) + "\n"
    )
    return files


def drift() -> list[str]:
    """Files that are missing, stale, or left over from a model that no longer exists."""
    expected = rendered()
    problems = [
        f"{path.relative_to(EVENTS_DIR)}: {'stale' if path.exists() else 'missing'}"
        for path, text in expected.items()
        if not path.exists() or path.read_text() != text
    ]
    problems += [
        f"{path.relative_to(EVENTS_DIR)}: no model"
        for path in EVENTS_DIR.rglob("*.json")
        if path not in expected
    ]
    return sorted(problems)


def write() -> None:
    for path, text in rendered().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for path in EVENTS_DIR.rglob("*.json"):
        if path not in rendered():
            path.unlink()


def main() -> None:
    if sys.argv[1:] == ["write"]:
        write()
    elif sys.argv[1:] == ["check"]:
        problems = drift()
        for problem in problems:
            print(problem)
        sys.exit(1 if problems else 0)
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
