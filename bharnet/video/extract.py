"""``bharnet extract``: keypoints from videos into a dataset file or the MediaPipe folder layout.

Each finished video is cached in ``<out>.parts/`` first, so an interrupted folder run resumes where it
stopped; a cache records what it was made from (the video, its skeleton file, the extraction options and the
MediaPipe version) and is made again when any of them changed. Folders use a pool of processes (one
MediaPipe graph each).
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bharnet.atomic import atomic_write
from bharnet.data.protocols import NTU120_CLASSES, NTU_NAME, ntu_splits, ntu_version
from bharnet.data.readers.ntu import read_ntu_skeleton
from bharnet.data.sample import Sample
from bharnet.data.store import write_dataset
from bharnet.errors import NUMPY_FILE_ERRORS, BharnetError
from bharnet.video.detectors import LEFT_HAND, POSE_JOINTS, RIGHT_HAND, HolisticDetector
from bharnet.video.frames import FrameSource, VideoError, count_frames, list_videos, open_frames, require_cv2
from bharnet.video.ntu_hands import LAYOUT as NTU_LAYOUT
from bharnet.video.ntu_hands import align_frames, ntu_body_hands, person_box

HOLISTIC_LAYOUT = "mediapipe_holistic75"
UNLABELLED = "unlabelled"
CACHE_VERSION = 2  # raise when the cached arrays change meaning
MODEL_COMPLEXITY = 1  # MediaPipe Holistic's model size
NTU_CROP = 384  # pixels of the square crop around each Kinect body given to MediaPipe


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

    def arrays(self) -> dict[str, np.ndarray]:
        return {"keypoints": self.keypoints, "scores": self.scores, "face": self.face,
                "info": np.array([self.fps, self.width, self.height])}

    @classmethod
    def load(cls, path: Path) -> VideoKeypoints:
        with np.load(path) as f:
            fps, width, height = f["info"]
            return cls(f["keypoints"], f["scores"], f["face"], float(fps), int(width), int(height))


def holistic_keypoints(source: str | Path, progress: bool = False) -> VideoKeypoints:
    """Run MediaPipe Holistic over every frame of ``source``; refuses a video with no person at all."""
    frames = open_frames(source)
    keypoints, scores, faces = [], [], []
    bar = tqdm(total=frames.frame_count or None, desc=Path(str(source)).name, unit="frame", disable=not progress,
               leave=False)
    with HolisticDetector(MODEL_COMPLEXITY) as detect, bar:
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


def video_frame_count(video: Path, frames: FrameSource) -> int:
    """The container's frame count, or (where it reports 0, as some do) the frames counted by decoding."""
    return frames.frame_count or count_frames(video)


def ntu_keypoints(video: Path, skeleton: Path, progress: bool = False, crop: int = NTU_CROP) -> Sample:
    """Kinect body from the .skeleton file, hands from the RGB video, assigned by nearest wrist.

    A full NTU frame shows people too small for MediaPipe's palm detector, so each tracked body's region
    (from its colour-image joints) is cropped, resized to ``crop`` pixels and given to its own Holistic
    tracker; the hands found in every crop are mapped back to the full frame and then assigned.
    """
    cv2 = require_cv2()
    body = read_ntu_skeleton(skeleton)
    frames = open_frames(video)
    color = body.extras["color_xy"]  # (M, T, 25, 2)
    skeleton_frame = align_frames(body.num_frames, max(video_frame_count(video, frames), 1))  # per video frame
    hands: list[list[np.ndarray]] = []
    trackers = [HolisticDetector(MODEL_COMPLEXITY) for _ in range(body.num_persons)]
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


def _file_state(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _mediapipe_version() -> str:
    try:
        return metadata.version("mediapipe")
    except metadata.PackageNotFoundError:
        return "absent"


@dataclass(frozen=True)
class Job:
    """One video to extract, where its result is cached, its class and its sample name (the video's path
    below the input folder; the extension is kept only where two videos would share a name)."""

    video: Path
    cache: Path
    label: str
    name: str
    skeleton: Path | None = None

    def fingerprint(self) -> str:
        """What the cache is made from; a cache with another fingerprint is stale."""
        return json.dumps({
            "cache": CACHE_VERSION, "video": _file_state(self.video), "mediapipe": _mediapipe_version(),
            "model_complexity": MODEL_COMPLEXITY,
            **({"skeleton": _file_state(self.skeleton), "crop": NTU_CROP} if self.skeleton else {}),
        }, sort_keys=True)

    def is_cached(self) -> bool:
        if not self.cache.is_file():
            return False
        try:
            with np.load(self.cache) as f:
                return "fingerprint" in f.files and str(f["fingerprint"]) == self.fingerprint()
        except NUMPY_FILE_ERRORS:
            return False  # unreadable (a damaged file): made again


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Atomic: a killed run never leaves a half-written cache file that would be taken as done."""
    atomic_write(path, lambda tmp: np.savez_compressed(tmp, **arrays))


def _run_job(job: Job, progress: bool = False) -> tuple[Job, str]:
    """Extract one video into its cache file; returns the error text instead of raising (pool workers)."""
    try:
        fingerprint = np.array(job.fingerprint())
        if job.skeleton is not None:
            sample = ntu_keypoints(job.video, job.skeleton, progress)
            save_npz(job.cache, keypoints=sample.keypoints, scores=sample.scores, label=np.array(sample.label),
                     name=np.array(sample.name), meta=np.array(json.dumps(sample.meta)), fingerprint=fingerprint)
        else:
            found = holistic_keypoints(job.video, progress)
            save_npz(job.cache, fingerprint=fingerprint, **found.arrays())
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
    relatives = [video.relative_to(source) if source.is_dir() else Path(video.name) for video in videos]
    shared = Counter(relative.with_suffix("") for relative in relatives)
    jobs = []
    for video, relative in zip(videos, relatives, strict=True):
        label = relative.parts[0] if len(relative.parts) > 1 else UNLABELLED
        name = "__".join((relative if shared[relative.with_suffix("")] > 1 else relative.with_suffix("")).parts)
        cache = parts / f"{'__'.join(relative.parts)}.npz"  # with the extension: a.mp4 and a.avi differ
        skeleton = _ntu_skeleton(video, skeletons) if skeletons else None
        if skeleton is not None and not skeleton.is_file():
            raise VideoError(skeleton, f"missing: the skeleton file of {video.name}")
        jobs.append(Job(video, cache, label, name, skeleton))
    return jobs


def run_jobs(jobs: list[Job], workers: int, progress: bool = True) -> tuple[list[str], set[Path]]:
    """Extract every job whose cache is missing; returns one message per failed video and the videos
    extracted by this call."""
    todo = [job for job in jobs if not job.is_cached()]
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
    return failures, {job.video for job in todo if job.is_cached()}


def write_output(jobs: list[Job], out: Path, layout_format: str) -> tuple[int, list[dict]]:
    """The dataset file (or MediaPipe folder) from the cached videos; returns (videos written, counts)."""
    done = [job for job in jobs if job.is_cached()]
    if not done:
        raise BharnetError(f"{out}: no video could be extracted, nothing written")
    if done[0].skeleton is not None:
        return len(done), _write_ntu(done, out)
    classes = sorted({job.label for job in done})
    found = [(job, VideoKeypoints.load(job.cache)) for job in done]
    if layout_format == "mediapipe":
        for job, keypoints in found:
            folder = out / job.label / job.name.split("__")[-1]
            folder.mkdir(parents=True, exist_ok=True)
            for t, vector in enumerate(keypoints.mediapipe_vectors()):
                np.save(folder / f"{t}.npy", vector.astype(np.float32))
    else:
        samples = [k.sample(job.name, classes.index(job.label), {"video": job.video.name}) for job, k in found]
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
