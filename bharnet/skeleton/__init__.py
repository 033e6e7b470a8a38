"""Skeleton layouts (joints and edges as data), their adjacency, and body/hand splits."""

from bharnet.skeleton.graph import adjacency
from bharnet.skeleton.layout import Layout
from bharnet.skeleton.layouts import get_layout, layout_names, register_layout
from bharnet.skeleton.split import BodyHandSplit, body_hand_split

__all__ = ["BodyHandSplit", "Layout", "adjacency", "body_hand_split", "get_layout", "layout_names", "register_layout"]
