"""What the README promises matches the code: formats, variants, checkpoints and fusion examples."""

from __future__ import annotations

import re
from pathlib import Path

from bharnet.data.readers import SCANNERS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_format_table_lists_exactly_the_readers():
    listed = set(re.findall(r"^\| `([\w-]+)` \|", README, flags=re.MULTILINE)) - {"--format"}
    assert listed == set(SCANNERS)
    assert "every common skeleton format" not in README and "every BHaRNet variant" not in README


def test_commands_report_the_last_checkpoint_and_fuse_n_ucla_without_fitting():
    """No shipped config has a validation split: `best` would be picked on test, and fitting fusion
    weights on N-UCLA has no split to fit on."""
    commands = [line for line in README.splitlines() if line.startswith("bharnet eval")]
    assert commands and all("checkpoints/last" in line for line in commands)
    fuse = README[README.index("bharnet fuse runs/nucla"):].split("\n\n")[0]
    assert "--weights" in fuse
