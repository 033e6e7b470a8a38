"""Files shipped inside the package: the bundled neat11 checkpoint."""
