"""Adjacency of a layout in the three spatial subsets (self, inward, outward) used by the GCN blocks."""

from __future__ import annotations

import numpy as np

from bharnet.skeleton.layout import Layout


def _row_normalized(adjacency: np.ndarray) -> np.ndarray:
    degree = adjacency.sum(axis=1, keepdims=True)
    return np.divide(adjacency, degree, out=np.zeros_like(adjacency), where=degree > 0)


def adjacency(layout: Layout) -> np.ndarray:
    """A (3, V, V) float32 stack: identity, inward, outward.

    ``A[k, u, v]`` weighs the message from joint v into joint u, so a graph convolution is ``x @ A[k].T``
    over the joint axis. Inward carries child -> parent (towards the root), outward parent -> child;
    each is normalized by the number of incoming messages so that rows sum to 1 where they are not empty.
    """
    v = layout.num_joints
    inward = np.zeros((v, v), dtype=np.float32)
    for child, parent in layout.edges:
        inward[parent, child] = 1.0
    outward = inward.T.copy()
    return np.stack([np.eye(v, dtype=np.float32), _row_normalized(inward), _row_normalized(outward)])
