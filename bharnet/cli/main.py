"""``bharnet`` command line: one sub-command per job; expected failures print one line, not a traceback."""

from __future__ import annotations

import argparse
import os
import sys

from bharnet import runtime
from bharnet.cli import bench_commands, data_commands, model_commands, train_commands, video_commands
from bharnet.errors import BharnetError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bharnet",
        description="BHaRNet: body-hand expert networks for skeleton-based action recognition.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data_commands.register(commands)
    model_commands.register(commands)
    bench_commands.register(commands)
    train_commands.register(commands)
    video_commands.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not getattr(args, "system_allocator", False):  # bharnet bench can measure without it
        runtime.reuse_freed_memory()
    try:
        status = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler, not at interpreter exit
        return status
    except BrokenPipeError:
        # the reader went away (`bharnet inspect x.bhd | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, the shell's status for a command stopped by a closed pipe
    except BharnetError as err:
        print(f"bharnet {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bharnet {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
