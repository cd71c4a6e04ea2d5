import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.sentence_featurizer import SentenceEmbeddingFeaturizer


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
