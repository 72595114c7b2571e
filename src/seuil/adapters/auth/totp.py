"""RFC 6238 time-based one-time codes (pyotp): 6 digits, 30 s, one step of drift."""

from __future__ import annotations

from datetime import datetime

import pyotp


class TotpCodes:
    def new_secret(self) -> str:
        return pyotp.random_base32()

    def verify(self, secret: str, code: str, at: datetime) -> bool:
        code = code.strip().replace(" ", "")
        if not (code.isdigit() and len(code) == 6):
            return False
        return pyotp.TOTP(secret).verify(code, for_time=at, valid_window=1)

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)
