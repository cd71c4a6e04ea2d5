"""A Rasa NLU featurizer: the message's MiniLM sentence embedding, beside the n-gram counts.

The same encoder as knowledge-base search (bot/knowledge/embeddings.py, ONNX Runtime,
weights from an installed package). Word and character n-grams catch wording; the
embedding catches meaning that shares no words with the training examples ("carry on"
vs "go on"). Together they cross-validate at about 0.93 macro-F1 against 0.84 for the
n-grams alone (docs/nlu.md).

Only a sentence-level vector is added: the logistic-regression classifier reads sentence
features and nothing else. The vector is unit length while a message's n-gram count
vector is about 9 long, so it is scaled (`scale`) or the classifier would barely see it;
the value was chosen by cross-validation.

Rasa runs the NLU pipeline on the Rasa server's one event-loop thread, so everything in
it waits in line on one core. ONNX Runtime lets go of Python's lock while it computes,
so the channels call `embed_ahead` (through `embedding_first`) as a message arrives: the
vector is computed on a worker thread, on the other core, while the event loop gets on
with other visitors' turns, and the featurizer takes it from there (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, TypeVar

import numpy as np
from rasa.core.channels.channel import UserMessage
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.knowledge.embeddings import shared_encoder

logger = logging.getLogger(__name__)

# Vectors computed ahead, by text, with the number of messages still to take each: two
# visitors may send "yes" at once. Bounded: a message that never reaches NLU (one refused
# by a channel, say) is dropped eventually.
READY_LIMIT = 256
_ready: "OrderedDict[str, tuple[np.ndarray, int]]" = OrderedDict()
_ready_lock = threading.Lock()
_embedding_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lantern-embed")
T = TypeVar("T")


def _embed_into_ready(text: str) -> None:
    with _ready_lock:
        waiting = _ready.get(text)
        if waiting is not None:  # the same text is on its way already: one vector serves both
            _ready[text] = (waiting[0], waiting[1] + 1)
            return
    vector = shared_encoder().encode([text])[0]
    with _ready_lock:
        _, count = _ready.get(text, (vector, 0))
        _ready[text] = (vector, count + 1)
        while len(_ready) > READY_LIMIT:
            _ready.popitem(last=False)


def _take_ready(texts: List[str]) -> Dict[str, np.ndarray]:
    taken: Dict[str, np.ndarray] = {}
    with _ready_lock:
        for text in set(texts):
            if text in _ready:
                vector, count = _ready.pop(text)
                if count > 1:
                    _ready[text] = (vector, count - 1)
                taken[text] = vector
    return taken


async def embed_ahead(text: Optional[str]) -> None:
    """Compute `text`'s embedding on the worker thread, for the featurizer to find.

    Never raises: if it fails, the featurizer encodes the text itself, as without it.
    """
    if not text or text.startswith("/"):  # "/intent" commands skip NLU
        return
    try:
        await asyncio.get_running_loop().run_in_executor(_embedding_thread, _embed_into_ready, text)
    except Exception:  # a speed-up must not cost a visitor's message
        logger.exception("could not embed a message ahead; NLU will encode it itself")


def embedding_first(on_new_message: Callable[[UserMessage], Awaitable[T]]) -> Callable[[UserMessage], Awaitable[T]]:
    """A channel's message handler that embeds the text ahead before Rasa handles the message."""

    async def handle(message: UserMessage) -> T:
        await embed_ahead(message.text)
        return await on_new_message(message)

    return handle


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a scaled MiniLM embedding of each message's text as a sentence feature."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config(), "scale": 10.0}

    def __init__(self, config: Dict[Text, Any], execution_context: ExecutionContext) -> None:
        super().__init__(execution_context.node_name, config)
        self.scale = float(self._config["scale"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SentenceEmbeddingFeaturizer":
        return cls(config, execution_context)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        scale = config.get("scale")
        if not isinstance(scale, (int, float)) or scale <= 0:
            raise InvalidConfigException(f"SentenceEmbeddingFeaturizer: 'scale' must be a positive number, got {scale!r}")

    def process(self, messages: List[Message]) -> List[Message]:
        self._featurize([m for m in messages if m.get(TEXT)])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self._featurize([m for m in training_data.training_examples if m.get(TEXT)])
        return training_data

    def _featurize(self, messages: List[Message]) -> None:
        if not messages:
            return
        texts = [m.get(TEXT) for m in messages]
        vectors = _take_ready(texts)
        missing = [text for text in dict.fromkeys(texts) if text not in vectors]
        if missing:  # one call for all of them: training encodes thousands of examples at once
            vectors.update(zip(missing, shared_encoder().encode(missing)))
        for message, text in zip(messages, texts):
            sentence = vectors[text][np.newaxis, :] * np.float32(self.scale)
            self.add_features_to_message(sequence=None, sentence=sentence, attribute=TEXT, message=message)
