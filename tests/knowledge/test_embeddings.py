"""The MiniLM encoder search and NLU use (ONNX Runtime, bot/knowledge/embeddings.py). The float32
graph is checked against published similarities and against the independent numpy implementation
(bot/evaluation/embeddings.py); the int8 graph the servers run, against the float32 one."""

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.evaluation.embeddings import NumpySentenceEncoder
from bot.knowledge.embeddings import SentenceEncoder, encoder_id, served_encoder_id

# The example in the sentence-transformers documentation for all-MiniLM-L6-v2, with the
# similarities it prints there (computed by PyTorch): an independent reference.
SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
PUBLISHED_SIMILARITIES = np.array([[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]])
VARIED_TEXTS = [
    *SENTENCES,
    "our emails end up in spam",
    "Wie viel kostet eine Website? ¿Cuánto cuesta?",
    "a",
    "Why conversion rates drop after a redesign. Checklist. " * 40,  # longer than the 256-piece limit
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A fresh cache folder: the graph is written from the installed weights by these tests.
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def encoder(cache_dir: Path) -> SentenceEncoder:
    return SentenceEncoder.from_installed_package(cache_dir=cache_dir)


@pytest.fixture(scope="module")
def float_encoder(cache_dir: Path) -> SentenceEncoder:
    return SentenceEncoder.from_installed_package(cache_dir=cache_dir, quantized=False)


@pytest.fixture(scope="module")
def reference() -> NumpySentenceEncoder:
    return NumpySentenceEncoder.from_installed_package()


def test_each_graph_is_cached_by_the_weights_digest(
    encoder: SentenceEncoder, float_encoder: SentenceEncoder, cache_dir: Path
) -> None:
    prefix = f"all-minilm-l6-v2-{encoder.model_digest[:16]}-v1"
    assert sorted(p.name for p in cache_dir.iterdir()) == [f"{prefix}-int8.onnx", f"{prefix}.onnx"]


def test_int8_and_float32_vectors_are_filed_apart(encoder: SentenceEncoder, float_encoder: SentenceEncoder) -> None:
    assert encoder.vector_key("spam") != float_encoder.vector_key("spam")
    # What the NLU model's training fingerprint names (bot/rasa_integration/training.py): the int8 encoder.
    assert encoder.encoder_id == encoder_id(encoder.model_digest) == served_encoder_id()


@pytest.mark.parametrize("implementation", ["onnx", "numpy"])
def test_reproduces_the_published_similarities(
    implementation: str, float_encoder: SentenceEncoder, reference: NumpySentenceEncoder
) -> None:
    vectors = (float_encoder if implementation == "onnx" else reference).encode(SENTENCES)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(vectors @ vectors.T, PUBLISHED_SIMILARITIES, atol=5e-4)


def test_onnx_graph_gives_the_numpy_encoders_vectors(
    float_encoder: SentenceEncoder, reference: NumpySentenceEncoder
) -> None:
    cosines = (float_encoder.encode(VARIED_TEXTS) * reference.encode(VARIED_TEXTS)).sum(axis=1)
    assert cosines.min() > 0.9999


def test_int8_graph_stays_close_to_the_float32_one(encoder: SentenceEncoder, float_encoder: SentenceEncoder) -> None:
    # Measured: 0.98 to 0.995 on short messages. Ranking and the answerability gate were
    # re-measured with it (make eval-kb, make eval-nlu; docs/performance.md).
    cosines = (encoder.encode(VARIED_TEXTS) * float_encoder.encode(VARIED_TEXTS)).sum(axis=1)
    assert cosines.min() > 0.97
    vectors = encoder.encode(SENTENCES)
    np.testing.assert_allclose(vectors @ vectors.T, PUBLISHED_SIMILARITIES, atol=0.03)


@pytest.mark.parametrize("graph", ["int8", "float32"])
def test_other_texts_in_the_call_do_not_change_a_vector(
    graph: str, encoder: SentenceEncoder, float_encoder: SentenceEncoder
) -> None:
    # Beside a much longer text, a short one is padded (float32: the mask must hide the
    # padding) or run on its own (int8: a batch would share one activation scale).
    chosen = encoder if graph == "int8" else float_encoder
    long_text = "Our newsletter goes to the spam folder of most subscribers since we changed provider. " * 5
    alone = chosen.encode([SENTENCES[0]])[0]
    batched = chosen.encode([SENTENCES[0], long_text, SENTENCES[1]])[0]
    np.testing.assert_allclose(batched, alone, atol=1e-5)


class ThreadRecordingSession:
    """The encoder's ONNX session, noting which thread each run is on."""

    def __init__(self, session: Any) -> None:
        self.session, self.threads = session, set()

    def run(self, *args: Any) -> Any:
        self.threads.add(threading.current_thread().name)
        return self.session.run(*args)


@pytest.mark.parametrize("graph", ["int8", "float32"])
def test_many_texts_encoded_on_several_threads_get_the_vectors_of_one_thread(
    graph: str, encoder: SentenceEncoder, float_encoder: SentenceEncoder, monkeypatch
) -> None:
    import bot.knowledge.embeddings as embeddings

    chosen = encoder if graph == "int8" else float_encoder
    texts = [f"{VARIED_TEXTS[n % len(VARIED_TEXTS)]} ({n})" for n in range(80)]
    monkeypatch.setattr(embeddings, "usable_cores", lambda: 3)
    monkeypatch.setattr(embeddings, "PARALLEL_FROM", len(texts) + 1)
    one_thread = chosen.encode(texts)
    monkeypatch.setattr(embeddings, "PARALLEL_FROM", len(texts))
    session = ThreadRecordingSession(chosen.session)
    monkeypatch.setattr(chosen, "session", session)
    np.testing.assert_array_equal(chosen.encode(texts), one_thread)
    assert len(session.threads) > 1 and all(name.startswith("encode") for name in session.threads)


def test_a_paraphrase_is_closer_than_an_unrelated_question(encoder: SentenceEncoder) -> None:
    query, paraphrase, unrelated = encoder.encode(
        ["our emails end up in spam", "newsletters land in the junk folder", "best email client for linux"]
    )
    assert query @ paraphrase > query @ unrelated
    assert np.allclose(np.linalg.norm([query, paraphrase, unrelated], axis=1), 1.0, atol=1e-5)


def test_a_query_searched_again_at_once_is_encoded_once(encoder: SentenceEncoder, monkeypatch) -> None:
    calls: list[list[str]] = []
    encode = encoder.encode
    monkeypatch.setattr(encoder, "encode", lambda texts: calls.append(list(texts)) or encode(texts))
    first = encoder.encode_query("how do i lead a team meeting?")
    again = encoder.encode_query("how do i lead a team meeting?")
    other = encoder.encode_query("our emails end up in spam")
    assert calls == [["how do i lead a team meeting?"], ["our emails end up in spam"]]
    assert again is first and not first.flags.writeable
    np.testing.assert_allclose(other, encode(["our emails end up in spam"])[0])
