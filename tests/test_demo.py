"""The embedded demo: synthetic data, two models trained, comparison printed and plotted."""

import json

from bharnet.cli.main import main


def test_demo_trains_both_models_shows_the_hand_stream_matters_and_reruns(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--epochs", "4", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "SYNTHETIC" in printed and "body-only" in printed and "BHaRNet-P" in printed
    for picture in ("comparison.png", "class0.png", "class3.png", "demo_body/test/confusion.png",
                    "demo_P/test/learning_curves.png"):
        assert (out / picture).stat().st_size > 5000, picture
    body = json.loads((out / "demo_body" / "result.json").read_text())["test_top1"]
    bharnet = json.loads((out / "demo_P" / "result.json").read_text())["test_top1"]
    # the classes differ only in the fingers: the body stream stays near chance (0.25), the hands do not
    assert body < 0.45 and bharnet > body + 0.3, (body, bharnet)

    # run again into the same folder with one epoch: the old run folders are replaced, not refused
    assert main(["demo", "--out", str(out), "--epochs", "1", "--quiet"]) == 0
    assert json.loads((out / "demo_P" / "result.json").read_text())["epochs"] == 1
