"""Pictures people would rather look at than read: skeleton overlays (more plots join with training)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from bharnet.data.sample import Sample  # noqa: E402
from bharnet.errors import ConfigError  # noqa: E402
from bharnet.skeleton import Layout, body_hand_split  # noqa: E402


def draw_skeleton(ax, points: np.ndarray, scores: np.ndarray, layout: Layout, hand_joints: set[int]) -> None:
    """Edges whose two joints are present; hand joints in orange, body in blue."""
    for child, parent in layout.edges:
        if scores[child] > 0 and scores[parent] > 0:
            color = "tab:orange" if child in hand_joints else "tab:blue"
            ax.plot(points[[child, parent], 0], points[[child, parent], 1], color=color, lw=1.5)
    seen = scores > 0
    ax.scatter(points[seen, 0], points[seen, 1], s=3, color="black", zorder=3)


def _y_points_down(points: np.ndarray, scores: np.ndarray, layout: Layout) -> bool:
    """Image coordinates (y down) when the spine's upper end has the smaller y, seen over the clip."""
    if not layout.up:
        return False
    lower, upper = layout.indices(layout.up[0]), layout.indices(layout.up[1])
    seen = (scores[:, lower + upper] > 0).all(axis=1)
    if not seen.any():
        return False
    rise = points[seen][:, upper, 1].mean() - points[seen][:, lower, 1].mean()
    return bool(rise < 0)


def _frame_axes(ax, points, scores, low, high, flip, layout, hand_joints, title=None) -> None:
    draw_skeleton(ax, points, scores, layout, hand_joints)
    ax.set_xlim(low[0], high[0])
    ax.set_ylim((high[1], low[1]) if flip else (low[1], high[1]))
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def save_sample_overlay(
    sample: Sample, layout: Layout, path: str | Path, frames: int = 6, title: str | None = None
) -> Path:
    """A strip of evenly spaced frames of person 0; for layouts with hands, a second row zooms on the
    hands (left, right) so finger motion is visible. Image coordinates (y down) are drawn upright."""
    try:
        split = body_hand_split(layout.name)
        hands = [list(h) for h in (split.left_hand, split.right_hand) if h]
    except ConfigError:  # a layout without a body/hand split is drawn in one colour
        hands = []
    hand_joints = {j for hand in hands for j in hand}
    chosen: Sequence[int] = np.linspace(0, sample.num_frames - 1, frames).round().astype(int)
    points, scores = sample.keypoints[0][..., :2], sample.scores[0]
    flip = _y_points_down(points, scores, layout)
    seen = points[scores > 0]
    low, high = seen.min(axis=0) - 0.02, seen.max(axis=0) + 0.02
    rows = 1 + len(hands)
    fig, axes = plt.subplots(rows, len(chosen), figsize=(2.2 * len(chosen), 3.0 * rows), squeeze=False)
    for column, frame in enumerate(chosen):
        _frame_axes(axes[0, column], points[frame], scores[frame], low, high, flip, layout, hand_joints,
                    f"frame {frame}")
        for row, hand in enumerate(hands, 1):
            ax = axes[row, column]
            present = scores[frame, hand] > 0
            if not present.any():
                ax.set_axis_off()
                ax.set_title("hand not detected", fontsize=7)
                continue
            centre = points[frame, hand][present].mean(axis=0)
            radius = np.abs(points[frame, hand][present] - centre).max() * 1.3 + 1e-3
            _frame_axes(ax, points[frame], scores[frame], centre - radius, centre + radius, flip, layout, hand_joints,
                        ("left" if row == 1 and len(hands) == 2 else "right") + " hand")
    fig.suptitle(title or sample.name, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
