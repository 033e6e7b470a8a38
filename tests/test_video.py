"""Video pipeline on the real clips: MediaPipe extraction, NTU hand-to-body assignment, predict and render,
and clear errors for unreadable, empty and truncated videos. Needs the ``video`` extra (mediapipe)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from bharnet.cli.main import main
from bharnet.data.store import DatasetFile
from tests.skeleton_files import write_ntu_skeleton

NTU_CLIP = "S001C001P001R001A001_rgb.avi"


@pytest.fixture(scope="module")
def cv2():
    try:
        import cv2
        import mediapipe  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("mediapipe is not installed (CI is set: video tests must run)")
        pytest.skip("the video extra (mediapipe) is not installed")
    return cv2


@pytest.fixture(scope="module")
def videos(shared_data, cv2) -> Path:
    return shared_data / "videos"


@pytest.fixture(scope="module")
def ntu_holistic(videos, tmp_path_factory):
    """The NTU clip through bharnet extract (MediaPipe Holistic), read back."""
    out = tmp_path_factory.mktemp("extract") / "ntu.bhd"
    assert main(["extract", str(videos / NTU_CLIP), "--out", str(out), "--quiet"]) == 0
    return DatasetFile(out)


def test_extract_finds_the_body_in_every_frame_and_hands_in_most(ntu_holistic):
    assert len(ntu_holistic) == 1 and ntu_holistic.layout_name == "mediapipe_holistic75"
    sample = ntu_holistic[0]
    assert sample.num_frames == 103  # every frame of the clip
    person = sample.scores[0, :, :33].any(1)
    hands = sample.scores[0, :, 33:].any(1)
    assert person.all()
    assert hands.mean() > 0.5, hands.mean()
    detected = sample.scores[0, :, 33:54].any(1)
    assert (sample.keypoints[0, ~detected, 33:54] == 0).all()  # a missing hand is zeros with score 0
    assert not Path(str(ntu_holistic.path) + ".parts").exists()  # the cache is removed after success


def test_extract_folder_resumes_and_writes_the_mediapipe_layout(videos, tmp_path, capsys):
    folder = tmp_path / "signs" / "hoy"
    folder.mkdir(parents=True)
    (folder / "hoy_001.mp4").symlink_to(videos / "msl150" / "hoy_001.mp4")
    (folder / "yo_001.mp4").symlink_to(videos / "msl150" / "yo_001.mp4")
    out = tmp_path / "mp"
    parts = tmp_path / "mp.parts"
    parts.mkdir()
    # a finished video from an interrupted run: reused, not extracted again
    assert main(["extract", str(folder / "yo_001.mp4"), "--out", str(tmp_path / "one.bhd"), "--keep-parts",
                 "--quiet"]) == 0
    (tmp_path / "one.bhd.parts" / "yo_001.mp4.npz").rename(parts / "hoy__yo_001.mp4.npz")
    capsys.readouterr()
    assert main(["extract", str(tmp_path / "signs"), "--out", str(out), "--format", "mediapipe", "--quiet"]) == 0
    assert "resuming: 1 of 2" in capsys.readouterr().out
    frames = sorted((out / "hoy" / "hoy_001").glob("*.npy"), key=lambda p: int(p.stem))
    assert frames and np.load(frames[0]).shape == (1662,)
    assert (out / "hoy" / "yo_001").is_dir()


# NTU joint (0-based) <- MediaPipe pose landmark, for a Kinect body drawn where the video's person is
NTU_FROM_POSE = {3: 0, 4: 11, 5: 13, 6: 15, 8: 12, 9: 14, 10: 16, 12: 23, 13: 25, 14: 27, 16: 24, 17: 26, 18: 28}


def test_ntu_hands_go_to_the_kinect_body_whose_wrists_they_hold(videos, ntu_holistic, tmp_path, cv2):
    capture = cv2.VideoCapture(str(videos / NTU_CLIP))
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    capture.release()
    pose = ntu_holistic[0].keypoints[0, :, :33, :2] * [width, height]  # (T, 33, 2) pixels
    frames = len(pose)

    def kinect_joints(pixels: np.ndarray) -> np.ndarray:
        """(25, 3) joints whose colour positions (the writer's 960 + 500x, 540 - 500y) are ``pixels``."""
        return np.concatenate([(pixels[:, :1] - 960) / 500, (540 - pixels[:, 1:]) / 500,
                               np.full((25, 1), 3.0)], axis=1)

    actor_pixels = np.repeat(pose[:, [11, 12, 23, 24]].mean(1, keepdims=True), 25, axis=1)  # torso centre
    for joint, landmark in NTU_FROM_POSE.items():
        actor_pixels[:, joint] = pose[:, landmark]
    # a second body standing in the top-left corner, far from every hand
    decoy_pixels = np.stack([np.linspace(60, 200, 25), np.linspace(40, 500, 25)], axis=1)
    actor, decoy = "72057594037927930", "72057594037927931"
    per_frame = [[(actor, kinect_joints(actor_pixels[t])), (decoy, kinect_joints(decoy_pixels + t % 3))]
                 for t in range(frames)]
    wrists = pose[:, [15, 16]]
    skeletons = tmp_path / "skeletons"
    skeletons.mkdir()
    write_ntu_skeleton(skeletons / f"{NTU_CLIP[:20]}.skeleton", per_frame)

    out = tmp_path / "ntu_hands.bhd"
    assert main(["extract", str(videos / NTU_CLIP), "--skeletons", str(skeletons), "--out", str(out),
                 "--quiet"]) == 0
    data = DatasetFile(out)
    assert data.layout_name == "ntu25_hands67" and data.classes[data.labels[0]] == "drink water"
    sample = data[0]
    assert sample.num_frames == frames
    # the reader orders bodies by motion; find the actor by its wrist track
    assert sample.num_persons == 2
    actor_index = int(np.argmin([np.abs(sample.keypoints[m, :, 0, 0] - kinect_joints(actor_pixels[0])[0, 0]).min()
                                 for m in range(2)]))
    hands = sample.scores[:, :, 25:].reshape(2, frames, 2, 21).any(-1)  # (M, T, side)
    assert hands[1 - actor_index].sum() == 0  # nothing given to the decoy
    assert hands[actor_index].any(-1).mean() > 0.5
    # each assigned hand's wrist lies near the Kinect wrist of its side
    for side, first in ((0, 25), (1, 46)):
        found = hands[actor_index, :, side]
        hand_wrist = sample.keypoints[actor_index, found, first, :2] * [width, height]
        distance = np.linalg.norm(hand_wrist - wrists[found, side], axis=-1)
        assert np.median(distance) < 0.05 * np.hypot(width, height), (side, np.median(distance))


@pytest.mark.parametrize("video", ["msl150/yo_001.mp4", NTU_CLIP])
def test_predict_renders_and_reports_speed(videos, video, tmp_path, capsys):
    render, snapshot, log = tmp_path / "out.mp4", tmp_path / "frame.png", tmp_path / "windows.json"
    capsys.readouterr()
    assert main(["predict", str(videos / video), "--render", str(render), "--snapshot", str(snapshot),
                 "--json", str(log), "--window", "30", "--stride", "10", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "frames/s end to end" in printed
    windows = json.loads(log.read_text())
    assert windows and all(len(w["top"]) == 3 and w["stop"] - w["start"] <= 30 for w in windows)
    assert [w["start"] for w in windows[:3]] == [0, 10, 20][: len(windows)]
    assert render.stat().st_size > 50_000 and snapshot.stat().st_size > 50_000


def test_predict_on_a_keypoint_file_slides_windows(ntu_holistic, capsys):
    capsys.readouterr()
    assert main(["predict", str(ntu_holistic.path), "--window", "30", "--stride", "30"]) == 0
    printed = capsys.readouterr().out
    assert "frames 0-30:" in printed and "frames 73-103:" in printed  # the tail gets its own window


def test_bad_videos_give_clear_messages(videos, tmp_path, capsys, cv2):
    def error(*args) -> str:
        capsys.readouterr()
        assert main(list(args)) == 2
        return capsys.readouterr().err

    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 100)
    message = error("predict", str(garbage))
    assert "garbage.mp4: cannot be opened" in message or "garbage.mp4: has no readable frame" in message
    assert "missing.mp4: no such file" in error("predict", str(tmp_path / "missing.mp4"))

    empty_room = tmp_path / "empty_room.avi"
    writer = cv2.VideoWriter(str(empty_room), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 240))
    for t in range(20):
        writer.write(np.full((240, 320, 3), 40 + t, np.uint8))
    writer.release()
    assert "no person detected" in error("predict", str(empty_room))
    assert "no person detected" in error("extract", str(empty_room), "--out", str(tmp_path / "e.bhd"))

    truncated = tmp_path / "truncated.avi"
    truncated.write_bytes((videos / NTU_CLIP).read_bytes()[:4000])
    message = error("predict", str(truncated))
    assert "truncated.avi" in message and "Traceback" not in message

    assert "camera" in error("predict", "7")  # no webcam 7 here


def test_predict_refuses_keypoints_of_another_layout(converted, capsys):
    capsys.readouterr()
    assert main(["predict", str(converted("nucla")[0])]) == 2
    assert "gives nucla20 keypoints, but checkpoint neat11 was trained on mediapipe_holistic75" in \
        capsys.readouterr().err


def test_predict_on_a_folder_of_frames(videos, tmp_path, capsys, cv2):
    capture = cv2.VideoCapture(str(videos / "msl150" / "yo_001.mp4"))
    folder = tmp_path / "frames"
    folder.mkdir()
    for t in range(20):
        ok, frame = capture.read()
        assert ok
        cv2.imwrite(str(folder / f"{t:04d}.jpg"), frame)
    capture.release()
    capsys.readouterr()
    assert main(["predict", str(folder), "--window", "10", "--stride", "5"]) == 0
    printed = capsys.readouterr().out
    assert "frames 0-10:" in printed and "frames 10-20:" in printed and "20 frames (20 with a person)" in printed
    (folder / "0000.jpg").write_bytes(b"broken")
    assert main(["predict", str(folder)]) == 2
    assert "0000.jpg: cannot be read as an image" in capsys.readouterr().err


def test_bf16_predictions_match_fp32_on_real_clips(converted):
    """The bundled model on 40 real neat11 clips: bf16 picks the same sign as fp32 (where fp32 is not near a tie),
    probabilities within 0.03."""
    from bharnet.video.predict import Predictor

    file = DatasetFile(converted("neat")[0])
    clips = [file[index] for index in range(0, len(file), max(1, len(file) // 40))]
    fp32 = Predictor("neat11").probabilities(clips)
    bf16 = Predictor("neat11", precision="bf16").probabilities(clips)
    top2 = np.sort(fp32, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 0.05  # a near tie may flip on another CPU's rounding
    assert clear.sum() >= 30 and (fp32.argmax(1) == bf16.argmax(1))[clear].all()
    assert np.abs(fp32 - bf16).max() < 0.03


def test_the_onnx_backend_refuses_bf16(capsys):
    assert main(["predict", "missing.bhd", "--backend", "onnx", "--precision", "bf16"]) == 2
    assert "the onnx backend runs in fp32" in capsys.readouterr().err
