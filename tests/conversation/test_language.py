import pytest

from bot.conversation.language import looks_english


@pytest.mark.parametrize("text", [
    "how much do you charge for seo?", "ok", "yes", "", "Email", "hi 👋", "la la land of leads is our problem",
    "our bounce rate is 80% on mobile", "Priya", "priya@harbourdental.co.uk",
])
def test_english_and_short_answers_count_as_english(text: str) -> None:
    assert looks_english(text)


@pytest.mark.parametrize("text", [
    "¿Cuánto cobráis por llevar las redes sociales de una tienda pequeña?",
    "Hallo, was kostet bei euch Social-Media-Betreuung für eine Physiopraxis?",
    "Pouvez-vous m'envoyer un devis pour trois articles de blog par mois ?",
    "Czy mogę porozmawiać z kimś z waszego zespołu o wdrożeniu analityki?",
    "我们的网站流量下降了",
    "Кто может помочь с рекламой?",
])
def test_other_languages_are_recognised(text: str) -> None:
    assert not looks_english(text)


def test_a_message_with_few_function_words_is_still_recognised() -> None:
    assert not looks_english("i vendite dal sito sono calate da quando abbiamo cambiato hosting, circa due mesi fa")
