"""A seeded, bounded fuzz run over every RPC of the four writing services.

About 2,000 calls, spread over every unary method and the bulk ``Submit`` of intake,
investigation, prosecution and residence: requests built from the contract's descriptors with
valid-looking, malformed and hostile field values, raw bytes that decode to nothing, random
credentials and trace metadata. The services are real processes, spoken to over loopback.

What must hold, whatever the caller sends:
- no answer is UNKNOWN or INTERNAL (nor a timeout: nothing hangs), neither as a call's status
  nor as one command's result on a bulk stream;
- a refusal stores nothing (each store's event count is unchanged after it, and no stored
  event carries a refused command's id);
- what callers put in trace metadata reaches neither a store nor the bus unless it is a valid
  W3C traceparent;
- no process dies or logs a traceback, and each still does its work at the end.

``KETENZICHT_FUZZ_SEED`` and ``KETENZICHT_FUZZ_CALLS`` replay another run or a longer one.
"""

from __future__ import annotations

import asyncio
import os
import random
import string
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import grpc
import pytest
from edge_support import (
    DESCRIPTORS,
    ROLES,
    Answer,
    credentials,
    message_class,
    stored_states,
    stored_text,
    stream,
    tracebacks,
    unary,
    writing_services,
)
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.rpc import code_pb2

from ketenzicht_common.telemetry import valid_traceparent
from ketenzicht_common.testing import case_pseudonym, suspect_pseudonym
from ketenzicht_common.testing.jetstream import attributes_of, stream_messages
from ketenzicht_common.testing.service import Running

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("KETENZICHT_FUZZ_SEED", "20261201"))
CALLS = int(os.environ.get("KETENZICHT_FUZZ_CALLS", "2000"))
MARK = "fuzzmark"
"""Put into every piece of trace metadata that is not a valid traceparent: it must never be
found in a store or on the bus."""

NEVER = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.DATA_LOSS,
    grpc.StatusCode.UNIMPLEMENTED,
}
NEVER_IN_RESULTS = {
    code_pb2.UNKNOWN,
    code_pb2.INTERNAL,
    code_pb2.DEADLINE_EXCEEDED,
    code_pb2.UNAVAILABLE,
    code_pb2.CANCELLED,
    code_pb2.DATA_LOSS,
    code_pb2.UNIMPLEMENTED,
}

MALFORMED_DATES = [
    "",
    "0",
    "1",
    "-1",
    "1641168000",
    "1641168000000",
    "2022-01-03T00:00:00",
    "2022-01-03T00:00:00Z",
    "2022-01-03 00:00",
    "20220103",
    "2022-W01-1",
    "2022-003",
    "03-01-2022",
    "2022/01/03",
    "2022-1-3",
    " 2022-01-03",
    "2022-01-03\n",
    "2022-02-30",
    "2022-13-01",
    "1989-12-31",
    "1970-01-01",
    "0001-01-01",
    "2101-01-01",
    "9999-12-31",
    "+2022-01-03",
    "２０２２-01-03",
    "2022-01-03" * 20,
    "NaN",
    "now",
    "today",
]
HOSTILE_TEXT = [
    "",
    " ",
    "a b",
    "../../etc/passwd",
    "'; DROP TABLE stored_events; --",
    "\x00",
    "\u202e",
    "é",
    "名前",
    "x" * 65,
    "x" * 5_000,
    "%s%s%n",
    "{{7*7}}",
    "\r\n",
    "-",
    "_",
    ".",
]


@dataclass
class Pools:
    """The ids the fuzzer reuses, so that some commands find the state earlier ones made."""

    victims: list[str] = field(default_factory=lambda: [f"victim-fz-{n}" for n in range(4)])
    cases: list[str] = field(
        default_factory=lambda: [case_pseudonym(f"case-fz-{n}") for n in range(4)]
    )
    suspects: list[str] = field(
        default_factory=lambda: [suspect_pseudonym(f"suspect-fz-{n}") for n in range(3)]
    )


class Fuzzer:
    """Requests from the contract's descriptors: each field valid-looking, malformed or
    hostile, by what its name says it holds."""

    def __init__(self, rng: random.Random, service: str) -> None:
        self.rng = rng
        self.service = service
        self.pools = Pools()
        self.numbered = 0
        self.sent_ids: list[str] = []
        """The unique command ids put into requests, in order (to find what was refused)."""
        self.tracking = True

    # Field values

    def command_id(self) -> str:
        roll = self.rng.random()
        if roll < 0.9:
            self.numbered += 1
            if not self.tracking:
                # A body about to be mutated: a flipped bit may turn its id into another one,
                # so it gets an id no tracked one can become by a single flip ('m'/'z').
                return f"fm-{self.service}-{self.numbered}"
            unique = f"fz-{self.service}-{SEED}-{self.numbered}"
            self.sent_ids.append(unique)
            return unique
        if roll < 0.95:
            return ""
        return self.rng.choice([*HOSTILE_TEXT, "x" * 101, "fz:" + "y" * 97])

    def day(self) -> str:
        if self.rng.random() < 0.6:
            start = date(2018, 1, 1)
            return (start + timedelta(days=self.rng.randrange(7 * 365))).isoformat()
        return self.rng.choice(MALFORMED_DATES)

    def pseudonym(self, name: str) -> str:
        if self.rng.random() < 0.8:
            if "victim" in name:
                return self.rng.choice(self.pools.victims)
            if "suspect" in name:
                return self.rng.choice(self.pools.suspects)
            if "cohort" in name:
                return self.rng.choice(["cohort-2023", "cohort-2024"])
            return self.rng.choice(self.pools.cases)
        if self.rng.random() < 0.02:
            return "V" * 100_000
        return self.rng.choice([*HOSTILE_TEXT, "v" * 64, "-leading-dash", "ok-but-" + "z" * 57])

    def text(self, name: str) -> str:
        if "parketnummer" in name and self.rng.random() < 0.6:
            return (
                f"{self.rng.randrange(100):02d}/{self.rng.randrange(10**6):06d}-"
                f"{self.rng.randrange(100):02d}"
            )
        if "registration_number" in name and self.rng.random() < 0.6:
            return f"PL-{self.rng.randrange(10**6):06d}"
        if name == "code" and self.rng.random() < 0.6:
            return f"{self.rng.randrange(100):02d}"
        if self.rng.random() < 0.5:
            return self.rng.choice(HOSTILE_TEXT)
        size = self.rng.randrange(1, 40)
        return "".join(self.rng.choice(string.printable) for _ in range(size))

    def string_for(self, name: str) -> str:
        if name == "command_id":
            return self.command_id()
        if name.endswith(("_on", "_from", "_until", "_date")) or name == "as_of":
            return self.day()
        if name.endswith(("_id", "_ids")) or name == "cohort":
            return self.pseudonym(name)
        return self.text(name)

    def scalar(self, f: FieldDescriptor) -> Any:
        if f.type == FieldDescriptor.TYPE_STRING:
            return self.string_for(f.name)
        if f.type == FieldDescriptor.TYPE_BOOL:
            return self.rng.random() < 0.5
        if f.type == FieldDescriptor.TYPE_ENUM:
            numbers = [v.number for v in f.enum_type.values]
            roll = self.rng.random()
            if roll < 0.8:
                return self.rng.choice([n for n in numbers if n] or numbers)
            if roll < 0.9:
                return 0
            return self.rng.choice([-1, 99, 2**31 - 1, max(numbers) + 1])
        if f.type in (FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_SINT32):
            return self.rng.choice([0, 1, -1, 2**31 - 1, -(2**31)])
        if f.type in (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64):
            return self.rng.choice([0, 1, -1, 2**63 - 1, -(2**63)])
        if f.type in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_UINT64):
            return self.rng.choice([0, 1, 2**32 - 1])
        if f.type == FieldDescriptor.TYPE_BYTES:
            return self.rng.randbytes(self.rng.randrange(8))
        if f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return self.rng.choice([0.0, -1.5, 1e308, float("nan")])
        raise TypeError(f"no fuzz values for {f.full_name}")

    # Messages

    def fill(self, message: Any, depth: int = 0) -> Any:
        descriptor: Descriptor = message.DESCRIPTOR
        chosen_oneofs = {
            o.name: self.rng.choice(o.fields) if self.rng.random() < 0.95 else None
            for o in descriptor.oneofs
        }
        for f in descriptor.fields:
            oneof = f.containing_oneof
            if oneof is not None and chosen_oneofs[oneof.name] is not f:
                continue
            # command_id and occurred_on are almost always sent, other fields mostly.
            if self.rng.random() > (0.97 if f.name in ("command_id", "occurred_on") else 0.85):
                continue
            if f.type == FieldDescriptor.TYPE_MESSAGE:
                if depth > 3:
                    continue
                if f.is_repeated:
                    for _ in range(self.rng.randrange(3)):
                        self.fill(getattr(message, f.name).add(), depth + 1)
                else:
                    self.fill(getattr(message, f.name), depth + 1)
                    getattr(message, f.name).SetInParent()
            elif f.is_repeated:
                getattr(message, f.name).extend(
                    self.scalar(f) for _ in range(self.rng.randrange(4))
                )
            else:
                setattr(message, f.name, self.scalar(f))
        return message

    def body(self, request_type: Any) -> bytes:
        """A request body: a filled message, mostly; else bytes that are not one."""
        roll = self.rng.random()
        self.tracking = not 0.78 <= roll < 0.86
        valid = self.fill(request_type()).SerializeToString()
        self.tracking = True
        if roll < 0.7:
            return bytes(valid)
        if roll < 0.78:
            return self.rng.randbytes(self.rng.randrange(1, 64))
        if roll < 0.86 and valid:
            # Truncated, or with a byte flipped: may or may not still decode.
            mutated = bytearray(valid)
            if self.rng.random() < 0.5:
                del mutated[self.rng.randrange(len(mutated)) :]
            else:
                mutated[self.rng.randrange(len(mutated))] ^= 1 << self.rng.randrange(8)
            return bytes(mutated)
        if roll < 0.93:
            strings = [
                f for f in request_type.DESCRIPTOR.fields if f.type == FieldDescriptor.TYPE_STRING
            ]
            if strings:
                number = self.rng.choice(strings).number
                return bytes(valid) + bytes([number << 3 | 2, 2]) + b"\xc3\x28"  # not UTF-8
        if roll < 0.96:
            return b"\x0b" * self.rng.choice([64, 200, 5_000])  # groups nested deep
        return bytes(valid) + b"\xf8\xff\xff\xff\x0f\x01"  # an unknown field: decodes, ignored

    def metadata(self) -> tuple[list[tuple[str, str]], str]:
        """Credentials and trace metadata, and the role they carry ("" for none)."""
        roll = self.rng.random()
        role = ROLES[self.service]
        if roll < 0.9:
            chosen = role
        elif roll < 0.94:
            chosen = ""
        else:
            chosen = self.rng.choice([r for r in ROLES.values() if r != role] + ["ANALYST"])
        metadata = credentials(chosen) if chosen else []
        if roll >= 0.97:
            metadata = [
                ("authorization", self.rng.choice(["Bearer forged", "Basic abc", "Bearer", MARK]))
            ]
            chosen = ""
        trace_roll = self.rng.random()
        if trace_roll < 0.25:
            trace_id = self.rng.randbytes(16).hex()
            span_id = self.rng.randbytes(8).hex()
            metadata.append(("traceparent", f"00-{trace_id}-{span_id}-01"))
        elif trace_roll < 0.5:
            metadata.append(
                (
                    "traceparent",
                    self.rng.choice(
                        [
                            f"{MARK} free text",
                            f"00-{'a' * 32}-{'b' * 16}-01-{MARK}",
                            f"00-{'0' * 32}-{'b' * 16}-01{MARK}",
                            f"ff-{MARK}",
                        ]
                    ),
                )
            )
        if self.rng.random() < 0.4:
            metadata.append(("tracestate", f"vendor={MARK}-{self.rng.randrange(10**6)}"))
        return metadata, chosen


@dataclass
class Run:
    calls: int = 0
    frames: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    refused_ids: dict[str, set[str]] = field(default_factory=dict)


def _result_codes(service: str, answer: Answer) -> list[tuple[str, int]]:
    result_type = message_class(service, "Submit", output=True)
    outcomes = []
    for raw in answer.responses:
        result = result_type.FromString(raw)
        kind = result.WhichOneof("outcome")
        outcomes.append((kind, result.error.code if kind == "error" else code_pb2.OK))
    return outcomes


def _learn(fuzzer: Fuzzer, method: str, answer: Answer) -> None:
    # intake issues victim pseudonyms: later commands use them, and reach deeper rules.
    if method == "RegisterSignal" and answer.code == grpc.StatusCode.OK:
        response = message_class("intake", method, output=True).FromString(answer.responses[0])
        if response.victim_id not in fuzzer.pools.victims:
            fuzzer.pools.victims.append(response.victim_id)


async def fuzz_service(service: str, running: Running, calls: int, run: Run) -> None:
    rng = random.Random(f"{SEED}/{service}")
    fuzzer = Fuzzer(rng, service)
    descriptor = DESCRIPTORS[service]
    unary_methods = [m.name for m in descriptor.methods if not m.client_streaming]
    bulk_type = message_class(service, "Submit")
    refused_ids = run.refused_ids.setdefault(service, set())
    async with grpc.aio.insecure_channel(running.service.address) as channel:
        for number in range(calls):
            metadata, role = fuzzer.metadata()
            before, first_id = running.stored(), len(fuzzer.sent_ids)
            if rng.random() < 0.12:
                method = "Submit"
                frames = [fuzzer.body(bulk_type) for _ in range(rng.randrange(1, 6))]
                run.frames += len(frames)
                answer = await stream(running.service.address, service, frames, metadata)
                outcomes = _result_codes(service, answer)
                accepted = any(code == code_pb2.OK for _, code in outcomes)
                bad = [code for _, code in outcomes if code in NEVER_IN_RESULTS]
                if bad:
                    run.failures.append(f"{service} Submit #{number}: a result was {bad}")
            else:
                method = rng.choice(unary_methods)
                body = fuzzer.body(message_class(service, method))
                answer = await unary(channel, service, method, body, metadata)
                accepted = answer.code == grpc.StatusCode.OK
                _learn(fuzzer, method, answer)
            run.calls += 1
            run.codes[answer.code.name] += 1
            if answer.code in NEVER:
                run.failures.append(
                    f"{service} {method} #{number}: {answer.code.name} ({answer.details[:200]})"
                )
            if role == "" and answer.code != grpc.StatusCode.UNAUTHENTICATED:
                run.failures.append(
                    f"{service} {method} #{number}: no credentials, yet {answer.code.name}"
                )
            if not accepted:
                refused_ids.update(fuzzer.sent_ids[first_id:])
                if running.stored() != before:
                    run.failures.append(
                        f"{service} {method} #{number}: refused "
                        f"({answer.code.name}) but the store changed"
                    )
            if len(answer.details) > 2_000:
                run.failures.append(
                    f"{service} {method} #{number}: a {len(answer.details)}-"
                    "character error message (is the request echoed?)"
                )


async def check_afterwards(chain: dict[str, Running], run: Run) -> None:
    for service, running in chain.items():
        assert running.service.process is not None
        assert running.service.process.poll() is None, f"{service} died"
        assert tracebacks(running) == 0, f"{service} logged a traceback"
        text = stored_text(running)
        assert MARK not in text, f"{service} stored caller trace metadata"
        commands: set[str] = set()
        for state in stored_states(running):
            provenance = state.get("provenance", {})
            commands.add(provenance.get("command_id", ""))
            assert "tracestate" not in provenance
            traceparent = provenance.get("traceparent", "")
            assert traceparent == valid_traceparent(traceparent), traceparent
        # The fuzzer sends each of its numbered command ids once (the others it reuses are
        # hostile text, not tracked), so no stored event may carry one that was refused.
        stored_refused = commands & run.refused_ids.get(service, set())
        assert not stored_refused, f"{service} stored refused commands {sorted(stored_refused)}"
        for message in await stream_messages(running.nats, running.stream, timeout=0):
            attributes = attributes_of(message)  # Nats-Msg-Id the only header
            assert "tracestate" not in attributes
            assert MARK not in str(message.headers) + message.data.decode()
            traceparent = attributes.get("traceparent", "")
            assert traceparent == valid_traceparent(traceparent), traceparent


async def still_working(chain: dict[str, Running]) -> None:
    from ketenzicht.common.v1 import common_pb2
    from ketenzicht.intake.v1 import intake_pb2
    from ketenzicht.investigation.v1 import investigation_pb2
    from ketenzicht.prosecution.v1 import prosecution_pb2
    from ketenzicht.residence.v1 import residence_pb2

    requests: dict[str, tuple[str, Any]] = {
        "intake": (
            "RegisterSignal",
            intake_pb2.RegisterSignalRequest(
                command_id="fz-after",
                occurred_on="2022-03-01",
                source_organisation=intake_pb2.SOURCE_ORGANISATION_KMAR,
                form=common_pb2.EXPLOITATION_FORM_CRIMINAL,
                nationality_group=intake_pb2.NATIONALITY_GROUP_DUTCH,
                residence_position=intake_pb2.RESIDENCE_POSITION_LAWFUL,
                region=intake_pb2.POLICE_REGION_DEN_HAAG,
            ),
        ),
        "investigation": (
            "OpenCase",
            investigation_pb2.OpenCaseRequest(
                command_id="fz-after",
                occurred_on="2022-03-01",
                police_registration_number="PL-FZ-1",
            ),
        ),
        "prosecution": (
            "RegisterCase",
            prosecution_pb2.RegisterCaseRequest(
                command_id="fz-after",
                case_id=case_pseudonym("case-fz-after"),
                suspect_id=suspect_pseudonym("suspect-fz-after"),
                occurred_on="2022-03-01",
            ),
        ),
        "residence": (
            "GrantReflectionPeriod",
            residence_pb2.VictimDecisionRequest(
                command_id="fz-after", victim_id="victim-fz-after", occurred_on="2022-03-01"
            ),
        ),
    }
    for service, (method, request) in requests.items():
        running = chain[service]
        async with grpc.aio.insecure_channel(running.service.address) as channel:
            before = running.stored()
            answer = await unary(
                channel, service, method, request.SerializeToString(), credentials(ROLES[service])
            )
            assert answer.code == grpc.StatusCode.OK, (service, answer.details)
            assert running.stored() > before


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Running]]:
    with writing_services(tmp_path_factory.mktemp("fuzz")) as services:
        yield services


async def test_no_request_makes_a_service_fail_or_store_what_it_refused(
    chain: dict[str, Running],
) -> None:
    run = Run()
    started = time.monotonic()
    share = CALLS // len(chain)
    await asyncio.gather(
        *(fuzz_service(service, running, share, run) for service, running in chain.items())
    )
    elapsed = time.monotonic() - started
    summary = (
        f"seed {SEED}: {run.calls} calls ({run.frames} bulk frames) in {elapsed:.1f}s; "
        + ", ".join(f"{code} {count}" for code, count in run.codes.most_common())
    )
    print(summary)
    assert not run.failures, summary + "\n" + "\n".join(run.failures[:30])
    # The run reached past validation too: some commands were stored, many refused.
    assert run.codes["OK"] > CALLS // 20, summary
    assert run.codes["INVALID_ARGUMENT"] > CALLS // 5, summary
    await asyncio.sleep(1.0)  # the relays publish what was stored
    await check_afterwards(chain, run)
    await still_working(chain)
