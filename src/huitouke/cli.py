"""The `huitouke` command: every Django management command, plus demo / serve / worker."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    # `huitouke worker` is Huey's consumer; every other name is a management command of ours
    # (demo, serve, import, export, analytics, createowner, createtoken) or of Django.
    if args[:1] == ["worker"]:
        args[0] = "run_huey"
    execute_from_command_line(["huitouke", *args])


if __name__ == "__main__":
    main()
