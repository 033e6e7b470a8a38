"""ONNX export of any skeleton model and an onnxruntime runner (optional dependencies: ``pip install
bharnet[onnx]``). The exported graph takes (body, hands, body_mask, hand_mask) with a dynamic batch axis and
returns the fused class probabilities (``fused``) and every head's logits (``body_logits``, ...: ONNX names
must differ from the input names); the checkpoint's description (config, classes,
source layout) rides in the file's metadata, so the file alone is enough to predict."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import nn

from bharnet.errors import ConfigError
from bharnet.models import InputSpec
from bharnet.models.inference import folded_for_inference

INPUTS = ("body", "hands", "body_mask", "hand_mask")
FUSED = "fused"
STATE = "bharnet_state"  # metadata key of the checkpoint description


def require(package: str) -> ModuleType:
    """Import an optional dependency of the ONNX path, or say how to install it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise ConfigError(f"the ONNX path needs the {package} package: pip install 'bharnet[onnx]'") from None


def predictor_state(state: dict[str, Any]) -> dict[str, Any]:
    """What a predictor needs from a checkpoint's state: its config, classes and input description."""
    return {key: state[key] for key in ("config", "classes", "source_layout", "coordinates")}


def head_names(model: nn.Module, spec: InputSpec) -> list[str]:
    """The model's per-head logits outputs (body, hand, ... or the single stream's name), in output order."""
    with torch.no_grad():
        outputs = model.eval()(*spec.example(1, 8))
    return [name for name, value in outputs.items() if name != FUSED and value.dim() == 2]


def logits_name(head: str) -> str:
    return f"{head}_logits"


class ExportedOutputs(nn.Module):
    """The model with a tuple output: fused probabilities, then each head's logits."""

    def __init__(self, model: nn.Module, heads: list[str]):
        super().__init__()
        self.model, self.heads = model, heads

    def forward(self, body, hands, body_mask, hand_mask) -> tuple[torch.Tensor, ...]:
        outputs = self.model(body, hands, body_mask, hand_mask)
        return (outputs[FUSED].exp(), *(outputs[name] for name in self.heads))


def export_onnx(model: nn.Module, spec: InputSpec, path: Path, state: dict[str, Any] | None = None,
                frames: int = 64) -> list[str]:
    """Write ``model`` (a CPU module) to ``path`` as it runs for inference (eval mode, BatchNorms folded, the
    gradient-free path), traced at ``frames`` frames (the frame axis is fixed, the batch axis dynamic). Returns
    the output names."""
    require("onnx")
    model = folded_for_inference(model)
    heads = head_names(model, spec)
    outputs = [FUSED, *(logits_name(head) for head in heads)]
    batch = torch.export.Dim("batch")
    example = spec.example(2, frames, torch.Generator().manual_seed(0))
    with torch.no_grad():
        program = torch.onnx.export(ExportedOutputs(model, heads).eval(), example, dynamo=True,
                                    input_names=list(INPUTS), output_names=outputs,
                                    dynamic_shapes={name: {0: batch} for name in INPUTS}, verbose=False)
    if state is not None:
        program.model.metadata_props[STATE] = json.dumps(state)
    program.save(str(path))
    return outputs


class OnnxModel:
    """An exported model in onnxruntime (CPU): ``model(body, hands, body_mask, hand_mask)`` with numpy
    arrays or tensors gives ``{output name: numpy array}``."""

    def __init__(self, path: str | Path, threads: int | None = None):
        ort = require("onnxruntime")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped errors for unreadable files
            raise ConfigError(f"{path}: not an ONNX model onnxruntime can load ({error})") from None
        self.outputs = [o.name for o in self.session.get_outputs()]

    @property
    def state(self) -> dict[str, Any] | None:
        """The checkpoint description written by :func:`export_onnx`, if any."""
        text = self.session.get_modelmeta().custom_metadata_map.get(STATE)
        return json.loads(text) if text else None

    def __call__(self, *inputs) -> dict[str, np.ndarray]:
        feed = {name: np.asarray(x, dtype=np.float32) for name, x in zip(INPUTS, inputs, strict=True)}
        return dict(zip(self.outputs, self.session.run(None, feed), strict=True))
