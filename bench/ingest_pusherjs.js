// pusher-js 8.6.0 on Node as an ingest subscriber of bench/ingest.py.
// Usage: node bench/ingest_pusherjs.js PORT EVENTS
// Subscribes the public channel "bench", binds "client-tick", checks seq, and prints one JSON
// line {"count", "complete", "seconds"} timed from the first to the last event.
"use strict";

const path = require("path");
const Pusher = require(path.join(__dirname, "..", "tests", "servers", "node_modules", "pusher-js"));

const port = Number(process.argv[2]);
const expected = Number(process.argv[3]);
let count = 0;
let inOrder = true;
let first = 0n;

const pusher = new Pusher("bench-key", {
  wsHost: "127.0.0.1",
  wsPort: port,
  forceTLS: false,
  enabledTransports: ["ws"],
  disableStats: true,
  cluster: "mt1",
});

const timeout = setTimeout(() => finish(0n), 120000);

function finish(last) {
  clearTimeout(timeout);
  const seconds = last ? Number(last - first) / 1e9 : 0;
  process.stdout.write(JSON.stringify({ count, complete: count === expected && inOrder, seconds }) + "\n");
  pusher.disconnect();
  process.exit(0);
}

pusher.subscribe("bench").bind("client-tick", (data) => {
  if (count === 0) first = process.hrtime.bigint();
  if (data.seq !== count) inOrder = false;
  count += 1;
  if (count === expected) finish(process.hrtime.bigint());
});
