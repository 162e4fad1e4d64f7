"""The `luot` command. `luot serve` patches the standard library for the async mode before anything else."""

from __future__ import annotations

import sys


def _async_mode_from(argv: list[str]) -> str | None:
    for index, arg in enumerate(argv):
        if arg.startswith("--async-mode="):
            return arg.split("=", 1)[1]
        if arg == "--async-mode" and index + 1 < len(argv):
            return argv[index + 1]
    return None


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        from server.asyncmode import prepare

        prepare(_async_mode_from(argv))
    from server.commands import cli

    cli.main(args=argv, prog_name="luot")


if __name__ == "__main__":
    main()
