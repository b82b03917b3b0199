"""PyTorch reference for the tfjs training-throughput benchmark (bench/train-throughput.ts).

Measures training and inference throughput (images/s) on the CPU of PyTorch models that are
architecturally identical to the tfjs backbones in src/models (MobileNetV2 with width multiplier
and the small ResNet 32-64-128-256, both with the global-average-pool -> dropout -> dense head),
so docs/benchmarks.md can report the ratio tfjs-wasm : PyTorch on the same machine. This script is
the reference for those PyTorch numbers.

    nice -n 10 /usr/bin/python3 packages/ml/bench/pytorch-throughput.py \
        [--models mobilenet-v2,resnet] [--threads 1,2] [--input-size 64] [--batch-size 32] \
        [--alpha 0.35] [--steps 10] [--warmup 2] [--repeats 3] [--memory-format channels_last]

A training step mirrors src/train/train-step.ts: random inputs, model.train(), cross-entropy with
label smoothing 0.1, SGD with Nesterov momentum 0.9 and coupled L2 weight decay 5e-4 on conv and
dense kernels only (not on biases or batch-norm). Like the TS bench: 2 warm-up steps, then the
best of 3 repetitions of 10 steps (the machine is shared; the best run is the least disturbed).
Inference is model.eval() under torch.no_grad() with the same batch. Model and inputs use
channels_last by default (NHWC in memory, like tfjs; faster than NCHW on this CPU); pass
--memory-format nchw for PyTorch's default layout. Prints one JSON line per model x thread
count; "params" counts batch-norm running statistics too, as tfjs countParams() does, so it
must equal the tfjs count.
"""

import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 8
# PyTorch's BN momentum is 1 - Keras momentum (0.9 in layers-util.ts).
BN_MOMENTUM = 0.1
BN_EPSILON = 1e-5


def make_divisible(value, divisor=8):
    """Same rounding as makeDivisible in layers-util.ts."""
    rounded = max(divisor, int((value + divisor / 2) // divisor) * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_bn(in_ch, out_ch, kernel, stride=1, groups=1, act="relu"):
    """conv (no bias) -> batch norm -> activation, as applyConvBn / applyDepthwiseBn.

    padding=k//2 gives the same output shapes as tfjs 'same' (tfjs pads asymmetrically for
    stride 2, which changes neither the shapes nor the cost).
    """
    layers = [
        nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch, eps=BN_EPSILON, momentum=BN_MOMENTUM),
    ]
    if act == "relu6":
        layers.append(nn.ReLU6(inplace=True))
    elif act == "relu":
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, in_ch, out_ch, stride, expansion):
        super().__init__()
        hidden = in_ch * expansion
        layers = [conv_bn(in_ch, hidden, 1, act="relu6")] if expansion != 1 else []
        layers += [
            conv_bn(hidden, hidden, 3, stride, groups=hidden, act="relu6"),
            conv_bn(hidden, out_ch, 1, act="linear"),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


# (expansion t, output channels c, repeats n, first stride s), as STAGES in mobilenet-v2.ts.
MOBILENET_STAGES = [
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
]


def build_mobilenet_v2(alpha):
    """Backbone of mobilenet-v2.ts; returns (layers, embedding width)."""
    in_ch = make_divisible(32 * alpha)
    layers = [conv_bn(3, in_ch, 3, 2, act="relu6")]
    for t, c, n, s in MOBILENET_STAGES:
        out_ch = make_divisible(c * alpha)
        for i in range(n):
            layers.append(InvertedResidual(in_ch, out_ch, s if i == 0 else 1, t))
            in_ch = out_ch
    last = make_divisible(1280 * alpha) if alpha > 1 else 1280
    layers.append(conv_bn(in_ch, last, 1, act="relu6"))
    return layers, last


class BasicBlock(nn.Module):
    def __init__(self, in_ch, out_ch, stride):
        super().__init__()
        self.a = conv_bn(in_ch, out_ch, 3, stride, act="relu")
        self.b = conv_bn(out_ch, out_ch, 3, act="linear")
        self.shortcut = nn.Identity()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = conv_bn(in_ch, out_ch, 1, stride, act="linear")

    def forward(self, x):
        return F.relu(self.b(self.a(x)) + self.shortcut(x))


def build_resnet(widths=(32, 64, 128, 256), strides=(1, 2, 2, 2), stem=32):
    """Backbone of resnet.ts (one basic block per stage); returns (layers, embedding width)."""
    layers = [conv_bn(3, stem, 3, 2, act="relu")]
    in_ch = stem
    for width, stride in zip(widths, strides):
        layers.append(BasicBlock(in_ch, width, stride))
        in_ch = width
    return layers, in_ch


def build_classifier(backbone, alpha, dropout=0.2):
    """Backbone -> global average pool -> dropout -> dense logits, as buildModel (softmax is in the loss)."""
    layers, width = build_mobilenet_v2(alpha) if backbone == "mobilenet-v2" else build_resnet()
    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(width, NUM_CLASSES)]
    return nn.Sequential(*layers, *head)


def count_params(model):
    """Weights plus batch-norm running mean/variance, which tfjs countParams() includes."""
    buffers = sum(b.numel() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked"))
    return sum(p.numel() for p in model.parameters()) + buffers


def create_optimizer(model):
    # train-step.ts decays conv/dense kernels only (isDecayedWeight): BN and bias params are 1-D.
    decayed = [p for p in model.parameters() if p.dim() > 1]
    other = [p for p in model.parameters() if p.dim() <= 1]
    groups = [{"params": decayed, "weight_decay": 5e-4}, {"params": other, "weight_decay": 0.0}]
    return torch.optim.SGD(groups, lr=0.01, momentum=0.9, nesterov=True)


def measure_rate(run_steps, steps, batch_size, repeats):
    """Best images/s over `repeats` timings of `steps` calls."""
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_steps(steps)
        best = max(best, steps * batch_size / (time.perf_counter() - t0))
    return best


def benchmark(backbone, threads, args):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    memory_format = torch.channels_last if args.memory_format == "channels_last" else torch.contiguous_format
    model = build_classifier(backbone, args.alpha).to(memory_format=memory_format)
    x = torch.randn(args.batch_size, 3, args.input_size, args.input_size).to(memory_format=memory_format)
    labels = torch.arange(args.batch_size) % NUM_CLASSES
    optimizer = create_optimizer(model)

    def train(n):
        for _ in range(n):
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), labels, label_smoothing=0.1)
            loss.backward()
            optimizer.step()

    def infer(n):
        with torch.no_grad():
            for _ in range(n):
                model(x)

    model.train()
    train(args.warmup)
    train_rate = measure_rate(train, args.steps, args.batch_size, args.repeats)
    model.eval()
    infer(1)
    infer_rate = measure_rate(infer, 4, args.batch_size, args.repeats)
    result = {"framework": "pytorch", "torch": torch.__version__, "backbone": backbone}
    if backbone == "mobilenet-v2":
        result["alpha"] = args.alpha
    result.update(
        inputSize=args.input_size,
        batchSize=args.batch_size,
        threads=threads,
        memoryFormat=args.memory_format,
        params=count_params(model),
        trainImagesPerSec=round(train_rate, 1),
        inferImagesPerSec=round(infer_rate, 1),
    )
    return result


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="mobilenet-v2,resnet")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--input-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--alpha", type=float, default=0.35)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--memory-format", choices=("channels_last", "nchw"), default="channels_last")
    args = p.parse_args()
    args.models = [m for m in args.models.split(",") if m]
    for m in args.models:
        if m not in ("mobilenet-v2", "resnet"):
            p.error(f"unknown model {m} (expected mobilenet-v2, resnet)")
    args.threads = [int(t) for t in args.threads.split(",") if t]
    return args


def main():
    args = parse_args()
    for backbone in args.models:
        for threads in args.threads:
            print(json.dumps(benchmark(backbone, threads, args)), flush=True)


if __name__ == "__main__":
    main()
