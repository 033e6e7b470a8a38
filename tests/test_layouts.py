import numpy as np
import pytest

from bharnet.errors import ConfigError
from bharnet.skeleton import adjacency, body_hand_split, get_layout, layout_names
from bharnet.skeleton.layout import Layout
from bharnet.skeleton.split import split_layouts

EXPECTED_JOINTS = {
    "ntu25": 25, "nucla20": 20, "mediapipe_pose33": 33, "hand21": 21, "coco17": 17,
    "coco_wholebody133": 133, "coco_wholebody65": 65, "mediapipe_holistic75": 75, "msl150_67": 67,
}


@pytest.mark.parametrize("name", sorted(EXPECTED_JOINTS))
def test_required_layouts_exist_with_their_joint_counts(name):
    assert get_layout(name).num_joints == EXPECTED_JOINTS[name]


@pytest.mark.parametrize("name", layout_names())
def test_every_layout_is_a_rooted_tree_plus_edges(name):
    layout = get_layout(name)
    assert layout.parents[layout.root] == layout.root
    for joint in range(layout.num_joints):  # walking up always reaches the root
        seen = set()
        while joint != layout.root:
            assert joint not in seen
            seen.add(joint)
            joint = layout.parents[joint]
    tree_edges = {(c, p) for c, p in enumerate(layout.parents) if c != p}
    undirected = {frozenset(e) for e in layout.edges}
    assert all(frozenset(e) in undirected for e in tree_edges)


def test_hand_palm_edges_follow_the_design():
    hand = get_layout("hand21")
    undirected = {frozenset(e) for e in hand.edges}
    for a, b in [(0, 1), (0, 5), (5, 9), (9, 13), (13, 17), (0, 17)]:
        assert frozenset((a, b)) in undirected
    assert hand.joints[0] == "wrist" and hand.joints[9] == "middle_mcp" and hand.joints[20] == "pinky_tip"


@pytest.mark.parametrize("name", layout_names())
def test_adjacency_subsets_are_normalized(name):
    layout = get_layout(name)
    a = adjacency(layout)
    assert a.shape == (3, layout.num_joints, layout.num_joints)
    np.testing.assert_array_equal(a[0], np.eye(layout.num_joints))
    for subset in a[1:]:
        rows = subset.sum(axis=1)
        assert np.allclose(rows[rows > 0], 1.0)
    # inward and outward hold the same edges in opposite directions
    np.testing.assert_array_equal(a[1] > 0, (a[2] > 0).T)
    assert int((a[1] > 0).sum()) == len(layout.edges)


def test_inward_points_from_child_to_parent():
    a = adjacency(get_layout("ntu25"))
    # the left elbow (5) is the parent of the left wrist (6): the wrist's message flows into the elbow
    assert a[1, 5, 6] > 0 and a[1, 6, 5] == 0
    assert a[2, 6, 5] > 0


@pytest.mark.parametrize("source", split_layouts())
def test_body_hand_splits_pick_named_joints(source):
    layout, split = get_layout(source), body_hand_split(source)
    body = split.body_graph()
    assert [layout.joints[j] for j in split.body] == list(body.joints)
    if split.has_hands:
        hand = get_layout("hand21").joints
        assert [layout.joints[j] for j in split.left_hand] == [f"left_hand_{n}" for n in hand]
        assert [layout.joints[j] for j in split.right_hand] == [f"right_hand_{n}" for n in hand]


def test_subset_reattaches_orphans_to_nearest_kept_ancestor():
    whole = get_layout("coco_wholebody133")
    sub = get_layout("coco_wholebody65")
    wrist = sub.index("left_hand_wrist")
    assert sub.joints[sub.parents[wrist]] == "left_wrist"
    chain = Layout("chain", ("a", "b", "c"), ((1, 0), (2, 1)))
    assert chain.subset("ac", [0, 2]).edges == ((1, 0),)
    assert whole.subset("body", range(17)).center == ("left_hip", "right_hip")


def test_layout_errors_are_clear():
    with pytest.raises(ConfigError, match="unknown layout 'nope'"):
        get_layout("nope")
    with pytest.raises(ConfigError, match="not connected"):
        Layout("broken", ("a", "b", "c"), ((1, 0),))
    with pytest.raises(ConfigError, match="bad edge"):
        Layout("broken", ("a", "b"), ((1, 5),))
    with pytest.raises(ConfigError, match="no body/hand split"):
        body_hand_split("hand21")
