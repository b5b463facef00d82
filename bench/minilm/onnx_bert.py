"""A BERT encoder as an ONNX graph, built from the same weights (the ONNX
Runtime anchor of bench/minilm; no torch needed).

The graph takes ``input_ids`` and ``attention_mask`` ([B, S] int64) and
returns the last hidden states [B, S, H]: embeddings (word + position +
token type, LayerNorm), then per layer self-attention, the output
projection and LayerNorm, the erf GELU MLP and LayerNorm, exactly as
Hugging Face's BertModel. ONNX Runtime fuses what it recognizes
(LayerNormalization, Gelu, attention) at its default optimization level.
"""

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build_bert_onnx(config, weights, path, opset=17):
    H, nh, L = config.hidden, config.heads, config.layers
    dh = H // nh
    nodes, inits = [], []
    counter = [0]

    def name(hint):
        counter[0] += 1
        return f"{hint}_{counter[0]}"

    def const(array, hint="c"):
        n = name(hint)
        inits.append(numpy_helper.from_array(np.asarray(array), n))
        return n

    def node(op, inputs, hint=None, **attrs):
        out = name(hint or op.lower())
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def w(key):
        return weights[key]

    def linear(x, wkey, bkey):
        y = node("MatMul", [x, const(np.ascontiguousarray(w(wkey).T), "W")])
        return node("Add", [y, const(w(bkey), "b")])

    def layer_norm(x, prefix):
        return node("LayerNormalization", [x, const(w(prefix + ".weight"), "g"),
                                           const(w(prefix + ".bias"), "beta")],
                    axis=-1, epsilon=float(config.eps))

    ids, am = "input_ids", "attention_mask"
    S_dim = node("Shape", [ids], start=1, end=2)
    pos = node("Range", [const(np.array(0, np.int64)), node("Squeeze", [S_dim, const(np.array([0], np.int64))]),
                         const(np.array(1, np.int64))])
    x = node("Gather", [const(w("embeddings.word_embeddings.weight")), ids])
    x = node("Add", [x, node("Gather", [const(w("embeddings.position_embeddings.weight")), pos])])
    tt = node("Mul", [ids, const(np.array(0, np.int64))])
    x = node("Add", [x, node("Gather", [const(w("embeddings.token_type_embeddings.weight")), tt])])
    h = layer_norm(x, "embeddings.LayerNorm")
    # Additive mask [B, 1, 1, S].
    m = node("Cast", [am], to=TensorProto.FLOAT)
    m = node("Mul", [node("Sub", [const(np.array(1.0, np.float32)), m]), const(np.array(-1e9, np.float32))])
    m = node("Unsqueeze", [m, const(np.array([1, 2], np.int64))])
    split_shape = const(np.array([0, 0, nh, dh], np.int64))
    merge_shape = const(np.array([0, 0, H], np.int64))
    scale = const(np.array(1.0 / math.sqrt(dh), np.float32))
    for i in range(L):
        p = f"encoder.layer.{i}."
        q = linear(h, p + "attention.self.query.weight", p + "attention.self.query.bias")
        k = linear(h, p + "attention.self.key.weight", p + "attention.self.key.bias")
        v = linear(h, p + "attention.self.value.weight", p + "attention.self.value.bias")
        qh = node("Transpose", [node("Reshape", [q, split_shape])], perm=[0, 2, 1, 3])
        kh = node("Transpose", [node("Reshape", [k, split_shape])], perm=[0, 2, 3, 1])
        vh = node("Transpose", [node("Reshape", [v, split_shape])], perm=[0, 2, 1, 3])
        s = node("Add", [node("Mul", [node("MatMul", [qh, kh]), scale]), m])
        pr = node("Softmax", [s], axis=-1)
        ctx = node("Reshape", [node("Transpose", [node("MatMul", [pr, vh])], perm=[0, 2, 1, 3]),
                               merge_shape])
        a = linear(ctx, p + "attention.output.dense.weight", p + "attention.output.dense.bias")
        h1 = layer_norm(node("Add", [h, a]), p + "attention.output.LayerNorm")
        u = linear(h1, p + "intermediate.dense.weight", p + "intermediate.dense.bias")
        e = node("Erf", [node("Div", [u, const(np.array(math.sqrt(2.0), np.float32))])])
        g = node("Mul", [node("Mul", [u, node("Add", [e, const(np.array(1.0, np.float32))])]),
                         const(np.array(0.5, np.float32))])
        d = linear(g, p + "output.dense.weight", p + "output.dense.bias")
        h = layer_norm(node("Add", [h1, d]), p + "output.LayerNorm")
    nodes.append(helper.make_node("Identity", [h], ["last_hidden_state"]))
    graph = helper.make_graph(
        nodes, "bert",
        [helper.make_tensor_value_info(ids, TensorProto.INT64, ["B", "S"]),
         helper.make_tensor_value_info(am, TensorProto.INT64, ["B", "S"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["B", "S", H])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path
