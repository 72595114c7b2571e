"""Password hashing (argon2id) and TOTP codes (pyotp) for staff accounts."""

from seuil.adapters.auth.argon2_hasher import Argon2Hasher
from seuil.adapters.auth.totp import TotpCodes

__all__ = ["Argon2Hasher", "TotpCodes"]
