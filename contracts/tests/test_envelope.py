from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from ketenzicht_contracts.envelope import Envelope, stream_for, subject_for


def test_the_envelope_survives_the_trip_through_nats_headers() -> None:
    envelope = Envelope(
        event_id=uuid4(),
        service="intake",
        event_type="ReportFiled",
        version=1,
        occurred_on=date(2022, 1, 10),
        recorded_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        aggregate_id=uuid4(),
        aggregate_version=3,
        organisation="politie",
        system="police-registration",
        command_id="cmd-9",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        position=42,
    )
    headers = envelope.to_headers()
    assert headers["Nats-Msg-Id"] == str(envelope.event_id)
    assert headers["ce-type"] == "nl.ketenzicht.intake.ReportFiled"
    assert Envelope.from_headers(headers) == envelope
    assert envelope.subject == subject_for("intake", "ReportFiled")
    assert envelope.subject == "ketenzicht.intake.ReportFiled"
    assert stream_for("intake") == "KETENZICHT_INTAKE"
