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
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

import numpy as np
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
        # One batch for all of them: training encodes thousands of examples at once.
        vectors = shared_encoder().encode([m.get(TEXT) for m in messages]) * np.float32(self.scale)
        for message, vector in zip(messages, vectors):
            self.add_features_to_message(sequence=None, sentence=vector[np.newaxis, :], attribute=TEXT, message=message)
