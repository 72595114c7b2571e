"""The notification dispatcher: delivers the outbox, never loses a message.

Each round claims the due notifications (a short transaction that pushes their next
attempt past the claim time, so a second dispatcher does not take them and a dispatcher
killed mid-round leaves them due again later), sends each one *outside* any transaction
(a slow mail server never holds the database), then records each outcome in its own
transaction: sent; rescheduled with exponential backoff after a transient error;
failed, for people to see (:meth:`NotificationOutbox.failed`), after a permanent error
or the last allowed attempt. Delivery is at least once: a dispatcher killed between
sending and recording sends that message again after its claim expires.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from seuil.domain.audit import AuditEvent
from seuil.domain.audit_actions import AuditAction
from seuil.domain.errors import NotificationError
from seuil.domain.notifications import Notification, NotificationStatus, RetryPolicy
from seuil.ports.clock import Clock
from seuil.ports.notify import Notifier
from seuil.ports.storage import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchReport:
    sent: tuple[str, ...] = ()
    retrying: tuple[str, ...] = ()  # transient failure: rescheduled
    failed: tuple[str, ...] = ()  # failed for good: shown as failed

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.failed)


class NotificationDispatcher:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        notifiers: Mapping[str, Notifier],
        *,
        retry: RetryPolicy | None = None,
        batch: int = 20,
        claim: timedelta = timedelta(minutes=2),
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._notifiers = dict(notifiers)
        self._retry = retry or RetryPolicy()
        self._batch = batch
        self._claim = claim

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(sorted(self._notifiers))

    def dispatch_due(self) -> DispatchReport:
        """Send every notification due now (up to one batch)."""
        now = self._clock.now()
        with self._uow() as uow:
            due = uow.notifications.due(now, self._batch)
            for notification in due:
                uow.notifications.update(notification.claimed(now + self._claim))
            uow.commit()
        sent: list[str] = []
        retrying: list[str] = []
        failed: list[str] = []
        for notification in due:
            outcome = self._attempt(notification)
            self._record(outcome)
            if outcome.status is NotificationStatus.SENT:
                sent.append(outcome.id)
            elif outcome.status is NotificationStatus.FAILED:
                failed.append(outcome.id)
            else:
                retrying.append(outcome.id)
        return DispatchReport(tuple(sent), tuple(retrying), tuple(failed))

    def _attempt(self, notification: Notification) -> Notification:
        notifier = self._notifiers.get(notification.channel)
        if notifier is None:
            return notification.attempt_failed(
                f"no notifier configured for channel {notification.channel!r}",
                self._clock.now(), transient=False, policy=self._retry,
            )  # fmt: skip
        try:
            notifier.send(notification.recipient, notification.subject, notification.body)
        except NotificationError as error:
            log.warning("notification %s via %s: %s", notification.id, notification.channel,
                        error.message)  # fmt: skip
            return notification.attempt_failed(
                error.message, self._clock.now(), transient=error.transient, policy=self._retry
            )
        except Exception as error:  # an adapter bug: retried like a transient failure
            log.exception("notifier %s raised", notification.channel)
            return notification.attempt_failed(
                f"{type(error).__name__}: {error}", self._clock.now(), transient=True,
                policy=self._retry,
            )  # fmt: skip
        return notification.delivered(self._clock.now())

    def _record(self, outcome: Notification) -> None:
        with self._uow() as uow:
            uow.notifications.update(outcome)
            if outcome.status is NotificationStatus.FAILED:
                uow.audit.append(
                    AuditEvent("system", AuditAction.NOTIFICATION_FAILED,
                               outcome.incident_id or "site",
                               outcome.last_error,
                               {"notification": outcome.id, "channel": outcome.channel,
                                "attempts": outcome.attempts}),
                    self._clock.now(),
                )  # fmt: skip
            uow.commit()
