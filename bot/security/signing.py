"""Signed tokens: a conversation id alone opens nothing.

A widget session is opened by a server-issued id and a token signed for that id; a rep's
transcript link carries its own token, signed for one conversation until a deadline.
Plain HMAC-SHA256 over the purpose and the value, compared in constant time, so a token
made for one purpose never works for another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import datetime, timezone
from typing import Optional

WIDGET_PREFIX = "w-"  # widget session ids; no other channel may use them


def _mac(key: bytes, purpose: str, value: str) -> str:
    digest = hmac.new(key, f"{purpose}\n{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def new_widget_session(key: bytes) -> tuple[str, str]:
    """A fresh widget session id and the token that proves it is yours."""
    session_id = WIDGET_PREFIX + secrets.token_hex(16)
    return session_id, widget_token(key, session_id)


def widget_token(key: bytes, session_id: str) -> str:
    return _mac(key, "widget-session", session_id)


def widget_token_valid(key: bytes, session_id: str, token: object) -> bool:
    if not isinstance(token, str) or not session_id.startswith(WIDGET_PREFIX):
        return False
    return hmac.compare_digest(widget_token(key, session_id), token)


def transcript_token(key: bytes, conversation_id: str, expires_at: datetime) -> str:
    """A token that opens one conversation's transcript until `expires_at`."""
    encoded = base64.urlsafe_b64encode(conversation_id.encode()).decode().rstrip("=")
    deadline = str(int(expires_at.timestamp()))
    return f"{encoded}.{deadline}.{_mac(key, 'transcript', encoded + '.' + deadline)}"


def read_transcript_token(key: bytes, token: str, now: Optional[datetime] = None) -> Optional[str]:
    """The conversation id a transcript token opens, or None if forged, malformed or expired."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    encoded, deadline, mac = parts
    if not hmac.compare_digest(_mac(key, "transcript", encoded + "." + deadline), mac):
        return None
    now = now or datetime.now(timezone.utc)
    if not deadline.isdigit() or int(deadline) < now.timestamp():
        return None
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
