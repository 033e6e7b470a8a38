"""Typed config loading: values are converted to their field's type or refused with file, key, value, type."""

from __future__ import annotations

import dataclasses
import enum
from pathlib import Path

import numpy as np
import pytest

from bharnet import fields
from bharnet.config import ScheduleConfig, from_dict, load_config
from bharnet.engine.schedule import lr_factor
from bharnet.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text("name: typed\ndata:\n  file: x.bhd\nschedule:\n  epochs: 4\n  warmup_epochs: 1\n")
    return path


@pytest.mark.parametrize("override, read", [
    ("schedule.min_lr_ratio=1e-3", lambda c: c.schedule.min_lr_ratio == 0.001),
    ("optim.momentum=9e-1", lambda c: c.optim.momentum == 0.9),
    ("data.rotate_degrees=1e1", lambda c: c.data.pipeline.rotate_degrees == 10.0),
    ("optim.lr=1", lambda c: type(c.optim.lr) is float),
    ("data.num_frames=3.0", lambda c: c.data.pipeline.num_frames == 3 and type(c.data.pipeline.num_frames) is int),
    ("data.scale=[1, 2e-0]", lambda c: c.data.pipeline.scale == (1.0, 2.0)),
    ("model.depth=null", lambda c: c.model.depth is None),
    ("model.hand_width_multiplier=5e-1", lambda c: c.model.hand_width_multiplier == 0.5),
    ("data.hand_classes=[hello, 2]", lambda c: c.data.hand_classes == ("hello", 2)),
])
def test_values_are_converted_to_their_field_type(config_file, override, read):
    assert read(load_config(config_file, [override]))


@pytest.mark.parametrize("override, key, expected", [
    ("data.num_frames=abc", "data.num_frames = 'abc'", "int"),
    ("data.num_frames=2.5", "data.num_frames = 2.5", "int"),
    ("train.amp=3", "train.amp = 3", "bool"),
    ("train.batch_size=true", "train.batch_size = True", "int"),
    ("optim.lr=fast", "optim.lr = 'fast'", "float"),
    ("optim.lr=.nan", "optim.lr = nan", "float"),
    ("data.scale=[1, 2, 3]", "data.scale = [1, 2, 3]", "tuple[float, float]"),
    ("data.scale=1.0", "data.scale = 1.0", "tuple[float, float]"),
    ("model.widths=[16, x]", "model.widths = [16, 'x']", "tuple[int, ...]"),
    ("model.variant=7", "model.variant = 7", "str"),
    ("model.depth=deep", "model.depth = 'deep'", "int | None"),
    ("data.relabel={train: [a]}", "data.relabel = {'train': ['a']}", "dict[str, dict[str, str]]"),
])
def test_a_wrong_type_names_file_key_value_and_type(config_file, override, key, expected):
    with pytest.raises(ConfigError) as caught:
        load_config(config_file, [override])
    message = str(caught.value)
    assert message.startswith(str(config_file)), message
    assert key in message and message.endswith(f"is not of type {expected}"), message


def test_a_wrong_type_in_a_base_config_names_the_config_loaded(tmp_path):
    (tmp_path / "base.yaml").write_text("optim:\n  weight_decay: lots\n")
    (tmp_path / "top.yaml").write_text("base: base.yaml\nname: top\n")
    with pytest.raises(ConfigError, match=r"top\.yaml: optim\.weight_decay = 'lots' is not of type float"):
        load_config(tmp_path / "top.yaml")


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass(frozen=True)
class Inner:
    size: int = 1


@dataclasses.dataclass(frozen=True)
class NewOptions:
    """Fields of kinds that may be added to ModelConfig or PipelineConfig later: the loader is generic."""

    colour: Colour = Colour.RED
    ratio: float | None = None
    flags: tuple[bool, ...] = ()
    inner: Inner = dataclasses.field(default_factory=Inner)


def test_generic_fields_enums_optionals_nested():
    built = fields.build(NewOptions, {"colour": "blue", "ratio": "2e-2", "flags": [True], "inner": {"size": 3}}, "x")
    assert built == NewOptions(Colour.BLUE, 0.02, (True,), Inner(3))
    assert fields.to_dict(built)["colour"] == "blue"
    for values, expected in (({"colour": "green"}, "Colour"), ({"flags": [1]}, "tuple[bool, ...]"),
                             ({"inner": {"size": "big"}}, "int")):
        with pytest.raises(ConfigError, match=f"is not of type {expected.replace('[', '.').replace(']', '.')}"):
            fields.build(NewOptions, values, "x")


def test_every_shipped_config_still_loads():
    for path in sorted((REPO / "configs").glob("*/*.yaml")):
        load_config(path)


def test_one_epoch_runs_with_a_one_epoch_warmup():
    """`--epochs 1` with the usual one-epoch warm-up: the warm-up is cut to leave the run its decay."""
    config = ScheduleConfig(epochs=1, warmup_epochs=1)
    factors = [lr_factor(step, 10, config) for step in range(10)]
    assert factors[0] == 1.0 and all(0 <= f <= 1 for f in factors) and factors[-1] < factors[0]
    longer = ScheduleConfig(epochs=10, warmup_epochs=2)
    assert lr_factor(0, 10, longer) == pytest.approx(0.05) and lr_factor(20, 10, longer) == 1.0
    with pytest.raises(ConfigError):
        ScheduleConfig(epochs=0)


def test_image_coordinate_hands_are_not_moved_by_the_kinect_body_transform():
    """NTU body (Kinect metres) + hands (MediaPipe image coordinates): hand_normalize body is refused."""
    for path in sorted((REPO / "configs").glob("ntu*/unified.yaml")):
        assert load_config(path).data.pipeline.hand_normalize != "body"
        with pytest.raises(ConfigError, match="other coordinates than its body"):
            load_config(path, ["data.hand_normalize=body"])
    load_config(REPO / "configs/signs/unified.yaml", ["data.hand_normalize=body"])  # one sensor: allowed


def test_hand_coordinates_are_checked_against_the_files_own_layout(tmp_path):
    """A config that does not name its layout is checked when the experiment opens the file."""
    from bharnet.data.sample import Sample
    from bharnet.data.store import write_dataset
    from bharnet.engine.experiment import Experiment

    rng = np.random.default_rng(0)
    samples = [Sample(rng.random((1, 8, 67, 3), dtype=np.float32), np.ones((1, 8, 67), np.float32), i % 2,
                      f"clip{i}") for i in range(4)]
    data = write_dataset(tmp_path / "ntu_hands.bhd", samples, ["a", "b"], {"train": [0, 1], "test": [2, 3]},
                         "ntu25_hands67")
    config = from_dict({"data": {"file": str(data), "hand_arrangement": "graph42", "mirror_left": False,
                                 "hand_normalize": "body", "num_frames": 8, "max_persons": 1},
                        "model": {"variant": "unified", "widths": [8, 8], "stride_blocks": []}}, "unnamed.yaml")
    with pytest.raises(ConfigError, match="other coordinates than its body"):
        Experiment(config)
