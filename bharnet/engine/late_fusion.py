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
from bharnet.errors import DataFormatError


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

    def to_dict(self) -> dict:
        return {"method": "log-linear pooling, weights >= 0 fit on validation cross-entropy (L-BFGS)",
                "inputs": self.inputs, "weights": self.weights,
                "table": [{"input": r[0], "val_top1": r[1], "test_top1": r[2]} for r in self.rows]}


def _log_probs(split: dict, head: str, path: Path) -> np.ndarray:
    key = f"heads/{head}"
    if key not in split:
        heads = sorted(k[6:] for k in split if k.startswith("heads/"))
        raise DataFormatError(path, f"no head {head!r}; heads in this file: {', '.join(heads)}")
    scores = torch.as_tensor(split[key])
    return scores.numpy() if head == "fused" else F.log_softmax(scores, -1).numpy()


def fuse_score_files(paths: list[Path], head: str = "fused") -> FusionReport:
    loaded = [load_scores(p) for p in paths]
    for path, (_, splits) in zip(paths, loaded, strict=True):
        if "val" not in splits:
            raise DataFormatError(path, "has no validation scores: fusion weights are fit on validation, never on "
                                  "test. Set data.val_split in the config and evaluate again")
    reference = loaded[0][1]
    for path, (_, splits) in zip(paths[1:], loaded[1:], strict=True):
        for split in ("val", "test"):
            if splits[split]["names"] != reference[split]["names"]:
                raise DataFormatError(path, f"its {split} samples differ from those of {paths[0]}")
    val = [_log_probs(s["val"], head, p) for p, (_, s) in zip(paths, loaded, strict=True)]
    test = [_log_probs(s["test"], head, p) for p, (_, s) in zip(paths, loaded, strict=True)]
    val_labels, test_labels = reference["val"]["labels"], reference["test"]["labels"]
    weights = fit_weights(val, val_labels)
    report = FusionReport([str(p) for p in paths], [float(w) for w in weights])
    for path, (meta, _), v, t in zip(paths, loaded, val, test, strict=True):
        name = f"{path.name} ({meta.get('modality', '?')}, {meta.get('model', '?')})"
        report.rows.append((name, topk_accuracy(v, val_labels), topk_accuracy(t, test_labels), "-"))
    equal = np.ones(len(paths))
    report.rows.append(("equal weights", topk_accuracy(combine(val, equal), val_labels),
                        topk_accuracy(combine(test, equal), test_labels), "1 each"))
    report.test_scores = combine(test, weights)
    report.rows.append(("fitted weights", topk_accuracy(combine(val, weights), val_labels),
                        topk_accuracy(report.test_scores, test_labels), " ".join(f"{w:.3f}" for w in weights)))
    return report
