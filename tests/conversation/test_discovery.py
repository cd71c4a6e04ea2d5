from bot.conversation.discovery import SKIPPED, DiscoverySummary, given, looks_like_question, reflect, restate, search_queries


def test_first_person_is_reflected_in_the_visitors_own_words() -> None:
    assert reflect("Nobody visits our site since we relaunched!") == "Nobody visits your site since you relaunched"
    assert reflect("I'm losing sales and my boss is cross") == "you're losing sales and your boss is cross"


def test_very_long_answers_are_trimmed_for_quoting() -> None:
    reflected = reflect("word " * 200)
    assert len(reflected) <= 240 and reflected.endswith("…")


def test_skipped_and_blank_answers_count_as_missing() -> None:
    assert given(SKIPPED) is None and given("   ") is None and given(None) is None
    assert given(" since march ") == "since march"


def test_restatement_names_problem_symptoms_and_why_it_matters() -> None:
    summary = DiscoverySummary.from_answers(
        "our newsletter goes to spam", "open rates halved since march", "we lose repeat orders", SKIPPED
    )
    assert restate(summary) == (
        "So: your newsletter goes to spam (open rates halved since march), "
        "and it matters because you lose repeat orders."
    )


def test_restatement_with_only_the_problem_and_what_was_tried() -> None:
    summary = DiscoverySummary.from_answers("our site is slow", SKIPPED, None, "we tried a faster host")
    assert restate(summary) == "So: your site is slow. Already tried: a faster host."


def test_search_tries_problem_with_symptoms_then_problem_alone() -> None:
    summary = DiscoverySummary.from_answers("emails go to spam", "since march", None, None)
    assert search_queries(summary) == ["emails go to spam", "emails go to spam since march"]
    assert search_queries(DiscoverySummary("emails go to spam")) == ["emails go to spam"]


def test_questions_are_told_from_answers_by_their_form() -> None:
    assert looks_like_question("how do i check my page speed")
    assert looks_like_question("is that normal?")
    assert not looks_like_question("open rates halved since march")
    assert not looks_like_question("we lose about ten orders a week")


def test_visitor_markdown_never_comes_back_as_the_bots_own_link_or_formatting() -> None:
    from bot.conversation.discovery import DiscoverySummary, restate

    summary = DiscoverySummary.from_answers(
        "our [your status page](https://evil.example/login) is **down**", "see `<b>x</b>` and http://evil.example",
        None, None,
    )
    said = restate(summary)
    for markup in ("[", "](", "**", "`", "<", "https://", "http://"):
        assert markup not in said, markup
    assert "your status page" in said and "evil.example/login" in said  # the words stay, as plain text
