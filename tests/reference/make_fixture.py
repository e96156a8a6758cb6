#!/usr/bin/env python3
"""Writes tests/reference/fixture.safetensors: PyTorch's answers for every kernel of the contract.

For fixed inputs and weights it computes each layer's outputs and gradients (autograd), Keras's
optimizer, penalty and constraint formulas, the dropout mask generator, and one full training step
of the study's model (Adam), and stores them as float32 tensors. The C# tests read the fixture and do
not need PyTorch; this script regenerates it:

    apt-get install -y python3-torch
    /usr/bin/python3 tests/reference/make_fixture.py

Inputs are not stored: both sides compute them with det() below (a hash of the element index), so
that the fixture holds answers only and stays small.
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
MASK32 = np.uint64(0xFFFFFFFF)
OUT = {}


def det(shape, seed, lo=-1.0, hi=1.0):
    """Deterministic pseudo-random float32 values in [lo, hi): the same formula as the C# tests' Det."""
    n = int(np.prod(shape)) if len(shape) else 1
    with np.errstate(over="ignore"):
        k = np.arange(1, n + 1, dtype=np.uint64)
        h = (k * np.uint64(0x9E3779B1) + np.uint64(seed) * np.uint64(0x85EBCA77)) & MASK32
        h ^= h >> np.uint64(15)
        h = (h * np.uint64(0x2C1B3C6D)) & MASK32
        h ^= h >> np.uint64(12)
    u = h.astype(np.float64) / 4294967296.0
    return (lo + (hi - lo) * u).astype(np.float32).reshape(shape)


def t(array, grad=False):
    return torch.tensor(np.ascontiguousarray(array), dtype=torch.float32, requires_grad=grad)


def put(name, value):
    if isinstance(value, torch.Tensor):
        value = value.detach().numpy()
    OUT[name] = np.ascontiguousarray(np.asarray(value, dtype=np.float32))


def same_pads(size, window, stride):
    out = (size + stride - 1) // stride
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def conv_nhwc(x, w, b, strides, padding):
    """x (N,H,W,C), w (KH,KW,Cin,Cout) as Keras stores them; TensorFlow's 'same' padding."""
    xn = x.permute(0, 3, 1, 2)
    if padding == "same":
        top, bottom = same_pads(x.shape[1], w.shape[0], strides[0])
        left, right = same_pads(x.shape[2], w.shape[1], strides[1])
        xn = F.pad(xn, (left, right, top, bottom))
    y = F.conv2d(xn, w.permute(3, 2, 0, 1), b, stride=strides)
    return y.permute(0, 2, 3, 1)


def pool_nhwc(x, pool, strides, padding):
    xn = x.permute(0, 3, 1, 2)
    if padding == "same":
        top, bottom = same_pads(x.shape[1], pool[0], strides[0])
        left, right = same_pads(x.shape[2], pool[1], strides[1])
        xn = F.pad(xn, (left, right, top, bottom), value=float("-inf"))
    return F.max_pool2d(xn, pool, strides).permute(0, 2, 3, 1)


def alpha_shape(feature_dims, shared_axes):
    return [1 if (axis + 1) in shared_axes else size for axis, size in enumerate(feature_dims)]


def prelu(x, alpha):
    return torch.where(x > 0, x, alpha * x)


def dropout_uniform(seed, step, n):
    """The C# DropoutRandom.Uniform: murmur3's 32-bit finaliser over a mix of (seed, step, index)."""
    m = np.uint32
    with np.errstate(over="ignore"):
        base = (m(seed & 0xFFFFFFFF) * m(0x9E3779B1)) ^ (m(seed >> 32) * m(0x85EBCA77)) \
            ^ (m(step & 0xFFFFFFFF) * m(0xC2B2AE3D)) ^ (m(step >> 32) * m(0x27D4EB2F))
        h = base ^ (np.arange(n, dtype=np.uint32) * m(0x165667B1))
        h ^= h >> m(16)
        h *= m(0x85EBCA6B)
        h ^= h >> m(13)
        h *= m(0xC2B2AE35)
        h ^= h >> m(16)
    return (h >> m(8)).astype(np.float32) * np.float32(1.0 / (1 << 24))


def dropout_mask(rate, seed, step, shape):
    keep = dropout_uniform(seed, step, int(np.prod(shape))) >= np.float32(rate)
    scale = np.float32(1.0) / (np.float32(1.0) - np.float32(rate))
    return np.where(keep, scale, np.float32(0)).astype(np.float32).reshape(shape)


# ---- the generator itself, so that the C# side can check it agrees --------------------------------
put("det.probe", det([64], 7))
put("dropout.uniform", dropout_uniform(42, 3, 1000))


# ---- Conv2D -----------------------------------------------------------------------------------------
def conv_case(name, n, h, w, cin, f, kh, kw, strides, padding, seed):
    x = t(det([n, h, w, cin], seed), True)
    k = t(det([kh, kw, cin, f], seed + 1, -0.5, 0.5), True)
    b = t(det([f], seed + 2, -0.1, 0.1), True)
    y = conv_nhwc(x, k, b, strides, padding)
    dy = det(list(y.shape), seed + 3)
    y.backward(t(dy))
    put(f"{name}.y", y)
    put(f"{name}.dx", x.grad)
    put(f"{name}.dk", k.grad)
    put(f"{name}.db", b.grad)


conv_case("conv_valid", 2, 7, 6, 3, 5, 3, 2, (1, 1), "valid", 100)
conv_case("conv_same_stride", 2, 9, 8, 2, 4, 3, 3, (2, 2), "same", 110)
conv_case("conv_same_odd", 3, 5, 7, 3, 2, 2, 4, (1, 3), "same", 120)
conv_case("conv_study1", 2, 28, 28, 1, 32, 3, 3, (1, 1), "valid", 130)
conv_case("conv_study2", 2, 13, 13, 32, 64, 3, 3, (1, 1), "valid", 140)
# 'same', an odd map, channels in and out that end in partial vectors: the C library's Winograd path, forward and input
# gradient, with a padded patch on every side.
conv_case("conv_same_3x3", 2, 9, 7, 12, 20, 3, 3, (1, 1), "same", 150)


# ---- DepthwiseConv2D: PyTorch's Conv2d with groups = channels -----------------------------------------
def depthwise_nhwc(x, w, b, strides, padding):
    """x (N,H,W,C), w (KH,KW,C,M) as Keras stores it -> (N,OH,OW,C*M), output channel c*M + m from channel c."""
    kh, kw, c, m = w.shape
    xn = x.permute(0, 3, 1, 2)
    if padding == "same":
        top, bottom = same_pads(x.shape[1], kh, strides[0])
        left, right = same_pads(x.shape[2], kw, strides[1])
        xn = F.pad(xn, (left, right, top, bottom))
    weight = w.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)  # out channel c*M + m, one input channel each
    y = F.conv2d(xn, weight, b, stride=strides, groups=c)
    return y.permute(0, 2, 3, 1)


def depthwise_case(name, n, h, w, c, m, kh, kw, strides, padding, seed):
    x = t(det([n, h, w, c], seed), True)
    k = t(det([kh, kw, c, m], seed + 1, -0.5, 0.5), True)
    b = t(det([c * m], seed + 2, -0.1, 0.1), True)
    y = depthwise_nhwc(x, k, b, strides, padding)
    dy = det(list(y.shape), seed + 3)
    y.backward(t(dy))
    put(f"{name}.y", y)
    put(f"{name}.dx", x.grad)
    put(f"{name}.dk", k.grad)
    put(f"{name}.db", b.grad)


depthwise_case("depthwise_valid", 2, 7, 6, 3, 1, 3, 2, (1, 1), "valid", 150)
depthwise_case("depthwise_multiplier_same", 2, 9, 8, 4, 3, 3, 3, (2, 2), "same", 160)
depthwise_case("depthwise_odd", 3, 5, 7, 5, 2, 2, 4, (1, 3), "same", 170)
depthwise_case("depthwise_wide", 2, 10, 10, 64, 1, 3, 3, (1, 1), "same", 180)


# ---- MaxPooling2D -----------------------------------------------------------------------------------
def pool_case(name, n, h, w, c, pool, strides, padding, seed):
    x = t(det([n, h, w, c], seed), True)
    y = pool_nhwc(x, pool, strides, padding)
    dy = det(list(y.shape), seed + 1)
    y.backward(t(dy))
    put(f"{name}.y", y)
    put(f"{name}.dx", x.grad)


pool_case("pool_valid", 2, 7, 5, 3, (2, 2), (2, 2), "valid", 200)
pool_case("pool_same_stride", 2, 7, 7, 2, (3, 3), (2, 2), "same", 210)
pool_case("pool_study", 2, 11, 11, 4, (2, 2), (2, 2), "valid", 220)


# ---- Dense ------------------------------------------------------------------------------------------
def dense_case(name, batch, inputs, units, seed):
    x = t(det([batch, inputs], seed), True)
    k = t(det([inputs, units], seed + 1, -0.5, 0.5), True)
    b = t(det([units], seed + 2, -0.1, 0.1), True)
    y = x @ k + b
    y.backward(t(det([batch, units], seed + 3)))
    put(f"{name}.y", y)
    put(f"{name}.dx", x.grad)
    put(f"{name}.dk", k.grad)
    put(f"{name}.db", b.grad)


dense_case("dense", 3, 17, 11, 300)


# ---- Activations ------------------------------------------------------------------------------------
def prelu_case(name, batch, dims, shared, seed):
    x = t(det([batch] + dims, seed), True)
    a = t(det(alpha_shape(dims, shared), seed + 1, 0.0, 0.5), True)
    y = prelu(x, a)
    y.backward(t(det([batch] + dims, seed + 2)))
    put(f"{name}.y", y)
    put(f"{name}.dx", x.grad)
    put(f"{name}.dalpha", a.grad)


prelu_case("prelu_element", 2, [5, 4, 3], [], 400)
prelu_case("prelu_channel", 2, [5, 4, 3], [1, 2], 410)
prelu_case("prelu_shared", 2, [5, 4, 3], [1, 2, 3], 420)
prelu_case("prelu_width", 2, [5, 4, 3], [2], 430)
prelu_case("prelu_dense", 3, [7], [], 440)

for name, fn in [("relu", F.relu), ("leaky_relu", lambda v: F.leaky_relu(v, 0.1))]:
    x = t(det([4, 9], 500), True)
    y = fn(x)
    y.backward(t(det([4, 9], 501)))
    put(f"{name}.y", y)
    put(f"{name}.dx", x.grad)

# The pointwise activations, as Keras defines them (GELU exact, with erf); inputs over [-4, 4).
KERAS_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "elu": lambda v: F.elu(v, 1.0),
    "elu_0.7": lambda v: F.elu(v, 0.7),
    "selu": F.selu,
    "gelu": lambda v: F.gelu(v),
    "softplus": lambda v: torch.log1p(torch.exp(-v.abs())) + v.clamp(min=0),
    "swish": F.silu,
}
for name, fn in KERAS_ACTIVATIONS.items():
    x = t(det([4, 9], 510, -4.0, 4.0), True)
    y = fn(x)
    y.backward(t(det([4, 9], 511)))
    put(f"act_{name}.y", y)
    put(f"act_{name}.dx", x.grad)


# ---- AveragePooling2D, global pooling ---------------------------------------------------------------------
def avg_pool_nhwc(x, pool, strides, padding):
    """Keras's average: with 'same' padding the padded positions are not counted."""
    xn = x.permute(0, 3, 1, 2)
    if padding == "same":
        top, bottom = same_pads(x.shape[1], pool[0], strides[0])
        left, right = same_pads(x.shape[2], pool[1], strides[1])
        pads = (left, right, top, bottom)
        sums = F.avg_pool2d(F.pad(xn, pads), pool, strides, divisor_override=1)
        counts = F.avg_pool2d(F.pad(torch.ones_like(xn), pads), pool, strides, divisor_override=1)
        return (sums / counts).permute(0, 2, 3, 1)
    return F.avg_pool2d(xn, pool, strides).permute(0, 2, 3, 1)


def avg_case(name, n, h, w, c, pool, strides, padding, seed):
    x = t(det([n, h, w, c], seed), True)
    y = avg_pool_nhwc(x, pool, strides, padding)
    y.backward(t(det(list(y.shape), seed + 1)))
    put(f"{name}.y", y)
    put(f"{name}.dx", x.grad)


avg_case("avgpool_valid", 2, 7, 5, 3, (2, 2), (2, 2), "valid", 230)
avg_case("avgpool_same_stride", 2, 7, 7, 2, (3, 3), (2, 2), "same", 240)
avg_case("avgpool_overlap", 2, 6, 6, 3, (3, 3), (1, 1), "valid", 250)

x = t(det([2, 5, 4, 3], 260), True)
y = x.mean(dim=(1, 2))
y.backward(t(det([2, 3], 261)))
put("global_avg.y", y)
put("global_avg.dx", x.grad)
x = t(det([2, 5, 4, 3], 270), True)
y = x.amax(dim=(1, 2))
y.backward(t(det([2, 3], 271)))
put("global_max.y", y)
put("global_max.dx", x.grad)


# ---- BatchNormalization (Keras: biased batch variance, moving = moving * momentum + batch * (1 - momentum)) ---
def batchnorm_case(name, shape, seed, center=True, scale=True, momentum=0.99, eps=1e-3):
    channels = shape[-1]
    axes = tuple(range(len(shape) - 1))
    x = t(det(shape, seed, -2.0, 3.0), True)
    gamma = t(det([channels], seed + 1, 0.5, 1.5), True)
    beta = t(det([channels], seed + 2, -0.5, 0.5), True)
    moving_mean = t(det([channels], seed + 3, -0.2, 0.2))
    moving_var = t(det([channels], seed + 4, 0.5, 2.0))
    mean = x.mean(dim=axes)
    var = x.var(dim=axes, unbiased=False)
    y = (x - mean) / torch.sqrt(var + eps)
    if scale:
        y = y * gamma
    if center:
        y = y + beta
    y.backward(t(det(shape, seed + 5)))
    put(f"{name}.y", y)
    put(f"{name}.dx", x.grad)
    if scale:
        put(f"{name}.dgamma", gamma.grad)
    if center:
        put(f"{name}.dbeta", beta.grad)
    put(f"{name}.moving_mean", moving_mean * momentum + mean.detach() * (1 - momentum))
    put(f"{name}.moving_variance", moving_var * momentum + var.detach() * (1 - momentum))
    inference = (x.detach() - moving_mean) / torch.sqrt(moving_var + eps)
    put(f"{name}.inference", inference * (gamma.detach() if scale else 1) + (beta.detach() if center else 0))


batchnorm_case("batchnorm_map", [3, 4, 5, 6], 280)
batchnorm_case("batchnorm_flat", [5, 7], 290)
batchnorm_case("batchnorm_plain", [4, 3, 3, 2], 300, center=False, scale=False, momentum=0.9, eps=1e-2)


# ---- Dropout ------------------------------------------------------------------------------------------
x = t(det([3, 50], 600), True)
mask = dropout_mask(0.25, 42, 3, [3, 50])
y = x * t(mask)
y.backward(t(det([3, 50], 601)))
put("dropout.mask", mask)
put("dropout.y", y)
put("dropout.dx", x.grad)


# ---- Softmax + categorical cross-entropy -----------------------------------------------------------------
def one_hot(batch, classes):
    labels = np.zeros([batch, classes], dtype=np.float32)
    for b in range(batch):
        labels[b, (3 * b + 1) % classes] = 1
    return labels


z = t(det([5, 10], 700, -3, 3), True)
labels = one_hot(5, 10)
loss = F.cross_entropy(z, torch.tensor(labels.argmax(1)))
loss.backward()
put("softmax_ce.p", torch.softmax(z, 1))
put("softmax_ce.loss", loss.reshape(1))
put("softmax_ce.dz", z.grad)
put("softmax_ce.correct", [(torch.softmax(z, 1).argmax(1) == torch.tensor(labels.argmax(1))).sum().item()])


# ---- Every loss, as Keras reduces it (the mean over outputs, then over the batch) ------------------------------------
# loss.<name>.z: the model's outputs (logits for the cross-entropies); .y the targets; .loss the batch's mean loss;
# .dz its gradient; .p what the model predicts (softmax, sigmoid or the outputs); .correct Keras's accuracy summed
# over samples; .abs and .sq each sample's mean absolute and squared error between prediction and target, summed.
def loss_case(name, z, y, loss_of, predict, correct_of):
    z = t(z, True)
    loss = loss_of(z, torch.tensor(y))
    loss.backward()
    with torch.no_grad():
        p = predict(z)
        dense_y = torch.tensor(y if y.shape == tuple(p.shape) else one_hot_of(y, p.shape[1]))
        put(f"loss.{name}.z", z)
        put(f"loss.{name}.y", y)
        put(f"loss.{name}.loss", loss.reshape(1))
        put(f"loss.{name}.dz", z.grad)
        put(f"loss.{name}.p", p)
        put(f"loss.{name}.correct", [correct_of(p, torch.tensor(y))])
        put(f"loss.{name}.abs", [(p - dense_y).abs().mean(1).sum().item()])
        put(f"loss.{name}.sq", [((p - dense_y) ** 2).mean(1).sum().item()])


def one_hot_of(indices, classes):
    dense = np.zeros([len(indices), classes], dtype=np.float32)
    dense[np.arange(len(indices)), indices.astype(np.int64)] = 1
    return dense


def argmax_hits(p, y):
    return float((p.argmax(1) == (y.argmax(1) if y.dim() == 2 else y.long())).sum().item())


def binary_hits(p, y):
    return float(((p > 0.5).float() == y).float().mean(1).sum().item())


no_accuracy = lambda p, y: 0.0
soft = det([6, 4], 711, 0, 1)
soft /= soft.sum(1, keepdims=True)
loss_case("categorical", det([6, 4], 710, -3, 3), soft,
          lambda z, y: F.cross_entropy(z, y), lambda z: torch.softmax(z, 1), argmax_hits)
loss_case("sparse", det([7, 5], 712, -3, 3), np.array([0, 4, 2, 1, 3, 4, 0], dtype=np.float32),
          lambda z, y: F.cross_entropy(z, y.long()), lambda z: torch.softmax(z, 1), argmax_hits)
multi_label = (det([6, 3], 714) > 0).astype(np.float32)
multi_label[0, 1] = 0.25  # a soft label: accuracy counts it as no match, as Keras's binary_accuracy does
loss_case("binary", det([6, 3], 713, -4, 4), multi_label,
          lambda z, y: F.binary_cross_entropy_with_logits(z, y), torch.sigmoid, binary_hits)
loss_case("binary_one", det([9, 1], 715, -4, 4), (det([9, 1], 716) > 0).astype(np.float32),
          lambda z, y: F.binary_cross_entropy_with_logits(z, y), torch.sigmoid, binary_hits)
loss_case("mse", det([5, 3], 717, -2, 2), det([5, 3], 718, -2, 2),
          lambda z, y: F.mse_loss(z, y), lambda z: z, no_accuracy)
loss_case("mae", det([5, 3], 719, -2, 2), det([5, 3], 720, -2, 2),
          lambda z, y: F.l1_loss(z, y), lambda z: z, no_accuracy)
loss_case("huber", det([5, 3], 721, -3, 3), det([5, 3], 722, -3, 3),
          lambda z, y: F.huber_loss(z, y, delta=1.0), lambda z: z, no_accuracy)
loss_case("huber_half", det([5, 3], 723, -3, 3), det([5, 3], 724, -3, 3),
          lambda z, y: F.huber_loss(z, y, delta=0.5), lambda z: z, no_accuracy)


# ---- Optimizers (Keras's formulas, float32) ------------------------------------------------------------------
def keras_adam(w, grads, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    w = w.copy()
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    f = np.float32
    for step, g in enumerate(grads, start=1):
        alpha = f(lr) * np.sqrt(f(1) - f(b2) ** f(step)) / (f(1) - f(b1) ** f(step))
        m += (g - m) * (f(1) - f(b1))
        v += (g * g - v) * (f(1) - f(b2))
        w -= (m * alpha) / (np.sqrt(v) + f(eps))
    return w


def keras_sgd(w, grads, lr, momentum, nesterov):
    w = w.copy()
    vel = np.zeros_like(w)
    f = np.float32
    for g in grads:
        if momentum == 0:
            w -= f(lr) * g
            continue
        vel = -g * f(lr) + vel * f(momentum)
        w += (-g * f(lr) + vel * f(momentum)) if nesterov else vel
    return w


w0 = det([37], 800)
grads = [det([37], 801 + s) for s in range(3)]
put("adam.w3", keras_adam(w0, grads))
put("sgd.w3", keras_sgd(w0, grads, 0.01, 0.0, False))
put("sgd_momentum.w3", keras_sgd(w0, grads, 0.01, 0.9, False))
put("sgd_nesterov.w3", keras_sgd(w0, grads, 0.01, 0.9, True))

# ---- Penalties and constraints ------------------------------------------------------------------------------
w = t(det([3, 3, 2, 4], 900), True)
penalty = 0.01 * w.abs().sum() + 0.02 * (w * w).sum()
penalty.backward()
put("l1l2.penalty", penalty.reshape(1))
put("l1l2.grad", w.grad)


def norms(w, axes):
    return torch.sqrt((w * w).sum(dim=axes, keepdim=True))


wc = t(det([3, 3, 2, 4], 910, -2, 2))
eps = 1e-7
put("nonneg.w", wc * (wc >= 0).float())
n = norms(wc, [0, 1, 2])
put("maxnorm.w", wc * (torch.clamp(n, 0, 1.5) / (eps + n)))
n0 = norms(wc, [0])
put("minmaxnorm.w", wc * ((0.5 * torch.clamp(n0, 0.2, 0.9) + 0.5 * n0) / (eps + n0)))
n3 = norms(wc, [3])
put("unitnorm.w", wc / (eps + n3))


# ---- One training step of the study's model (per-element PReLU, Adam) ---------------------------------------
# Parameters carry Keras's automatic layer names, as the generated model names them. The dropout seeds
# are the generated model's: the model seed + 100 + the dropout layer's index (layers 3 and 7).
def study_step(prefix, batch, seed):
    x = t(det([batch, 28, 28, 1], seed, 0.0, 1.0))
    y_true = one_hot(batch, 10)
    p = {
        "conv2d.kernel": det([3, 3, 1, 32], seed + 1, -0.3, 0.3),
        "conv2d.bias": det([32], seed + 2, -0.1, 0.1),
        "p_re_lu.alpha": det([26, 26, 32], seed + 3, 0.0, 0.5),
        "conv2d_1.kernel": det([3, 3, 32, 64], seed + 4, -0.08, 0.08),
        "conv2d_1.bias": det([64], seed + 5, -0.1, 0.1),
        "p_re_lu_1.alpha": det([11, 11, 64], seed + 6, 0.0, 0.5),
        "dense.kernel": det([1600, 256], seed + 7, -0.05, 0.05),
        "dense.bias": det([256], seed + 8, -0.1, 0.1),
        "p_re_lu_2.alpha": det([256], seed + 9, 0.0, 0.5),
        "dense_1.kernel": det([256, 10], seed + 10, -0.15, 0.15),
        "dense_1.bias": det([10], seed + 11, -0.1, 0.1),
    }
    P = {k: t(v, True) for k, v in p.items()}
    h = prelu(conv_nhwc(x, P["conv2d.kernel"], P["conv2d.bias"], (1, 1), "valid"), P["p_re_lu.alpha"])
    h = pool_nhwc(h, (2, 2), (2, 2), "valid")
    h = h * t(dropout_mask(0.25, seed + 103, 1, list(h.shape)))
    h = prelu(conv_nhwc(h, P["conv2d_1.kernel"], P["conv2d_1.bias"], (1, 1), "valid"), P["p_re_lu_1.alpha"])
    h = pool_nhwc(h, (2, 2), (2, 2), "valid")
    h = h * t(dropout_mask(0.25, seed + 107, 1, list(h.shape)))
    h = h.reshape(batch, 1600)
    h = prelu(h @ P["dense.kernel"] + P["dense.bias"], P["p_re_lu_2.alpha"])
    logits = h @ P["dense_1.kernel"] + P["dense_1.bias"]
    loss = F.cross_entropy(logits, torch.tensor(y_true.argmax(1)))
    loss.backward()
    put(f"{prefix}.logits", logits)
    put(f"{prefix}.loss", loss.reshape(1))
    for name, tensor in P.items():
        grad = tensor.grad.numpy()
        updated = keras_adam(p[name], [grad])
        if name == "dense.kernel":  # 409,600 values: keep every 97th, enough to catch any layout error
            grad, updated = grad.reshape(-1)[::97], updated.reshape(-1)[::97]
        put(f"{prefix}.grad.{name}", grad)
        put(f"{prefix}.adam.{name}", updated)


study_step("study", 4, 1000)


# ---- A checkpoint written by Prelu, loaded into PyTorch modules by its documented tensor names -------------------
# tests/reference/batchnorm-checkpoint.safetensors is what the test model CheckpointedBatchNormNet writes after a
# few training steps (BatchNormalizationTests writes it again with PRELU_WRITE_REFERENCE=1). The names map onto
# PyTorch as README.md documents (the checkpoints paragraph); PyTorch's probabilities in eval mode go in the fixture.
def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    length = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + length])
    data = raw[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = torch.tensor(np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"]).copy())
    return tensors


def load_batchnorm_checkpoint(path):
    w = read_safetensors(path)
    conv = torch.nn.Conv2d(2, 3, 3, bias=False)
    norm = torch.nn.BatchNorm2d(3, eps=1e-3)
    dense = torch.nn.Linear(48, 8, bias=False)
    norm1 = torch.nn.BatchNorm1d(8, eps=1e-3)
    dense1 = torch.nn.Linear(8, 3)
    with torch.no_grad():
        conv.weight.copy_(w["conv2d.kernel"].permute(3, 2, 0, 1))           # Keras (KH, KW, Cin, Cout)
        for module, layer in ((norm, "batch_normalization"), (norm1, "batch_normalization_1")):
            module.weight.copy_(w[f"{layer}.gamma"])
            module.bias.copy_(w[f"{layer}.beta"])
            module.running_mean.copy_(w[f"{layer}.moving_mean"])
            module.running_var.copy_(w[f"{layer}.moving_variance"])
        dense.weight.copy_(w["dense.kernel"].T)                                # Keras (In, Out)
        dense1.weight.copy_(w["dense_1.kernel"].T)
        dense1.bias.copy_(w["dense_1.bias"])
    modules = [conv, norm, dense, norm1, dense1]
    for m in modules:
        m.eval()

    def forward(x_nhwc):
        h = torch.relu(norm(conv(x_nhwc.permute(0, 3, 1, 2))))
        h = h.permute(0, 2, 3, 1).reshape(x_nhwc.shape[0], -1)                # Flatten in NHWC order, as Keras
        h = torch.tanh(norm1(dense(h)))
        return torch.softmax(dense1(h), dim=1)
    return forward


checkpoint = os.path.join(os.path.dirname(os.path.abspath(__file__)), "batchnorm-checkpoint.safetensors")
with torch.no_grad():
    put("bn_checkpoint.probabilities", load_batchnorm_checkpoint(checkpoint)(t(det([5, 6, 6, 2], 77))))


# ---- write safetensors -----------------------------------------------------------------------------------------------
def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = tensors[name].astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"generator": "tests/reference/make_fixture.py", "torch": torch.__version__}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)


path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixture.safetensors")
write_safetensors(path, OUT)
print(f"wrote {len(OUT)} tensors, {os.path.getsize(path):,} bytes to {path}")
