"""The forwarder: the site's outbox to the regional hub, in order, at least once.

One loop (a thread, :meth:`HubForwarder.start` / :meth:`HubForwarder.stop`, or
``seuil hub-link``): take the oldest unsent events (sequence order), POST them as one
batch with the site's bearer token, and mark sent exactly the sequence numbers the hub
acknowledged, in one transaction. A failure (hub down, timeout, 5xx, 429, a refused
credential) leaves everything queued and waits with exponential backoff and jitter;
the same batch goes again, and the hub's idempotency makes the replay harmless. The
hub's answer also carries its messages for the site (acknowledgements, mediator
assignments, region-wide alerts), stored in the inbox; when there is nothing to send
the forwarder polls for them; once stored, each message is published on the site's live
bus (topic ``hub.message``) so the incidents board shows it at once. It also reports
closed gate-count intervals, a heartbeat, the devices' health (when it changes, and
with each heartbeat) and the audit chain's head (``audit.anchor``, every ``anchor_s``),
through the same outbox. :func:`fetch_anchors` reads the anchors back from the hub.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from seuil.adapters.hub_link.tls import link_tls_context
from seuil.adapters.storage.unit_of_work import SqlUnitOfWork
from seuil.domain.errors import DataFormatError, SeuilError
from seuil.domain.hub import AnchoredHead, EventKind, HubMessage, heartbeat_body
from seuil.ports.clock import Clock
from seuil.services.hub_events import device_health, report_audit_anchor

logger = logging.getLogger(__name__)

EVENTS_PATH = "/hub/api/v1/sites/{site}/events"
MESSAGES_PATH = "/hub/api/v1/sites/{site}/messages"
ANCHORS_PATH = "/hub/api/v1/sites/{site}/anchors"
VERSION = "seuil-0.1"
TOPIC_HUB_MESSAGE = "hub.message"  # the live bus topic of a stored hub message


@dataclass(frozen=True, slots=True)
class LinkOptions:
    hub_url: str
    site_id: str
    token: str = field(repr=False)
    batch_size: int = 200
    timeout_s: float = 10.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 300.0
    idle_poll_s: float = 0.5  # how often an empty outbox is looked at (local database)
    messages_poll_s: float = 5.0  # how often the hub is asked for messages when idle
    heartbeat_s: float = 60.0
    anchor_s: float = 900.0  # the audit chain's head goes to the hub this often
    counts_interval_s: int = 60
    keep_sent: timedelta = timedelta(days=7)
    # TLS (see tls.py): the region's CA bundle; the site's client certificate and key
    # for mutual TLS. None: the system's CA store, no client certificate.
    ca_file: Path | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None


class LinkError(SeuilError):
    """One attempt failed; ``permanent`` when retrying cannot help until someone acts."""

    code = "hub_link_failed"
    exit_code = 16  # the next free code (see seuil.domain.errors)

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(slots=True)
class LinkStatus:
    sent: int = 0  # events acknowledged by the hub since start
    batches: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    last_error: str = ""
    last_success_at: datetime | None = None
    messages: int = 0


class HubForwarder:
    def __init__(
        self,
        uow: Callable[[], SqlUnitOfWork],
        clock: Clock,
        options: LinkOptions,
        client: httpx.Client | None = None,
        on_messages: Callable[[list[HubMessage]], None] | None = None,
        publish: Callable[[str, Mapping[str, object]], None] | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.options = options
        self._client = client or httpx.Client(
            timeout=options.timeout_s,
            verify=link_tls_context(
                options.ca_file, options.client_cert_file, options.client_key_file
            ),
        )
        self._own_client = client is None
        self._on_messages = on_messages
        self._publish = publish  # the live bus (screens), after the messages are stored
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_heartbeat: float | None = None  # the first step sends one
        self._last_poll: float | None = None
        self._last_anchor: float | None = None  # the first step sends one
        self._anchored_seq: int | None = None  # the audit head last sent (None: none yet)
        self._last_health: dict[str, Any] | None = None
        self.status = LinkStatus()

    # -- one step --------------------------------------------------------------------------

    def send_once(self) -> int:
        """Send one batch (or poll for messages when the outbox is empty).

        Returns how many events the hub acknowledged; raises :class:`LinkError` when the
        attempt failed (nothing is marked sent then).
        """
        now = self._clock.now()
        with self._uow() as uow:
            uow.outbox.add_gate_counts(now, self.options.counts_interval_s)
            last = self._last_heartbeat
            beat = last is None or time.monotonic() - last >= self.options.heartbeat_s
            if beat:
                backlog = uow.outbox.backlog()
                uow.outbox.add(EventKind.HEARTBEAT, now, heartbeat_body(backlog, VERSION))
                self._last_heartbeat = time.monotonic()
            last = self._last_anchor
            if last is None or time.monotonic() - last >= self.options.anchor_s:
                anchor = report_audit_anchor(uow.outbox, uow.audit, now, self._anchored_seq)
                if anchor is not None:
                    self._anchored_seq = int(anchor.body["audit_seq"])
                self._last_anchor = time.monotonic()
            health = device_health(uow.devices.all())
            known = health["cameras_total"] or health["panels_total"]
            if known and (health != self._last_health or beat):
                uow.outbox.add(EventKind.DEVICE_HEALTH, now, health)
                self._last_health = health
            uow.commit()
            batch = uow.outbox.pending(self.options.batch_size)
            after = uow.hub_inbox.last_id()
        if not batch:
            last = self._last_poll
            if last is None or time.monotonic() - last >= self.options.messages_poll_s:
                self._poll_messages(after)
                self._last_poll = time.monotonic()
            return 0
        payload = {
            "site": self.options.site_id,
            "events": [e.to_wire() for e in batch],
            "messages_after": after,
        }
        answer = self._call("POST", EVENTS_PATH, json=payload)
        acked = answer.get("acked")
        if not isinstance(acked, list) or not all(isinstance(s, int) for s in acked):
            raise LinkError("the hub's answer has no list of acknowledged sequence numbers")
        sent = {e.seq for e in batch}
        acked_here = [s for s in acked if s in sent]  # never mark what we did not send
        messages = self._messages(answer)
        with self._uow() as uow:
            uow.outbox.mark_sent(acked_here, self._clock.now())
            if messages:
                uow.hub_inbox.add(messages, self._clock.now())
            uow.outbox.purge_sent(self._clock.now() - self.options.keep_sent)
            uow.commit()
        self._delivered(messages)
        self.status.sent += len(acked_here)
        self.status.batches += 1
        return len(acked_here)

    def _poll_messages(self, after: int) -> None:
        answer = self._call("GET", MESSAGES_PATH, params={"after": after})
        messages = self._messages(answer)
        if messages:
            with self._uow() as uow:
                uow.hub_inbox.add(messages, self._clock.now())
                uow.commit()
        self._delivered(messages)

    def _delivered(self, messages: list[HubMessage]) -> None:
        self.status.messages += len(messages)
        self.status.last_success_at = self._clock.now()
        if messages and self._publish is not None:
            for message in messages:
                self._publish(TOPIC_HUB_MESSAGE, message.to_wire())
        if messages and self._on_messages is not None:
            self._on_messages(messages)

    def _messages(self, answer: dict[str, Any]) -> list[HubMessage]:
        raw = answer.get("messages") or []
        if not isinstance(raw, list):
            raise LinkError("the hub's messages are not a list")
        return [HubMessage.from_wire(item) for item in raw]

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return call_hub(self._client, self.options, method, path, **kwargs)

    # -- the loop ---------------------------------------------------------------------------

    def backoff_s(self, failures: int) -> float:
        """Exponential: initial * 2^(n-1), capped, with +-20 % jitter (no thundering herd
        of 173 sites when the hub comes back)."""
        base = min(self.options.backoff_max_s, self.options.backoff_initial_s * 2 ** (failures - 1))
        return float(base * random.uniform(0.8, 1.2))  # noqa: S311 (jitter, not crypto)

    def run(self) -> None:
        """Loop until :meth:`stop`."""
        while not self._stop.is_set():
            try:
                sent = self.send_once()
            except LinkError as exc:
                self._failed(str(exc), exc.permanent)
                continue
            except Exception as exc:  # storage down, a bug: keep the site running, retry
                logger.exception("hub link step failed")
                self._failed(f"{type(exc).__name__}: {exc}", False)
                continue
            if self.status.consecutive_failures:
                logger.info("hub link restored after %d failures", self.status.consecutive_failures)
            self.status.consecutive_failures = 0
            self.status.last_error = ""
            if sent < self.options.batch_size:
                self._stop.wait(self.options.idle_poll_s if sent == 0 else 0.05)

    def _failed(self, message: str, permanent: bool) -> None:
        self.status.failures += 1
        self.status.consecutive_failures += 1
        self.status.last_error = message
        n = self.status.consecutive_failures
        wait = self.options.backoff_max_s if permanent else self.backoff_s(n)
        log = logger.error if permanent else logger.warning
        log("hub link: %s (attempt %d, next in %.1f s)", message, n, wait)
        self._stop.wait(wait)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the forwarder is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="hub-forwarder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._own_client:
            self._client.close()

    def drain(self, timeout: float = 30.0) -> int:
        """Send until the outbox is empty, then fetch the hub's messages (CLI, tests);
        returns events sent. Raises :class:`LinkError` on the first failure."""
        self._last_poll = None
        deadline = time.monotonic() + timeout
        total = 0
        while time.monotonic() < deadline:
            sent = self.send_once()
            total += sent
            if sent == 0:
                return total
        raise LinkError(f"outbox not drained in {timeout:g} s")


def call_hub(
    client: httpx.Client, options: LinkOptions, method: str, path: str, **kwargs: Any
) -> dict[str, Any]:
    """One request to the hub with the site's token; the JSON object it answers."""
    url = options.hub_url.rstrip("/") + path.format(site=options.site_id)
    headers = {"Authorization": f"Bearer {options.token}"}
    try:
        response = client.request(method, url, headers=headers, **kwargs)
    except httpx.HTTPError as exc:
        raise LinkError(f"hub unreachable ({type(exc).__name__})") from None
    status = response.status_code
    if status in (401, 403):
        raise LinkError(f"the hub refused the site's credential ({status})", permanent=True)
    if status == 409:
        raise LinkError(f"the hub reports a conflict: {response.text[:300]}", permanent=True)
    if status >= 400:
        raise LinkError(f"hub answered {status}: {response.text[:300]}", permanent=False)
    try:
        answer = response.json()
    except ValueError:
        raise LinkError("the hub's answer is not JSON") from None
    if not isinstance(answer, dict):
        raise LinkError("the hub's answer is not an object")
    return answer


def fetch_anchors(
    options: LinkOptions, client: httpx.Client | None = None, deadline_s: float | None = None
) -> list[AnchoredHead]:
    """Every audit anchor the hub keeps for this site, oldest first (pages of the API).
    Raises :class:`LinkError` when the hub cannot be asked or answers nonsense, or when
    all the pages are not read within ``deadline_s`` (for all requests together: a page
    waits for that, not for one request's timeout per page)."""
    own = client or httpx.Client(
        timeout=options.timeout_s,
        verify=link_tls_context(options.ca_file, options.client_cert_file,
                                options.client_key_file),
    )  # fmt: skip
    started = time.monotonic()
    found: list[AnchoredHead] = []
    try:
        while True:
            after = found[-1].seq if found else 0
            extra: dict[str, Any] = {}
            if deadline_s is not None:
                left = deadline_s - (time.monotonic() - started)
                if left <= 0:
                    raise _too_slow(len(found), deadline_s)
                extra["timeout"] = min(options.timeout_s, left)
            try:
                answer = call_hub(own, options, "GET", ANCHORS_PATH, params={"after": after},
                                  **extra)  # fmt: skip
            except LinkError:
                if deadline_s is not None and time.monotonic() - started >= deadline_s:
                    raise _too_slow(len(found), deadline_s) from None
                raise
            page = answer.get("anchors")
            if not isinstance(page, list):
                raise LinkError("the hub's answer has no list of anchors")
            try:
                anchors = [AnchoredHead.from_wire(item) for item in page]
            except DataFormatError as exc:
                raise LinkError(f"the hub sent a malformed anchor: {exc.message}") from None
            if not anchors:
                return found
            if any(a.seq <= after for a in anchors):
                raise LinkError("the hub's anchors are not in order")
            found.extend(anchors)
    finally:
        if client is None:
            own.close()


def _too_slow(read: int, deadline_s: float) -> LinkError:
    return LinkError(f"hub too slow: {read} anchors read in {deadline_s:g} s, not all")
