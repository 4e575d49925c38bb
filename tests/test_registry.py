"""Every declared node (ops/_registry.py): it version-checks every saved value that a user can
reach, frees what it saved after backward, and has a sample here (a new node without one fails).
"""

import numpy as np
import pytest

import numtorch
from numtorch.autograd.node import _FREED
from numtorch.ops._registry import NODES

# node name -> fn(torch, a, b) recording that node; a, b: float64 (3, 4), a > 0
SAMPLES = {
    "AbsBackward0": lambda t, a, b: b.abs(),
    "AcosBackward0": lambda t, a, b: (a / 10).acos(),
    "AddBackward0": lambda t, a, b: a + b,
    "BernoulliBackward0": lambda t, a, b: t.bernoulli(a / 4),
    "NormalBackward1": lambda t, a, b: t.normal(b, 2.0),
    "NormalBackward2": lambda t, a, b: t.normal(1.0, a),
    "NormalBackward3": lambda t, a, b: t.normal(b, a),
    "AngleBackward0": lambda t, a, b: t.polar(a, b).angle(),
    "ConjBackward0": lambda t, a, b: t.polar(a, b).conj(),
    "PolarBackward0": lambda t, a, b: t.polar(a, b),
    "ViewAsComplexBackward0": lambda t, a, b: t.view_as_complex(b[:, :2]),
    "ViewAsRealBackward0": lambda t, a, b: t.view_as_real(t.polar(a, b)),
    "AsinBackward0": lambda t, a, b: (a / 10).asin(),
    "Atan2Backward0": lambda t, a, b: t.atan2(a, b),
    "AtanBackward0": lambda t, a, b: b.atan(),
    "CeilBackward0": lambda t, a, b: b.ceil(),
    "ClampBackward1": lambda t, a, b: b.clamp(-0.5, 0.5),
    "CloneBackward0": lambda t, a, b: b.clone(),
    "CosBackward0": lambda t, a, b: b.cos(),
    "CoshBackward0": lambda t, a, b: b.cosh(),
    "DivBackward0": lambda t, a, b: b / a,
    "DivBackward2": lambda t, a, b: t.div(b, a, rounding_mode="floor"),
    "ErfBackward0": lambda t, a, b: b.erf(),
    "Col2ImBackward0": lambda t, a, b: t.nn.functional.fold(b.reshape(1, 4, 3), (2, 4), 2),
    "ExpBackward0": lambda t, a, b: b.exp(),
    "ExpandBackward0": lambda t, a, b: b[:1].expand(3, 4),
    "Expm1Backward0": lambda t, a, b: b.expm1(),
    "FftC2CBackward0": lambda t, a, b: t.view_as_real(
        t.fft.fft(t.view_as_complex(b.reshape(3, 2, 2)))),
    "FftC2RBackward0": lambda t, a, b: t.fft.irfft(t.view_as_complex(b.reshape(3, 2, 2))),
    "FftR2CBackward0": lambda t, a, b: t.view_as_real(t.fft.rfft(b)),
    "FloorBackward0": lambda t, a, b: b.floor(),
    "FmodBackward0": lambda t, a, b: t.fmod(b, 0.7),
    "FmodBackward1": lambda t, a, b: t.fmod(b, a),
    "FracBackward0": lambda t, a, b: b.frac(),
    "Im2ColBackward0": lambda t, a, b: t.nn.functional.unfold(b.reshape(1, 1, 3, 4), 2),
    "Log10Backward0": lambda t, a, b: a.log10(),
    "Log1PBackward0": lambda t, a, b: a.log1p(),
    "Log2Backward0": lambda t, a, b: a.log2(),
    "LogBackward0": lambda t, a, b: a.log(),
    "MaximumBackward0": lambda t, a, b: t.maximum(a, b),
    "MeanBackward0": lambda t, a, b: b.mean(),
    "MeanBackward1": lambda t, a, b: b.mean(1),
    "MinimumBackward0": lambda t, a, b: t.minimum(a, b),
    "MulBackward0": lambda t, a, b: a * b,
    "NegBackward0": lambda t, a, b: -b,
    "PermuteBackward0": lambda t, a, b: b.permute(1, 0),
    "PowBackward0": lambda t, a, b: b ** 3,
    "PowBackward1": lambda t, a, b: a ** b,
    "PowBackward2": lambda t, a, b: 2 ** b,
    "ReciprocalBackward0": lambda t, a, b: a.reciprocal(),
    "ReluBackward0": lambda t, a, b: b.relu(),
    "RemainderBackward0": lambda t, a, b: b % 0.7,
    "RemainderBackward1": lambda t, a, b: b % a,
    "RepeatBackward0": lambda t, a, b: b.repeat(2, 1),
    "RoundBackward0": lambda t, a, b: b.round(),
    "RoundBackward1": lambda t, a, b: b.round(decimals=1),
    "RsqrtBackward0": lambda t, a, b: a.rsqrt(),
    "RsubBackward1": lambda t, a, b: 2 - b,
    "SigmoidBackward0": lambda t, a, b: b.sigmoid(),
    "SignBackward0": lambda t, a, b: b.sign(),
    "SinBackward0": lambda t, a, b: b.sin(),
    "SinhBackward0": lambda t, a, b: b.sinh(),
    "SqrtBackward0": lambda t, a, b: a.sqrt(),
    "SqueezeBackward0": lambda t, a, b: b[:1].squeeze(),
    "SqueezeBackward1": lambda t, a, b: b[:1].squeeze(0),
    "SqueezeBackward2": lambda t, a, b: b[:1].squeeze((0,)),
    "SubBackward0": lambda t, a, b: a - b,
    "SumBackward0": lambda t, a, b: b.sum(),
    "SumBackward1": lambda t, a, b: b.sum(0),
    "TBackward0": lambda t, a, b: b.t(),
    "TanBackward0": lambda t, a, b: b.tan(),
    "TanhBackward0": lambda t, a, b: b.tanh(),
    "ToCopyBackward0": lambda t, a, b: b.to(t.float32),
    "TransposeBackward0": lambda t, a, b: b.transpose(0, 1),
    "TruncBackward0": lambda t, a, b: b.trunc(),
    "UnsafeViewBackward0": lambda t, a, b: b.t().reshape(12),
    "UnsqueezeBackward0": lambda t, a, b: b.unsqueeze(1),
    "ViewBackward0": lambda t, a, b: b.view(12),
    "WhereBackward0": lambda t, a, b: t.where(b > 0, a, b),
    "SelectBackward0": lambda t, a, b: b[1],
    "SliceBackward0": lambda t, a, b: b[1:],
    "IndexBackward0": lambda t, a, b: b[t.tensor([0, 0, 2])],
    "IndexPutBackward0": lambda t, a, b: _embed(b, (5, 4), (slice(0, 3),)),
    "CopySlices": lambda t, a, b: _setitem(b.clone(), 0, a[1]),
    "MaskedFillBackward0": lambda t, a, b: b.masked_fill(b > 0, 2.0),
    "GatherBackward0": lambda t, a, b: b.gather(1, t.tensor([[0, 1], [3, 3], [2, 0]])),
    "ScatterBackward0": lambda t, a, b: b.scatter(1, t.tensor([[0, 1], [3, 2], [2, 0]]), a),
    "ScatterBackward1": lambda t, a, b: b.scatter(1, t.tensor([[0, 1], [3, 2], [2, 0]]),
                                                  value=1.5),
    "ScatterAddBackward0": lambda t, a, b: b.scatter_add(1, t.tensor([[0, 1], [3, 3], [2, 0]]),
                                                         a),
    "IndexSelectBackward0": lambda t, a, b: b.index_select(0, t.tensor([2, 0, 2])),
    "IndexAddBackward0": lambda t, a, b: _index_add(b, 0, t.tensor([2, 0, 2]), a),
    "AmaxBackward0": lambda t, a, b: b.amax(1),
    "AminBackward0": lambda t, a, b: b.amin(1),
    "CatBackward0": lambda t, a, b: t.cat([a, b], 1),
    "CumprodBackward0": lambda t, a, b: b.cumprod(1),
    "CumsumBackward0": lambda t, a, b: b.cumsum(1),
    "FlipBackward0": lambda t, a, b: b.flip(1),
    "LinalgVectorNormBackward0": lambda t, a, b: b.norm(),
    "LogSoftmaxBackward0": lambda t, a, b: b.log_softmax(1),
    "LogsumexpBackward0": lambda t, a, b: b.logsumexp(1),
    "MaxBackward0": lambda t, a, b: b.max(1).values,
    "MaxBackward1": lambda t, a, b: b.max(),
    "MedianBackward0": lambda t, a, b: b.median(),
    "MedianBackward1": lambda t, a, b: b.median(1).values,
    "MinBackward0": lambda t, a, b: b.min(1).values,
    "MinBackward1": lambda t, a, b: b.min(),
    "ProdBackward0": lambda t, a, b: b.prod(),
    "ProdBackward1": lambda t, a, b: b.prod(1),
    "RollBackward0": lambda t, a, b: b.roll(1, 1),
    "SoftmaxBackward0": lambda t, a, b: b.softmax(1),
    "SplitBackward0": lambda t, a, b: b.split(2, 1)[1],
    "SplitWithSizesBackward0": lambda t, a, b: b.split([1, 3], 1)[1],
    "StackBackward0": lambda t, a, b: t.stack([a, b]),
    "StdBackward0": lambda t, a, b: b.std(1),
    "TrilBackward0": lambda t, a, b: b.tril(),
    "TriuBackward0": lambda t, a, b: b.triu(),
    "UnbindBackward0": lambda t, a, b: b.unbind(1)[2],
    "VarBackward0": lambda t, a, b: b.var(1),
    "CeluBackward0": lambda t, a, b: _nnf().celu(b),
    "EluBackward0": lambda t, a, b: _nnf().elu(b),
    "GeluBackward0": lambda t, a, b: _nnf().gelu(b),
    "GluBackward0": lambda t, a, b: _nnf().glu(b),
    "HardshrinkBackward0": lambda t, a, b: _nnf().hardshrink(b),
    "HardsigmoidBackward0": lambda t, a, b: _nnf().hardsigmoid(b),
    "HardswishBackward0": lambda t, a, b: _nnf().hardswish(b),
    "HardtanhBackward0": lambda t, a, b: _nnf().hardtanh(b),
    "LeakyReluBackward0": lambda t, a, b: _nnf().leaky_relu(b),
    "LogSigmoidBackward0": lambda t, a, b: _nnf().logsigmoid(b),
    "MishBackward0": lambda t, a, b: _nnf().mish(b),
    "PreluKernelBackward0": lambda t, a, b: _nnf().prelu(b, a[0, :1]),
    "RreluWithNoiseBackward0": lambda t, a, b: _nnf().rrelu(b, training=True),
    "SiluBackward0": lambda t, a, b: _nnf().silu(b),
    "SoftplusBackward0": lambda t, a, b: _nnf().softplus(b),
    "SoftshrinkBackward0": lambda t, a, b: _nnf().softshrink(b),
    "ThresholdBackward0": lambda t, a, b: _nnf().threshold(b, 0.1, 2.0),
    "AddBackward1": lambda t, a, b: _loss()._scalar_step(b, "AddBackward1", 0.5),
    "SubBackward1": lambda t, a, b: _loss()._scalar_step(b, "SubBackward1", 0.5),
    "MulBackward1": lambda t, a, b: _loss()._scalar_step(b, "MulBackward1", 0.5),
    "DivBackward1": lambda t, a, b: _loss()._scalar_step(b, "DivBackward1", 0.5),
    "ClampMinBackward0": lambda t, a, b: _loss()._clamp_min(b, 0.0),
    "BinaryCrossEntropyBackward0": lambda t, a, b: _nnf().binary_cross_entropy(
        a / 3, b.sigmoid(), weight=t.ones(4, dtype=t.float64)),
    "BinaryCrossEntropyBackwardBackward0": lambda t, a, b: t.autograd.grad(
        _nnf().binary_cross_entropy(b.sigmoid(), a / 3), b, create_graph=True)[0],
    "BinaryCrossEntropyWithLogitsBackward0":
        lambda t, a, b: _nnf().binary_cross_entropy_with_logits(
            b, a / 3, pos_weight=t.ones(4, dtype=t.float64) * 2),
    "HuberLossBackward0": lambda t, a, b: _nnf().huber_loss(a, b),
    "MseLossBackward0": lambda t, a, b: _nnf().mse_loss(a, b),
    "SmoothL1LossBackward0": lambda t, a, b: _nnf().smooth_l1_loss(a, b),
    "NllLossBackward0": lambda t, a, b: _nnf().nll_loss(b, t.tensor([0, 3, 1])),
    "SoftMarginLossBackward0": lambda t, a, b: _nnf().soft_margin_loss(b, t.tensor(
        [[1.0, -1.0, 1.0, 1.0]] * 3, dtype=t.float64)),
    "DiagEmbedBackward0": lambda t, a, b: t.diag_embed(b),
    "DiagonalBackward0": lambda t, a, b: b.diagonal(),
    "DigammaBackward0": lambda t, a, b: a.digamma(),
    "ErfinvBackward0": lambda t, a, b: (b / 5).erfinv(),
    "HypotBackward0": lambda t, a, b: t.hypot(a, b),
    "LgammaBackward0": lambda t, a, b: a.lgamma(),
    "Logaddexp2Backward0": lambda t, a, b: t.logaddexp2(a, b),
    "LogaddexpBackward0": lambda t, a, b: t.logaddexp(a, b),
    "LogcumsumexpBackward0": lambda t, a, b: b.logcumsumexp(1),
    "LogitBackward0": lambda t, a, b: (a / 3).logit(),
    "NanToNumBackward0": lambda t, a, b: b.nan_to_num(),
    "PolygammaBackward0": lambda t, a, b: _trigamma(a),
    "RepeatInterleaveBackward0": lambda t, a, b: b.repeat_interleave(2, 0),
    "SgnBackward0": lambda t, a, b: t.sgn(b),
    "SpecialXlog1PyBackward0": lambda t, a, b: t.special.xlog1py(b, a),
    "UnfoldBackward0": lambda t, a, b: b.unfold(1, 2, 1),
    "XlogyBackward0": lambda t, a, b: t.xlogy(b, a),
    "ConvolutionBackward0": lambda t, a, b: t.nn.functional.conv1d(b[None], a[None, :, :2]),
    "ConvolutionBackwardBackward0": lambda t, a, b: _conv_grad(t, a, b),
    "MaxPool2DWithIndicesBackward0":
        lambda t, a, b: t.nn.functional.max_pool2d(b[None], 2, return_indices=True)[0],
    "MaxPool2DWithIndicesBackwardBackward0":
        lambda t, a, b: _grad2(t, lambda x: t.nn.functional.max_pool2d(x[None, None], 2), b),
    "AvgPool2DBackward0": lambda t, a, b: t.nn.functional.avg_pool2d(b[None], 2, 1, 1),
    "AvgPool2DBackwardBackward0":
        lambda t, a, b: _grad2(t, lambda x: t.nn.functional.avg_pool2d(x[None, None], 2), b),
    "AdaptiveAvgPool2DBackward0":
        lambda t, a, b: t.nn.functional.adaptive_avg_pool2d(b[None], (2, 3)),
    "AdaptiveAvgPool2DBackwardBackward0": lambda t, a, b: _grad2(
        t, lambda x: t.nn.functional.adaptive_avg_pool2d(x[None, None], (2, 3)), b),
    "AdaptiveMaxPool2DBackward0":
        lambda t, a, b: t.nn.functional.adaptive_max_pool2d(b[None], (2, 3)),
    "AdaptiveMaxPool2DBackwardBackward0": lambda t, a, b: _grad2(
        t, lambda x: t.nn.functional.adaptive_max_pool2d(x[None, None], (2, 3)), b),
    "MaxUnpool2DBackward0": lambda t, a, b: t.nn.functional.max_unpool2d(
        *t.nn.functional.max_pool2d(b[None, None], 2, return_indices=True), 2),
    "ConstantPadNdBackward0": lambda t, a, b: t.nn.functional.pad(b, (1, -1, 0, 2)),
    # normalization, embedding, recurrent cells (seq)
    "NativeBatchNormBackward0": lambda t, a, b: _nnf().batch_norm(b, None, None, a[0], a[1],
                                                                  training=True),
    "NativeLayerNormBackward0": lambda t, a, b: _nnf().layer_norm(b, (4,), a[0], a[1]),
    "NativeGroupNormBackward0": lambda t, a, b: _nnf().group_norm(b, 2, a[0], a[1]),
    "EmbeddingBackward0": lambda t, a, b: _nnf().embedding(t.tensor([[0, 2], [2, 1]]), b),
    "ScaledDotProductFlashAttentionForCpuBackward0":
        lambda t, a, b: _nnf().scaled_dot_product_attention(b, a, a, is_causal=True),
    "SafeSoftmaxBackward0": lambda t, a, b: _nnf().scaled_dot_product_attention(
        b, a, a, is_causal=True, dropout_p=1e-9),
    "ThnnFusedLstmCellBackward0": lambda t, a, b: _rnn().lstm_cell_pointwise(
        t.cat([b, a], 1), a[:, :2])[0],
    "ThnnFusedGruCellBackward0": lambda t, a, b: _rnn().gru_cell_pointwise(b[:, :3], a[:, :3],
                                                                           a[:, 3:]),
    "MkldnnRnnLayerBackward0": lambda t, a, b: _rnn().lstm_layer(
        b.reshape(3, 1, 4), a[:1, :1], a[1:2, :1], t.cat([a, a[:1]]) * 0.3,
        a[0].reshape(4, 1) * 0.3)[0],
}


def _pad_or_resample(name, fn):
    """SAMPLES entries for a padding/resampling node and its gradient's node."""
    SAMPLES[name] = lambda t, a, b: fn(t, b)
    SAMPLES[name[:-1] + "Backward0"] = lambda t, a, b: _grad2(t, lambda x: fn(t, x), b)


for _name, _fn in [
    ("ReflectionPad1DBackward0", lambda t, x: t.nn.functional.pad(x, (1, 1), mode="reflect")),
    ("ReflectionPad2DBackward0",
     lambda t, x: t.nn.functional.pad(x[None], (1, 1, 1, 1), mode="reflect")),
    ("ReflectionPad3DBackward0",
     lambda t, x: t.nn.functional.pad(x[None, None], (1, 1, 1, 1, 0, 0), mode="reflect")),
    ("ReplicationPad1DBackward0",
     lambda t, x: t.nn.functional.pad(x, (1, 2), mode="replicate")),
    ("ReplicationPad2DBackward0",
     lambda t, x: t.nn.functional.pad(x[None], (1, 2, 0, 1), mode="replicate")),
    ("ReplicationPad3DBackward0",
     lambda t, x: t.nn.functional.pad(x[None, None], (1, 1, 1, 1, 1, 1), mode="replicate")),
    ("UpsampleNearest1DBackward0",
     lambda t, x: t.nn.functional.interpolate(x[None], scale_factor=2)),
    ("UpsampleNearest2DBackward0",
     lambda t, x: t.nn.functional.interpolate(x[None, None], size=(4, 7))),
    ("UpsampleNearest3DBackward0",
     lambda t, x: t.nn.functional.interpolate(x[None, None, None], scale_factor=2)),
    ("UpsampleNearestExact1DBackward0",
     lambda t, x: t.nn.functional.interpolate(x[None], size=7, mode="nearest-exact")),
    ("UpsampleNearestExact2DBackward0",
     lambda t, x: t.nn.functional.interpolate(x[None, None], size=(5, 7),
                                              mode="nearest-exact")),
    ("UpsampleLinear1DBackward0",
     lambda t, x: t.nn.functional.interpolate(x[None], size=7, mode="linear")),
    ("UpsampleBilinear2DBackward0",
     lambda t, x: t.nn.functional.interpolate(x[None, None], size=(5, 7), mode="bilinear")),
    ("UpsampleTrilinear3DBackward0",
     lambda t, x: t.nn.functional.interpolate(x[None, None, None], size=(2, 5, 7),
                                              mode="trilinear")),
]:
    _pad_or_resample(_name, _fn)


def _grad2(t, fn, x):
    out = fn(x)
    return t.autograd.grad((out * out).sum(), x, create_graph=True)[0]


def _conv_grad(t, a, b):
    out = t.nn.functional.conv1d(b[None], a[None, :, :2], a[0, :1])
    return t.autograd.grad((out * out).sum(), b, create_graph=True)[0]

# linear algebra, special functions, sorting (branch linalg)
SAMPLES.update({
    "AddmmBackward0": lambda t, a, b: t.addmm(a[:, :3], b, a.t(), beta=0.5, alpha=2),
    "BmmBackward0": lambda t, a, b: t.bmm(b.reshape(1, 3, 4), a.t().reshape(1, 4, 3)),
    "DotBackward0": lambda t, a, b: t.dot(b[0], a[1]),
    "EinsumBackward0": lambda t, a, b: t.einsum("ij,kj->ik", b, a),
    "MmBackward0": lambda t, a, b: t.mm(b, a.t()),
    "MvBackward0": lambda t, a, b: t.mv(b, a[0]),
    "LinalgCholeskyExBackward0": lambda t, a, b: t.linalg.cholesky(_spd(t, a)),
    "LinalgCrossBackward0": lambda t, a, b: t.linalg.cross(b[:, :3], a[:, 1:]),
    "LinalgDetBackward0": lambda t, a, b: t.linalg.det(a[:, :3]),
    "LinalgEighBackward0": lambda t, a, b: _outs(t.linalg.eigh(_spd(t, a))),
    "LinalgInvExBackward0": lambda t, a, b: t.linalg.inv(a[:, :3]),
    "LinalgMatrixExpBackward0": lambda t, a, b: t.linalg.matrix_exp(a[:, :3]),
    "LinalgPinvBackward0": lambda t, a, b: t.linalg.pinv(a),
    "LinalgQrBackward0": lambda t, a, b: _outs(t.linalg.qr(a.t())),
    "LinalgSlogdetBackward0": lambda t, a, b: _outs(t.linalg.slogdet(a[:, :3])),
    "LinalgSolveExBackward0": lambda t, a, b: t.linalg.solve(a[:, :3], b),
    "LinalgSolveTriangularBackward0": lambda t, a, b: t.linalg.solve_triangular(
        a[:, :3], b, upper=True),
    "LinalgSvdBackward0": lambda t, a, b: _outs(t.linalg.svd(a, full_matrices=False)),
    "ErfcBackward0": lambda t, a, b: t.special.erfc(b),
    "SpecialLogNdtrBackward0": lambda t, a, b: t.special.log_ndtr(b),
    "IgammaBackward0": lambda t, a, b: t.special.gammainc(a.detach() + 1, a),
    "IgammacBackward0": lambda t, a, b: t.special.gammaincc(a.detach() + 1, a),
    "SortBackward0": lambda t, a, b: t.sort(b, 1, descending=True).values,
    "TopkBackward0": lambda t, a, b: t.topk(b, 2, 1).values,
    "TraceBackward0": lambda t, a, b: t.trace(b),
    "CdistBackward0": lambda t, a, b: t.cdist(a, b),
})


def _spd(t, a):
    m = a[:, :3]
    return m @ m.t() + 3 * t.eye(3, dtype=a.dtype)


def _outs(outs):
    """The last output of a multi-output op, with the others summed into it (every output
    stays in the graph)."""
    *rest, last = outs
    for o in rest:
        last = last + o.sum()
    return last

# nodes whose backward raises PyTorch-style "not implemented" by design
NO_DERIVATIVE = {"PolygammaBackward0"}
# declared nodes whose formula still only runs on arrays (none left: xlog1py's gradient is now
# written with differentiable ops in ops/special.py)
ARRAY_ONLY = set()


def _trigamma(x):
    from numtorch.ops.math_extra import _trigamma
    return _trigamma(x)


def _loss():
    from numtorch.ops import loss
    return loss


def _rnn():
    from numtorch.ops import rnn
    return rnn


def _nnf():
    import numtorch.nn.functional as nnf
    return nnf


def _embed(g, shape, index):
    from numtorch.ops.indexing import embed
    return embed(g, shape, index)


def _index_add(x, dim, index, src):
    from numtorch.ops.indexing import index_add
    return index_add(x, dim, index, src)


def _setitem(x, i, v):
    x[i] = v
    return x


def test_every_declared_node_has_a_sample():
    missing = sorted(set(NODES) - set(SAMPLES))
    assert not missing, f"add a sample to tests/test_registry.py for {missing}"


def _record(name):
    rng = np.random.default_rng(0)
    a = numtorch.tensor(rng.uniform(0.5, 2.0, (3, 4)), requires_grad=True)
    b = numtorch.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    out = SAMPLES[name](numtorch, a, b)
    node = out.grad_fn
    while node is not None and type(node).__name__ != name:
        node = node.next_functions[0][0]
    assert node is not None, f"{name} was not recorded by its sample"
    return a, b, out, node


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_node_tracks_and_frees_what_it_saves(name):
    a, b, out, node = _record(name)
    if name in NO_DERIVATIVE:
        with pytest.raises(RuntimeError, match="not implemented with differentiable"):
            out.sum().backward()
        return
    cls = type(node)
    assert node._differentiable or name in ARRAY_ONLY, name
    tensors = [a, b, out]
    for slot, src in cls._plan:
        value = node.__dict__.get(slot)
        if not isinstance(value, np.ndarray):
            continue
        if src is None:  # private: no user-visible tensor may share its memory
            for t in tensors:
                assert not np.shares_memory(value, t._data), (name, slot)
    tracked = [e[3] for e in (node._versions or ())]
    for slot, src in cls._plan:
        if src is not None and isinstance(node.__dict__.get(slot), np.ndarray) and (
                src.__class__ is not int or node.next_functions[src][0] is not None):
            assert slot in tracked, (name, slot)
    # a changed version of any saved tensor is detected
    for entry in node._versions or ():
        vb = entry[0]
        vb[0] += 1
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward(retain_graph=True)
        vb[0] -= 1
    out.sum().backward()
    if cls._plan:
        assert node._versions is _FREED
        for slot in cls._saves:
            assert node.__dict__.get(slot) is None, (name, slot)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            out.sum().backward()
