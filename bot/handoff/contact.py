"""Checks on what a visitor types into the lead form. Each returns the clean value or a reason."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

MAX_NAME_CHARS = 100
MAX_COMPANY_CHARS = 150
# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is the rep's test.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_HAS_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
FOLLOW_UPS = {"email": "email", "e-mail": "email", "mail": "email", "call": "call", "phone": "call",
              "ring": "call", "chat": "chat now", "chat now": "chat now", "now": "chat now"}


@dataclass(frozen=True)
class Checked:
    value: Optional[str] = None
    reason: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.value is not None


def check_name(text: str) -> Checked:
    name = " ".join(text.split())
    if not name or not _HAS_LETTER.search(name) or name.startswith("/"):
        return Checked(reason="I didn't catch a name there.")
    if len(name) > MAX_NAME_CHARS:
        return Checked(reason=f"That's longer than I can store ({MAX_NAME_CHARS} characters); a shorter form is fine.")
    return Checked(name)


def check_email(text: str) -> Checked:
    email = text.strip().strip("<>").strip()
    if " " in email or "@" not in email:
        return Checked(reason="That doesn't look like an email address: it needs an @, as in name@company.com.")
    local, _, domain = email.rpartition("@")
    if not local or len(email) > 254:
        return Checked(reason="The part before the @ is missing or the address is too long.")
    if not _EMAIL.match(email):
        return Checked(reason=f"The part after the @ (\"{domain}\") isn't a valid domain, as in company.com.")
    return Checked(f"{local}@{domain.lower()}")


def check_company(text: str) -> Checked:
    """Optional and free-form: trimmed to what the lead row stores rather than refused."""
    company = " ".join(text.split())[:MAX_COMPANY_CHARS]
    return Checked(company) if company else Checked(reason="I didn't catch a company name.")


def check_follow_up(text: str) -> Checked:
    words = text.strip().lower().lstrip("/")
    for key in sorted(FOLLOW_UPS, key=len, reverse=True):
        if re.search(rf"\b{re.escape(key)}\b", words):
            return Checked(FOLLOW_UPS[key])
    return Checked(reason="Please choose email, a call, or chat now.")
