"""What a model is fed, worked out from a dataset and its preprocessing: the engine's side of
:class:`bharnet.models.InputSpec` (the models themselves never read data or pipeline settings)."""

from __future__ import annotations

from bharnet.data.dataset import BodyHandDataset
from bharnet.data.pipeline import PipelineConfig
from bharnet.errors import ConfigError
from bharnet.models import InputSpec, ModelConfig
from bharnet.skeleton import body_hand_split, get_layout


def input_spec(source_layout: str, pipeline: PipelineConfig, num_classes: int, coordinates: int = 3) -> InputSpec:
    """The stream inputs of ``source_layout`` data after ``pipeline``; ``coordinates``: values per joint in the
    dataset file (3, or 2 for 2D sources)."""
    split = body_hand_split(source_layout)
    instances = pipeline.hand_arrangement == "instances"
    return InputSpec(
        source_layout=source_layout,
        body_layout=split.body_graph(),
        hand_layout=get_layout("hand21" if instances else "hand42"),
        channels=3 if pipeline.channels == "xy_score" else coordinates,
        persons=pipeline.max_persons,
        hand_instances=(2 if instances else 1) * pipeline.max_persons,
        num_classes=num_classes,
        has_hands=split.has_hands,
    )


def dataset_input_spec(dataset: BodyHandDataset) -> InputSpec:
    file = dataset.file
    return input_spec(file.layout_name, dataset.config, dataset.num_classes, file.coordinates)


def ntu_sized_spec(num_classes: int = 60) -> InputSpec:
    """NTU RGB+D with estimated hands: 25 body joints, 2 x 21 hand joints, 2 persons, xyz."""
    return input_spec("ntu25_hands67", PipelineConfig(), num_classes)


def check_pipeline(model: ModelConfig, pipeline: PipelineConfig) -> None:
    """Model/preprocessing combinations that would run but mean nothing fail here, before training."""
    wrong_hands = pipeline.hand_arrangement != "graph42" or pipeline.mirror_left or pipeline.hands_in_own_frame
    if model.variant == "unified" and wrong_hands:
        raise ConfigError(
            "model.variant = unified needs the hands in the body's frame: set data.hand_arrangement: graph42, "
            "data.mirror_left: false and data.hand_normalize: body (or none)"
        )

