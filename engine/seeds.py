"""Named random streams: every (seed, stream name) pair draws from its own independent generator.

A stream name is encoded as one integer (its UTF-8 bytes) and passed as the spawn key of a
`numpy.random.SeedSequence` whose entropy is the seed. SeedSequence pads a seed below 2**128 to a
fixed length before appending the spawn key, so distinct (seed, name) pairs never give the same
state: no sums, hashes or offsets that could make two streams one.
"""

import numpy as np
import torch

MAX_SEED = 2**128 - 1


def seed_sequence(seed: int, stream: str) -> np.random.SeedSequence:
    """The seed sequence of stream `stream` under `seed` (0 ≤ seed < 2**128)."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed {seed} is outside 0..2**128 - 1")
    return np.random.SeedSequence(seed, spawn_key=(int.from_bytes(stream.encode(), "big"),))


def stream_rng(seed: int, stream: str) -> np.random.Generator:
    """A numpy generator for one named stream."""
    return np.random.default_rng(seed_sequence(seed, stream))


def stream_seed(seed: int, stream: str, bits: int = 63) -> int:
    """An integer seed of `bits` bits for one named stream (for torch and other libraries' generators)."""
    state = seed_sequence(seed, stream).generate_state(2, np.uint64)
    return int(state[0]) >> (64 - bits)


def torch_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU torch generator for one named stream."""
    return torch.Generator().manual_seed(stream_seed(seed, stream))
