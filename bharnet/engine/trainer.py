"""Training: one process or DistributedDataParallel under torchrun; checkpoints, metrics, resume.

Determinism: the data pipeline is seeded by (seed, epoch, sample), the shuffling by (seed, epoch) through a
DistributedSampler (one replica when not distributed), and the global torch generator is re-seeded at every
epoch start. A run resumed from its last checkpoint therefore continues exactly as if it had not stopped.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler
from tqdm import tqdm

from bharnet.atomic import atomic_write, atomic_write_text
from bharnet.config import ExperimentConfig, save_config
from bharnet.data.pipeline import PipelineConfig
from bharnet.engine import distributed
from bharnet.engine.checkpoint import load_checkpoint, save_checkpoint
from bharnet.engine.evaluation import save_scores, write_report
from bharnet.engine.events import EventWriter
from bharnet.engine.experiment import Experiment, predict_splits, run_result
from bharnet.engine.schedule import make_optimizer, make_scheduler
from bharnet.errors import ConfigError, TrainingError
from bharnet.models import LossConfig, ModelConfig

HISTORY_FIELDS = ["epoch", "lr", "train_loss", "train_top1", "val_top1", "val_top5", "val_mean_class",
                  "samples_per_s", "seconds"]


# keys that may change between a run and its resumption without changing the result
_RESUMABLE = {"data.file", "train.workers", "train.device", "train.threads", "name"}


def _config_changes(saved: dict, current: dict) -> list[str]:
    """The keys whose values differ; an option that did not exist when the run was saved (a newer bharnet) is
    not a change unless the current config moves it off its default."""
    keys = {f"{section}.{key}" for section, values in saved.items() if isinstance(values, dict) for key in values}
    defaults = {"model": ModelConfig().to_dict(), "data": PipelineConfig().to_dict(),
                "loss": dataclasses.asdict(LossConfig())}
    keys |= {f"{section}.{key}" for section, values in current.items() if isinstance(values, dict) for key in values
             if key in (saved.get(section) or {}) or values[key] != (defaults.get(section) or {}).get(key)}

    def get(tree, dotted):
        section, key = dotted.split(".", 1)
        return (tree.get(section) or {}).get(key)

    return sorted(k for k in keys - _RESUMABLE if get(saved, k) != get(current, k))


class Trainer:
    """``fit()`` trains ``config`` into ``run_dir``: config.yaml, metrics.csv, TensorBoard events,
    checkpoints/last, checkpoints/best when there is a validation split (safetensors + json), and the final
    test scores."""

    def __init__(self, config: ExperimentConfig, run_dir: Path, resume: bool = False, progress: bool = True):
        self.group = distributed.init_from_environment(distributed.resolve_device(config.train.device).type)
        if config.train.threads:
            torch.set_num_threads(config.train.threads)
        world = self.group.world_size
        if config.train.batch_size % world:
            raise ConfigError(f"train.batch_size = {config.train.batch_size} does not split over {world} processes")
        self.config = config
        self.run_dir = Path(run_dir)
        self.progress = progress
        torch.manual_seed(config.train.seed)  # model initialization
        self.experiment = Experiment(config, self.group)
        exp = self.experiment
        self.model = exp.model
        self.optimizer = make_optimizer(self.model, config.optim)
        self.sampler = DistributedSampler(exp.train_set, num_replicas=world, rank=self.group.rank, shuffle=True,
                                          seed=config.train.seed)
        self.train_loader = exp.loader(exp.train_set, config.train.batch_size // world, self.sampler, True)
        self.steps_per_epoch = max(len(self.train_loader), 1)
        self.scheduler = make_scheduler(self.optimizer, self.steps_per_epoch, config.schedule)
        self.scaler = torch.amp.GradScaler(exp.device.type, enabled=config.train.amp and exp.device.type == "cuda")
        self.wrapped = (
            DistributedDataParallel(self.model, device_ids=[exp.device.index] if exp.device.type == "cuda" else None)
            if self.group.distributed else self.model
        )
        self.epoch = 0
        self.best = -math.inf
        self.history: list[dict[str, Any]] = []
        checkpoint = self.run_dir / "checkpoints" / "last"
        if resume:
            self._resume(checkpoint)
        elif checkpoint.with_suffix(".safetensors").exists():
            raise ConfigError(f"{self.run_dir} already holds a run: pass --resume to continue it, or pick --out")

    # ------------------------------------------------------------------ state
    def _resume(self, checkpoint: Path) -> None:
        state = load_checkpoint(checkpoint, self.model, self.optimizer, self.experiment.device)
        changed = _config_changes(state["config"], self.config.to_dict())
        if changed:
            raise ConfigError(f"{checkpoint}: the run was made with another config ({', '.join(changed)} differ)")
        self.epoch = state["epoch"]
        self.best = state["best"]
        self.history = state["history"]
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])

    def _state(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "best": self.best, "history": self.history,
                "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
                "config": self.config.to_dict(), "classes": self.experiment.classes,
                "source_layout": self.experiment.spec.source_layout,
                "coordinates": self.experiment.train_set.file.coordinates}

    def _write_logs(self, row: dict[str, Any]) -> None:
        def write(tmp: Path) -> None:
            with tmp.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=HISTORY_FIELDS, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(self.history)

        atomic_write(self.run_dir / "metrics.csv", write)
        self.events.scalars(row["epoch"], {k: v for k, v in row.items() if k != "epoch" and v == v})

    # ------------------------------------------------------------------ loop
    def fit(self) -> dict[str, Any]:
        cfg = self.config
        if self.group.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.run_dir / "config.yaml")
            self.events = EventWriter(self.run_dir)
        for epoch in range(self.epoch, cfg.schedule.epochs):
            row = self._train_epoch(epoch)
            row.update(self._validate(epoch))
            self.epoch = epoch + 1
            self.history.append(row)
            if self.group.is_main:
                improved = row["val_top1"] > self.best
                self.best = max(self.best, row["val_top1"])
                save_checkpoint(self.run_dir / "checkpoints" / "last", self.model, self.optimizer, self._state())
                if improved and self.experiment.val_set is not None:  # "best" on test data would be a choice on test
                    save_checkpoint(self.run_dir / "checkpoints" / "best", self.model, None, self._state())
                self._write_logs(row)
            distributed.barrier(self.group)
        result = self._finish()
        if self.group.is_main:
            self.events.close()
        return result

    def _train_epoch(self, epoch: int) -> dict[str, Any]:
        exp, cfg = self.experiment, self.config
        exp.train_set.set_epoch(epoch)
        self.sampler.set_epoch(epoch)
        torch.manual_seed(cfg.train.seed * 100_003 + epoch)  # dropout and any other global randomness
        self.wrapped.train()
        loss_sum, correct, seen, start = 0.0, 0, 0, time.perf_counter()
        bar = tqdm(self.train_loader, desc=f"epoch {epoch + 1}/{cfg.schedule.epochs}", unit="batch",
                   disable=not (self.progress and self.group.is_main), leave=False)
        for *inputs, labels in bar:
            inputs = [x.to(exp.device, non_blocking=True) for x in inputs]
            labels = labels.to(exp.device, non_blocking=True)
            with exp.autocast():
                outputs = self.wrapped(*inputs)
                loss = exp.loss(outputs, labels)
            if not torch.isfinite(loss):
                raise TrainingError(f"{self.config.source}: the loss became {loss.item()} in epoch {epoch + 1}; "
                                    "try a lower optim.lr or a longer schedule.warmup_epochs")
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            loss_sum += loss.item() * len(labels)
            correct += (outputs["fused"].argmax(1) == labels).sum().item()
            seen += len(labels)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                            rate=f"{seen * self.group.world_size / (time.perf_counter() - start):.0f}/s")
        totals = torch.tensor([loss_sum, correct, seen], dtype=torch.float64)
        if self.group.distributed:
            torch.distributed.all_reduce(totals)
        seconds = time.perf_counter() - start
        return {"epoch": epoch + 1, "lr": self.optimizer.param_groups[0]["lr"],
                "train_loss": float(totals[0] / max(totals[2], 1)), "train_top1": float(totals[1] / max(totals[2], 1)),
                "samples_per_s": float(totals[2] / seconds), "seconds": seconds}

    def _validate(self, epoch: int) -> dict[str, Any]:
        exp = self.experiment
        dataset = exp.val_set or exp.test_set
        metrics = exp.predict(dataset, self.model, self.progress, "validate").metrics(len(exp.classes))
        fused = metrics["fused"]
        row = {"val_top1": fused["top1"], "val_top5": fused["top5"], "val_mean_class": fused["mean_class"]}
        row.update({f"val_top1_{head}": m["top1"] for head, m in metrics.items() if head != "fused"})
        if self.progress and self.group.is_main:
            heads = "  ".join(f"{h} {m['top1']:.3f}" for h, m in metrics.items() if h != "fused")
            tqdm.write(f"epoch {epoch + 1}: val top1 {fused['top1']:.4f}  top5 {fused['top5']:.4f}"
                       + (f"  ({heads})" if heads else ""))
        return row

    def _finish(self) -> dict[str, Any]:
        """Scores, metrics and pictures of the final model on the test split (and val split when set)."""
        exp = self.experiment
        predictions = predict_splits(exp, self.model, self.progress)
        metrics = exp.test_metrics(predictions["test"])
        if self.group.is_main:
            save_scores(self.run_dir / "scores.safetensors", predictions, exp)
            write_report(self.run_dir / "test", predictions["test"], exp, self.history)
            summary = run_result(self.config, self.epoch, metrics, best_val_top1=self.best if exp.val_set else None)
            atomic_write_text(self.run_dir / "result.json", json.dumps(summary, indent=1))
        return metrics
