"""Times one PyTorch CPU training step of our cifar RepVGG-A0 / MobileOne-S0.

Mirrors, in train form, what the TF.js zoo builds for
``createModel(name, {numClasses: 10, inputSize: 32, variant: 'cifar'})``
(packages/blocks/src/zoo/{repvgg,mobileone}.ts, the block layers in
packages/blocks/src/layers/ and the tables in packages/fuse/src/interop/arch.ts):

- every block is ``relu(sum of conv+BN branches + identity BN)``; convs have no
  bias and symmetric zero padding k//2; BN eps 1e-5, PyTorch momentum 0.1
  (TF 0.9, our zoo default);
- an identity BN exists exactly when in == out channels and stride == 1;
- the 'cifar' variant has a stride-1 stem (3 -> 48 channels for both nets);
- RepVGG-A0: a 3x3 and a 1x1 branch per block, stages of (2, 4, 14, 1) blocks
  with (48, 96, 192, 1280) channels, the first block of a stage at stride 2,
  groups 1;
- MobileOne-S0: k = 4 kxk branches, a 1x1 "scale" branch only when k > 1
  kernel (the stem and the depthwise 3x3 blocks), the stem with one kxk branch;
  units of (2, 8, 10, 1) per stage, each a depthwise 3x3 block (stride 2 in
  the first unit) and a pointwise 1x1 block to (48, 128, 256, 1024) channels;
  no SE;
- head: global average pool, then a dense layer (with bias) to 10 classes.

The step is zero_grad, forward, softmax cross-entropy, backward, SGD momentum
0.9 (lr 0.01), BN in training mode. It prints one JSON line on stdout.
"""

import argparse
import json
import math
import time

import torch
from torch import nn


class BranchBlock(nn.Module):
    """relu(sum_b bn_b(conv_b(x)) + bn_0(x)), the shape of every block in our zoo."""

    def __init__(self, cin, cout, kernel, stride, groups, conv_branches, scale_branch):
        super().__init__()

        def conv_bn(k):
            return nn.Sequential(
                nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups, bias=False),
                nn.BatchNorm2d(cout),
            )

        sizes = [kernel] * conv_branches + ([1] if scale_branch else [])
        self.branches = nn.ModuleList(conv_bn(k) for k in sizes)
        self.identity = nn.BatchNorm2d(cout) if cin == cout and stride == 1 else None

    def forward(self, x):
        y = sum(b(x) for b in self.branches)
        if self.identity is not None:
            y = y + self.identity(x)
        return torch.relu(y)


class Net(nn.Module):
    def __init__(self, blocks, num_classes):
        super().__init__()
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(blocks[-1].branches[0][1].num_features, num_classes)

    def forward(self, x):
        return self.fc(self.blocks(x).mean(dim=(2, 3)))


def repvgg_a0(num_classes=10, stem_stride=1):
    widths = [0.75, 0.75, 0.75, 2.5]
    depths = [2, 4, 14, 1]
    stem = min(64, int(64 * widths[0]))
    blocks = [BranchBlock(3, stem, 3, stem_stride, 1, 1, True)]
    cin = stem
    for base, w, depth in zip([64, 128, 256, 512], widths, depths):
        cout = int(base * w)
        for b in range(depth):
            blocks.append(BranchBlock(cin, cout, 3, 2 if b == 0 else 1, 1, 1, True))
            cin = cout
    return Net(blocks, num_classes)


def mobileone_s0(num_classes=10, stem_stride=1):
    widths = [0.75, 1, 1, 2]
    depths = [2, 8, 10, 1]
    k = 4
    stem = min(64, int(64 * widths[0]))
    # The stem has one kxk branch whatever k is, as in the zoo and both sources.
    blocks = [BranchBlock(3, stem, 3, stem_stride, 1, 1, True)]
    cin = stem
    for base, w, depth in zip([64, 128, 256, 512], widths, depths):
        cout = int(base * w)
        for u in range(depth):
            blocks.append(BranchBlock(cin, cin, 3, 2 if u == 0 else 1, cin, k, True))
            blocks.append(BranchBlock(cin, cout, 1, 1, 1, k, False))
            cin = cout
    return Net(blocks, num_classes)


MODELS = {"repvgg_a0": repvgg_a0, "mobileone_s0": mobileone_s0}


def nearest_rank(sorted_samples, q):
    """The percentile convention of summarize() in @repnets/fuse/measure."""
    n = len(sorted_samples)
    return sorted_samples[min(n - 1, max(0, math.ceil(q * n) - 1))]


def median(sorted_samples):
    n = len(sorted_samples)
    mid = n // 2
    return sorted_samples[mid] if n % 2 else (sorted_samples[mid - 1] + sorted_samples[mid]) / 2


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(MODELS), required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--runs", type=int, default=10, help="timed steps; 0 = params only")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--params-only", action="store_true", help="build, count, no timing")
    p.add_argument("--img-size", type=int, default=32, help="square input size (the nets are fully convolutional)")
    p.add_argument("--device", default="cpu", help="cpu, or cuda on a machine with a GPU")
    a = p.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = MODELS[a.model]()
    params = sum(t.numel() for t in model.parameters() if t.requires_grad)
    out = {
        "model": a.model,
        "threads": torch.get_num_threads(),
        "batch": a.batch,
        "imgSize": a.img_size,
        "device": a.device,
    }

    if a.params_only or a.runs <= 0:
        print(json.dumps({**out, "params": params, "torch": torch.__version__}))
        return

    device = torch.device(a.device)
    model.to(device).train()  # batch-statistics BN, as our training step
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(a.batch, 3, a.img_size, a.img_size, device=device)
    y = torch.randint(0, 10, (a.batch,), device=device)
    # A GPU runs asynchronously: a step is timed to its completion.
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sync()

    # Warm-up: allocator growth, momentum buffers created on the first step.
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    ms = median(times)
    print(
        json.dumps(
            {
                **out,
                "imgPerSec": round(a.batch * 1000 / ms, 2),
                "msPerStep": round(ms, 2),
                "msP10": round(nearest_rank(times, 0.1), 2),
                "msP90": round(nearest_rank(times, 0.9), 2),
                "params": params,
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
