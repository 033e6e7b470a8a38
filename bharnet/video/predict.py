"""Sliding-window action prediction with a trained checkpoint, on keypoints or straight from video."""

from __future__ import annotations

import importlib.resources
import tempfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bharnet.config import from_dict
from bharnet.data.pipeline import BodyHandPipeline
from bharnet.data.sample import Sample
from bharnet.engine.checkpoint import load_checkpoint, read_checkpoint_state
from bharnet.engine.inputs import input_spec
from bharnet.errors import ConfigError, DataFormatError
from bharnet.export import FUSED, OnnxModel, export_onnx, predictor_state
from bharnet.models import InputSpec, build_model
from bharnet.models.inference import folded_for_inference
from bharnet.runtime import check_precision, inference_precision
from bharnet.skeleton import body_hand_split

BUNDLED = {"neat11": "neat11.safetensors"}  # checkpoints shipped inside the package
BACKENDS = ("torch", "onnx")


def resolve_checkpoint(name: str | Path) -> Path:
    """A checkpoint path, or the name of a bundled one (``neat11``)."""
    if str(name) in BUNDLED:
        return Path(str(importlib.resources.files("bharnet.assets") / BUNDLED[str(name)]))
    return Path(name)


class TorchProbabilities:
    """Fused class probabilities of a PyTorch model for a batch of (body, hands, body_mask, hand_mask)."""

    def __init__(self, model: torch.nn.Module, device: str | torch.device, precision: str = "fp32"):
        self.device = torch.device(device)
        self.model = folded_for_inference(model).to(self.device)
        self.precision_context = inference_precision(self.device, precision)

    @torch.no_grad()
    def __call__(self, batch: list[np.ndarray]) -> np.ndarray:
        with self.precision_context:
            fused = self.model(*(torch.from_numpy(x).to(self.device) for x in batch))["fused"]
        return fused.exp().cpu().numpy()


class OnnxProbabilities:
    """The same from an exported model in onnxruntime."""

    def __init__(self, model: OnnxModel):
        self.model = model

    def __call__(self, batch: list[np.ndarray]) -> np.ndarray:
        return self.model(*batch)[FUSED]


def exported_copy(model: torch.nn.Module, spec: InputSpec, state: dict, frames: int) -> OnnxModel:
    """``model`` exported to a temporary ONNX file and loaded in onnxruntime (which keeps it in memory)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        export_onnx(model, spec, path, predictor_state(state), frames)
        return OnnxModel(path)


@dataclass
class WindowPrediction:
    start: int  # first frame (inclusive)
    stop: int  # last frame (exclusive)
    top: list[tuple[str, float]]  # (class, probability), best first

    def text(self) -> str:
        return ", ".join(f"{label} {p:.2f}" for label, p in self.top)


class Predictor:
    """A checkpoint with its preprocessing: ``probabilities(sample)`` for one clip, ``windows`` for a long one.

    ``backend``: ``torch``, or ``onnx`` (onnxruntime on the CPU). With onnx, ``checkpoint`` is a file written
    by ``bharnet export``, or a checkpoint that is exported to a temporary file first. ``precision``: the torch
    backend's (``fp32`` or ``bf16``); the ONNX model runs in fp32."""

    def __init__(self, checkpoint: str | Path, device: str | torch.device = "cpu", top_k: int = 3,
                 backend: str = "torch", precision: str = "fp32"):
        if backend not in BACKENDS:
            raise ConfigError(f"backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        check_precision(precision)
        if backend == "onnx" and precision != "fp32":
            raise ConfigError(f"precision {precision!r}: the onnx backend runs in fp32; use --backend torch")
        path = resolve_checkpoint(checkpoint)
        exported = OnnxModel(path) if path.suffix == ".onnx" else None
        if exported is not None and backend != "onnx":
            raise ConfigError(f"{path} is an ONNX file: predict from it with --backend onnx")
        state = exported.state if exported is not None else read_checkpoint_state(path)
        if not state or "source_layout" not in state:
            raise DataFormatError(path, "lacks the source layout (written by an older bharnet); retrain or "
                                  "evaluate with bharnet eval instead")
        self.config = from_dict(state["config"], source=str(path))
        self.classes: list[str] = state["classes"]
        self.layout = state["source_layout"]
        pipeline = self.config.data.pipeline
        if exported is None:
            spec = input_spec(self.layout, pipeline, len(self.classes), state["coordinates"])
            model = build_model(self.config.model, spec).eval()
            load_checkpoint(path, model)
            exported = exported_copy(model, spec, state, pipeline.num_frames) if backend == "onnx" else None
        self.run = OnnxProbabilities(exported) if exported is not None else TorchProbabilities(model, device, precision)
        self.pipeline = BodyHandPipeline(body_hand_split(self.layout), pipeline, train=False)
        self.window = pipeline.num_frames
        self.top_k = min(top_k, len(self.classes))
        self.name = path.stem

    def check_layout(self, layout: str, source: str) -> None:
        if layout != self.layout:
            raise ConfigError(f"{source}: gives {layout} keypoints, but checkpoint {self.name} was trained on "
                              f"{self.layout}")

    def probabilities(self, samples: list[Sample]) -> np.ndarray:
        """(N, K) class probabilities of the fused head, one row per clip."""
        inputs = [self.pipeline(sample, None) for sample in samples]
        return self.run([np.stack(field) for field in zip(*inputs, strict=True)])

    def top(self, probabilities: np.ndarray) -> list[tuple[str, float]]:
        order = np.argsort(-probabilities)[: self.top_k]
        return [(self.classes[i], float(probabilities[i])) for i in order]

    def windows(self, sample: Sample, window: int, stride: int) -> list[WindowPrediction]:
        """Windows of ``window`` frames every ``stride`` frames (one window over the clip when shorter)."""
        starts = window_starts(sample.num_frames, window, stride)
        clips = [Sample(sample.keypoints[:, s:s + window], sample.scores[:, s:s + window], 0, sample.name)
                 for s in starts]
        probabilities = self.probabilities(clips)
        return [WindowPrediction(s, min(s + window, sample.num_frames), self.top(p))
                for s, p in zip(starts, probabilities, strict=True)]


def check_window(window: int, stride: int) -> None:
    if window < 1 or stride < 1:
        raise ConfigError(f"--window {window} and --stride {stride} must be positive")


def window_starts(frames: int, window: int, stride: int) -> list[int]:
    check_window(window, stride)
    if frames <= window:
        return [0]
    starts = list(range(0, frames - window + 1, stride))
    if starts[-1] + window < frames:  # the tail gets its own window
        starts.append(frames - window)
    return starts


class StreamingWindows:
    """Frames pushed one at a time; a prediction every ``stride`` frames over the last ``window`` frames."""

    def __init__(self, predictor: Predictor, window: int, stride: int):
        check_window(window, stride)
        self.predictor, self.window, self.stride = predictor, window, stride
        self.keypoints: deque[np.ndarray] = deque(maxlen=window)
        self.scores: deque[np.ndarray] = deque(maxlen=window)
        self.count = 0

    def push(self, keypoints: np.ndarray, scores: np.ndarray) -> WindowPrediction | None:
        self.keypoints.append(keypoints)
        self.scores.append(scores)
        self.count += 1
        full = len(self.keypoints) == self.window
        if full and (self.count - self.window) % self.stride == 0:
            return self.predict()
        return None

    def predict(self) -> WindowPrediction | None:
        """The current window (also a short clip's only window at its end)."""
        if not self.keypoints or not np.any(self.scores):
            return None
        clip = Sample(np.stack(self.keypoints)[None], np.stack(self.scores)[None], 0, "stream")
        top = self.predictor.top(self.predictor.probabilities([clip])[0])
        return WindowPrediction(self.count - len(self.keypoints), self.count, top)


def iterate_video_predictions(predictor: Predictor, frames, window: int, stride: int
                              ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, WindowPrediction | None]]:
    """(frame, keypoints, scores, prediction made at this frame or None) for each frame of a FrameSource."""
    from bharnet.video.detectors import HolisticDetector

    predictor.check_layout("mediapipe_holistic75", frames.source)
    stream = StreamingWindows(predictor, window, stride)
    with HolisticDetector() as detect:
        for frame in frames:
            found = detect(frame)
            yield frame, found.keypoints, found.scores, stream.push(found.keypoints, found.scores)
    if stream.count < window:
        yield None, None, None, stream.predict()
