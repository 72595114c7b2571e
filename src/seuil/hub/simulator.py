"""A region of simulated sites: a school day of events each, in the real protocol.

Per site (seeded, so every run is the same): its gates' decisions per minute, shaped
like a French lycée's day (the morning entry peaking around 07:55 local, the lunch
return, the afternoon), 1 % denials sent one by one with a pseudonymous person, 3 %
referrals, a heartbeat every minute, the devices' health every 5 minutes (a camera
off now and then, a silent panel rarely), random incidents with their transitions
(acknowledged, escalated, resolved) and the odd PPMS drill. Every body goes through
the protocol's builders, so the allow-list is applied as on a real site.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from seuil.domain.hub import (
    Envelope,
    EventKind,
    Pseudonymizer,
    device_health_body,
    gate_counts_body,
    heartbeat_body,
    new_idempotency_key,
)

DAY_START = datetime(2025, 9, 1, 5, 0, tzinfo=UTC)  # 07:00 in Paris (summer time)
DAY_MINUTES = 660  # 07:00 - 18:00
_INCIDENT_TYPES = ("panic", "intrusion", "tamper", "door_forced", "deny_revoked",
                   "tailgating", "camera_offline", "door_held_open")  # fmt: skip
_SEVERITY = {"panic": 4, "intrusion": 4, "tamper": 3, "door_forced": 3, "deny_revoked": 3,
             "tailgating": 2, "camera_offline": 2, "door_held_open": 1}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimSite:
    id: str
    name: str
    town: str
    lat: float
    lon: float
    cameras: int
    pupils: int
    gates: int


@dataclass(slots=True)
class SiteStream:
    site: SimSite
    events: list[Envelope] = field(default_factory=list)
    sent: int = 0  # events acknowledged so far

    @property
    def done(self) -> bool:
        return self.sent >= len(self.events)


_TOWNS = (("Toulon", 43.124, 5.928), ("Marseille", 43.296, 5.370), ("Nice", 43.710, 7.262),
          ("Avignon", 43.949, 4.806), ("Aix-en-Provence", 43.529, 5.447),
          ("Cannes", 43.552, 7.017), ("Gap", 44.559, 6.079), ("Digne", 44.092, 6.236),
          ("Hyères", 43.120, 6.130), ("Arles", 43.677, 4.631), ("Fréjus", 43.433, 6.737),
          ("Draguignan", 43.536, 6.464), ("Antibes", 43.580, 7.125),
          ("Manosque", 43.833, 5.783), ("Orange", 44.138, 4.807))  # fmt: skip


def region(
    sites: int = 173, cameras: int = 1757, pupils: int = 1000, seed: int = 7
) -> list[SimSite]:
    """``sites`` schools spread over the towns of a region, ``cameras`` in all."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible simulation, not a secret)
    out = []
    for i in range(sites):
        town, lat, lon = _TOWNS[i % len(_TOWNS)]
        share = cameras // sites + (1 if i < cameras % sites else 0)
        n_pupils = max(200, int(rng.gauss(pupils, pupils * 0.15)))
        out.append(SimSite(
            id=f"0{830000 + i:06d}X"[:8], name=f"Lycée simulé {i + 1:03d}", town=town,
            lat=round(lat + rng.uniform(-0.08, 0.08), 4),
            lon=round(lon + rng.uniform(-0.08, 0.08), 4),
            cameras=share, pupils=n_pupils, gates=2 + (n_pupils > 900) + (n_pupils > 1200),
        ))  # fmt: skip
    return out


def _arrivals(rng: random.Random, pupils: int) -> list[int]:
    """Entries per minute of the day (a morning peak, the lunch return, the afternoon)."""
    per_minute = [0] * DAY_MINUTES
    waves = ((0.92, 55, 12), (0.35, 390, 25), (0.10, 480, 40))  # share, minute, spread
    for share, centre, spread in waves:
        for _ in range(int(pupils * share)):
            minute = int(rng.gauss(centre, spread))
            if 0 <= minute < DAY_MINUTES:
                per_minute[minute] += 1
    return per_minute


def school_day_start(now: datetime) -> datetime:
    """07:00 Paris (05:00 UTC, summer time) of the latest school day started by ``now``."""
    start = now.astimezone(UTC).replace(hour=5, minute=0, second=0, microsecond=0)
    return start if start <= now else start - timedelta(days=1)


def site_day(
    site: SimSite, seed: int = 7, minutes: int = DAY_MINUTES, day_start: datetime = DAY_START
) -> SiteStream:
    rng = random.Random(f"{seed}:{site.id}")  # noqa: S311 (reproducible, not a secret)
    pseudonym = Pseudonymizer(f"simulated secret of {site.id}".encode().ljust(32, b"."))
    raw: list[tuple[datetime, EventKind, dict[str, Any]]] = []
    arrivals = _arrivals(rng, site.pupils)
    for minute in range(minutes):
        start = day_start + timedelta(minutes=minute)
        total = arrivals[minute]
        per_gate = [total // site.gates + (1 if g < total % site.gates else 0)
                    for g in range(site.gates)]  # fmt: skip
        for gate, n in enumerate(per_gate):
            if n == 0:
                continue
            deny = sum(1 for _ in range(n) if rng.random() < 0.01)
            refer = sum(1 for _ in range(n - deny) if rng.random() < 0.03)
            gate_id = f"gate-{gate + 1}"
            end = start + timedelta(seconds=60)
            counts = gate_counts_body(gate_id, start, 60, n - deny - refer, deny, refer)
            raw.append((end, EventKind.GATE_COUNTS, counts))
            for _ in range(deny):
                at = start + timedelta(seconds=rng.uniform(0, 59))
                reason = rng.choice(("revoked", "expired", "face_mismatch", "unknown_badge"))
                person = pseudonym(f"P-{rng.randrange(site.pupils)}")
                raw.append((at, EventKind.GATE_DENIAL,
                            {"gate_id": gate_id, "reason": reason, "person": person}))  # fmt: skip
        raw.append((start, EventKind.HEARTBEAT, heartbeat_body(rng.randrange(3), "seuil-0.1")))
        if minute % 5 == 0:
            offline = 1 if rng.random() < 0.05 else 0
            silent = ["sia:panel-1"] if rng.random() < 0.01 else []
            health = device_health_body(site.cameras - offline, site.cameras, 2, silent)
            raw.append((start, EventKind.DEVICE_HEALTH, health))
    raw.extend(_incidents(rng, site, minutes, day_start))
    raw.sort(key=lambda item: item[0])
    stream = SiteStream(site)
    for seq, (at, kind, body) in enumerate(raw, start=1):
        stream.events.append(Envelope(site.id, seq, new_idempotency_key(), kind, at, body))
    return stream


def _incidents(
    rng: random.Random, site: SimSite, minutes: int, day_start: datetime
) -> list[tuple[datetime, EventKind, dict[str, Any]]]:
    out: list[tuple[datetime, EventKind, dict[str, Any]]] = []
    for n in range(rng.choice((0, 0, 1, 1, 2, 3))):
        kind = rng.choice(_INCIDENT_TYPES)
        at = day_start + timedelta(minutes=rng.uniform(0, minutes - 30))
        severity = _SEVERITY[kind]
        common: dict[str, Any] = {"incident_id": f"I-{site.id}-{n + 1}", "type": kind,
                  "severity": severity, "zone": f"bâtiment {'ABC'[n % 3]}"}  # fmt: skip
        out.append((at, EventKind.INCIDENT_OPENED,
                    {**common, "status": "open", "level": 0, "signals": 1}))  # fmt: skip
        steps = [("acknowledge", "acknowledged", 0)]
        if severity >= 3 and rng.random() < 0.5:
            steps.append(("escalate", "escalated", 3))
        if rng.random() < 0.7:
            steps.append(("resolve", "resolved", steps[-1][2]))
        for action, status, level in steps:
            at += timedelta(seconds=rng.uniform(20, 600))
            out.append((at, EventKind.INCIDENT_TRANSITION,
                        {**common, "action": action, "status": status, "level": level,
                         "actor": "ps_" + f"{rng.getrandbits(128):032x}"}))  # fmt: skip
    if rng.random() < 0.03:  # a PPMS drill
        at = day_start + timedelta(minutes=rng.uniform(60, minutes - 60))
        actor = "ps_" + f"{rng.getrandbits(128):032x}"
        out.append((at, EventKind.PPMS_MODE,
                    {"mode": "confinement", "previous": "normal", "actor": actor}))  # fmt: skip
        if rng.random() < 0.8:
            out.append((at + timedelta(minutes=20), EventKind.PPMS_MODE,
                        {"mode": "normal", "previous": "confinement", "actor": actor}))  # fmt: skip
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]
