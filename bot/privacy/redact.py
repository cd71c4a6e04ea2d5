"""Masking personal data in free text: email addresses, phone numbers, card-like numbers.

Used where visitor text goes beyond the lead's own contact fields: logs, content gaps,
insights and anything sent to Slack. Deliberately eager: a masked order number costs
less than a logged card number.
"""

from __future__ import annotations

import logging
import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# 13-19 digits, optionally grouped by spaces or dashes: the shape of a payment card.
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# An optional +, then 7-15 digits with the usual separators: phone numbers worldwide.
PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\d ().-]{5,18})\d(?!\w)")


def redact(text: str) -> str:
    """`text` with emails, card-like numbers and phone numbers replaced by placeholders."""
    text = EMAIL.sub("[email]", text)
    text = CARD.sub("[number]", text)
    return PHONE.sub(_phone, text)


def _phone(match: re.Match[str]) -> str:
    digits = sum(c.isdigit() for c in match.group(0))
    return "[phone]" if 7 <= digits <= 15 else match.group(0)


_installed = False


def install_log_redaction() -> None:
    """Mask personal data in every log record this process creates, whoever set up the handlers.

    A record factory rather than a handler filter: Rasa and Sanic replace their handlers
    at start-up, the factory stays.
    """
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's problem, not ours
            return record
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    logging.setLogRecordFactory(redacting_record)
    _installed = True
