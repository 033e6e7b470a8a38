"""Dealing whole groups (people) into cross-validation folds."""

import pytest

from bharnet.engine.crossval import group_folds
from bharnet.errors import ConfigError


def test_round_robin_over_sorted_groups_when_nothing_constrains_it():
    groups = [f"s{i:02d}" for i in range(12)]
    assert group_folds(groups[::-1], 4) == [groups[i::4] for i in range(4)]


def test_groups_named_together_share_a_fold_and_every_training_set_holds_every_class():
    groups = [f"p{i:02d}" for i in range(21)]
    classes = {g: {0, 1} for g in groups}
    for rare in ("p00", "p05", "p10"):  # the rare class 2 held by three people only ...
        classes[rare] = {0, 2}
    folds = group_folds(groups, 5, [["p13", "p14"]], classes)
    assert sorted(g for fold in folds for g in fold) == groups  # every group tested exactly once
    assert any({"p13", "p14"} <= set(fold) for fold in folds)
    assert all(3 <= len(fold) <= 5 for fold in folds)
    for fold in folds:
        trained = set().union(*(classes[g] for g in groups if g not in fold))
        assert trained == {0, 1, 2}
    # ... whom the plain round-robin deal puts into one fold
    assert any({"p00", "p05", "p10"} <= set(fold) for fold in group_folds(groups, 5, [["p13", "p14"]]))


def test_impossible_or_wrong_requests_are_refused():
    with pytest.raises(ConfigError, match="no group named p99"):
        group_folds(["p01", "p02", "p03"], 2, [["p01", "p99"]])
    with pytest.raises(ConfigError, match="--folds 3"):
        group_folds(["p01", "p02", "p03"], 3, [["p01", "p02"]])
    with pytest.raises(ConfigError, match="every class"):  # one person holds class 1: its fold cannot train it
        group_folds(["p01", "p02", "p03"], 2, classes={"p01": {0, 1}, "p02": {0}, "p03": {0}}, tries=50)
