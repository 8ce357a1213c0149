"""Entry point of `make bench`: python -m bench [--duration S] [--soak] (see bench/cli.py)."""

from .cli import main

raise SystemExit(main())
