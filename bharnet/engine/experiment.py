"""An experiment: the datasets, model and loss a config describes, checked before anything runs, and the
model's predictions and metrics on a split. Training (:mod:`bharnet.engine.trainer`), evaluation, robustness
and cross-validation all start from one."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset
from tqdm import tqdm

from bharnet.config import ExperimentConfig, check_hand_coordinates
from bharnet.data.dataset import BodyHandDataset, hand_presence
from bharnet.engine import distributed
from bharnet.engine.inputs import check_pipeline, dataset_input_spec
from bharnet.engine.metrics import summarize
from bharnet.errors import ConfigError
from bharnet.models import BodyHandLoss, build_model
from bharnet.runtime import inference_precision


@dataclasses.dataclass
class Predictions:
    """Every head's scores for one split: ``heads[name]`` (N, K) — logits, or log-probabilities for
    ``fused`` — with the dataset indices and labels, in dataset order; ``per_sample[name]`` (N,) holds the
    model's per-sample outputs (a BHaRNet's hand ``reliability`` and ``hand_presence``)."""

    heads: dict[str, np.ndarray]
    labels: np.ndarray
    indices: np.ndarray
    per_sample: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    def metrics(self, classes: int, subset: list[int] | None = None,
                masks: dict[str, np.ndarray] | None = None) -> dict[str, dict]:
        return {name: summarize(scores, self.labels, classes, subset, masks) for name, scores in self.heads.items()}


def class_subset(config: ExperimentConfig, classes: list[str]) -> list[int]:
    """``data.hand_classes`` as class indices."""
    out = []
    for item in config.data.hand_classes:
        if isinstance(item, int):
            if not 0 <= item < len(classes):
                raise ConfigError(f"data.hand_classes: index {item} outside 0..{len(classes) - 1}")
            out.append(item)
        elif item in classes:
            out.append(classes.index(item))
        else:
            raise ConfigError(f"data.hand_classes: no class named {item!r} in the dataset")
    return out


class Experiment:
    """Datasets, model and loss built from a config, with every check done before any training starts."""

    def __init__(self, config: ExperimentConfig, group: distributed.ProcessGroup | None = None,
                 precision: str | None = None):
        """``precision``: what predictions run at (``fp32`` or ``bf16``, bharnet.runtime.inference_precision);
        by default as training runs (``train.amp`` on CUDA, fp32 on a CPU)."""
        self.config = config
        self.group = group or distributed.ProcessGroup()
        self.device = distributed.resolve_device(config.train.device, self.group)
        self.prediction_context = self.autocast() if precision is None else inference_precision(self.device,
                                                                                                precision)
        check_pipeline(config.model, config.data.pipeline)
        data, seed = config.data, config.train.seed
        path = config.dataset_path()
        self.train_set = BodyHandDataset(path, data.train_split, data.pipeline, train=True, seed=seed)
        file = self.train_set.file
        for split, mapping in data.relabel.items():
            file.relabel(split, mapping)
        self.test_set = BodyHandDataset(file, data.test_split, data.pipeline, train=False, seed=seed)
        self.val_set = (
            BodyHandDataset(file, data.val_split, data.pipeline, train=False, seed=seed) if data.val_split else None
        )
        # the file knows its layout and classes; a config that names others describes another dataset
        own_data = "(for your own data, configs/mediapipe/ names neither: the file decides)"
        if data.layout and data.layout != file.layout_name:
            raise ConfigError(f"{config.source}: data.layout = {data.layout}, but {path} holds {file.layout_name} "
                              + own_data)
        if data.num_classes and data.num_classes != len(file.classes):
            raise ConfigError(f"{config.source}: data.num_classes = {data.num_classes}, "
                              f"but {path} has {len(file.classes)} classes " + own_data)
        check_hand_coordinates(file.layout_name, data.pipeline)
        self.classes = file.classes
        self.subset = class_subset(config, self.classes)
        self.spec = dataset_input_spec(self.train_set)
        self.model = build_model(config.model, self.spec).to(self.device)
        counts = torch.bincount(torch.as_tensor(self.train_set.labels), minlength=len(self.classes))
        self.loss = BodyHandLoss(config.loss, self.model.auxiliary_heads, counts).to(self.device)
        self._check_shapes()

    def _check_shapes(self) -> None:
        """One real sample through the model, so a shape mismatch fails here, naming the file."""
        *inputs, _ = self.train_set[0]
        was_training = self.model.training
        try:
            with torch.no_grad():
                self.model.eval()(*(x[None].to(self.device) for x in inputs))
        except RuntimeError as error:
            raise ConfigError(f"{self.config.source}: the model does not accept the samples of "
                              f"{self.config.dataset_path()} ({error})") from None
        finally:
            self.model.train(was_training)

    def test_metrics(self, predictions: Predictions) -> dict[str, dict]:
        """Every head's metrics, with the hand-class subset and, when the data has hands, the accuracy on
        the samples whose hands are missing in most frames (``hands_missing_top1``)."""
        masks = {}
        if self.train_set.split.has_hands:
            presence = hand_presence(self.train_set.file, predictions.indices)
            masks["hands_missing"] = presence < 0.5
        return predictions.metrics(len(self.classes), self.subset, masks)

    @property
    def eval_batch(self) -> int:
        return self.config.train.eval_batch_size or self.config.train.batch_size

    def loader(self, dataset, batch_size: int, sampler=None, drop_last: bool = False) -> DataLoader:
        """``drop_last`` (training): a last batch of one sample would break BatchNorm."""
        return DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=self.config.train.workers,
                          pin_memory=self.device.type == "cuda",
                          drop_last=drop_last and len(dataset) >= batch_size * self.group.world_size)

    def autocast(self):
        enabled = self.config.train.amp and self.device.type == "cuda"
        return torch.autocast(self.device.type, enabled=enabled)


    def predict(self, dataset: BodyHandDataset, model: torch.nn.Module | None = None,
                progress: bool = False, desc: str = "eval") -> Predictions:
        """Scores of every head on ``dataset``; under DDP each rank scores a shard, rank order restored."""
        model = model or self.model
        distributed.broadcast_buffers(self.group, model)
        model.eval()
        shard = list(range(self.group.rank, len(dataset), self.group.world_size))
        heads: dict[str, list[np.ndarray]] = {}
        labels = []
        bar = tqdm(total=len(shard), desc=desc, unit="sample", leave=False,
                   disable=not (progress and self.group.is_main))
        with torch.no_grad(), self.prediction_context:
            for *inputs, label in self.loader(Subset(dataset, shard), self.eval_batch):
                outputs = model(*(x.to(self.device, non_blocking=True) for x in inputs))
                for name, value in outputs.items():
                    heads.setdefault(name, []).append(value.float().cpu().numpy())
                labels.append(label.numpy())
                bar.update(len(label))
        bar.close()
        local = {"heads": {k: np.concatenate(v) for k, v in heads.items()},
                 "labels": np.concatenate(labels), "positions": np.asarray(shard)}
        parts = distributed.gather_arrays(self.group, local)
        order = np.argsort(np.concatenate([p["positions"] for p in parts]), kind="stable")
        merged = {k: np.concatenate([p["heads"][k] for p in parts])[order] for k in local["heads"]}
        scores = {k: v for k, v in merged.items() if v.ndim == 2}
        per_sample = {k: v for k, v in merged.items() if v.ndim == 1}
        return Predictions(scores, np.concatenate([p["labels"] for p in parts])[order], dataset.indices.copy(),
                           per_sample)


def predict_splits(exp: Experiment, model: torch.nn.Module, progress: bool = False) -> dict[str, Predictions]:
    splits = {"test": exp.test_set, **({"val": exp.val_set} if exp.val_set else {})}
    return {name: exp.predict(dataset, model, progress, name) for name, dataset in splits.items()}


def run_result(config: ExperimentConfig, epochs: int, metrics: dict[str, dict], **extra) -> dict:
    """A run folder's result.json: the test figures of every head."""
    return {"name": config.name, "model": config.model.name, "epochs": epochs,
            "test_top1": metrics["fused"]["top1"],
            "test_top1_per_head": {h: m["top1"] for h, m in metrics.items()},
            "test_hands_missing": {h: [m["hands_missing_top1"], m["hands_missing_samples"]]
                                   for h, m in metrics.items() if "hands_missing_top1" in m},
            **extra}
