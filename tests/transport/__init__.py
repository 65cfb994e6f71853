"""Tests of the WebSocket transport: the frame parser at the byte level and the reader over
real sockets."""
