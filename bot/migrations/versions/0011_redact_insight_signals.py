"""Insight signals' texts (the visitors' words the dashboard shows) redacted like content gaps:
emails, card-like numbers and phone numbers masked. From here on `record_signals` stores them
redacted; this masks those stored before.

The patterns are copied from bot/privacy/redact.py as they are at this revision, so the
migration does not change when the application does. There is no way back: the downgrade
leaves the texts masked.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
import re

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\d ().-]{5,18})\d(?!\w)")
BATCH = 5000

signals = sa.table("insight_signals", sa.column("id", sa.Integer), sa.column("text", sa.Text))


def _phone(match: "re.Match[str]") -> str:
    digits = sum(c.isdigit() for c in match.group(0))
    return "[phone]" if 7 <= digits <= 15 else match.group(0)


def redact(text: str) -> str:
    text = EMAIL.sub("[email]", text)
    text = CARD.sub("[number]", text)
    return PHONE.sub(_phone, text)


def upgrade() -> None:
    bind = op.get_bind()
    change = signals.update().where(signals.c.id == sa.bindparam("row_id")).values(text=sa.bindparam("masked"))
    last = 0
    while True:
        rows = bind.execute(
            sa.select(signals.c.id, signals.c.text)
            .where(signals.c.id > last, signals.c.text.is_not(None))
            .order_by(signals.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        masked = [{"row_id": row_id, "masked": new} for row_id, text in rows if (new := redact(text)) != text]
        if masked:
            bind.execute(change, masked)


def downgrade() -> None:
    pass  # masked text cannot be unmasked
