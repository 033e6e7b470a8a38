"""Models: the DeGCN/CTR-GCN-style stream backbone (BHaRNet variants and baselines build on it)."""
