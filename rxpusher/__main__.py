"""``python -m rxpusher``: the command line."""

from .cli import main

raise SystemExit(main())
