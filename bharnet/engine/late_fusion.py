"""Late fusion of several models' scores (one per modality): log-linear pooling with weights fit on the
validation split and applied unchanged to the test split."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from bharnet.engine.evaluation import load_scores
from bharnet.engine.metrics import topk_accuracy
from bharnet.errors import ConfigError, DataFormatError


def fit_weights(log_probs: list[np.ndarray], labels: np.ndarray, steps: int = 100) -> np.ndarray:
    """w >= 0 minimizing the cross-entropy of softmax(sum_i w_i log p_i) (L-BFGS on softplus(w))."""
    stacked = torch.as_tensor(np.stack(log_probs), dtype=torch.float64)  # (S, N, K)
    target = torch.as_tensor(labels)
    raw = torch.full((len(log_probs),), float(np.log(np.e - 1)), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([raw], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(torch.einsum("s,snk->nk", F.softplus(raw), stacked), target)
        loss.backward()
        return loss

    optimizer.step(closure)
    return F.softplus(raw).detach().numpy()


def combine(log_probs: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    return np.einsum("s,snk->nk", weights, np.stack(log_probs))


@dataclass
class FusionReport:
    inputs: list[str]
    weights: list[float]
    rows: list[tuple[str, float, float, str]] = field(default_factory=list)  # name, val top-1, test top-1, weight
    test_scores: np.ndarray | None = None
    fitted: bool = True

    def to_dict(self) -> dict:
        how = "fit on validation cross-entropy (L-BFGS)" if self.fitted else "given (--weights)"
        return {"method": f"log-linear pooling, weights >= 0 {how}",
                "inputs": self.inputs, "weights": self.weights,
                "table": [{"input": r[0], "val_top1": r[1] if r[1] == r[1] else None, "test_top1": r[2]}  # NaN: no val
                          for r in self.rows]}


def _log_probs(split: dict, head: str, path: Path) -> np.ndarray:
    key = f"heads/{head}"
    if key not in split:
        heads = sorted(k[6:] for k in split if k.startswith("heads/"))
        raise DataFormatError(path, f"no head {head!r}; heads in this file: {', '.join(heads)}")
    scores = torch.as_tensor(split[key])
    return scores.numpy() if head == "fused" else F.log_softmax(scores, -1).numpy()


def fuse_score_files(paths: list[Path], head: str = "fused", weights: list[float] | None = None) -> FusionReport:
    """Fit the weights on validation, or apply the given fixed ``weights`` (validation then optional)."""
    loaded = [load_scores(p) for p in paths]
    if weights is not None and len(weights) != len(paths):
        raise ConfigError(f"--weights: {len(weights)} weights for {len(paths)} score files")
    if weights is not None and min(weights) < 0:
        raise ConfigError("--weights: weights must be >= 0")
    has_val = ["val" in splits for _, splits in loaded]
    for path, present in zip(paths, has_val, strict=True):
        if not present and (weights is None or any(has_val)):
            raise DataFormatError(path, "has no validation scores: fusion weights are fit on validation, never on "
                                  "test. Set data.val_split in the config and evaluate again, or give fixed "
                                  "--weights")
    splits_used = ("val", "test") if all(has_val) else ("test",)
    reference = loaded[0][1]
    for path, (_, splits) in zip(paths[1:], loaded[1:], strict=True):
        for split in splits_used:
            if splits[split]["names"] != reference[split]["names"]:
                raise DataFormatError(path, f"its {split} samples differ from those of {paths[0]}")
    scores = {split: [_log_probs(s[split], head, p) for p, (_, s) in zip(paths, loaded, strict=True)]
              for split in splits_used}
    labels = {split: reference[split]["labels"] for split in splits_used}

    def accuracy(split: str, fusion_weights: np.ndarray | None = None, single: int | None = None) -> float:
        if split not in scores:
            return float("nan")
        fused = scores[split][single] if single is not None else combine(scores[split], fusion_weights)
        return topk_accuracy(fused, labels[split])

    chosen = np.asarray(weights, dtype=np.float64) if weights is not None else fit_weights(scores["val"],
                                                                                          labels["val"])
    report = FusionReport([str(p) for p in paths], [float(w) for w in chosen],
                          fitted=weights is None)
    for i, (path, (meta, _)) in enumerate(zip(paths, loaded, strict=True)):
        name = f"{path.name} ({meta.get('modality', '?')}, {meta.get('model', '?')})"
        report.rows.append((name, accuracy("val", single=i), accuracy("test", single=i), "-"))
    equal = np.ones(len(paths))
    report.rows.append(("equal weights", accuracy("val", equal), accuracy("test", equal), "1 each"))
    report.test_scores = combine(scores["test"], chosen)
    report.rows.append(("fitted weights" if weights is None else "given weights", accuracy("val", chosen),
                        accuracy("test", chosen), " ".join(f"{w:.3f}" for w in chosen)))
    return report
