"""The SignedSystemToken: `<token>.<yyyyMMddHHmm>.<base64 RSA-SHA256 PKCS#1 v1.5 signature>`.

Vendor doc: docs/en/api/authentication/online/auth-application/sign-system-user-token.md
(the prose writes `YYYYMMddhhmm`; every code sample there uses a 24-hour hour).
"""

from __future__ import annotations

import base64
from datetime import datetime, timezone

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

TIMESTAMP_FORMAT = "%Y%m%d%H%M"


def timestamp(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime(TIMESTAMP_FORMAT)


def signed_system_token(system_user_token: str, key: rsa.RSAPrivateKey, now: datetime) -> str:
    data = f"{system_user_token}.{timestamp(now)}"
    signature = key.sign(data.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return f"{data}.{base64.b64encode(signature).decode('ascii')}"
