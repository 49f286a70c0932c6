"""Data augmentation on the device: random crops of zero-padded images and horizontal flips, per model.

Every model draws its crops and flips from its own stream (its seed, "augment"), a few small
integers per example on the CPU, so a model sees the same augmented batches whether it trains
alone or grouped with others. Inputs are standardized, so the zero padding is the mean colour.
"""

import math

import torch

from engine.seeds import torch_generator

PADDING = 4


def image_shape(n_in: int) -> tuple[int, int, int]:
    """(channels, height, width) of a flattened square image: 3 channels when n_in/3 is a square, else 1.

    Unambiguous: n_in = h² and n_in = 3·s² cannot both hold for integers h, s (√3 is irrational).
    """
    for channels in (3, 1):
        side = math.isqrt(n_in // channels)
        if n_in % channels == 0 and channels * side * side == n_in:
            return channels, side, side
    raise ValueError(f"{n_in} inputs are not a flattened square image with 1 or 3 channels")


class Augment:
    """Crops and flips for M models' mini-batches (M, B, C·H·W), each model from its own generator."""

    def __init__(self, seeds: list[int], n_in: int):
        self.shape = image_shape(n_in)
        self.generators = [torch_generator(seed, "augment") for seed in seeds]

    @classmethod
    def of(cls, learners: list, n_in: int) -> "Augment | None":
        """The augmentation of these learners' mini-batches, or None when train.augment is off."""
        if not learners[0].train.augment:
            return None
        return cls([learner.seed for learner in learners], n_in)

    def state(self) -> list[torch.Tensor]:
        """The generators' states, for a checkpoint."""
        return [g.get_state() for g in self.generators]

    def restore(self, states: list[torch.Tensor]) -> None:
        for g, state in zip(self.generators, states, strict=True):
            g.set_state(state.cpu())

    @staticmethod
    def draw(batch: int, generator: torch.Generator) -> torch.Tensor:
        shifts = torch.randint(0, 2 * PADDING + 1, (batch, 2), generator=generator)
        return torch.cat([shifts, torch.randint(0, 2, (batch, 1), generator=generator)], 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        models, batch = x.shape[:2]
        draws = [self.draw(batch, g) for g in self.generators]
        offsets = torch.cat(draws).to(x.device)  # (M·B, 3): row shift, column shift, flip (1) or not (0)
        channels, height, width = self.shape
        padded = torch.nn.functional.pad(x.reshape(-1, *self.shape), (PADDING,) * 4)
        rows = offsets[:, :1] + torch.arange(height, device=x.device)
        span = torch.arange(width, device=x.device)
        flip = offsets[:, 2:] == 1
        cols = offsets[:, 1:2] + torch.where(flip, width - 1 - span, span)
        picked = padded[
            torch.arange(len(padded), device=x.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]
        ]
        return picked.permute(0, 3, 1, 2).reshape(models, batch, -1)
