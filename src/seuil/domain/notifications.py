"""Notifications: one message to one recipient on one channel, kept until delivered.

Standard library only. A :class:`Notification` is written to the outbox in the same
transaction as the incident step that caused it, then delivered by the dispatcher. It
is never dropped: a transient failure is retried on an exponential schedule
(:class:`RetryPolicy`), a permanent one (bad address) or the last allowed attempt marks
it ``failed``, where people see it. Everything here is a pure function of values and
timestamps, so the outbox survives a restart as it is.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "LIVE_CHANNEL",
    "Notification",
    "NotificationStatus",
    "RetryPolicy",
    "new_notification_id",
]

LIVE_CHANNEL = "live"  # the dashboards' live bus: published, never stored in the outbox


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting for its first or next attempt
    SENT = "sent"
    FAILED = "failed"  # permanent error or attempts exhausted: shown to people


def _aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff: ``base_s * factor**(n-1)`` after the n-th failed attempt,
    capped at ``max_delay_s``; after ``max_attempts`` failed attempts, failed for good."""

    max_attempts: int = 8
    base_s: float = 30.0
    factor: float = 2.0
    max_delay_s: float = 3600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("a notification gets at least one attempt")
        if self.base_s < 0 or self.factor < 1 or self.max_delay_s < 0:
            raise ValueError("retry delays must be non-negative and non-decreasing")

    def delay(self, failed_attempts: int) -> timedelta:
        """How long to wait after the ``failed_attempts``-th failed attempt (1-based)."""
        if failed_attempts < 1:
            raise ValueError("no delay before the first attempt")
        # Bounded exponent: no float overflow however many attempts are allowed.
        exponent = min(failed_attempts - 1, 64)
        return timedelta(seconds=min(self.base_s * self.factor**exponent, self.max_delay_s))

    def gives_up_after(self, failed_attempts: int) -> bool:
        return failed_attempts >= self.max_attempts


def new_notification_id() -> str:
    return f"N{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class Notification:
    """One message; ``incident_id`` is empty for site-wide messages (PPMS)."""

    id: str
    incident_id: str
    channel: str  # "email", "sms", "push"
    recipient: str
    subject: str
    body: str
    created_at: datetime
    status: NotificationStatus = NotificationStatus.PENDING
    attempts: int = 0  # attempts made (failed ones, plus the successful one)
    next_attempt_at: datetime | None = None  # None: at creation
    last_error: str = ""
    sent_at: datetime | None = None

    def __post_init__(self) -> None:
        _aware(self.created_at, "a notification's creation time")
        if not self.channel or not self.recipient:
            raise ValueError("a notification needs a channel and a recipient")
        if self.channel == LIVE_CHANNEL:
            raise ValueError("live messages go to the bus, not to the outbox")
        if self.next_attempt_at is None:
            object.__setattr__(self, "next_attempt_at", self.created_at)
        if self.attempts < 0:
            raise ValueError("attempts cannot be negative")

    @classmethod
    def new(
        cls,
        incident_id: str,
        channel: str,
        recipient: str,
        subject: str,
        body: str,
        at: datetime,
    ) -> Notification:
        return cls(new_notification_id(), incident_id, channel, recipient, subject, body, at)

    @property
    def due_at(self) -> datetime:
        assert self.next_attempt_at is not None  # set in __post_init__
        return self.next_attempt_at

    def is_due(self, now: datetime) -> bool:
        return self.status is NotificationStatus.PENDING and self.due_at <= now

    def delivered(self, at: datetime) -> Notification:
        """The attempt at ``at`` succeeded."""
        _aware(at, "a delivery time")
        if self.status is not NotificationStatus.PENDING:
            raise ValueError(f"a {self.status.value} notification is not sent again")
        return replace(
            self, status=NotificationStatus.SENT, attempts=self.attempts + 1, sent_at=at,
            last_error="",
        )  # fmt: skip

    def attempt_failed(
        self, error: str, at: datetime, *, transient: bool, policy: RetryPolicy
    ) -> Notification:
        """The attempt at ``at`` failed: retry later (transient), or failed for good."""
        _aware(at, "a failure time")
        if self.status is not NotificationStatus.PENDING:
            raise ValueError(f"a {self.status.value} notification is not attempted again")
        attempts = self.attempts + 1
        error = error.strip() or "unknown error"
        if not transient or policy.gives_up_after(attempts):
            if transient:
                error = f"{error} (gave up after {attempts} attempts)"
            return replace(
                self, status=NotificationStatus.FAILED, attempts=attempts, last_error=error
            )
        return replace(
            self, attempts=attempts, last_error=error,
            next_attempt_at=at + policy.delay(attempts),
        )  # fmt: skip

    def claimed(self, until: datetime) -> Notification:
        """Held by a dispatcher until ``until``: no other dispatcher takes it meanwhile,
        and if the holder dies before recording the outcome it becomes due again then."""
        return replace(self, next_attempt_at=until)
