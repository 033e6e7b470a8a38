"""A trained model made ready for inference: each BatchNorm that directly follows a convolution is folded into
it (its running statistics and affine map become the conv's weight and bias), so inference skips a pass over
every such activation. The folded copy computes the same function in eval mode (to float rounding) but can no
longer be trained or loaded from a checkpoint: fold after loading, on a copy."""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def traced() -> bool:
    """Whether the model is being traced (torch.compile, torch.export for ONNX, torch.jit.trace): inference
    shortcuts whose shape depends on the data (chunks, skipped instances) must then stay out of the graph,
    which would keep them for the traced input alone."""
    return torch.compiler.is_compiling() or torch.jit.is_tracing()


def folded_for_inference(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` with every ``Sequential(..., Conv2d, BatchNorm2d, ...)`` pair made one
    conv; ``model`` itself is left as it was."""
    folded = copy.deepcopy(model).eval()
    for module in folded.modules():
        if isinstance(module, nn.Sequential):
            _fold_pairs(module)
    return folded


def _fold_pairs(sequence: nn.Sequential) -> None:
    names = list(sequence._modules)
    for first, second in zip(names, names[1:], strict=False):
        conv, norm = sequence._modules[first], sequence._modules[second]
        if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d) and norm.track_running_stats:
            sequence._modules[first] = fuse_conv_bn_eval(conv, norm)
            sequence._modules[second] = nn.Identity()
