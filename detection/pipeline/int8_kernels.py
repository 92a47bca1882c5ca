"""Whether onnxruntime's int8 convolutions compute exact integers on this CPU.

Vodscope's int8 copies (`detection/quantize.py`) multiply uint8 activations by int8 weights. Where the
CPU has 8-bit dot products that sum into 32 bits (AVX-512 VNNI, AVX-VNNI, ARM's dot product),
onnxruntime computes every sum exactly. On an x86 CPU without them (AVX2, AVX-512F alone) its u8 x s8
kernel first adds each pair of products into a signed 16-bit value (VPMADDUBSW), which stops at
32,767, as onnxruntime's quantization docs warn. 255 x 127 x 2 = 64,770 does not fit. The same
file then computes other numbers than the ones it was measured with. On such a CPU the bundled text
detector read a held-out character select's highlighted button wrong; the same copy reads it right
where the sums are exact. Where they saturate, the reader and the detector run the float models the
copies were made from (`text.int8_text_detector`, `detector.weights_to_run`).

`int8_convolutions_exact` asks the kernel rather than the CPU's flags: one 1x1 QDQ convolution, which
onnxruntime fuses into the same QLinearConv as a quantized model's, whose every pair of products is
that 64,770. It answers 32.0 where the sums are exact and 16.19 where they saturate.
"""
from __future__ import annotations

import functools

import numpy as np

# The probe's input channels: sums of 32 products of 255 x 127, so that pairs of them are added.
PROBE_CHANNELS = 32
# onnxruntime 1.31 reads ONNX IR versions up to 13; the onnx package writes its newest by default.
PROBE_IR_VERSION = 8


def probe_model() -> bytes:
    """A 1x1 convolution in QDQ form: an input of ones quantized to 255 (scale 1/255), int8 weights of
    127 per output channel (scale 1/127), and an output range that holds the exact sum, PROBE_CHANNELS."""
    from onnx import TensorProto, helper, numpy_helper

    outputs = 4
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "x_scale", "x_zero"], ["x_q"]),
        helper.make_node("DequantizeLinear", ["x_q", "x_scale", "x_zero"], ["x_dq"]),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w_dq"], axis=0),
        helper.make_node("Conv", ["x_dq", "w_dq"], ["y"]),
        helper.make_node("QuantizeLinear", ["y", "y_scale", "y_zero"], ["y_q"]),
        helper.make_node("DequantizeLinear", ["y_q", "y_scale", "y_zero"], ["sums"]),
    ]
    constants: dict[str, np.ndarray] = {
        "x_scale": np.array(1 / 255, np.float32), "x_zero": np.array(0, np.uint8),
        "w_q": np.full((outputs, PROBE_CHANNELS, 1, 1), 127, np.int8),
        "w_scale": np.full(outputs, 1 / 127, np.float32), "w_zero": np.zeros(outputs, np.int8),
        "y_scale": np.array(PROBE_CHANNELS / 255, np.float32), "y_zero": np.array(0, np.uint8),
    }
    graph = helper.make_graph(
        nodes, "int8_probe", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, PROBE_CHANNELS, 4, 4])],
        [helper.make_tensor_value_info("sums", TensorProto.FLOAT, [1, outputs, 4, 4])],
        [numpy_helper.from_array(value, name) for name, value in constants.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = PROBE_IR_VERSION
    return bytes(model.SerializeToString())


def probe_sums(*, fused: bool = True) -> np.ndarray:
    """The probe's output on ones: PROBE_CHANNELS everywhere when the products are summed exactly.
    `fused=False` runs it unoptimised (dequantized weights in a float convolution): exact on any CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if not fused:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(probe_model(), options, providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": np.ones((1, PROBE_CHANNELS, 4, 4), np.float32)})[0])


@functools.cache
def int8_convolutions_exact() -> bool:
    """True where onnxruntime's fused int8 convolution sums 255 x 127 products without saturating."""
    return bool(np.all(np.abs(probe_sums() - PROBE_CHANNELS) < 1))
