"""Private building blocks of rxpusher; nothing here is public API."""
