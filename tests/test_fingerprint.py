"""Message fingerprints: a keyed HMAC of the text when a key is configured; nothing otherwise."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest

import assistant_telemetry
from assistant_telemetry import semconv as sc
from assistant_telemetry.config import Settings
from assistant_telemetry.file_exporter import span_record

from conftest import Telemetry
from scenarios import CANARY_CONTENT, CANARY_STRINGS, every_call, run

KEY = b"fingerprint-test-key"
FINGERPRINT_KEYS = {sc.MESSAGE_FINGERPRINT, sc.MESSAGE_FINGERPRINTS}


def expected(text: str, key: bytes = KEY) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[: sc.FINGERPRINT_HEX_CHARS]


@pytest.fixture
def keyed(strict_guard: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Telemetry]:
    monkeypatch.delenv("ASSISTANT_TELEMETRY_FINGERPRINT_KEY", raising=False)
    t = Telemetry()
    assistant_telemetry.instrument(
        tracer_provider=t.tracer_provider, meter_provider=t.meter_provider, message_fingerprint_key=KEY
    )
    yield t
    assistant_telemetry.uninstrument()


def test_create_message_gets_the_fingerprint_of_its_text(keyed: Telemetry, client: Any) -> None:
    first, second = client.beta.threads.create(), client.beta.threads.create()
    client.beta.threads.messages.create(first.id, role="user", content="Cancel my order")
    client.beta.threads.messages.create(second.id, role="user", content="Cancel my order")
    client.beta.threads.messages.create(second.id, role="user", content="Cancel my order!")
    prints = [s.attributes[sc.MESSAGE_FINGERPRINT] for s in keyed.named("create_message")]
    assert prints[0] == prints[1] == expected("Cancel my order")  # same text, same print, any thread
    assert prints[2] == expected("Cancel my order!") != prints[0]
    assert all(len(p) == sc.FINGERPRINT_HEX_CHARS and int(p, 16) >= 0 for p in prints)


def test_text_parts_are_joined_and_other_parts_ignored(keyed: Telemetry, client: Any) -> None:
    thread = client.beta.threads.create()
    parts = [
        {"type": "text", "text": "first part"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "text", "text": "second part"},
    ]
    client.beta.threads.messages.create(thread.id, role="user", content=parts)
    span = keyed.one("create_message")
    assert span.attributes[sc.MESSAGE_FINGERPRINT] == expected("first part\nsecond part")


def test_messages_of_new_threads_and_additional_messages(keyed: Telemetry, client: Any) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o")
    messages = [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
    thread = client.beta.threads.create(messages=messages)
    client.beta.threads.runs.create(
        thread.id, assistant_id=assistant.id, additional_messages=[{"role": "user", "content": "three"}]
    )
    client.beta.threads.create_and_run(assistant_id=assistant.id, thread={"messages": messages[:1]})
    assert keyed.one("create_thread").attributes[sc.MESSAGE_FINGERPRINTS] == (
        expected("one"),
        expected("two"),
    )
    assert keyed.one("start_thread_run").attributes[sc.MESSAGE_FINGERPRINTS] == (expected("three"),)
    assert keyed.one("create_thread_and_run").attributes[sc.MESSAGE_FINGERPRINTS] == (expected("one"),)


def test_another_key_gives_other_fingerprints(
    strict_guard: None, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    prints = []
    for key in ("key-one", "key-two"):
        monkeypatch.setenv("ASSISTANT_TELEMETRY_FINGERPRINT_KEY", key)  # the environment works too
        t = Telemetry()
        assistant_telemetry.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
        thread = client.beta.threads.create()
        client.beta.threads.messages.create(thread.id, role="user", content="same words")
        assistant_telemetry.uninstrument()
        prints.append(t.one("create_message").attributes[sc.MESSAGE_FINGERPRINT])
    assert prints == [expected("same words", b"key-one"), expected("same words", b"key-two")]


def attribute_names(telemetry: Telemetry) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for span in telemetry.spans:
        names.setdefault(span.name, set()).update(span.attributes or {})
    return names


def test_without_a_key_nothing_content_derived_beyond_sizes(
    telemetry: Telemetry, sim: Any, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same conversation with and without a key differs by the fingerprint attributes only."""
    monkeypatch.delenv("ASSISTANT_TELEMETRY_FINGERPRINT_KEY", raising=False)
    run(every_call(client, sim))
    without = attribute_names(telemetry)
    assert not FINGERPRINT_KEYS & set().union(*without.values())
    assistant_telemetry.uninstrument()

    keyed = Telemetry()
    assistant_telemetry.instrument(
        tracer_provider=keyed.tracer_provider,
        meter_provider=keyed.meter_provider,
        message_fingerprint_key=KEY,
    )
    run(every_call(client, sim))
    with_key = attribute_names(keyed)
    assert with_key.keys() == without.keys()
    added = {name: with_key[name] - without[name] for name in with_key if with_key[name] != without[name]}
    assert set().union(*added.values()) == FINGERPRINT_KEYS  # and nothing else
    assert added["create_message"] == {sc.MESSAGE_FINGERPRINT}
    assert added["create_thread_and_run"] == {sc.MESSAGE_FINGERPRINTS}  # thread={"messages": ...}
    assert without["create_message"] >= {sc.MESSAGE_TEXT_LENGTH}  # sizes are there without a key


def test_neither_text_nor_key_is_exported(keyed: Telemetry, sim: Any, client: Any) -> None:
    run(every_call(client, sim, CANARY_CONTENT))
    exported = "\n".join(json.dumps(span_record(s), default=str) for s in keyed.spans)
    assert sc.MESSAGE_FINGERPRINT in exported
    assert not [c for c in CANARY_STRINGS if c in exported]
    assert KEY.decode() not in exported


def test_the_key_is_never_printed() -> None:
    settings = Settings.build(message_fingerprint_key="top-secret")
    assert settings.message_fingerprint_key == b"top-secret"
    assert "top-secret" not in repr(settings)
    assert Settings.build(message_fingerprint_key="").message_fingerprint_key is None
