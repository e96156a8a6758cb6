#!/usr/bin/env python3
"""Times a training step of the app's models in PyTorch, for the side-by-side figures of
docs/performance.md (run by benchmarks/tools/compare-with-pytorch.sh, right after Prelu's own timing).

--models takes the names `prelu-mnist --runs` and `Prelu.Benchmarks step --models` take:
- relu, prelu: the study's model (Conv2D 32 3x3, PReLU, MaxPool 2, Dropout 0.25, Conv2D 64 3x3, PReLU, MaxPool 2,
  Dropout 0.25, Flatten, Dense 256, PReLU, Dense 10) with Keras's per-element PReLU, written as Keras computes it
  (relu(x) - alpha * relu(-x)), or ReLU;
- bn-prelu: DeepBatchNormPRelu (src/Prelu.Mnist/Models/StudyModels.cs): four 3x3 convolutions without bias, each
  followed by BatchNormalization and channel-wise PReLU, two poolings, a batch-normalised dense layer;
- resnet-relu, resnet-prelu: ResidualRelu and ResidualPRelu, the stem and four residual blocks with identity and
  projection shortcuts and global average pooling (channel-wise PReLU from 0.25, or ReLU).
BatchNormalization with Keras's epsilon (1e-3) and momentum (0.99, PyTorch's 0.01); Adam; batch 250; as many threads
as asked.

    apt-get install -y python3-torch libopenblas0-pthread
    /usr/bin/python3 benchmarks/tools/pytorch_step.py --threads 2 --models relu,prelu,bn-prelu
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class PReLU(nn.Module):
    """Keras's PReLU: one alpha per element of the input (without the batch axis)."""

    def __init__(self, shape):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        return F.relu(x) - self.alpha * F.relu(-x)


def study(activation):
    def act(shape):
        return PReLU(shape) if activation == "prelu" else nn.ReLU()

    return nn.Sequential(
        nn.Conv2d(1, 32, 3), act((32, 26, 26)), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3), act((64, 11, 11)), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(1600, 256), act((256,)), nn.Linear(256, 10))


def channel_prelu(channels):
    """Keras's PReLU(shared_axes=[1, 2]) from 0.25: PyTorch's nn.PReLU, one alpha per channel."""
    return nn.PReLU(channels, init=0.25)


def conv_bn(cin, cout, stride=1, padding=0, kernel=3):
    return [nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)]


def bn_prelu():
    return nn.Sequential(
        *conv_bn(1, 32), channel_prelu(32), *conv_bn(32, 32), channel_prelu(32), nn.MaxPool2d(2), nn.Dropout(0.25),
        *conv_bn(32, 64), channel_prelu(64), *conv_bn(64, 64), channel_prelu(64), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(1024, 256, bias=False), nn.BatchNorm1d(256, eps=1e-3, momentum=0.01),
        PReLUFrom(0.25, (256,)), nn.Dropout(0.4), nn.Linear(256, 10))


class PReLUFrom(PReLU):
    """Keras's per-element PReLU with its alphas from a constant."""

    def __init__(self, value, shape):
        super().__init__(shape)
        nn.init.constant_(self.alpha, value)


class Block(nn.Module):
    """Two Conv2D-BatchNormalization-activation layers whose sum with the shortcut is activated; a strided block
    projects its shortcut with a 1x1 convolution of stride 2 and BatchNormalization. 'same' padding throughout."""

    def __init__(self, cin, cout, stride, act):
        super().__init__()
        self.body = nn.Sequential(*conv_bn(cin, cout, stride, 1), act(cout), *conv_bn(cout, cout, 1, 1))
        self.shortcut = nn.Sequential(*conv_bn(cin, cout, stride, 0, kernel=1)) if stride != 1 else nn.Identity()
        self.out = act(cout)

    def forward(self, x):
        return self.out(self.body(x) + self.shortcut(x))


def residual(activation):
    def act(channels):
        return channel_prelu(channels) if activation == "prelu" else nn.ReLU()

    # Keras's 'same' for a 3x3 kernel of stride 2 over 14 x 14 pads one row and column after only; PyTorch's padding=1
    # pads both sides: the same output size and the same work, which is what a step's time measures.
    return nn.Sequential(
        *conv_bn(1, 32, 1, 1), act(32), nn.MaxPool2d(2),
        Block(32, 32, 1, act), Block(32, 64, 2, act), Block(64, 64, 1, act), Block(64, 64, 1, act),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


MODELS = {
    "relu": lambda: study("relu"),
    "prelu": lambda: study("prelu"),
    "bn-prelu": bn_prelu,
    "resnet-relu": lambda: residual("relu"),
    "resnet-prelu": lambda: residual("prelu"),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--models", default="relu,prelu", help=f"comma-separated, of {', '.join(MODELS)}")
    args = parser.parse_args()
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x = torch.rand(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))
    for name in names:
        net = MODELS[name]()
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
        times = []
        for step in range(args.steps + 5):
            start = time.perf_counter()
            optimizer.zero_grad()
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            optimizer.step()
            if step >= 5:
                times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"pytorch {torch.__version__} {name}: {median * 1000:.1f} ms per step, "
              f"{args.batch / median:,.0f} images/s ({args.threads} threads, batch {args.batch})")


if __name__ == "__main__":
    main()
