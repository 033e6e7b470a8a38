"""Data: readers of every source format, our dataset file, transforms and the body/hand dataset."""
