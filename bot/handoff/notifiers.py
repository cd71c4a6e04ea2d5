"""Thin clients for the rep channels: a Slack incoming webhook and a signed JSON webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Optional, Protocol

import requests

SIGNATURE_HEADER = "X-Lantern-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
TIMESTAMP_HEADER = "X-Lantern-Timestamp"


class DeliveryError(Exception):
    """The target did not accept the notification; the worker will retry."""


class Notifier(Protocol):
    def send(self, payload: dict[str, Any], idempotency_key: str, timestamp: int) -> None: ...


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex, prefixed "sha256=" (what receivers verify)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    try:
        response = requests.post(url, data=body, headers=headers, timeout=timeout)
    except requests.RequestException as error:
        raise DeliveryError(f"{error.__class__.__name__}: {error}") from error
    if response.status_code >= 300:
        raise DeliveryError(f"HTTP {response.status_code}: {response.text[:200]}")


class SlackWebhookNotifier:
    """Posts Block Kit messages to a Slack incoming webhook."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url, self.timeout = url, timeout

    def send(self, payload: dict[str, Any], idempotency_key: str, timestamp: int) -> None:
        # Slack doesn't dedupe webhooks; the key still travels for proxies and logs.
        body = json.dumps(payload).encode()
        _post(self.url, body, {"Content-Type": "application/json", IDEMPOTENCY_HEADER: idempotency_key}, self.timeout)


class SignedWebhookNotifier:
    """Posts JSON with an HMAC signature and an idempotency key the receiver can dedupe on."""

    def __init__(self, url: str, secret: Optional[str], timeout: float = 5.0) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout

    def send(self, payload: dict[str, Any], idempotency_key: str, timestamp: int) -> None:
        body = json.dumps(payload, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: idempotency_key,
            TIMESTAMP_HEADER: str(timestamp),
        }
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, timestamp, body)
        _post(self.url, body, headers, self.timeout)
