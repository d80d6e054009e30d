"""Times one PyTorch CPU fine-tuning step (or a forward pass) of RepVGG-A0 / MobileOne-S0.

The nets are those of pytorch_step.py (our zoo's train form) with the
published stride-2 stem, for ImageNet-size inputs. Modes, as @repnets/train's
freeze option:

- full: every weight trains;
- last: the stem and every stage but the last frozen (requires_grad False and
  eval(): BatchNorm on running statistics), as freeze {stages: 3};
- head: everything but the classifier frozen, as freeze 'backbone';
- forward: model.eval() under torch.no_grad(), the same batch;
- ratio: a head-only step and a forward pass alternated, both timed.

A step is zero_grad, forward, softmax cross-entropy, backward, SGD momentum
0.9 over the trainable parameters. Prints one JSON line with the median step
time and the process's peak RSS.
"""

import argparse
import json
import resource
import time

import torch
from torch import nn

from pytorch_step import MODELS, median, nearest_rank

# Blocks of the last stage at the end of Net.blocks: RepVGG-A0's one block,
# MobileOne-S0's one unit (a depthwise and a pointwise block).
LAST_STAGE_BLOCKS = {"repvgg_a0": 1, "mobileone_s0": 2}


def freeze(module):
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(MODELS), required=True)
    p.add_argument("--mode", choices=["full", "last", "head", "forward", "ratio"], required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--img-size", type=int, default=224)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    a = p.parse_args()

    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    model = MODELS[a.model](num_classes=10, stem_stride=2)
    model.train()
    if a.mode in ("head", "ratio"):
        freeze(model.blocks)
    elif a.mode == "last":
        for block in list(model.blocks)[: -LAST_STAGE_BLOCKS[a.model]]:
            freeze(block)
    x = torch.randn(a.batch, 3, a.img_size, a.img_size)
    y = torch.randint(0, 10, (a.batch,))

    def forward():
        was = model.training
        model.eval()
        with torch.no_grad():
            model(x)
        model.train(was)
        if a.mode in ("head", "ratio"):
            model.blocks.eval()  # frozen: stays in eval mode

    if a.mode == "forward":

        def step():
            forward()

    else:
        params = [t for t in model.parameters() if t.requires_grad]
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

    if a.mode == "ratio":
        fwd, stp = [], []
        for i in range(a.warmup + a.runs):
            t0 = time.perf_counter()
            forward()
            t1 = time.perf_counter()
            step()
            t2 = time.perf_counter()
            if i >= a.warmup:
                fwd.append((t1 - t0) * 1000)
                stp.append((t2 - t1) * 1000)
        f, s = median(sorted(fwd)), median(sorted(stp))
        print(json.dumps({"forwardMs": round(f, 2), "headStepMs": round(s, 2), "ratio": round(s / f, 3)}))
        return

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
                "model": a.model,
                "mode": a.mode,
                "threads": torch.get_num_threads(),
                "batch": a.batch,
                "imgSize": a.img_size,
                "imgPerSec": round(a.batch * 1000 / ms, 2),
                "msPerStep": round(ms, 2),
                "msP10": round(nearest_rank(times, 0.1), 2),
                "msP90": round(nearest_rank(times, 0.9), 2),
                # ru_maxrss is in KiB on Linux.
                "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "torch": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
