"""Experiment configs: one YAML file per experiment, sections data / model / loss / optim / schedule / train.

A config may name a ``base`` config (a path relative to the config) whose values it extends; mappings merge key by
key. ``recipes`` holds named partial configs (``--recipe cpu``); command-line overrides (``--set optim.lr=0.05``)
apply last. Every key is checked against the known
options before anything runs, and errors name the file and the key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bharnet import fields
from bharnet.atomic import atomic_write_text
from bharnet.data.pipeline import PipelineConfig
from bharnet.errors import ConfigError
from bharnet.models.config import ModelConfig
from bharnet.models.losses import LossConfig
from bharnet.skeleton.split import body_hand_split

OPTIMIZERS = ("sgd", "adamw")


@dataclass(frozen=True)
class DataConfig:
    """The dataset file (a relative path is taken from the working directory) and its splits. ``layout``
    and ``num_classes`` describe the file for commands that run without it (``bharnet info``).
    ``relabel`` corrects known label errors without rewriting the file: {split: {class: corrected class}}."""

    file: str = ""
    train_split: str = "train"
    val_split: str = ""  # empty: validate on the test split
    test_split: str = "test"
    layout: str = ""
    num_classes: int = 0
    hand_classes: tuple[str | int, ...] = ()  # class names or 0-based indices: the hand-intensive subset
    relabel: dict[str, dict[str, str]] = field(default_factory=dict)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)

    def __post_init__(self) -> None:
        if not isinstance(self.relabel, dict) or not all(isinstance(m, dict) for m in self.relabel.values()):
            raise ConfigError("data.relabel must map split names to {class: class} mappings")


@dataclass(frozen=True)
class OptimConfig:
    name: str = "sgd"  # sgd (Nesterov momentum) | adamw
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 4e-4

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ConfigError(f"optim.name = {self.name!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ConfigError("optim.lr must be positive and optim.weight_decay not negative")


@dataclass(frozen=True)
class ScheduleConfig:
    """Linear warm-up, then cosine decay to ``min_lr_ratio * lr`` at the last epoch (per-step). A warm-up
    as long as the run or longer is cut to leave one epoch of decay, so a short trial run (``epochs: 1``)
    works with the recipe's warm-up unchanged."""

    epochs: int = 65
    warmup_epochs: int = 5
    min_lr_ratio: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.warmup_epochs < 0:
            raise ConfigError(f"schedule: epochs = {self.epochs} must be positive and "
                              f"warmup_epochs = {self.warmup_epochs} not negative")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(f"schedule.min_lr_ratio = {self.min_lr_ratio}; it is a fraction in [0, 1]")

    @property
    def effective_warmup_epochs(self) -> int:
        return min(self.warmup_epochs, self.epochs - 1)


@dataclass(frozen=True)
class TrainConfig:
    batch_size: int = 64
    eval_batch_size: int = 0  # 0: same as batch_size
    seed: int = 1
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision where the device supports it (CUDA); ignored on CPU
    workers: int = 2
    threads: int = 0  # CPU threads for torch; 0 leaves torch's default

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.eval_batch_size < 0 or self.workers < 0 or self.threads < 0:
            raise ConfigError("train.batch_size must be positive; eval_batch_size, workers, threads not negative")


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = "experiment"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    source: str = ""  # the YAML file it was read from (set by load_config)

    def to_dict(self) -> dict:
        out = fields.to_dict(self)
        out.pop("source")
        pipeline = out["data"].pop("pipeline")
        out["data"].update(pipeline)
        return out

    def dataset_path(self) -> Path:
        """Relative paths are taken from the working directory (run from the project root)."""
        if not self.data.file:
            raise ConfigError(f"{self.source or 'config'}: data.file is not set")
        return Path(self.data.file).expanduser()

    def replace(self, **sections: Any) -> ExperimentConfig:
        return dataclasses.replace(self, **sections)


_DATA_KEYS = {f.name for f in dataclasses.fields(DataConfig)} - {"pipeline"}
_SECTIONS = {"data": None, "model": ModelConfig, "loss": LossConfig, "optim": OptimConfig,
             "schedule": ScheduleConfig, "train": TrainConfig}


def from_dict(values: dict, source: str = "") -> ExperimentConfig:
    unknown = sorted(set(values) - set(_SECTIONS) - {"name", "base", "recipes"})
    if unknown:
        raise ConfigError(f"{source or 'config'}: unknown section(s) {', '.join(unknown)}; "
                          f"known: name, base, {', '.join(_SECTIONS)}")
    for section in _SECTIONS:
        if not isinstance(values.get(section) or {}, dict):
            raise ConfigError(f"{source or 'config'}: section {section} must be a mapping")
    try:
        data = dict(values.get("data") or {})
        pipeline = PipelineConfig.from_dict({k: v for k, v in data.items() if k not in _DATA_KEYS})
        data_config = fields.build(DataConfig, {k: v for k, v in data.items() if k in _DATA_KEYS}, "data")
        built = {name: fields.build(cls, values.get(name), name) for name, cls in _SECTIONS.items() if cls}
        config = ExperimentConfig(
            name=str(values.get("name", "experiment")),
            data=dataclasses.replace(data_config, pipeline=pipeline),
            source=source,
            **built,
        )
        check_hand_coordinates(config.data.layout, config.data.pipeline)
        return config
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}" if source else str(error)) from None


def check_hand_coordinates(layout: str, pipeline: PipelineConfig) -> None:
    """Hands from another sensor than the body (NTU Kinect body + MediaPipe image hands) must not be moved by
    the body's canonical transform: the wrists would land metres apart from the hands. Checked when a config
    names its layout, and again against the dataset file's own layout when the experiment is built."""
    mixed = bool(layout) and not body_hand_split(layout).hands_in_body_coordinates
    if mixed and pipeline.hand_normalize == "body":
        raise ConfigError(f"data.hand_normalize = body, but layout {layout} holds its hands in other "
                          "coordinates than its body (image vs 3D): use hand_normalize wrist or none")


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for key, value in top.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path.resolve() in seen:
        raise ConfigError(f"{path}: base configs form a cycle")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: a config is a mapping of sections")
    base = values.pop("base", None)
    if base is None:
        return values
    return _merge(_read_yaml(path.parent / base, (*seen, path.resolve())), values)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``section.key=value`` with the value read as YAML (numbers, booleans, lists)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: write it as section.key=value")
    try:
        parsed = yaml.safe_load(value) if value else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip().split("."), parsed


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = (), recipe: str = "") -> ExperimentConfig:
    """Read ``path`` (and its bases), apply the named ``recipe`` (a partial config under ``recipes:``, e.g. the
    CPU budget version of a GPU recipe), then the ``--set`` overrides."""
    path = Path(path)
    values = _read_yaml(path)
    recipes = values.pop("recipes", None) or {}
    if recipe:
        if recipe not in recipes:
            raise ConfigError(f"{path}: no recipe {recipe!r}; recipes: {', '.join(sorted(recipes)) or 'none'}")
        values = _merge(values, recipes[recipe])
    for text in overrides:
        keys, value = parse_override(text)
        node = values
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {text!r}: {key} is not a section")
        node[keys[-1]] = value
    return from_dict(values, str(path))


def save_config(config: ExperimentConfig, path: Path) -> None:
    """The resolved config, absolute dataset path included, so a run folder is self-contained."""
    values = config.to_dict()
    if config.data.file:
        values["data"]["file"] = str(config.dataset_path().resolve())
    atomic_write_text(path, yaml.safe_dump(values, sort_keys=False))
