"""The badge inbox (thread-safe, bounded, rate-limited) and the framework-free HTTP handler."""

from __future__ import annotations

import json
import threading

import pytest
from tests.unit.test_gate_pipeline import FRAME, Access, Engine, _pipeline

from seuil.adapters.wiegand import encode_wiegand
from seuil.domain.credentials import CheckResult, TemplateStorage
from seuil.domain.gate import Decision, DenyReason, ReferReason
from seuil.gate.badge_http import BadgeEndpoint, BadgeReaderToken
from seuil.gate.badge_inbox import BadgeInbox, Posted


class Mono:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_inbox_is_fifo_bounded_and_forgets_stale_numbers():
    mono = Mono()
    inbox = BadgeInbox("g1", capacity=2, max_age_s=5.0, monotonic=mono)
    assert inbox.put("111") is Posted.ACCEPTED and inbox.put("222") is Posted.ACCEPTED
    assert inbox.put("333") is Posted.FULL
    assert inbox.take() == "111"
    mono.t = 6.0  # "222" waited too long: no longer a presentation
    assert inbox.take() is None and len(inbox) == 0


@pytest.mark.parametrize("bad", ["", "12a4", "１２３", "1" * 21, " 123", None, 123])
def test_inbox_refuses_what_is_not_a_badge_number(bad):
    inbox = BadgeInbox("g1")
    with pytest.raises(ValueError, match="1 to 20 digits"):
        inbox.put(bad)
    assert len(inbox) == 0


def test_a_reader_over_its_rate_is_refused_and_reported_once_a_minute():
    mono = Mono()
    inbox = BadgeInbox("g1", capacity=100, max_per_minute=3, monotonic=mono)
    results = [inbox.put(str(i), "r1") for i in range(6)]
    assert results[:3] == [Posted.ACCEPTED] * 3 and set(results[3:]) == {Posted.RATE_LIMITED}
    assert inbox.put("9", "r2") is Posted.ACCEPTED  # other readers are not affected
    assert inbox.take_fault() == "r1" and inbox.take_fault() is None
    mono.t = 61.0
    assert inbox.put("10", "r1") is Posted.ACCEPTED  # the window moved on


def test_each_reader_has_its_own_rate_limit():
    mono = Mono()
    inbox = BadgeInbox("g1", capacity=100, max_per_minute=2, monotonic=mono,
                       per_reader={"hall": 5, "parking": 2})  # fmt: skip
    hall = [inbox.put(str(i), "hall") for i in range(6)]
    parking = [inbox.put(str(i), "parking") for i in range(3)]
    assert hall == [Posted.ACCEPTED] * 5 + [Posted.RATE_LIMITED]  # not the gate's lowest
    assert parking == [Posted.ACCEPTED] * 2 + [Posted.RATE_LIMITED]  # not the gate's highest
    assert {inbox.take_fault(), inbox.take_fault()} == {"hall", "parking"}
    assert (inbox.limit("hall"), inbox.limit("other")) == (5, 2)  # unlisted: the default
    with pytest.raises(ValueError, match="positive"):
        BadgeInbox("g1", per_reader={"hall": 0})


def test_the_endpoint_applies_each_readers_limit():
    inbox = BadgeInbox("sas", capacity=100, per_reader={"badge-a": 1, "badge-b": 3})
    readers = [BadgeReaderToken("badge-a", "sas", "tok-a"), BadgeReaderToken("badge-b", "sas",
                                                                              "tok-b")]  # fmt: skip
    endpoint = BadgeEndpoint(readers, {"sas": inbox})
    a = [_post(endpoint, {"number": str(i)}, "Bearer tok-a").status for i in range(2)]
    b = [_post(endpoint, {"number": str(i)}, "Bearer tok-b").status for i in range(4)]
    assert a == [202, 429] and b == [202, 202, 202, 429]


def test_inbox_is_thread_safe():
    inbox = BadgeInbox("g1", capacity=10_000, max_per_minute=10_000, max_age_s=60)

    def post(base: int) -> None:
        for i in range(500):
            inbox.put(str(base * 1000 + i), f"r{base}")

    threads = [threading.Thread(target=post, args=(b,)) for b in range(1, 9)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    taken = []
    while (n := inbox.take()) is not None:
        taken.append(n)
    assert len(taken) == 4000 and len(set(taken)) == 4000


# -- the pipeline consumes the inbox like a QR read ------------------------------------------


def test_pipeline_takes_a_badge_and_collects_faces():
    access = Access(storage=TemplateStorage.SITE_DATABASE)
    pipeline, _decisions, doors, ticker = _pipeline(access, Engine(), qr=())
    pipeline.badges = BadgeInbox("g1")
    assert pipeline.on_frame(FRAME) is None and access.checks == 0  # nothing shown yet
    pipeline.badges.put("4242", "r1")
    for _ in range(5):
        d = pipeline.on_frame(FRAME)
        ticker.t += 0.1
        if d:
            break
    assert d.decision is Decision.GRANT and doors == [1] and access.checks == 2  # + recheck


def test_badge_only_lane_decides_on_tick_and_cools_down():
    pipeline, decisions, _, ticker = _pipeline(Access(CheckResult.REVOKED), Engine(), qr=())
    pipeline.badges = BadgeInbox("g1", monotonic=ticker)
    pipeline.badges.put("4242")
    pipeline.badges.put("4242")  # the same badge twice in a row: one decision
    assert pipeline.tick().reason is DenyReason.REVOKED
    assert pipeline.tick() is None and len(decisions) == 1


def test_reader_over_rate_becomes_a_device_fault_event():
    pipeline, _decisions, doors, ticker = _pipeline(Access(), Engine(), qr=())
    pipeline.badges = BadgeInbox("g1", max_per_minute=1, monotonic=ticker)
    pipeline.badges.put("1", "r1")
    pipeline.badges.put("2", "r1")
    d = pipeline.tick()
    assert d.decision is Decision.DENY and d.reason is DenyReason.DEVICE_FAULT and doors == []


def test_badge_and_collect_never_mix():
    pipeline, _, _, ticker = _pipeline(Access(), Engine(face=False), qr=(), timeout_s=1.0)
    pipeline.badges = BadgeInbox("g1", monotonic=ticker)
    pipeline.badges.put("1")
    pipeline.on_frame(FRAME)  # presentation started
    pipeline.badges.put("2")  # someone else badges meanwhile: waits
    ticker.t = 2.0
    assert pipeline.on_frame(FRAME).reason is ReferReason.TIMEOUT
    assert len(pipeline.badges) == 1


# -- handle_badge ---------------------------------------------------------------------------


def _endpoint():
    inbox = BadgeInbox("sas")
    readers = [BadgeReaderToken("badge-a", "sas", "tok-a"), BadgeReaderToken("badge-b", "sas",
                                                                              "tok-b")]  # fmt: skip
    return BadgeEndpoint(readers, {"sas": inbox}), inbox


def _post(endpoint, body, token="Bearer tok-a", gate="sas"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return endpoint.handle_badge(gate, token, raw)


def test_handle_badge_queues_numbers_and_wiegand_frames():
    endpoint, inbox = _endpoint()
    assert _post(endpoint, {"number": "1234567"}).status == 202
    assert _post(endpoint, {"wiegand": encode_wiegand(84, 4242)}, "tok-b").status == 202
    frame = int(encode_wiegand(1, 2, 34), 2)
    result = _post(endpoint, {"wiegand": {"value": frame, "bits": 34}})
    assert result.status == 202 and result.body()["code"] == "queued"
    assert [inbox.take(), inbox.take(), inbox.take()] == ["1234567", "8404242", "65538"]


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [(None, 401, "bad_token"), ("", 401, "bad_token"), ("Bearer tok-c", 401, "bad_token"),
     ("Bearer tok-a ", 202, "queued"), ("tok-a", 202, "queued")],
)  # fmt: skip
def test_handle_badge_checks_the_reader_token(token, status, code):
    endpoint, inbox = _endpoint()
    result = _post(endpoint, {"number": "12"}, token)
    assert (result.status, result.code) == (status, code)
    assert len(inbox) == (1 if status == 202 else 0)


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (b"not json", "bad_body", "JSON"),
        (b"\xff\xfe", "bad_body", "JSON"),
        ([1, 2], "bad_badge", "JSON object"),
        ({}, "bad_badge", "exactly one"),
        ({"number": "1", "wiegand": "1"}, "bad_badge", "exactly one"),
        ({"number": 12}, "bad_badge", "digits"),
        ({"number": "12", "pin": "0000"}, "bad_badge", "unknown field"),
        ({"wiegand": "1" * 26}, "bad_badge", "parity"),
        ({"wiegand": "10"}, "bad_badge", "only 26 and 34"),
        ({"wiegand": {"value": "3", "bits": 26}}, "bad_badge", "value"),
    ],
)
def test_handle_badge_refuses_bad_bodies_clearly_and_queues_nothing(body, code, words):
    endpoint, inbox = _endpoint()
    result = _post(endpoint, body)
    assert result.status == 400 and result.code == code and words in result.message
    assert len(inbox) == 0


def test_handle_badge_unknown_gate_big_body_rate_and_repr():
    endpoint, _inbox = _endpoint()
    assert _post(endpoint, {"number": "1"}, gate="autre").status == 404
    assert _post(endpoint, b"{" + b" " * 2000 + b"}").status == 413
    assert "tok-a" not in repr(BadgeReaderToken("badge-a", "sas", "tok-a"))
    limited = BadgeInbox("sas", max_per_minute=1)
    endpoint = BadgeEndpoint([BadgeReaderToken("r", "sas", "t")], {"sas": limited})
    assert _post(endpoint, {"number": "1"}, "t").status == 202
    assert _post(endpoint, {"number": "2"}, "t").status == 429
    with pytest.raises(ValueError, match="empty token"):
        BadgeEndpoint([BadgeReaderToken("r", "sas", "")], {"sas": limited})
