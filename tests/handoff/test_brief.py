import json
from datetime import datetime, timezone

from bot.handoff.brief import Contact, LeadBrief, slack_blocks
from bot.handoff.leads import Announcement
from bot.security.signing import read_transcript_token

CONTACT = Contact("Dana Reyes", "dana@harbourfoods.example", "Harbour Foods", "call")


def test_the_slack_brief_masks_personal_data_in_the_visitors_free_text_but_keeps_the_contact() -> None:
    brief = LeadBrief(
        problem="our card 4111 1111 1111 1111 was charged twice, mail ops@harbourfoods.example",
        symptoms="call my colleague on +44 20 7946 0958", why_it_matters_to_them=None, already_tried=None,
        intent_evidence="quote please, reach me at dana.private@gmail.example",
    )
    text = json.dumps(slack_blocks(7, CONTACT, brief, "https://x.example/t"))
    for secret in ("4111 1111 1111 1111", "ops@harbourfoods.example", "7946 0958", "dana.private@gmail.example"):
        assert secret not in text
    assert "[number]" in text and "[phone]" in text and "[email]" in text
    assert "dana@harbourfoods.example" in text and "Dana Reyes" in text  # the lead's own contact fields


def test_the_transcript_link_is_its_own_expiring_signed_access() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=timezone.utc)
    announcement = Announcement((), "https://rasa.example/webhooks/widget/transcript/{token}", "https://rasa.example",
                                b"k" * 32, transcript_link_hours=72)
    url = announcement.transcript_url("w-" + "a" * 32, now=now)
    token = url.rsplit("/", 1)[1]
    assert "w-" + "a" * 32 not in url
    assert read_transcript_token(b"k" * 32, token, now=now) == "w-" + "a" * 32
    assert read_transcript_token(b"k" * 32, token, now=now.replace(day=5)) is None  # 72 hours later: gone
