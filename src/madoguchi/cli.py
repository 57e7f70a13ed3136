"""The ``madoguchi`` console script: Django's manage commands plus ours (``madoguchi --help``)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "madoguchi.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["madoguchi", *argv])
    args[0] = "madoguchi"
    if len(args) == 1 or args[1] in {"--help", "-h"}:
        args[1:2] = ["help"]
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
