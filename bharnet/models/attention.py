"""Cross-attention between the body stream and the hand stream, over tokens pooled along one route.

A feature cube is (B, C, T, V) with B = batch x instances. A route turns it into tokens:

- ``frame``: one token per frame (mean over joints), C features each;
- ``joint``: one token per joint (mean over frames), C features each;
- ``channel``: one token per channel (mean over joints, then ``bins`` adaptive temporal bins as features).

Hands belong to their person: the hand instances of person m (H of them, left then right) attend to the body
tokens of person m, and the body of person m attends to the tokens of all its H hands together. Tokens of
absent frames or instances are masked keys.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bharnet.errors import ConfigError
from bharnet.models.masks import at_frames, masked_time_mean, seen
from bharnet.models.reliability import Presence

ROUTES = ("frame", "joint", "channel")


class Route:
    """Token making for one route, and the way a per-token update goes back to channels or to the cube.
    Tokens are made over the frames where the instance is seen; each comes with a mask saying whether it
    holds any measurement (a key that holds none is never attended to)."""

    def __init__(self, name: str, bins: int = 8):
        if name not in ROUTES:
            raise ConfigError(f"attention route {name!r}; choose from {', '.join(ROUTES)}")
        self.name, self.bins = name, bins

    def token_dim(self, channels: int) -> int:
        return self.bins if self.name == "channel" else channels

    def tokens(self, cube: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, T, V), frame mask (B, T) -> tokens (B, L, D) and their mask (B, L)."""
        mask = at_frames(mask, cube.shape[2])
        if self.name == "frame":
            return cube.mean(3).transpose(1, 2), mask
        present = seen(mask)[:, None]
        if self.name == "joint":
            return masked_time_mean(cube, mask).transpose(1, 2), present.expand(-1, cube.shape[3])
        # per channel: its joint mean in ``bins`` temporal bins, each the mean over the bin's seen frames
        weights = mask[:, None, :]
        sums = F.adaptive_avg_pool1d(cube.mean(3) * weights, self.bins)
        return sums / F.adaptive_avg_pool1d(weights, self.bins).clamp(min=1e-6), present.expand(-1, cube.shape[1])

    def to_channels(self, update: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> (B, C): the mean token update
        return update.mean(2) if self.name == "channel" else update.mean(1)

    def to_cube(self, update: torch.Tensor) -> torch.Tensor:  # (B, L, D) -> broadcastable to (B, C, T, V)
        if self.name == "frame":
            return update.transpose(1, 2).unsqueeze(3)
        if self.name == "joint":
            return update.transpose(1, 2).unsqueeze(2)
        raise ConfigError("the channel route pools only; cube exchange uses the frame and joint routes")


class GatedCrossAttention(nn.Module):
    """Multi-head attention of query tokens over the present context tokens; returns ``tanh(gate) * attention``,
    the update to add to the queries. A query with no present context token gets no update. The per-feature
    gate starts at zero: at initialization the update is exactly zero, and the gate still receives gradient
    (the attention output itself is not zero). The tanh bounds the gate, which keeps SGD at the usual GCN
    learning rates from blowing it up."""

    def __init__(self, query_dim: int, context_dim: int, heads: int, attention_dim: int):
        super().__init__()
        attention_dim = max(heads, attention_dim - attention_dim % heads)
        self.heads = heads
        self.query_norm = nn.LayerNorm(query_dim)
        self.context_norm = nn.LayerNorm(context_dim)
        self.query = nn.Linear(query_dim, attention_dim)
        self.key_value = nn.Linear(context_dim, 2 * attention_dim)
        self.out = nn.Linear(attention_dim, query_dim)
        self.gate = nn.Parameter(torch.zeros(query_dim))

    def forward(self, query: torch.Tensor, context: torch.Tensor, context_mask: torch.Tensor) -> torch.Tensor:
        """(B, Lq, Dq), (B, Lk, Dk), (B, Lk) -> (B, Lq, Dq)."""
        b, lq, _ = query.shape
        q = self.query(self.query_norm(query))
        k, v = self.key_value(self.context_norm(context)).chunk(2, dim=-1)
        # heads as a tensor dimension: (B, heads, L, d)
        q, k, v = (z.unflatten(-1, (self.heads, -1)).transpose(1, 2) for z in (q, k, v))
        any_key = seen(context_mask)
        # a row without keys attends to all of them (finite softmax) and its result is dropped below
        allowed = (context_mask > 0) | (any_key[:, None] == 0)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed[:, None, None, :])
        attended = attended.transpose(1, 2).reshape(b, lq, -1)
        return torch.tanh(self.gate) * self.out(attended) * any_key[:, None, None]


READERS = ("body", "hands")


class BodyHandAttention(nn.Module):
    """Both directions on one route: body tokens attend to their person's present hands, hands to their body
    (``readers`` names the streams that read the other; a stream that does not read gets no update). The body's
    update is scaled by its person's hand reliability: unreliable hands do not rewrite the body."""

    def __init__(self, route: Route, body_channels: int, hand_channels: int, heads: int, attention_ratio: float,
                 readers: tuple[str, ...] = READERS):
        super().__init__()
        self.route = route
        body_dim, hand_dim = route.token_dim(body_channels), route.token_dim(hand_channels)
        width = max(heads, round(max(body_dim, hand_dim) * attention_ratio))
        self.body_from_hands = GatedCrossAttention(body_dim, hand_dim, heads, width) if "body" in readers else None
        self.hands_from_body = GatedCrossAttention(hand_dim, body_dim, heads, width) if "hands" in readers else None

    def forward(self, body: torch.Tensor, hands: torch.Tensor, presence: Presence
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """(N*M, C, T, V) body and (N*M*H, C, T, Vh) hand cubes -> token updates (N*M, L, D), (N*M*H, Lh, D)."""
        body_tokens, body_mask = self.route.tokens(body, presence.body)
        hand_tokens, hand_mask = self.route.tokens(hands, presence.hands)
        persons = body_tokens.shape[0]
        per_person = hand_tokens.shape[0] // persons
        grouped = hand_tokens.reshape(persons, per_person * hand_tokens.shape[1], hand_tokens.shape[2])
        grouped_mask = hand_mask.reshape(persons, -1)
        body_update = hand_update = None
        if self.body_from_hands is not None:
            body_update = self.body_from_hands(body_tokens, grouped, grouped_mask) * presence.reliability[:, None, None]
        if self.hands_from_body is not None:
            hand_update = self.hands_from_body(grouped, body_tokens, body_mask).reshape(hand_tokens.shape)
        return (torch.zeros_like(body_tokens) if body_update is None else body_update,
                torch.zeros_like(hand_tokens) if hand_update is None else hand_update)


class StreamExchange(nn.Module):
    """Feature exchange between the interactive branches: each route's update is broadcast back into the
    cube as a residual. Zero gates at initialization leave both streams exactly as they were."""

    def __init__(self, routes: list[Route], body_channels: int, hand_channels: int, heads: int, ratio: float,
                 readers: tuple[str, ...] = READERS):
        super().__init__()
        self.routes = nn.ModuleList(BodyHandAttention(r, body_channels, hand_channels, heads, ratio, readers)
                                    for r in routes)

    def forward(self, body: torch.Tensor, hands: torch.Tensor, presence: Presence
                ) -> tuple[torch.Tensor, torch.Tensor]:
        body_out, hands_out = body, hands
        for attention in self.routes:  # routes (frame, joint), not persons or hands
            body_update, hand_update = attention(body, hands, presence)
            body_out = body_out + attention.route.to_cube(body_update)
            hands_out = hands_out + attention.route.to_cube(hand_update)
        return body_out, hands_out
