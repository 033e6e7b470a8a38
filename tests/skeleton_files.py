"""Writers of small files in the documented source formats, for reader tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def ntu_body_motion(frames: int, seed: int, amplitude: float = 0.1) -> np.ndarray:
    """(frames, 25, 3) joints of a standing person (taller than wide) moving its arms."""
    rng = np.random.default_rng(seed)
    base = np.zeros((25, 3))
    base[:, 0] = rng.uniform(-0.2, 0.2, 25)
    base[:, 1] = np.linspace(-0.8, 0.8, 25)
    base[:, 2] = 3.0
    t = np.arange(frames)[:, None, None]
    wave = amplitude * np.sin(t / 3.0 + rng.uniform(0, 6, (1, 25, 1)))
    return base[None] + wave * np.array([1.0, 0.3, 0.1])


def write_ntu_skeleton(path: Path, bodies_per_frame: list[list[tuple[str, np.ndarray]]]) -> Path:
    """bodies_per_frame[t] = [(body_id, joints (25, 3)), ...]; colour positions derive from x, y."""
    lines = [str(len(bodies_per_frame))]
    for bodies in bodies_per_frame:
        lines.append(str(len(bodies)))
        for body_id, joints in bodies:
            lines.append(f"{body_id} 0 1 1 1 1 0 0.1 0.2 2")
            lines.append("25")
            for x, y, z in joints:
                color_x, color_y = 960 + 500 * x, 540 - 500 * y
                lines.append(f"{x:.6f} {y:.6f} {z:.6f} 250.1 200.2 {color_x:.3f} {color_y:.3f} 0.1 0.2 0.3 0.9 2")
    path.write_text("\n".join(lines) + "\n")
    return path


def two_actor_recording(path: Path, frames: int = 40, noise_frames: int = 6) -> Path:
    """Two real bodies, a short noise body in a few frames, and one frame with no body at all."""
    actor_a = ntu_body_motion(frames, seed=1, amplitude=0.3)  # the most active
    actor_b = ntu_body_motion(frames, seed=2, amplitude=0.05)
    noise = ntu_body_motion(noise_frames, seed=3, amplitude=0.5)
    per_frame = []
    for t in range(frames):
        if t == 5:
            per_frame.append([])
            continue
        bodies = [("72057594037931101", actor_b[t]), ("72057594037931102", actor_a[t])]
        if 10 <= t < 10 + noise_frames:
            bodies.append(("72057594037931199", noise[t - 10]))
        per_frame.append(bodies)
    return write_ntu_skeleton(path, per_frame)
