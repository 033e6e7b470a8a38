"""A skeleton layout: joint names, 0-based (child, parent) edges and a root. The built-in layouts and the
registry by name are in :mod:`bharnet.skeleton.layouts`."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bharnet.errors import ConfigError


@dataclass(frozen=True)
class Layout:
    """Joint names and 0-based (child, parent) edges.

    The edges may contain cycles (a palm, hips joined to each other); a spanning tree rooted at ``root``
    is derived from them in the order given and defines each joint's parent (used for bones and mirroring).
    ``center``, ``up`` and ``across`` name the joints that canonical normalization uses: the origin is the
    mean of ``center``; ``up`` = (lower joints, upper joints) gives the spine direction from the mean of one
    group to the mean of the other; ``across`` = (left, right) the shoulder line. They are names, so that
    sub-layouts keep them when those joints survive.
    """

    name: str
    joints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    root: int = 0
    center: tuple[str, ...] = ()
    up: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    across: tuple[str, str] | None = None
    description: str = ""
    parents: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        v = len(self.joints)
        if len(set(self.joints)) != v:
            raise ConfigError(f"layout {self.name}: joint names are not unique")
        for child, parent in self.edges:
            if not (0 <= child < v and 0 <= parent < v) or child == parent:
                raise ConfigError(f"layout {self.name}: bad edge ({child}, {parent}) for {v} joints")
        for joint in (*self.center, *sum(self.up or (), ()), *(self.across or ())):
            if joint not in self.joints:
                raise ConfigError(f"layout {self.name}: normalization joint {joint!r} is not a joint")
        object.__setattr__(self, "parents", self._spanning_tree())

    def _spanning_tree(self) -> tuple[int, ...]:
        neighbours: list[list[int]] = [[] for _ in self.joints]
        for child, parent in self.edges:
            neighbours[child].append(parent)
            neighbours[parent].append(child)
        parents = [-1] * len(self.joints)
        parents[self.root] = self.root
        queue = deque([self.root])
        while queue:
            joint = queue.popleft()
            for other in neighbours[joint]:
                if parents[other] < 0:
                    parents[other] = joint
                    queue.append(other)
        unreachable = [self.joints[j] for j, p in enumerate(parents) if p < 0]
        if unreachable:
            raise ConfigError(f"layout {self.name}: joints not connected to the root: {unreachable[:5]}")
        return tuple(parents)

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        try:
            return self.joints.index(joint)
        except ValueError:
            raise ConfigError(f"layout {self.name} has no joint {joint!r}") from None

    def indices(self, joints: Iterable[str]) -> list[int]:
        return [self.index(j) for j in joints]

    def subset(self, name: str, keep: Sequence[int], description: str = "") -> Layout:
        """The layout restricted to ``keep`` (in that order).

        Edges between kept joints survive; a kept joint whose parent was dropped is attached to its
        nearest kept ancestor, so the sub-layout stays connected.
        """
        keep = list(keep)
        if len(set(keep)) != len(keep) or not all(0 <= j < self.num_joints for j in keep):
            raise ConfigError(f"layout {self.name}: bad subset indices for {name}")
        new_index = {old: new for new, old in enumerate(keep)}
        edges = [(new_index[c], new_index[p]) for c, p in self.edges if c in new_index and p in new_index]
        present = set(edges)
        for old in keep:
            ancestor = self.parents[old]
            while ancestor not in new_index and ancestor != self.parents[ancestor]:
                ancestor = self.parents[ancestor]
            if ancestor in new_index and ancestor != old:
                edge = (new_index[old], new_index[ancestor])
                if edge not in present and edge[::-1] not in present:
                    edges.append(edge)
                    present.add(edge)
        root = new_index.get(self.root, 0)
        names = [self.joints[j] for j in keep]

        def kept(group):
            flat = sum(group, ()) if group and isinstance(group[0], tuple) else group
            return group if group and all(j in names for j in flat) else None

        return Layout(
            name=name,
            joints=tuple(names),
            edges=tuple(edges),
            root=root,
            center=kept(self.center) or (),
            up=kept(self.up),
            across=kept(self.across),
            description=description or f"{self.name} joints {keep[0]}..{keep[-1]}",
        )
