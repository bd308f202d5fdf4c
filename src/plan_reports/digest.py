"""SHA-256 for file identity and cache keys, without hashlib's OpenSSL start-up (5-8 ms a command)."""

from __future__ import annotations

try:
    from _sha256 import sha256  # CPython's built-in implementation (Python 3.11)
except ImportError:  # pragma: no cover - renamed in later Pythons
    from hashlib import sha256

__all__ = ["sha256"]
