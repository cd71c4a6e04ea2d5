"""Reference implementation of the all-MiniLM-L6-v2 encoder in plain numpy (no PyTorch).

The product runs the same model with ONNX Runtime (bot/knowledge/embeddings.py). This
numpy version was the first one measured (docs/search.md) and stays as an independent
check of the ONNX graph: tests/knowledge/test_embeddings.py requires both to give the
same vectors. Tokenisation, batching and pooling are shared with the product module;
the transformer itself is written here again, op by op, on purpose.

Reference check (tests/knowledge/test_embeddings.py): the sentence-transformers
documentation lists the cosine similarities this model gives three example sentences;
this implementation reproduces them to four decimals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.special import erf

from bot.knowledge.embeddings import installed_model_dir, load_tokenizer, mean_pooled_unit_vectors, token_batches


@dataclass(frozen=True)
class _Layer:
    """One transformer block; matrices are stored transposed so that `x @ w` applies them."""

    query_key_value: tuple[np.ndarray, np.ndarray]  # the three projections side by side: one product
    attention_out: tuple[np.ndarray, np.ndarray]
    attention_norm: tuple[np.ndarray, np.ndarray]
    feed_forward_in: tuple[np.ndarray, np.ndarray]
    feed_forward_out: tuple[np.ndarray, np.ndarray]
    output_norm: tuple[np.ndarray, np.ndarray]


def _layer_norm(x: np.ndarray, weight_bias: tuple[np.ndarray, np.ndarray], eps: float) -> np.ndarray:
    weight, bias = weight_bias
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


def _dense(x: np.ndarray, weight_bias: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    weight, bias = weight_bias
    return x @ weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's "gelu" is the exact, erf-based one (not the tanh approximation).
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class NumpySentenceEncoder:
    """Turns texts into unit-length 384-dimensional vectors; cosine similarity is a dot product."""

    def __init__(self, model_dir: Path) -> None:
        from safetensors.numpy import load_file

        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.heads: int = config["num_attention_heads"]
        self.eps: float = config["layer_norm_eps"]
        self.dimension: int = config["hidden_size"]
        if config["hidden_act"] != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"unsupported model configuration in {model_dir}")

        self.tokenizer = load_tokenizer(model_dir)

        weights = load_file(str(model_dir / "model.safetensors"))

        def pair(name: str, transpose: bool = False) -> tuple[np.ndarray, np.ndarray]:
            weight = weights[f"{name}.weight"]
            # A contiguous transposed copy keeps the matrix products fast.
            return (np.ascontiguousarray(weight.T) if transpose else weight), weights[f"{name}.bias"]

        self.word_embeddings = weights["embeddings.word_embeddings.weight"]
        self.position_embeddings = weights["embeddings.position_embeddings.weight"]
        # Single-sentence input: every token has segment 0.
        self.segment_embedding = weights["embeddings.token_type_embeddings.weight"][0]
        self.embedding_norm = pair("embeddings.LayerNorm")
        def stacked(names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
            pairs = [pair(name, transpose=True) for name in names]
            return np.ascontiguousarray(np.hstack([w for w, _ in pairs])), np.concatenate([b for _, b in pairs])

        self.layers = [
            _Layer(
                query_key_value=stacked(
                    [f"encoder.layer.{n}.attention.self.{part}" for part in ("query", "key", "value")]
                ),
                attention_out=pair(f"encoder.layer.{n}.attention.output.dense", transpose=True),
                attention_norm=pair(f"encoder.layer.{n}.attention.output.LayerNorm"),
                feed_forward_in=pair(f"encoder.layer.{n}.intermediate.dense", transpose=True),
                feed_forward_out=pair(f"encoder.layer.{n}.output.dense", transpose=True),
                output_norm=pair(f"encoder.layer.{n}.output.LayerNorm"),
            )
            for n in range(config["num_hidden_layers"])
        ]

    @classmethod
    def from_installed_package(cls) -> "NumpySentenceEncoder":
        return cls(installed_model_dir())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit vector per text, as a float32 array of shape (len(texts), dimension)."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for batch, token_ids, mask in token_batches(self.tokenizer, texts):
            vectors[batch] = mean_pooled_unit_vectors(self._hidden_states(token_ids, mask), mask)
        return vectors

    def _hidden_states(self, token_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        batch, length = token_ids.shape
        x = self.word_embeddings[token_ids] + self.position_embeddings[:length] + self.segment_embedding
        x = _layer_norm(x, self.embedding_norm, self.eps)
        head_size = self.dimension // self.heads
        # Padding positions get a large negative score, so attention never looks at them.
        padding_bias = ((1.0 - mask) * -1e9)[:, None, None, :]

        def split_heads(t: np.ndarray) -> np.ndarray:  # (batch, length, dim) -> (batch, heads, length, head_size)
            return t.reshape(batch, length, self.heads, head_size).transpose(0, 2, 1, 3)

        for layer in self.layers:
            query, key, value = map(split_heads, np.split(_dense(x, layer.query_key_value), 3, axis=-1))
            scores = query @ key.transpose(0, 1, 3, 2) / np.sqrt(head_size) + padding_bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attention = scores / scores.sum(axis=-1, keepdims=True)
            context = (attention @ value).transpose(0, 2, 1, 3).reshape(batch, length, self.dimension)
            x = _layer_norm(x + _dense(context, layer.attention_out), layer.attention_norm, self.eps)
            hidden = _gelu(_dense(x, layer.feed_forward_in))
            x = _layer_norm(x + _dense(hidden, layer.feed_forward_out), layer.output_norm, self.eps)

        return x
