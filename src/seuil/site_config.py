"""The site configuration file: gates, cameras, readers, doors and airlocks (TOML).

``docs/site.example.toml`` documents every key. The file is validated as a whole and
refused with messages that name the key (``gates[1] (entree).door: ...``): unknown keys,
wrong values, references to undeclared devices, duplicate ids, identification without
an impact assessment.

Secrets (camera passwords, relay tokens, broker passwords) are never written in the
file: a secret is ``${VAR}`` (an environment variable) or ``file:PATH`` (the first line
of a file, relative to the configuration file's folder). Camera and relay URLs may
embed ``${VAR}`` parts (``rtsp://${CAM_USER}:${CAM_PASSWORD}@192.0.2.10/stream1``) or
come whole from a file; a password written inline in a URL is refused. Resolved values
live in :class:`Secret` objects whose ``str``/``repr`` and serialisation show only the
reference, so a configuration can be logged or dumped safely.
"""

from __future__ import annotations

import os
import re
import tomllib
import typing
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import core_schema

from seuil.domain.credentials import TemplateStorage
from seuil.domain.errors import ConfigurationError
from seuil.domain.gate import GateMode
from seuil.engine.scoring import OperatingPoint

__all__ = [
    "AirlockConfig",
    "GateConfig",
    "Secret",
    "SecretUrl",
    "SiteConfig",
    "load_site_config",
    "parse_site_config",
]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE_VAR = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
_HOW = "write secrets as ${VAR} (an environment variable) or file:PATH, never inline"


# --- secrets -----------------------------------------------------------------------------


def _context(info: ValidationInfo) -> tuple[Mapping[str, str], Path]:
    ctx = info.context or {}
    return ctx.get("environ", os.environ), Path(ctx.get("base_dir", "."))


def _env(name: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name)
    if value is None:
        raise ValueError(f"environment variable {name} is not set")
    if not value:
        raise ValueError(f"environment variable {name} is empty")
    return value


def _read_file(reference: str, base_dir: Path) -> str:
    path = Path(reference.removeprefix("file:")).expanduser()
    path = path if path.is_absolute() else base_dir / path
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ValueError(f"secret file {path} cannot be read ({reason})") from None
    value = lines[0].strip() if lines else ""
    if not value:
        raise ValueError(f"secret file {path} is empty")
    return value


class Secret:
    """A resolved secret; ``str``, ``repr`` and dumps show its reference, never the value."""

    __slots__ = ("_value", "reference")

    def __init__(self, value: str, reference: str) -> None:
        self._value = value
        self.reference = reference

    def get_secret_value(self) -> str:
        return self._value

    def __str__(self) -> str:
        return self.reference

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reference!r})"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, Secret)
            and (other._value, other.reference) == (self._value, self.reference)
        )

    def __hash__(self) -> int:
        return hash((self._value, self.reference))

    @classmethod
    def _validate(cls, value: object, info: ValidationInfo) -> Secret:
        if isinstance(value, cls):
            return value
        if not isinstance(value, str):
            raise ValueError(f"expected a text reference; {_HOW}")
        environ, base_dir = _context(info)
        text = value.strip()
        if text.startswith("file:"):
            return cls(_read_file(text, base_dir), text)
        if _WHOLE_VAR.match(text):
            return cls(_env(text[2:-1], environ), text)
        raise ValueError(f"a secret is written inline; {_HOW}")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


class SecretUrl(Secret):
    """A URL with ``${VAR}`` parts, or ``file:PATH`` holding the whole URL.

    ``str`` shows the URL as written (with its ``${VAR}`` references, not their values).
    """

    __slots__ = ()

    @property
    def scheme(self) -> str:
        return urlsplit(self._value).scheme.lower()

    @classmethod
    def _validate(cls, value: object, info: ValidationInfo) -> SecretUrl:
        if isinstance(value, cls):
            return value
        if not isinstance(value, str) or not value.strip():
            raise ValueError("expected a URL")
        environ, base_dir = _context(info)
        text = value.strip()
        if text.startswith("file:"):
            resolved = _read_file(text, base_dir)
        else:
            password = urlsplit(text).password
            if password is not None and not _WHOLE_VAR.match(password):
                raise ValueError(f"the URL holds a password inline; {_HOW}")
            resolved = _VAR.sub(lambda m: _env(m.group(1), environ), text)
        parts = urlsplit(resolved)
        if not parts.scheme or not parts.hostname:
            raise ValueError(f"{text!r} is not a URL with a scheme and a host")
        return cls(resolved, text)


def _scheme(url: SecretUrl | None, allowed: tuple[str, ...], what: str) -> None:
    if url is not None and url.scheme not in allowed:
        raise ValueError(f"{what} must start with {' or '.join(s + '://' for s in allowed)}")


# --- common pieces -------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")]


def _fmr(value: object) -> object:
    """``1e-4``, ``"FMR 1e-4"``, ``"0.01%"``, ``"1 in 10000"``: a false-match rate."""
    if value is None:
        return None
    if isinstance(value, str):
        return OperatingPoint.parse(value).fmr
    if isinstance(value, int | float) and not isinstance(value, bool):
        return OperatingPoint(float(value)).fmr
    raise ValueError("an FMR is a number (1e-4) or a text ('FMR 1e-4', '1 in 10000')")


Fmr = Annotated[float, BeforeValidator(_fmr)]


# --- cameras -----------------------------------------------------------------------------


class _Camera(_Model):
    id: Id
    fps: float = Field(10.0, gt=0, le=60)


class RtspCamera(_Camera):
    kind: Literal["rtsp"]
    url: SecretUrl
    transport: Literal["tcp", "udp"] = "tcp"

    @model_validator(mode="after")
    def _check(self) -> Self:
        _scheme(self.url, ("rtsp", "rtsps"), "url")
        return self


class MjpegCamera(_Camera):
    kind: Literal["mjpeg"]
    url: SecretUrl

    @model_validator(mode="after")
    def _check(self) -> Self:
        _scheme(self.url, ("http", "https"), "url")
        return self


class FileCamera(_Camera):
    kind: Literal["file"]
    path: Path
    loop: bool = False


class WebcamCamera(_Camera):
    kind: Literal["webcam"]
    index: int = Field(0, ge=0, le=63)


class PresentationCamera(_Camera):
    """A simulated camera (demonstration site, browser tests): an empty lane until a
    person's video is presented from the gate screen, the credential held up."""

    kind: Literal["presentation"]
    width: int = Field(960, ge=160, le=3840)
    height: int = Field(540, ge=120, le=2160)


Camera = Annotated[
    RtspCamera | MjpegCamera | FileCamera | WebcamCamera | PresentationCamera,
    Field(discriminator="kind"),
]


# --- readers -----------------------------------------------------------------------------


class QrCameraReader(_Model):
    id: Id
    kind: Literal["qr-camera"]
    camera: Id


class WiegandHttpReader(_Model):
    id: Id
    kind: Literal["wiegand-http"]
    token: Secret  # the bearer token the reader board must present
    max_per_minute: int = Field(30, ge=1, le=600)  # more is a broken reader: device fault


class OsdpReader(_Model):
    """Documented for planning; refused at load time until it is implemented."""

    id: Id
    kind: Literal["osdp"]
    port: str
    address: int = Field(0, ge=0, le=126)
    secure_channel_key: Secret | None = None


class CounterMqttReader(_Model):
    """A people counter (beam, turnstile or door counter) publishing on MQTT; it presents
    no credential: it counts who passes, for the tailgating watch of a door or an airlock,
    and reports passages with no opening (``docs/site.example.toml``). ``grace_s``: a
    passage reported this long after an opening closed still counts for it (the
    counter's or the network's delay)."""

    id: Id
    kind: Literal["counter-mqtt"]
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: Secret | None = None
    tls: bool = False
    grace_s: float = Field(2.0, ge=0, le=10)


AnyReader = QrCameraReader | WiegandHttpReader | OsdpReader | CounterMqttReader
Reader = Annotated[AnyReader, Field(discriminator="kind")]
BADGE_READERS = ("wiegand-http", "osdp")
CREDENTIAL_READERS = ("qr-camera", *BADGE_READERS)


# --- doors ---------------------------------------------------------------------------------


class _Door(_Model):
    id: Id
    pulse_s: float = Field(3.0, gt=0, le=30)  # the door never stays open
    held_open_s: float = Field(30.0, gt=0, le=600)

    @property
    def reports_state(self) -> bool:
        return True


class SimulatedDoorConfig(_Door):
    kind: Literal["simulated"]


class BasicAuthConfig(_Model):
    kind: Literal["basic"]
    username: str = Field(min_length=1)
    password: Secret


class BearerAuthConfig(_Model):
    kind: Literal["bearer"]
    token: Secret


class HttpDoorConfig(_Door):
    kind: Literal["http"]
    pulse_url: SecretUrl
    lock_url: SecretUrl | None = None
    release_url: SecretUrl | None = None
    state_url: SecretUrl | None = None
    state_field: str = Field("state", min_length=1)
    method: Literal["GET", "POST"] = "POST"
    timeout_s: float = Field(2.0, gt=0, le=10)
    auth: Annotated[BasicAuthConfig | BearerAuthConfig, Field(discriminator="kind")] | None = None

    @property
    def reports_state(self) -> bool:
        return self.state_url is not None

    @model_validator(mode="after")
    def _check(self) -> Self:
        for name in ("pulse_url", "lock_url", "release_url", "state_url"):
            _scheme(getattr(self, name), ("http", "https"), name)
        return self


class MqttDoorConfig(_Door):
    kind: Literal["mqtt"]
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: Secret | None = None
    tls: bool = False
    ack_timeout_s: float = Field(2.0, gt=0, le=10)


DoorConfig = Annotated[
    SimulatedDoorConfig | HttpDoorConfig | MqttDoorConfig, Field(discriminator="kind")
]


class AirlockConfig(_Model):
    id: Id
    outer: Id
    inner: Id

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.outer == self.inner:
            raise ValueError(f"airlock {self.id!r}: the outer and inner doors must differ")
        return self


# --- gates -------------------------------------------------------------------------------


class GateConfig(_Model):
    id: Id
    name: str = ""
    mode: GateMode = GateMode.VERIFICATION
    camera: Id | None = None
    readers: list[Id] = Field(min_length=1)
    door: Id | None = None
    airlock: Id | None = None
    storage: list[TemplateStorage] = Field(default_factory=lambda: list(TemplateStorage))
    accept_fmr: Fmr = 1e-4
    refer_fmr: Fmr | None = 1e-2
    active_challenge: Literal["off", "blink", "turn_head"] = "off"
    challenge_when: Literal["always", "heightened"] = "heightened"
    impact_assessment_ref: str | None = None
    # Presentation-attack detection. Off only for a replayed camera ("file" or
    # "presentation": demonstrations, tests): judging a replayed file's texture judges
    # the file, not a person. A real camera always has it.
    liveness: bool = True
    # identification (1:N) only: stricter than 1:1, and a lead over the second best
    identification_accept_fmr: Fmr = 1e-5
    identification_margin: float = Field(0.02, ge=0, lt=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        where = f"gate {self.id!r}"
        if (self.door is None) == (self.airlock is None):
            raise ValueError(f"{where}: give exactly one of door or airlock")
        if self.refer_fmr is not None and self.refer_fmr < self.accept_fmr:
            raise ValueError(
                f"{where}: refer_fmr ({self.refer_fmr:g}) must be looser (larger) than "
                f"accept_fmr ({self.accept_fmr:g})"
            )
        if not self.storage:
            raise ValueError(f"{where}: storage lists no template storage type")
        if self.mode is GateMode.IDENTIFICATION:
            if not (self.impact_assessment_ref or "").strip():
                raise ValueError(
                    f"{where}: identification (1:N) is refused without an impact assessment: "
                    "record its reference in impact_assessment_ref"
                )
            if TemplateStorage.SITE_DATABASE not in self.storage:
                raise ValueError(f"{where}: identification needs storage 'site_database'")
            if self.identification_accept_fmr > self.accept_fmr:
                raise ValueError(
                    f"{where}: identification_accept_fmr ({self.identification_accept_fmr:g}) "
                    f"must be at least as strict (small) as accept_fmr ({self.accept_fmr:g})"
                )
        if self.mode is not GateMode.CREDENTIAL_ONLY and self.camera is None:
            raise ValueError(
                f"{where}: mode {self.mode.value!r} is impossible without a camera (the face "
                "is what it checks); a camera-less gate (badge reader and door only) runs "
                'with mode = "credential_only", or give the gate a camera'
            )
        return self


# --- the whole file ----------------------------------------------------------------------


def _duplicates(section: str, ids: list[str]) -> list[str]:
    counts = Counter(ids)
    return [f"{section}: duplicate id {i!r}" for i, n in counts.items() if n > 1]


# --- devices: alarm panels, buttons, call posts, sensors ---------------------------------


class MqttGatewayConfig(_Model):
    """The MQTT device gateway (buttons, emergency call posts, sensors): docs/mqtt.md."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: Secret | None = None
    tls: bool = False


class SiaPanelConfig(_Model):
    """An alarm panel reporting in SIA DC-09 (DCS or ADM-CID), by its account number."""

    account: str = Field(pattern=r"^[0-9A-Fa-f]{3,16}$")
    label: str = ""
    zone: str = ""
    key: Secret | None = None  # AES key as hex (32, 48 or 64 hex digits), by reference
    supervision_s: float | None = Field(None, gt=0)  # periodic test / NULL interval

    def key_bytes(self) -> bytes | None:
        if self.key is None:
            return None
        try:
            key = bytes.fromhex(self.key.get_secret_value())
        except ValueError:
            raise ValueError(f"panel {self.account!r}: the AES key is not hex") from None
        if len(key) not in (16, 24, 32):
            raise ValueError(f"panel {self.account!r}: an AES key has 16, 24 or 32 bytes")
        return key


class SiaReceiverConfig(_Model):
    host: str = "0.0.0.0"  # noqa: S104 (panels on the school network connect to it)
    port: int = Field(12128, ge=1, le=65535)
    udp: bool = True
    panels: list[SiaPanelConfig] = Field(default_factory=list)


class DeviceConfig(_Model):
    """A button, call post or sensor reporting over MQTT or a webhook."""

    id: Id
    kind: Literal["panic_button", "call_post", "sensor"]
    label: str = ""
    zone: str = ""
    supervision_s: float | None = Field(None, gt=0)
    webhook_token: Secret | None = None  # set it for a device that calls a URL


class DevicesConfig(_Model):
    mqtt: MqttGatewayConfig | None = None
    sia: SiaReceiverConfig | None = None
    devices: list[DeviceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        problems = _duplicates("devices", [d.id for d in self.devices])
        if self.sia is not None:
            problems += _duplicates("sia.panels", [p.account.upper() for p in self.sia.panels])
            for panel in self.sia.panels:
                try:
                    panel.key_bytes()
                except ValueError as exc:
                    problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return self


class SiteConfig(_Model):
    cameras: list[Camera] = Field(default_factory=list)
    readers: list[Reader] = Field(default_factory=list)
    doors: list[DoorConfig] = Field(default_factory=list)
    airlocks: list[AirlockConfig] = Field(default_factory=list)
    gates: list[GateConfig] = Field(min_length=1)
    devices: DevicesConfig = Field(default_factory=DevicesConfig)

    def camera(
        self, camera_id: str
    ) -> RtspCamera | MjpegCamera | FileCamera | WebcamCamera | PresentationCamera:
        return next(c for c in self.cameras if c.id == camera_id)

    def reader(self, reader_id: str) -> AnyReader:
        return next(r for r in self.readers if r.id == reader_id)

    def door(self, door_id: str) -> SimulatedDoorConfig | HttpDoorConfig | MqttDoorConfig:
        return next(d for d in self.doors if d.id == door_id)

    def airlock(self, airlock_id: str) -> AirlockConfig:
        return next(a for a in self.airlocks if a.id == airlock_id)

    def gate(self, gate_id: str) -> GateConfig:
        return next(g for g in self.gates if g.id == gate_id)

    @model_validator(mode="after")
    def _references(self) -> Self:
        problems: list[str] = []
        for section in ("cameras", "readers", "doors", "airlocks", "gates"):
            problems += _duplicates(section, [item.id for item in getattr(self, section)])
        cameras = {c.id for c in self.cameras}
        readers = {r.id: r for r in self.readers}
        doors = {d.id: d for d in self.doors}
        airlocks = {a.id for a in self.airlocks}
        for reader in self.readers:
            if isinstance(reader, OsdpReader):
                problems.append(
                    f"reader {reader.id!r}: kind 'osdp' is documented but not implemented yet; "
                    "use wiegand-http"
                )
            if isinstance(reader, QrCameraReader) and reader.camera not in cameras:
                problems.append(f"reader {reader.id!r}: unknown camera {reader.camera!r}")
        in_airlock: dict[str, str] = {}
        for lock in self.airlocks:
            for side in ("outer", "inner"):
                door_id = getattr(lock, side)
                door = doors.get(door_id)
                if door is None:
                    problems.append(f"airlock {lock.id!r}: unknown {side} door {door_id!r}")
                    continue
                if door_id in in_airlock:
                    problems.append(
                        f"airlock {lock.id!r}: door {door_id!r} is already in airlock "
                        f"{in_airlock[door_id]!r}"
                    )
                in_airlock[door_id] = lock.id
                if not door.reports_state:
                    problems.append(
                        f"airlock {lock.id!r}: door {door_id!r} must report its state "
                        "(set state_url): the interlock needs to see it closed"
                    )
        replayed = {c.id for c in self.cameras if c.kind in ("file", "presentation")}
        for gate in self.gates:
            if not gate.liveness and gate.camera not in replayed:
                problems.append(
                    f"gate {gate.id!r}: liveness = false is only for a replayed camera "
                    "(kind 'file' or 'presentation'); a real camera always checks liveness"
                )
        used_by: dict[str, str] = {}
        for gate in self.gates:
            problems += _gate_problems(gate, cameras, readers, doors, airlocks, in_airlock)
            for reader_id in gate.readers:
                if reader_id in used_by and used_by[reader_id] != gate.id:
                    problems.append(
                        f"gate {gate.id!r}: reader {reader_id!r} already serves gate "
                        f"{used_by[reader_id]!r} (one reader, one gate)"
                    )
                used_by.setdefault(reader_id, gate.id)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _gate_problems(
    gate: GateConfig,
    cameras: set[str],
    readers: Mapping[str, AnyReader],
    doors: Mapping[str, object],
    airlocks: set[str],
    in_airlock: Mapping[str, str],
) -> list[str]:
    where = f"gate {gate.id!r}"
    problems = []
    if gate.camera is not None and gate.camera not in cameras:
        problems.append(f"{where}: unknown camera {gate.camera!r}")
    for reader_id in gate.readers:
        if reader_id not in readers:
            problems.append(f"{where}: unknown reader {reader_id!r}")
    if gate.door is not None:
        if gate.door not in doors:
            problems.append(f"{where}: unknown door {gate.door!r}")
        elif gate.door in in_airlock:
            problems.append(
                f"{where}: door {gate.door!r} belongs to airlock {in_airlock[gate.door]!r}; "
                "name the airlock instead"
            )
    if gate.airlock is not None and gate.airlock not in airlocks:
        problems.append(f"{where}: unknown airlock {gate.airlock!r}")
    known = [readers[r] for r in gate.readers if r in readers]
    kinds = {r.kind for r in known} & set(CREDENTIAL_READERS)
    if known and not kinds:
        problems.append(
            f"{where}: no credential reader (qr-camera or wiegand-http); a people counter "
            "only counts who passes"
        )
    if gate.camera is None:
        for reader in known:
            if isinstance(reader, QrCameraReader):
                problems.append(
                    f"{where}: reader {reader.id!r} reads QR codes in a camera's frames; "
                    f'give the gate its camera (camera = "{reader.camera}") or, for a '
                    "camera-less gate, a badge reader (wiegand-http)"
                )
    if kinds and kinds <= set(BADGE_READERS):
        carried = [
            s.value
            for s in gate.storage
            if s in (TemplateStorage.ON_CREDENTIAL, TemplateStorage.KEY_ON_CREDENTIAL)
        ]
        if carried:
            problems.append(
                f"{where}: storage {', '.join(carried)} needs a qr-camera reader "
                "(a badge carries no data)"
            )
    return problems


# --- loading and error messages ----------------------------------------------------------


def parse_site_config(
    text: str,
    *,
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    origin: str = "site configuration",
) -> SiteConfig:
    """Validate TOML text; raises ConfigurationError listing every problem by key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{origin}: not valid TOML ({exc})") from None
    context = {"environ": os.environ if environ is None else environ, "base_dir": base_dir or "."}
    try:
        return SiteConfig.model_validate(data, context=context)
    except ValidationError as exc:
        lines = [_describe(error, data) for error in exc.errors()]
        raise ConfigurationError(
            f"{origin} is invalid:\n" + "\n".join(f"  - {line}" for line in lines)
        ) from None


def load_site_config(path: Path, *, environ: Mapping[str, str] | None = None) -> SiteConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: cannot read the site configuration ({exc})") from None
    return parse_site_config(text, environ=environ, base_dir=path.parent, origin=str(path))


def _describe(error: Any, data: Any) -> str:
    """``gates[1] (entree).door: message``: the key path, with ids where there are ids."""
    path = ""
    node = data
    loc = error["loc"]
    models: list[type[BaseModel]] = [SiteConfig]
    for i, part in enumerate(loc):
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                path += f" ({node['id']})"
            continue
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            models = [m for m in models if _tag(m) == part] or models  # a union member
            continue
        is_last = i == len(loc) - 1
        if not (is_last and error["type"] == "extra_forbidden"):
            models = _field_models(models, part)
        path += f".{part}" if path else part
        node = node.get(part) if isinstance(node, dict) else None
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        allowed = sorted({name for m in models for name in m.model_fields})
        message = "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    return f"{path}: {message}" if path else message


def _tag(model: type[BaseModel]) -> object:
    field = model.model_fields.get("kind")
    if field is None:
        return None
    args = typing.get_args(field.annotation)
    return args[0] if args else None


def _field_models(models: list[type[BaseModel]], name: str) -> list[type[BaseModel]]:
    """The models a field of one of ``models`` may hold (through lists, unions, Optional)."""
    found: list[type[BaseModel]] = []

    def walk(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.append(annotation)
        for arg in typing.get_args(annotation):
            walk(arg)

    for model in models:
        field = model.model_fields.get(name)
        if field is not None:
            walk(field.annotation)
    return found
