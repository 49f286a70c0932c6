"""Width-k pre-activation ResNet-18 (Nakkiran et al.'s deep double descent): stages of k, 2k, 4k, 8k channels.

The blocks follow the pre-activation ResNet-18 of the pytorch-cifar code Nakkiran et al. build on
(BN → ReLU → conv twice, a 1×1 convolution on the shortcut where the shape changes, average
pooling, one linear read-out); k = 64 is the usual ResNet-18. The "cifar" stem (a 3×3 stride-1
convolution, no max-pool) is the one of Kaplun et al.'s code; "imagenet" is the 7×7 stride-2
convolution and 3×3 max-pool of the original network.
"""

import contextlib

import torch
from torch import nn
from torch.nn import functional as F

from engine.models.augment import image_shape
from engine.models.base import register_family
from engine.models.neural import GradientLearner, seeded_module


class PreActBlock(nn.Module):
    """BN → ReLU → 3×3 conv, twice, added to the input (or to a strided 1×1 projection of it)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        skip = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        return self.conv2(F.relu(self.bn2(out))) + skip


def resnet18_body(channels: int, width: int, stem: str) -> nn.Sequential:
    """Stem, four stages of two blocks (k, 2k, 4k, 8k channels; strides 1, 2, 2, 2), global average pool."""
    if stem == "cifar":
        layers = [nn.Conv2d(channels, width, 3, 1, 1, bias=False)]
    else:
        layers = [nn.Conv2d(channels, width, 7, 2, 3, bias=False), nn.MaxPool2d(3, 2, 1)]
    size = width
    for stage in range(4):
        out = width * 2**stage
        layers += [PreActBlock(size, out, 1 if stage == 0 else 2), PreActBlock(out, out, 1)]
        size = out
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())


class ResNet18(nn.Module):
    """Flattened images (B, C·H·W) → logits; with `mixed` set, bfloat16 autocast and channels-last on CUDA."""

    def __init__(self, n_in: int, n_classes: int, width: int, stem: str):
        super().__init__()
        self.shape = image_shape(n_in)
        self.body = resnet18_body(self.shape[0], width, stem)
        self.head = nn.Linear(8 * width, n_classes)
        self.mixed = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        images = x.reshape(len(x), *self.shape)
        with precision(self.mixed, images) as images:
            features = self.body(images)
        return self.head(features.to(self.head.weight.dtype))  # the read-out and the loss stay full precision


@contextlib.contextmanager
def precision(mixed: bool, images: torch.Tensor):
    """The images in the layout a module trains in, under bfloat16 autocast when `mixed` (else float32 as is)."""
    with torch.autocast(images.device.type, torch.bfloat16, enabled=mixed):
        yield images.contiguous(memory_format=torch.channels_last) if mixed else images


@register_family(
    "resnet18",
    ("width", "stem"),
    True,
    "pre-activation ResNet-18 for images; width k gives stages of k, 2k, 4k, 8k channels (k = 64: the usual one)",
    trainer="grouped",
)
class ResNet(GradientLearner):
    def __init__(self, spec, train, n_in, n_classes, seed, device):
        module = seeded_module(seed, lambda: ResNet18(n_in, n_classes, spec.width, spec.stem))
        super().__init__(module, train, seed, device)

    def use_amp(self) -> None:
        """Mixed precision and channels-last where they pay: on CUDA only; the CPU path stays float32."""
        if self.device.type == "cuda":
            self.module.mixed = True
            self.module.to(memory_format=torch.channels_last)
