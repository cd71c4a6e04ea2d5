import asyncio

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_integration.sentence_featurizer import SentenceEmbeddingFeaturizer


def featurizer(**config) -> SentenceEmbeddingFeaturizer:
    full = {**SentenceEmbeddingFeaturizer.get_default_config(), **config}
    return SentenceEmbeddingFeaturizer(full, ExecutionContext(GraphSchema({}), node_name="embedding"))


def sentence_vector(message: Message) -> np.ndarray:
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None  # the classifier reads sentence features only
    return sentence.features[0]


def test_each_message_gets_a_scaled_embedding_that_follows_its_meaning() -> None:
    messages = [Message({TEXT: t}) for t in ("yes please go on", "sure, continue", "what do you charge per month")]
    featurizer(scale=10).process(messages)
    vectors = [sentence_vector(m) for m in messages]
    assert all(v.shape == (384,) for v in vectors)
    assert all(np.linalg.norm(v) == pytest.approx(10, rel=1e-4) for v in vectors)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > unrelated


def test_training_examples_are_featurized_and_empty_texts_left_alone() -> None:
    data = TrainingData([Message({TEXT: "our posts get no likes", "intent": "describe_problem"}), Message({"intent": "x"})])
    featurizer(scale=1).process_training_data(data)
    first, empty = data.training_examples
    assert np.linalg.norm(sentence_vector(first)) == pytest.approx(1, rel=1e-4)
    assert empty.get_dense_features(TEXT) == (None, None)


@pytest.mark.parametrize("scale", [0, -1, "ten", None])
def test_a_bad_scale_is_refused(scale) -> None:
    with pytest.raises(InvalidConfigException, match="scale"):
        featurizer(scale=scale)


def test_a_message_embedded_ahead_is_not_encoded_again_and_gets_the_same_vector(monkeypatch) -> None:
    from bot.knowledge.embeddings import shared_encoder
    from bot.rasa_integration import sentence_featurizer

    text = "our newsletter lands in spam since we moved provider"
    inline = Message({TEXT: text})
    featurizer(scale=10).process([inline])

    asyncio.run(sentence_featurizer.embed_ahead(text))
    encoded: list[list[str]] = []
    encode = shared_encoder().encode
    monkeypatch.setattr(shared_encoder(), "encode", lambda texts: encoded.append(list(texts)) or encode(texts))
    ahead, other = Message({TEXT: text}), Message({TEXT: "what do you charge"})
    featurizer(scale=10).process([ahead, other])

    assert encoded == [["what do you charge"]]  # only the one not embedded ahead
    np.testing.assert_array_equal(sentence_vector(ahead), sentence_vector(inline))
    featurizer(scale=10).process([Message({TEXT: text})])
    assert encoded[-1] == [text]  # a vector made ahead is used once, then forgotten


def test_commands_are_not_embedded_ahead_and_what_waits_is_bounded(monkeypatch) -> None:
    from bot.rasa_integration import sentence_featurizer

    monkeypatch.setattr(sentence_featurizer, "READY_LIMIT", 3)
    monkeypatch.setattr(sentence_featurizer, "_ready", sentence_featurizer.OrderedDict())

    async def send(*texts: str) -> None:
        for text in texts:
            await sentence_featurizer.embed_ahead(text)

    asyncio.run(send("/greet", "", "one", "two", "three", "four"))
    assert list(sentence_featurizer._ready) == ["two", "three", "four"]


def test_a_text_two_visitors_send_at_once_is_embedded_once_and_serves_both(monkeypatch) -> None:
    from bot.knowledge.embeddings import shared_encoder
    from bot.rasa_integration import sentence_featurizer

    monkeypatch.setattr(sentence_featurizer, "_ready", sentence_featurizer.OrderedDict())
    encoded: list[list[str]] = []
    encode = shared_encoder().encode
    monkeypatch.setattr(shared_encoder(), "encode", lambda texts: encoded.append(list(texts)) or encode(texts))

    async def two_visitors() -> None:
        await asyncio.gather(sentence_featurizer.embed_ahead("yes"), sentence_featurizer.embed_ahead("yes"))

    asyncio.run(two_visitors())
    first, second = Message({TEXT: "yes"}), Message({TEXT: "yes"})
    featurizer().process([first])
    featurizer().process([second])
    assert encoded == [["yes"]]
    np.testing.assert_array_equal(sentence_vector(first), sentence_vector(second))
    assert "yes" not in sentence_featurizer._ready


def test_a_channel_handler_embeds_first_then_hands_rasa_the_same_message(monkeypatch) -> None:
    from rasa.core.channels.channel import UserMessage

    from bot.rasa_integration import sentence_featurizer

    monkeypatch.setattr(sentence_featurizer, "_ready", sentence_featurizer.OrderedDict())
    handled: list[tuple[UserMessage, bool]] = []

    async def on_new_message(message: UserMessage) -> str:
        handled.append((message, message.text in sentence_featurizer._ready))
        return "done"

    message = UserMessage("how do we get more reviews", sender_id="visitor")
    assert asyncio.run(sentence_featurizer.embedding_first(on_new_message)(message)) == "done"
    assert handled == [(message, True)]


def test_a_failure_to_embed_ahead_does_not_stop_the_message(monkeypatch, caplog) -> None:
    from rasa.core.channels.channel import UserMessage

    from bot.rasa_integration import sentence_featurizer

    def broken(text: str) -> None:
        raise RuntimeError("encoder missing")

    monkeypatch.setattr(sentence_featurizer, "_embed_into_ready", broken)
    handled: list[str] = []

    async def on_new_message(message: UserMessage) -> None:
        handled.append(message.text)

    asyncio.run(sentence_featurizer.embedding_first(on_new_message)(UserMessage("hello there", sender_id="v")))
    assert handled == ["hello there"]
    assert "NLU will encode it itself" in caplog.text
