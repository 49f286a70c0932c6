"""Whether the stacked training step goes through torch.compile (run.compile = "auto", "on" or "off").

Compiling fuses a stacked step's forward and backward into a few kernels; it needs a C++ compiler
on the CPU (Inductor writes C++) or CUDA with Triton, and takes seconds to tens of seconds per
distinct step shape. "auto" compiles when a compiler is present and the eager estimate of the
bucket's training is long enough for a ~1.5× faster step to repay COMPILE_SECONDS.
"""

import importlib.util
import os
import shutil

import torch

from engine.errors import ConfigError

# What compiling the steps of one part of a stage costs, about (forward, backward and a smaller last batch).
COMPILE_SECONDS = {"cpu": 30.0, "cuda": 60.0}
# A compiled stacked step measured 1.45–1.83× faster than eager on a 2-core CPU; 1.5× saves a third.
SAVED_SHARE = 1 / 3


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
    return eager_seconds * SAVED_SHARE > cost and compiler_available(device)
