"""The platform's signatures, checked in constant time (wechatpy compares with !=)."""
from __future__ import annotations

import hashlib
import hmac


def sign(*parts: str) -> str:
    """sha1 of the sorted concatenation, as the platform computes signature and msg_signature."""
    return hashlib.sha1("".join(sorted(str(p) for p in parts)).encode("utf-8")).hexdigest()


def matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a computed signature with the one in the request."""
    if not given:
        return False
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("ascii",
                                                                                       "replace"))
