"""Time one training step of M same-width ResNet-18s: one after another, folded into channels, or vmapped.

`python -m benchmarks.resnet_grouping --models 4 --width 4 --batch 32 --device cpu` prints the
seconds per step of each way (median of repeats) and, on CUDA, the peak memory. vmap runs the
BatchNorms without running statistics (torch.func cannot update buffers in place under vmap), so
it times the training step only and could not serve evaluation as is.
"""

import argparse
import copy
import statistics
import time

import torch
from torch.func import functional_call, grad_and_value, replace_all_batch_norm_modules_, stack_module_state, vmap

from engine.models.resnet import ResNet18
from engine.trainers.grouped import GroupedResNet


def timed(step, repeats: int, device: torch.device) -> float:
    step()  # warm-up: allocator, kernel selection
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def loss_of(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def ways(models: list[ResNet18], x: torch.Tensor, y: torch.Tensor) -> dict:
    """A training step (forward, backward, SGD update) for each way of training the M models."""
    grouped = GroupedResNet(models)
    grouped_opt = torch.optim.SGD(grouped.parameters(), lr=0.01)
    alone_opts = [torch.optim.SGD(m.parameters(), lr=0.01) for m in models]

    def alone():
        for m, (model, opt) in enumerate(zip(models, alone_opts, strict=True)):
            opt.zero_grad()
            loss_of(model(x[m]), y[m]).backward()
            opt.step()

    def folded():
        grouped_opt.zero_grad()
        loss_of(grouped(x), y).backward()
        grouped_opt.step()

    copies = [replace_all_batch_norm_modules_(copy.deepcopy(m)) for m in models]
    params, buffers = stack_module_state(copies)
    base = copy.deepcopy(copies[0]).to("meta")

    def one(p, b, xm, ym):
        return loss_of(functional_call(base, (p, b), (xm,)), ym)

    step = vmap(grad_and_value(one))

    def vmapped():
        grads, _ = step(params, buffers, x, y)
        with torch.no_grad():
            for name, g in grads.items():
                params[name].sub_(0.01 * g)

    return {"alone": alone, "folded": folded, "vmap": vmapped}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--width", type=int, default=4)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    models = [ResNet18(3072, 10, args.width, "cifar").to(device) for _ in range(args.models)]
    x = torch.randn(args.models, args.batch, 3072, device=device)
    y = torch.randint(0, 10, (args.models, args.batch), device=device)
    for name, step in ways(models, x, y).items():
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        seconds = timed(step, args.repeats, device)
        peak = f", peak {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB" if device.type == "cuda" else ""
        print(f"{name:7s} M={args.models} k={args.width} batch={args.batch}: {seconds * 1000:8.1f} ms/step{peak}")


if __name__ == "__main__":
    main()
