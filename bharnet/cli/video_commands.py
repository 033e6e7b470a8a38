"""Video commands: ``bharnet extract`` (keypoints from videos) and ``bharnet predict`` (actions from videos)."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bharnet.cli.common import add_precision_argument


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "extract", help="MediaPipe keypoints from a video or a folder of videos (needs bharnet[video])",
        description="Runs MediaPipe Holistic on every frame (pose 33, both hands 21, face; a missing hand is "
        "zeros with score 0) and writes a dataset file (.bhd, layout mediapipe_holistic75; a video in a "
        "sub-folder takes the sub-folder's name as its class) or, with --format mediapipe, the MediaPipe "
        "folder layout CLASS/VIDEO/FRAME.npy of 1662-d vectors. With --skeletons DIR (NTU RGB+D, PKU-MMD "
        "style .skeleton files named like the videos) it runs MediaPipe Hands instead and gives each hand "
        "to the Kinect body whose wrist is nearest in the colour image, writing body (Kinect 3D) + hands "
        "(layout ntu25_hands67) with the NTU splits. Finished videos are cached in OUT.parts, so a rerun "
        "resumes; folders use --workers processes.",
    )
    p.add_argument("input", type=Path, metavar="VIDEO|FOLDER", help="a video file or a folder of videos")
    p.add_argument("--out", "-o", type=Path, required=True, help="output .bhd file (or folder for --format mediapipe)")
    p.add_argument("--format", choices=("dataset", "mediapipe"), default="dataset",
                   help="dataset file (default) or the MediaPipe folder layout")
    p.add_argument("--skeletons", type=Path, help="folder of NTU .skeleton files: attach hands to Kinect bodies")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1),
                   help="processes for folders (default: 2, or 1 on a 1-core machine)")
    p.add_argument("--keep-parts", action="store_true", help="keep the per-video cache OUT.parts afterwards")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=run_extract)

    p = commands.add_parser(
        "predict", help="actions in a video, image folder, webcam, stream or keypoint file, window by window",
        description="INPUT is a video file, a folder of frames, a webcam index (0), a stream URL (rtsp://, "
        "http://...) or a dataset file (.bhd). Video inputs run MediaPipe Holistic per frame and predict over "
        "a sliding window of --window frames every --stride frames, printing the top-k classes with their "
        "probabilities. --render OUT.mp4 writes the frames with the body and hand skeletons and the current "
        "label; --snapshot OUT.png saves one rendered frame. CHECKPOINT is a checkpoint file, or neat11 (the "
        "bundled 7-sign model: hello help iLoveYou okay play please thankyou), or with --backend onnx a file "
        "written by bharnet export.",
    )
    p.add_argument("input", metavar="INPUT", help="video, frame folder, webcam index, stream URL or .bhd file")
    p.add_argument("--checkpoint", "-c", default="neat11", help="checkpoint file or bundled name (default neat11)")
    p.add_argument("--window", type=int, help="frames per prediction (default: the model's data.num_frames)")
    p.add_argument("--stride", type=int, help="frames between predictions (default: half the window)")
    p.add_argument("--top-k", type=int, default=3, help="classes shown per window (default 3)")
    p.add_argument("--render", type=Path, help="write the annotated video here (.mp4 or .avi)")
    p.add_argument("--snapshot", type=Path, help="save the annotated middle frame as a PNG")
    p.add_argument("--json", type=Path, help="write every window's prediction here")
    p.add_argument("--device", default="cpu", help="torch device for the model (default cpu)")
    p.add_argument("--backend", choices=("torch", "onnx"), default="torch",
                   help="run the model in PyTorch (default) or in onnxruntime on the CPU (needs bharnet[onnx]); "
                   "with onnx, CHECKPOINT may be a file written by bharnet export")
    add_precision_argument(p, default="fp32")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(run=run_predict)


def run_extract(args: argparse.Namespace) -> int:
    from bharnet.cli.common import format_table
    from bharnet.errors import BharnetError
    from bharnet.video.extract import plan_jobs, remove_cache, run_jobs, write_output
    from bharnet.video.frames import VideoError

    if not args.input.exists():
        raise VideoError(args.input, "no such file or folder")
    if args.skeletons and args.format != "dataset":
        raise VideoError(args.out, "--skeletons writes a dataset file; --format mediapipe does not apply")
    jobs = plan_jobs(args.input, args.out, args.skeletons)
    start = time.perf_counter()
    failures, extracted = run_jobs(jobs, args.workers, progress=not args.quiet)
    seconds = time.perf_counter() - start
    if failures and len(jobs) == 1:
        raise VideoError(args.input, failures[0].split(": ", 1)[-1]) if args.input.is_file() else \
            BharnetError(failures[0])
    for failure in failures:
        print(f"skipped: {failure}")
    written, counts = write_output(jobs, args.out, args.format)
    rows = [[c["video"].name, str(c["frames"]), str(c["person"]), str(c["one_hand"])] for c in counts]
    if len(rows) > 20:
        rows = rows[:10] + [["...", "", "", ""]] + rows[-10:]
    print(format_table(["video", "frames", "with person", "with a hand"], rows))
    frames = sum(c["frames"] for c in counts)
    new_frames = sum(c["frames"] for c in counts if c["video"] in extracted)
    print(f"{written} of {len(jobs)} videos, {frames} frames written to {args.out}; this run extracted "
          f"{new_frames} frames in {seconds:.1f} s ({new_frames / max(seconds, 1e-9):.1f} frames/s)")
    if not args.keep_parts and not failures:
        remove_cache(args.out)
    return 1 if failures else 0


def run_predict(args: argparse.Namespace) -> int:
    from bharnet.video.predict import Predictor

    predictor = Predictor(args.checkpoint, args.device, args.top_k, args.backend, args.precision)
    window = args.window or predictor.window
    stride = args.stride or max(1, window // 2)
    if args.input.endswith(".bhd"):
        predictions = _predict_keypoint_file(predictor, Path(args.input), window, stride, args.quiet)
    else:
        predictions = _predict_video(predictor, args, window, stride)
    if args.json:
        args.json.write_text(json.dumps(predictions, indent=1))
        print(f"predictions written to {args.json}")
    return 0


def _predict_keypoint_file(predictor, path: Path, window: int, stride: int, quiet: bool) -> list[dict]:
    from bharnet.data.store import DatasetFile

    file = DatasetFile(path)
    predictor.check_layout(file.layout_name, str(path))
    out = []
    for index in range(len(file)):
        sample = file[index]
        for w in predictor.windows(sample, window, stride):
            out.append({"sample": sample.name, "start": w.start, "stop": w.stop, "top": w.top})
            if not quiet:
                print(f"{sample.name} frames {w.start}-{w.stop}: {w.text()}")
    print(f"{len(file)} samples, {len(out)} windows")
    return out


def _predict_video(predictor, args: argparse.Namespace, window: int, stride: int) -> list[dict]:
    from bharnet.video.frames import VideoError, open_frames
    from bharnet.video.predict import iterate_video_predictions
    from bharnet.video.render import VideoWriter, draw_overlay, save_png

    frames = open_frames(args.input)
    writer = VideoWriter(args.render, frames.fps, frames.width, frames.height) if args.render else None
    snapshot_at = frames.frame_count // 2
    out, label, count, with_person = [], "", 0, 0
    start = time.perf_counter()
    try:
        for frame, keypoints, scores, prediction in iterate_video_predictions(predictor, frames, window, stride):
            if prediction is not None:
                label = f"{prediction.top[0][0]} {prediction.top[0][1]:.2f}"
                out.append({"start": prediction.start, "stop": prediction.stop, "top": prediction.top})
                if not args.quiet:
                    print(f"frames {prediction.start}-{prediction.stop}: {prediction.text()}")
            if frame is None:
                continue
            count += 1
            with_person += bool(scores[:33].any())
            snapshot = args.snapshot and count - 1 == snapshot_at
            if writer or snapshot:
                drawn = draw_overlay(frame, keypoints, scores, predictor.layout, label)
                if writer:
                    writer.write(drawn)
                if snapshot:
                    save_png(args.snapshot, drawn)
    finally:
        if writer:
            writer.close()
    seconds = time.perf_counter() - start
    if not with_person:
        raise VideoError(args.input, f"no person detected in any of its {count} frames: nothing to predict")
    print(f"{count} frames ({with_person} with a person) in {seconds:.1f} s: {count / seconds:.1f} frames/s "
          f"end to end (decoding, MediaPipe, {len(out)} model windows)")
    for path in (args.render, args.snapshot):
        if path:
            print(f"written {path}")
    return out
