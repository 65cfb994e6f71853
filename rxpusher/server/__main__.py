"""``python -m rxpusher.server``: run a local Pusher Channels server."""

import sys

from .serve import main

sys.exit(main())
