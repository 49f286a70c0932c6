"""Whether the stacked training step goes through torch.compile (run.compile = "auto", "on" or "off").

Compiling fuses a stacked step's forward and backward into a few kernels; it needs a C++ compiler
on the CPU (Inductor writes C++) or CUDA with Triton, and takes seconds to tens of seconds per
distinct step shape (10.6 s for the first step of a 36-MLP bucket on 2 CPU cores).

Measured on the 2-core CPU (torch 2.13, steady state, same process): the compiled stacked step took
as long as the eager one or longer — 79.7 vs 79.3 ms for 36 MLPs padded to width 256, 4.73 vs 4.40 ms
for 12 MLPs of widths 2–16 — since batched matmuls and a fused Adam step leave little to fuse. So
"auto" compiles only on CUDA, where launch overhead is what fusion removes, and only when the eager
estimate of the part's training is long enough for a step a third faster to repay COMPILE_SECONDS.
"on" compiles anywhere a compiler exists (results equal eager within the agreement tolerances).
"""

import importlib.util
import os
import shutil

import torch

from engine.errors import ConfigError

# What compiling the steps of one part of a stage costs, about (forward, backward and a smaller last batch).
COMPILE_SECONDS = {"cpu": 30.0, "cuda": 60.0}
# What a compiled step is assumed to save on CUDA (not measured here: no GPU was lent); on the CPU it saved nothing.
SAVED_SHARE = {"cuda": 1 / 3, "cpu": 0.0}


def compiler_available(device: torch.device) -> bool:
    """A C++ compiler for Inductor's CPU code, or Triton for CUDA."""
    if device.type == "cuda":
        return importlib.util.find_spec("triton") is not None
    candidates = [os.environ.get("CXX", ""), "g++", "clang++", "c++"]
    return any(shutil.which(c) for c in candidates if c)


def check_compile(setting: str, device: torch.device) -> None:
    """Refuse run.compile = 'on' where nothing can compile, before any file is written."""
    if setting == "on" and not compiler_available(device):
        needs = (
            "Triton (it ships with CUDA builds of torch)"
            if device.type == "cuda"
            else "a C++ compiler (g++ or clang++)"
        )
        raise ConfigError(
            f"run.compile = 'on' needs {needs} on {device.type}; use 'auto' (compile only where it can) or 'off'"
        )


def compile_pays(setting: str, eager_seconds: float, device: torch.device) -> bool:
    """Whether to compile a stacked training step expected to take `eager_seconds` without compiling."""
    if setting != "auto":
        return setting == "on"
    cost = COMPILE_SECONDS.get(device.type, COMPILE_SECONDS["cuda"])
    saved = SAVED_SHARE.get(device.type, 0.0)
    return saved > 0 and eager_seconds * saved > cost and compiler_available(device)
