"""The all-MiniLM-L6-v2 encoder written as an ONNX graph, from the checkpoint's safetensors weights.

Built here rather than exported from PyTorch, which the project does not install. The graph
maps `input_ids` (int64, batch x tokens) and `attention_mask` (float32, 1 for real tokens)
to the last hidden state (batch x tokens x 384): word + position + segment-0 embeddings,
layer norm, then six BERT blocks (self-attention, erf GELU feed-forward, post-norm
residuals). Mean pooling and L2 normalisation stay in numpy (bot/knowledge/embeddings.py).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

# Opset 17 is the first with LayerNormalization; onnxruntime 1.23 runs it natively.
OPSET = 17
# Part of the cached graph's file name: bump it when the graph built here changes, so a
# graph written by an older version is not reused.
GRAPH_VERSION = 1


class _GraphBuilder:
    """Collects nodes and initialisers; every helper returns the name of its output."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._counter = 0

    def name(self, hint: str) -> str:
        self._counter += 1
        return f"{hint}_{self._counter}"

    def constant(self, hint: str, value: NDArray[Any]) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], **attributes: Any) -> str:
        output = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [output], **attributes))
        return output

    def linear(self, x: str, weights: Mapping[str, NDArray[Any]], prefix: str) -> str:
        # PyTorch stores Linear weights as (out, in); MatMul wants (in, out).
        weight = self.constant(f"{prefix}.weight", np.ascontiguousarray(weights[f"{prefix}.weight"].T))
        bias = self.constant(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("Add", [self.op("MatMul", [x, weight]), bias])

    def layer_norm(self, x: str, weights: Mapping[str, NDArray[Any]], prefix: str, eps: float) -> str:
        scale = self.constant(f"{prefix}.weight", weights[f"{prefix}.weight"])
        bias = self.constant(f"{prefix}.bias", weights[f"{prefix}.bias"])
        return self.op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=eps)


def build_encoder_graph(weights: Mapping[str, NDArray[Any]], config: Mapping[str, object]) -> onnx.ModelProto:
    """The BERT encoder described by `config` (the checkpoint's config.json) with `weights`."""
    if config["hidden_act"] != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("only BERT encoders with erf GELU and absolute positions are supported")
    hidden = int(config["hidden_size"])  # type: ignore[call-overload]
    heads = int(config["num_attention_heads"])  # type: ignore[call-overload]
    eps = float(config["layer_norm_eps"])  # type: ignore[arg-type]
    head_size = hidden // heads
    g = _GraphBuilder()

    # Embeddings: positions 0..tokens-1, every token in segment 0 (single sentences).
    tokens = g.op("Gather", [g.op("Shape", ["input_ids"]), g.constant("axis1", np.array(1, dtype=np.int64))])
    positions = g.op(
        "Slice",
        [
            g.constant("position_embeddings", weights["embeddings.position_embeddings.weight"]),
            g.constant("zero", np.array([0], dtype=np.int64)),
            g.op("Unsqueeze", [tokens, g.constant("axes0", np.array([0], dtype=np.int64))]),
        ],
    )
    words = g.op("Gather", [g.constant("word_embeddings", weights["embeddings.word_embeddings.weight"]), "input_ids"])
    segment = g.constant("segment_embedding", weights["embeddings.token_type_embeddings.weight"][0])
    x = g.layer_norm(g.op("Add", [g.op("Add", [words, positions]), segment]), weights, "embeddings.LayerNorm", eps)

    one = g.constant("one", np.array(1.0, dtype=np.float32))
    # Padding gets a large negative attention score, so no token attends to it: (batch, 1, 1, tokens).
    padding = g.op("Sub", [one, "attention_mask"])
    minus_big = g.constant("minus_big", np.array(-1e9, dtype=np.float32))
    axes12 = g.constant("axes12", np.array([1, 2], dtype=np.int64))
    padding_bias = g.op("Unsqueeze", [g.op("Mul", [padding, minus_big]), axes12])
    split_shape = g.constant("split_shape", np.array([0, 0, heads, head_size], dtype=np.int64))
    merged_shape = g.constant("merged_shape", np.array([0, 0, hidden], dtype=np.int64))
    inverse_sqrt_head = g.constant("scale", np.array(1.0 / math.sqrt(head_size), dtype=np.float32))
    inverse_sqrt2 = g.constant("inverse_sqrt2", np.array(1.0 / math.sqrt(2.0), dtype=np.float32))
    half = g.constant("half", np.array(0.5, dtype=np.float32))

    for n in range(int(config["num_hidden_layers"])):  # type: ignore[call-overload]
        prefix = f"encoder.layer.{n}"

        def heads_of(part: str, perm: list[int]) -> str:
            projected = g.linear(x, weights, f"{prefix}.attention.self.{part}")
            return g.op("Transpose", [g.op("Reshape", [projected, split_shape])], perm=perm)

        query = heads_of("query", [0, 2, 1, 3])  # (batch, heads, tokens, head_size)
        key = heads_of("key", [0, 2, 3, 1])  # (batch, heads, head_size, tokens)
        value = heads_of("value", [0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [query, key]), inverse_sqrt_head]), padding_bias])
        context = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), value])
        context = g.op("Reshape", [g.op("Transpose", [context], perm=[0, 2, 1, 3]), merged_shape])
        attended = g.op("Add", [x, g.linear(context, weights, f"{prefix}.attention.output.dense")])
        x = g.layer_norm(attended, weights, f"{prefix}.attention.output.LayerNorm", eps)

        inner = g.linear(x, weights, f"{prefix}.intermediate.dense")
        # BERT's "gelu" is the exact one: 0.5 * x * (1 + erf(x / sqrt 2)).
        erf_term = g.op("Add", [g.op("Erf", [g.op("Mul", [inner, inverse_sqrt2])]), one])
        gelu = g.op("Mul", [g.op("Mul", [inner, half]), erf_term])
        fed_forward = g.op("Add", [x, g.linear(gelu, weights, f"{prefix}.output.dense")])
        x = g.layer_norm(fed_forward, weights, f"{prefix}.output.LayerNorm", eps)

    graph = helper.make_graph(
        g.nodes,
        "all_minilm_encoder",
        inputs=[
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["batch", "tokens"]),
        ],
        outputs=[helper.make_tensor_value_info(x, TensorProto.FLOAT, ["batch", "tokens", hidden])],
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    # The IR version this onnx release writes by default may be newer than onnxruntime reads.
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model
