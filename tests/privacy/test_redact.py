import logging

import pytest

from bot.privacy.redact import install_log_redaction, redact


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mail me at ana.lopez+x@example.co.uk please", "mail me at [email] please"),
        ("call +44 20 7946 0958 after 5", "call [phone] after 5"),
        ("my number is (555) 123-4567", "my number is [phone]"),
        ("card 4111 1111 1111 1111 exp 12/29", "card [number] exp 12/29"),
        ("card 4111-1111-1111-1111", "card [number]"),
        ("open rates halved since march, 3 likes a post", "open rates halved since march, 3 likes a post"),
        ("we get 1200 visits a month", "we get 1200 visits a month"),
    ],
)
def test_emails_phones_and_card_numbers_are_masked_and_ordinary_numbers_are_not(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_log_records_are_masked_whoever_set_up_the_handlers(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("visitor said %s", "write to ana@example.com")
    assert "ana@example.com" not in caplog.text and "[email]" in caplog.text
