"""The pictures people look at instead of tables: written, and legible."""

from __future__ import annotations

import itertools

from bharnet import plots


def test_accuracy_front_labels_of_close_points_do_not_overlap(tmp_path):
    points = {"body": (14, 0.63, 0.09), "hand": (14, 0.946, 0.04), "bharnet": (15, 0.978, 0.02),
              "light": (15, 0.974, 0.02), "hsd40": (15, 0.976, 0.02), "P": (28, 0.932, 0.09),
              "unified": (58, 0.683, 0.14)}
    places = plots._label_places(points)
    assert sorted(name for name, _, _ in places) == sorted(points)
    step = (0.978 - 0.63) / 20
    for (_, _, (x1, y1)), (_, _, (x2, y2)) in itertools.combinations(places, 2):
        if x1 == x2:  # one column of labels: far enough apart to read
            assert abs(y1 - y2) >= step - 1e-9
    assert all(x > cost for _, (cost, _), (x, _) in places)  # each label right of its point
    path = plots.accuracy_front(points, tmp_path / "front.png", "MMACs")
    assert path.stat().st_size > 10000
