#!/usr/bin/env python3
"""Times a training step of the study's model in PyTorch, for the side-by-side figures of
docs/performance.md (run by benchmarks/tools/compare-with-pytorch.sh, right after Prelu's own timing).

The model is the study's (Conv2D 32 3x3, PReLU, MaxPool 2, Dropout 0.25, Conv2D 64 3x3, PReLU, MaxPool 2,
Dropout 0.25, Flatten, Dense 256, PReLU, Dense 10) with Keras's per-element PReLU, written as Keras
computes it (relu(x) - alpha * relu(-x)), or ReLU; Adam; batch 250; as many threads as asked.

    apt-get install -y python3-torch libopenblas0-pthread
    /usr/bin/python3 benchmarks/tools/pytorch_step.py --threads 2
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


def model(activation):
    def act(shape):
        return PReLU(shape) if activation == "prelu" else nn.ReLU()

    return nn.Sequential(
        nn.Conv2d(1, 32, 3), act((32, 26, 26)), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Conv2d(32, 64, 3), act((64, 11, 11)), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(1600, 256), act((256,)), nn.Linear(256, 10))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    x = torch.rand(args.batch, 1, 28, 28)
    y = torch.randint(0, 10, (args.batch,))
    for activation in ("relu", "prelu"):
        net = model(activation)
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
        print(f"pytorch {torch.__version__} {activation}: {median * 1000:.1f} ms per step, "
              f"{args.batch / median:,.0f} images/s ({args.threads} threads, batch {args.batch})")


if __name__ == "__main__":
    main()
