"""Presence masks: which instance (person, hand) is seen in which frame, and the masked reductions that use them.

A mask is a float tensor of 1 (seen) and 0 (absent). The data pipeline makes them from the keypoint scores;
every layer that pools, attends or normalizes over frames or instances reads them, so an absent hand is never
averaged, attended to or normalized as if its zeros were a measurement.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from bharnet.models.inference import traced


def presence_from_values(x: torch.Tensor) -> torch.Tensor:
    """(N, C, T, V, I) -> (N, T, I): 1 where any value is non-zero. For callers that hold only the arrays
    (the pipeline zeroes every missing joint, so an all-zero instance frame is an absent one)."""
    return (x != 0).any(dim=1).any(dim=2).to(x.dtype)


def instances_first(mask: torch.Tensor) -> torch.Tensor:
    """(N, T, I) -> (N*I, T), the row order of the feature cubes (instances folded into the batch)."""
    n, t, i = mask.shape
    return mask.permute(0, 2, 1).reshape(n * i, t)


def at_frames(mask: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, T) -> (B, frames) for a cube whose time axis was strided: frame t' of the cube starts at input frame
    t' * stride (the strided convolutions' alignment)."""
    t = mask.shape[-1]
    if t == frames:
        return mask
    stride = -(-t // frames)
    return mask[..., ::stride][..., :frames]


def masked_time_mean(cube: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, C, T, V), (B, T) -> (B, C, V): the mean over seen frames (zero for an instance never seen)."""
    weights = at_frames(mask, cube.shape[2])[:, None, :, None]
    return (cube * weights).sum(2) / weights.sum(2).clamp(min=1)


def masked_average(cube: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, C, T, V), (B, T) -> (B, C): global average pooling over the seen frames and all joints."""
    return masked_time_mean(cube, mask).mean(2)


def seen(mask: torch.Tensor) -> torch.Tensor:
    """(B, T) -> (B,): 1 for an instance seen in at least one frame."""
    return mask.amax(-1)


def seen_rows(mask: torch.Tensor, training: bool) -> torch.Tensor | None:
    """The rows of the instances seen in some frame, from frame masks (B, T), for :func:`on_seen_instances`
    (one host sync per call: find them once per stream and forward); None where every row must run: in
    training (BatchNorm batches and gradients keep their shapes), with gradients, traced, or with every
    instance seen."""
    if training or torch.is_grad_enabled() or traced():
        return None
    index = (seen(mask) > 0).nonzero().squeeze(1)
    return None if len(index) == mask.shape[0] else index


def on_seen_instances(layer: Callable[[torch.Tensor], torch.Tensor], cube: torch.Tensor,
                      index: torch.Tensor | None) -> torch.Tensor:
    """``layer(cube)`` for a cube (B, C, T, V) whose rows are instances, computed on the rows in ``index`` only
    (:func:`seen_rows`; None: all) and the others left zero. The rows left out are instances seen in no frame
    (a second person who is not there, a hand never found): everything after reads them through the masks,
    which leave them out (pooling, attention keys, the classifier's instance mean), so the prediction is the
    same. On NTU, where most clips hold one person of two and Kinect gives no hands, that is most of the
    arithmetic."""
    if index is None:
        return layer(cube)
    # with no instance seen anywhere in the batch one row still runs, for the output's shape
    computed = layer(cube.index_select(0, index if len(index) else index.new_zeros(1)))
    out = computed.new_zeros((cube.shape[0], *computed.shape[1:]))
    return out.index_copy_(0, index, computed) if len(index) else out


def instance_mean(vectors: torch.Tensor, batch: int, present: torch.Tensor) -> torch.Tensor:
    """(N*I, C), (N*I,) -> (N, C): the mean over a sample's present instances (zero when none is)."""
    weights = present.view(batch, -1, 1)
    return (vectors.view(batch, -1, vectors.shape[-1]) * weights).sum(1) / weights.sum(1).clamp(min=1)
