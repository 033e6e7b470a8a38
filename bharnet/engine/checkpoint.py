"""Checkpoints: one safetensors file holds the tensors (model, optimizer state) and, in its metadata, the
json state (epoch, config, history, ...); it is written to a temporary name and renamed, so a crash leaves
either the old checkpoint or the new one, never a mix. The same json is also written beside it, for people
and tools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from bharnet.atomic import atomic_write, atomic_write_text
from bharnet.config import ExperimentConfig, from_dict
from bharnet.errors import ConfigError, DataFormatError

MODEL, OPTIMIZER = "model/", "optimizer/"
STATE = "bharnet_checkpoint"


def save_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                    state: dict[str, Any]) -> None:
    """``path``: stem of the pair ``path.safetensors`` + ``path.json``. ``state`` must be json-serializable
    (epoch, step, metrics, resolved config, scheduler and scaler states)."""
    tensors = {MODEL + k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = dict(state)
    if optimizer is not None:
        opt = optimizer.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for pid, slots in opt["state"].items():
            for key, value in slots.items():
                if torch.is_tensor(value):
                    tensors[f"{OPTIMIZER}{pid}/{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars.setdefault(str(pid), {})[key] = value
        meta["optimizer"] = {"param_groups": opt["param_groups"], "scalars": scalars}
    text = json.dumps(meta, indent=1)
    atomic_write(path.with_suffix(".safetensors"), lambda tmp: save_file(tensors, str(tmp), {STATE: text}))
    atomic_write_text(path.with_suffix(".json"), text)


def _weights_file(path: str | Path) -> Path:
    stem = Path(path)
    if stem.suffix in (".json", ".safetensors"):
        stem = stem.with_suffix("")
    weights = stem.with_suffix(".safetensors")
    if not weights.is_file():
        raise DataFormatError(weights, "checkpoint file not found")
    return weights


def read_checkpoint_state(path: str | Path) -> dict[str, Any]:
    """The json state of a checkpoint (config, classes, epoch, ...) without loading its tensors."""
    weights = _weights_file(path)
    try:
        with safe_open(str(weights), framework="pt") as f:
            return json.loads((f.metadata() or {})[STATE])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as error:
        raise DataFormatError(weights, f"not a bharnet checkpoint ({error})") from None


def load_checkpoint(path: str | Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None,
                    device: torch.device | str = "cpu") -> dict[str, Any]:
    """Restore ``model`` (and ``optimizer``); returns the json state. ``path`` may name either file or the stem."""
    weights = _weights_file(path)
    meta = read_checkpoint_state(weights)
    try:
        tensors = load_file(str(weights), device=str(device))
    except (SafetensorError, OSError) as error:
        raise DataFormatError(weights, f"not a bharnet checkpoint ({error})") from None
    model_state = {k[len(MODEL):]: v for k, v in tensors.items() if k.startswith(MODEL)}
    missing, unexpected = model.load_state_dict(model_state, strict=False)
    if missing or unexpected:
        raise DataFormatError(weights, f"does not match the configured model (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]}): was it trained with another model config?")
    if optimizer is not None and "optimizer" in meta:
        state: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            if key.startswith(OPTIMIZER):
                pid, slot = key[len(OPTIMIZER):].split("/", 1)
                state.setdefault(int(pid), {})[slot] = value
        for pid, slots in meta["optimizer"]["scalars"].items():
            state.setdefault(int(pid), {}).update(slots)
        optimizer.load_state_dict({"state": state, "param_groups": meta["optimizer"]["param_groups"]})
    return meta


# what only acts while training: may differ between a checkpoint and the config it is evaluated with
TRAINING_ONLY_DATA = {"rotate_degrees", "scale", "shear", "drop_hands", "drop_hand_samples", "hand_jitter",
                      "mirror"}
INPUT_KEYS = {"layout", "num_frames", "sampling", "normalize", "hand_normalize", "hand_arrangement", "mirror_left",
              "handedness", "modality", "channels", "max_persons"}


# how a dual-stream model's two experts are combined into its prediction: no weight depends on it, so a
# checkpoint may be scored with another rule (the experts stay those its training fusion made)
PREDICTION_RULE = {"fusion"}


def _model_differences(config: dict[str, Any], saved: dict[str, Any]) -> list[str]:
    """Where ``config`` differs from the checkpoint's ``saved`` config in what defines the model and its input."""
    differences = []
    for section, keys in (("model", None), ("data", INPUT_KEYS)):
        mine, theirs = config.get(section) or {}, saved.get(section) or {}
        for key in sorted(set(mine) & set(theirs) - (PREDICTION_RULE if section == "model" else set())):
            if (keys is None or key in keys) and mine[key] != theirs[key]:
                differences.append(f"{section}.{key}: checkpoint {theirs[key]!r}, requested {mine[key]!r}")
    return differences


def checkpoint_config(declared: ExperimentConfig, requested: ExperimentConfig, path: str | Path
                      ) -> tuple[ExperimentConfig, list[str]]:
    """The config to evaluate checkpoint ``path`` with: its own model and input preprocessing, with the
    data (file, splits, relabelling) and running options of ``requested`` (the user's config and --set
    overrides; ``declared`` is the same config without the overrides).

    An override that contradicts the checkpoint (``--set data.modality=BM`` on a joint model) is refused with
    every difference listed: it would score a model on input it never saw. Where only the config file differs
    (a recipe left out, an option since changed), the checkpoint's values are used; those differences are
    returned so that the command can say so. The prediction rule (``model.fusion``) is the requested one: the
    same experts may be combined another way (``training_fusion`` records how they were trained)."""
    saved = read_checkpoint_state(path).get("config") or {}
    file_differences = set(_model_differences(declared.to_dict(), saved))
    refused = [d for d in _model_differences(requested.to_dict(), saved) if d not in file_differences]
    if refused:
        raise ConfigError(f"{_weights_file(path)} was trained with another model or input; " + "; ".join(refused))
    values = requested.to_dict()
    model = dict(saved.get("model") or {})
    if "fusion" in model:  # how the experts were trained stays recorded when the prediction rule changes
        model["training_fusion"] = model.get("training_fusion") or model["fusion"]
    values["model"] = {**values.get("model", {}), **model, "fusion": values["model"]["fusion"]}
    values["data"].update({k: v for k, v in (saved.get("data") or {}).items() if k in INPUT_KEYS})
    return from_dict(values, requested.source), sorted(file_differences)
