"""``bharnet extract``: keypoints from videos into a dataset file or the MediaPipe folder layout.

Each finished video is cached in ``<out>.parts/`` first, so an interrupted folder run resumes where it
stopped; folders use a pool of processes (one MediaPipe graph each).
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bharnet.data.protocols import NTU120_CLASSES, NTU_NAME, ntu_splits, ntu_version
from bharnet.data.readers.ntu import read_ntu_skeleton
from bharnet.data.sample import Sample
from bharnet.data.store import write_dataset
from bharnet.errors import BharnetError
from bharnet.video.detectors import LEFT_HAND, POSE_JOINTS, RIGHT_HAND, HolisticDetector
from bharnet.video.frames import VideoError, list_videos, open_frames, require_cv2
from bharnet.video.ntu_hands import LAYOUT as NTU_LAYOUT
from bharnet.video.ntu_hands import align_frames, ntu_body_hands, person_box

HOLISTIC_LAYOUT = "mediapipe_holistic75"
UNLABELLED = "unlabelled"


@dataclass
class VideoKeypoints:
    """MediaPipe Holistic output of one video: keypoints (T, 75, 3), scores (T, 75), face (T, 468, 3)."""

    keypoints: np.ndarray
    scores: np.ndarray
    face: np.ndarray
    fps: float
    width: int
    height: int

    @property
    def frames(self) -> int:
        return len(self.keypoints)

    def counts(self) -> dict[str, int]:
        """Frames with a person (pose), with at least one hand, with both hands."""
        left, right = self.scores[:, 33:54].any(1), self.scores[:, 54:75].any(1)
        return {"frames": self.frames, "person": int(self.scores[:, :POSE_JOINTS].any(1).sum()),
                "one_hand": int((left | right).sum()), "both_hands": int((left & right).sum())}

    def sample(self, name: str, label: int = 0, meta: dict | None = None) -> Sample:
        return Sample(self.keypoints[None], self.scores[None], label, name,
                      {"fps": self.fps, "width": self.width, "height": self.height, **(meta or {})})

    def mediapipe_vectors(self) -> np.ndarray:
        """(T, 1662) vectors of the MediaPipe tutorial layout: pose x y z visibility, face, left, right."""
        pose = np.concatenate([self.keypoints[:, :33], self.scores[:, :33, None]], axis=-1).reshape(self.frames, -1)
        hands = self.keypoints[:, 33:].reshape(self.frames, -1)
        return np.concatenate([pose, self.face.reshape(self.frames, -1), hands], axis=1)

    def save(self, path: Path) -> None:
        save_npz(path, keypoints=self.keypoints, scores=self.scores, face=self.face,
                 info=np.array([self.fps, self.width, self.height]))

    @classmethod
    def load(cls, path: Path) -> VideoKeypoints:
        with np.load(path) as f:
            fps, width, height = f["info"]
            return cls(f["keypoints"], f["scores"], f["face"], float(fps), int(width), int(height))


def holistic_keypoints(source: str | Path, progress: bool = False) -> VideoKeypoints:
    """Run MediaPipe Holistic over every frame of ``source``; refuses a video with no person at all."""
    frames = open_frames(source)
    keypoints, scores, faces = [], [], []
    with HolisticDetector() as detect, tqdm(total=frames.frame_count or None, desc=Path(str(source)).name,
                                            unit="frame", disable=not progress, leave=False) as bar:
        for frame in frames:
            result = detect(frame)
            keypoints.append(result.keypoints)
            scores.append(result.scores)
            faces.append(result.face)
            bar.update()
    found = VideoKeypoints(np.stack(keypoints), np.stack(scores), np.stack(faces), frames.fps, frames.width,
                           frames.height)
    if not found.counts()["person"]:
        raise VideoError(source, f"no person detected in any of its {found.frames} frames")
    return found


def ntu_keypoints(video: Path, skeleton: Path, progress: bool = False, crop: int = 384) -> Sample:
    """Kinect body from the .skeleton file, hands from the RGB video, assigned by nearest wrist.

    A full NTU frame shows people too small for MediaPipe's palm detector, so each tracked body's region
    (from its colour-image joints) is cropped, resized to ``crop`` pixels and given to its own Holistic
    tracker; the hands found in every crop are mapped back to the full frame and then assigned.
    """
    cv2 = require_cv2()
    body = read_ntu_skeleton(skeleton)
    frames = open_frames(video)
    color = body.extras["color_xy"]  # (M, T, 25, 2)
    skeleton_frame = align_frames(body.num_frames, max(frames.frame_count, 1))  # per video frame
    hands: list[list[np.ndarray]] = []
    trackers = [HolisticDetector() for _ in range(body.num_persons)]
    try:
        bar = tqdm(frames, desc=video.name, unit="frame", disable=not progress, leave=False,
                   total=frames.frame_count or None)
        for index, frame in enumerate(bar):
            t = skeleton_frame[min(index, len(skeleton_frame) - 1)]
            found = []
            for person, tracker in enumerate(trackers):
                box = person_box(color[person, t], frames.width, frames.height) if body.scores[person, t].any() \
                    else None
                if box is None:
                    continue
                x0, y0, side = box
                result = tracker(cv2.resize(frame[y0:y0 + side, x0:x0 + side], (crop, crop)))
                for part in (LEFT_HAND, RIGHT_HAND):
                    if result.scores[part].any():
                        hand = result.keypoints[part].copy()
                        hand[:, 0] = (hand[:, 0] * side + x0) / frames.width
                        hand[:, 1] = (hand[:, 1] * side + y0) / frames.height
                        found.append(hand)
            hands.append(found)
    finally:
        for tracker in trackers:
            tracker.close()
    return ntu_body_hands(body, hands, frames.width, frames.height)


@dataclass(frozen=True)
class Job:
    """One video to extract, where its result is cached, and its class."""

    video: Path
    cache: Path
    label: str
    skeleton: Path | None = None


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Atomic: a killed run never leaves a half-written cache file that would be taken as done."""
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)


def _run_job(job: Job, progress: bool = False) -> tuple[Job, str]:
    """Extract one video into its cache file; returns the error text instead of raising (pool workers)."""
    try:
        if job.skeleton is not None:
            sample = ntu_keypoints(job.video, job.skeleton, progress)
            save_npz(job.cache, keypoints=sample.keypoints, scores=sample.scores, label=np.array(sample.label),
                     name=np.array(sample.name), meta=np.array(json.dumps(sample.meta)))
        else:
            holistic_keypoints(job.video, progress).save(job.cache)
        return job, ""
    except BharnetError as error:
        return job, str(error)


def _ntu_skeleton(video: Path, skeletons: Path) -> Path:
    match = NTU_NAME.search(video.name)
    if not match:
        raise VideoError(video, "is not named like an NTU RGB+D video (SsssCcccPpppRrrrAaaa_rgb.avi)")
    return skeletons / f"{match.group(0)}.skeleton"


def plan_jobs(source: Path, out: Path, skeletons: Path | None = None) -> list[Job]:
    """One job per video; a video in a sub-folder of ``source`` takes the sub-folder's name as its class."""
    videos = [source] if source.is_file() else list_videos(source)
    if not videos:
        raise VideoError(source, "holds no video files")
    parts = out.with_name(f"{out.name}.parts")
    parts.mkdir(parents=True, exist_ok=True)
    jobs = []
    for video in videos:
        relative = video.relative_to(source) if source.is_dir() else Path(video.name)
        label = relative.parts[0] if len(relative.parts) > 1 else UNLABELLED
        cache = parts / f"{'__'.join(relative.with_suffix('').parts)}.npz"
        skeleton = _ntu_skeleton(video, skeletons) if skeletons else None
        if skeleton is not None and not skeleton.is_file():
            raise VideoError(skeleton, f"missing: the skeleton file of {video.name}")
        jobs.append(Job(video, cache, label, skeleton))
    return jobs


def run_jobs(jobs: list[Job], workers: int, progress: bool = True) -> tuple[list[str], set[Path]]:
    """Extract every job whose cache is missing; returns one message per failed video and the videos
    extracted by this call."""
    todo = [job for job in jobs if not job.cache.is_file()]
    if len(jobs) - len(todo):
        print(f"resuming: {len(jobs) - len(todo)} of {len(jobs)} videos already extracted")
    failures: list[str] = []
    bar = tqdm(total=len(todo), desc="videos", unit="video", disable=not progress or len(todo) <= 1)
    if workers > 1 and len(todo) > 1:
        with multiprocessing.get_context("spawn").Pool(min(workers, len(todo))) as pool:
            results: Iterable = pool.imap_unordered(_run_job, todo)
            for _job, error in results:
                failures += [error] if error else []
                bar.update()
    else:
        for job in todo:
            _job, error = _run_job(job, progress and len(todo) == 1)  # one video: a bar over its frames
            failures += [error] if error else []
            bar.update()
    bar.close()
    return failures, {job.video for job in todo if job.cache.is_file()}


def write_output(jobs: list[Job], out: Path, layout_format: str) -> tuple[int, list[dict]]:
    """The dataset file (or MediaPipe folder) from the cached videos; returns (videos written, counts)."""
    done = [job for job in jobs if job.cache.is_file()]
    if not done:
        raise BharnetError(f"{out}: no video could be extracted, nothing written")
    if done[0].skeleton is not None:
        return len(done), _write_ntu(done, out)
    classes = sorted({job.label for job in done})
    found = [(job, VideoKeypoints.load(job.cache)) for job in done]
    if layout_format == "mediapipe":
        for job, keypoints in found:
            folder = out / job.label / job.video.stem
            folder.mkdir(parents=True, exist_ok=True)
            for t, vector in enumerate(keypoints.mediapipe_vectors()):
                np.save(folder / f"{t}.npy", vector.astype(np.float32))
    else:
        samples = [k.sample(job.cache.stem, classes.index(job.label), {"video": job.video.name}) for job, k in found]
        splits = {f"class/{c}": [i for i, (job, _) in enumerate(found) if job.label == c] for c in classes}
        write_dataset(out, samples, classes, splits, HOLISTIC_LAYOUT, {"format": "mediapipe-holistic-video"})
    return len(done), [{"video": job.video, **k.counts()} for job, k in found]


def _write_ntu(done: list[Job], out: Path) -> list[dict]:
    samples, counts = [], []
    for job in done:
        sample = read_ntu_cache(job)
        samples.append(sample)
        hands = sample.scores[..., 25:].any(-1)  # (M, T)
        counts.append({"video": job.video, "frames": sample.num_frames,
                       "person": int(sample.scores[..., :25].any(-1).any(0).sum()),
                       "one_hand": int(hands.any(0).sum())})
    names = [s.name for s in samples]
    version = ntu_version(names)
    classes = list(NTU120_CLASSES[: 60 if version == 60 else 120])
    write_dataset(out, samples, classes, ntu_splits(names, version), NTU_LAYOUT, {"format": "ntu+mediapipe-hands"})
    return counts


def read_ntu_cache(job: Job) -> Sample:
    """The cached body + hands sample (label, name and meta saved with it: no second skeleton parse)."""
    with np.load(job.cache) as f:
        return Sample(f["keypoints"], f["scores"], int(f["label"]), str(f["name"]), json.loads(str(f["meta"])))


def remove_cache(out: Path) -> None:
    shutil.rmtree(out.with_name(f"{out.name}.parts"), ignore_errors=True)
