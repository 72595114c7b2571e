"""The one exception root of seuil and its specific subclasses.

Each subclass carries a stable ``code`` (used by the API's problem responses and
by the CLI's exit codes) and a message meant for the person who will read it.
"""

from __future__ import annotations


class SeuilError(Exception):
    """Root of every error that seuil raises on purpose."""

    code = "seuil_error"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidImageError(SeuilError):
    """The bytes are not an image we can decode (corrupt, truncated, not an image)."""

    code = "invalid_image"
    exit_code = 3


class ImageTooLargeError(InvalidImageError):
    """The image is larger than the configured pixel or byte limit."""

    code = "image_too_large"


class ModelUnavailableError(SeuilError):
    """A face model file or backend cannot be found or loaded."""

    code = "model_unavailable"
    exit_code = 4


class ModelConversionError(ModelUnavailableError):
    """Converting a model (e.g. dlib to ONNX) failed or gave a wrong checksum."""

    code = "model_conversion_failed"


class ConfigurationError(SeuilError):
    """Settings are missing, invalid or contradictory."""

    code = "configuration_error"
    exit_code = 2


class DataFormatError(SeuilError):
    """An input file (pairs list, CSV, roster) is malformed."""

    code = "data_format_error"
    exit_code = 2


class NotFoundError(SeuilError):
    """A person, credential or record does not exist."""

    code = "not_found"
    exit_code = 5


class ConsentRequiredError(SeuilError):
    """Biometric processing was asked for a person without current consent."""

    code = "consent_required"
    exit_code = 6


class CredentialRejectedError(SeuilError):
    """A credential cannot be used; ``reason`` is a domain CheckResult value."""

    code = "credential_rejected"
    exit_code = 7

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ConflictError(SeuilError):
    """The request contradicts the current state (duplicate id, person already left...)."""

    code = "conflict"
    exit_code = 8


class StorageUnavailableError(SeuilError):
    """The database cannot be reached or refused the operation; nothing was applied."""

    code = "storage_unavailable"
    exit_code = 9


class AuditChainBrokenError(SeuilError):
    """The audit trail's hash chain does not verify: an entry was edited or deleted."""

    code = "audit_chain_broken"
    exit_code = 10


class DecryptionError(SeuilError):
    """An encrypted blob does not decrypt: wrong key, tampered, or bound to another person."""

    code = "decryption_failed"
    exit_code = 11


class DeviceError(SeuilError):
    """A device (door, relay, reader, camera) cannot be reached or refused a command.

    ``device`` names it (a door id, never a URL with its secrets).
    """

    code = "device_error"
    exit_code = 12

    def __init__(self, message: str, device: str = "") -> None:
        super().__init__(message)
        self.device = device


class EntranceCommandError(DeviceError):
    """Some doors did not take a site-wide command (PPMS lock or egress release).

    Every door was tried before this is raised; ``failures`` holds one
    :class:`DeviceError` per door that failed, the others did take the command.
    """

    code = "entrance_command_failed"

    def __init__(self, message: str, failures: tuple[DeviceError, ...]) -> None:
        super().__init__(message, ", ".join(f.device for f in failures))
        self.failures = failures


class NotificationError(SeuilError):
    """A notification could not be delivered (SMTP refused, SMS provider down...).

    ``transient`` says whether a retry may succeed; a permanent failure (bad address)
    is shown as failed at once.
    """

    code = "notification_failed"
    exit_code = 13

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class PermissionDeniedError(SeuilError):
    """The account's role does not allow this action."""

    code = "permission_denied"
    exit_code = 14


class AuthenticationError(SeuilError):
    """Wrong user name, password, second factor or token (never says which)."""

    code = "authentication_failed"
    exit_code = 15
