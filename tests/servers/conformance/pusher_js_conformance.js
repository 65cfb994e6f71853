#!/usr/bin/env node
// Conformance peer: the official pusher-js client against a Pusher-compatible server.
//
// usage: node pusher_js_conformance.js HOST PORT KEY SECRET USER_ID CHANNEL...
//
// Connects with pusher-js, signs in as USER_ID, subscribes to every CHANNEL (private and
// presence ones are authorized by signing locally with SECRET, as an auth endpoint would)
// and prints one JSON line on stdout for everything it observes:
//   {"type": "state", "current"}                      connection state changes
//   {"type": "subscribed", "channel", "members"?}      subscription succeeded (members: ids)
//   {"type": "subscription_error", "channel", "error"}
//   {"type": "ready", "socket_id"}                      all subscribed and signed in
//   {"type": "event", "channel", "event", "data", "user_id"?}
//   {"type": "member_added" | "member_removed", "channel", "id", "info"?}
//   {"type": "user_event", "event", "data"}             events sent to the signed-in user
//   {"type": "whole", "channel", "event", "data"}      a chunked event put back together
//                                                       (events "report" and "client-doc")
// It reads JSON commands, one a line, on stdin:
//   {"cmd": "trigger", "channel", "event", "data"}      send a client event
//   {"cmd": "trigger_chunked", "channel", "event", "data", "size"}
//                                                       send it as chunked parts
//   {"cmd": "quit"}                                     disconnect and exit 0 (also on EOF)
//
// Chunked events follow Pusher's documented recipe ("bindWithChunking"): parts
// {id, index, chunk, final} of the JSON text, joined once the final one and all before it
// arrived. A client event's parts travel as "client-chunked-NAME" (client events must
// start with "client-"), a server event's as "chunked-NAME".
'use strict';

const crypto = require('crypto');
const path = require('path');
const readline = require('readline');

const Pusher = require(path.join(__dirname, '..', 'node_modules', 'pusher-js'));

const [host, port, key, secret, userId, ...channelNames] = process.argv.slice(2);

function emit(record) {
  process.stdout.write(JSON.stringify(record) + '\n');
}

function sign(text) {
  return `${key}:${crypto.createHmac('sha256', secret).update(text).digest('hex')}`;
}

const pusher = new Pusher(key, {
  cluster: 'mt1',
  wsHost: host,
  wsPort: Number(port),
  forceTLS: false,
  enabledTransports: ['ws'],
  disableStats: true,
  channelAuthorization: {
    customHandler: ({ socketId, channelName }, callback) => {
      if (channelName.startsWith('presence-')) {
        const channelData = JSON.stringify({ user_id: userId, user_info: { via: 'pusher-js' } });
        callback(null, {
          auth: sign(`${socketId}:${channelName}:${channelData}`),
          channel_data: channelData,
        });
      } else {
        callback(null, { auth: sign(`${socketId}:${channelName}`) });
      }
    },
  },
  userAuthentication: {
    customHandler: ({ socketId }, callback) => {
      const userData = JSON.stringify({ id: userId });
      callback(null, { auth: sign(`${socketId}::user::${userData}`), user_data: userData });
    },
  },
});

// The parts' event name for an event: "client-x" -> "client-chunked-x", "x" -> "chunked-x".
function partsName(event) {
  return event.startsWith('client-') ? `client-chunked-${event.slice(7)}` : `chunked-${event}`;
}

// Pusher's bindWithChunking: the callback gets the event whole, sent plain or in parts.
function bindWithChunking(channel, event, callback) {
  channel.bind(event, callback);
  const inProgress = {};
  channel.bind(partsName(event), (part) => {
    const message = inProgress[part.id] || (inProgress[part.id] = { chunks: [], final: false });
    message.chunks[part.index] = part.chunk;
    if (part.final) {
      message.final = true;
    }
    const received = message.chunks.filter((chunk) => chunk !== undefined).length;
    if (message.final && received === message.chunks.length) {
      delete inProgress[part.id];
      callback(JSON.parse(message.chunks.join('')));
    }
  });
}

// The sending side of the recipe: cut the JSON text into `size` characters a part.
function triggerChunked(channel, event, data, size) {
  const text = JSON.stringify(data);
  const id = crypto.randomBytes(8).toString('hex');
  const count = Math.ceil(text.length / size);
  for (let index = 0; index < count; index += 1) {
    channel.trigger(partsName(event), {
      id, index, chunk: text.slice(index * size, (index + 1) * size), final: index === count - 1,
    });
  }
}

const channels = new Map();
const pending = new Set(channelNames);
let signedIn = false;

function readyCheck() {
  if (pending.size === 0 && signedIn) {
    emit({ type: 'ready', socket_id: pusher.connection.socket_id });
  }
}

pusher.connection.bind('state_change', ({ current }) => emit({ type: 'state', current }));

for (const name of channelNames) {
  const channel = pusher.subscribe(name);
  channels.set(name, channel);
  channel.bind('pusher:subscription_succeeded', (data) => {
    const record = { type: 'subscribed', channel: name };
    if (name.startsWith('presence-')) {
      record.members = Object.keys(data.members).sort();
    }
    emit(record);
    pending.delete(name);
    readyCheck();
  });
  channel.bind('pusher:subscription_error', (error) => {
    emit({ type: 'subscription_error', channel: name, error });
  });
  channel.bind('pusher:member_added', (member) => {
    emit({ type: 'member_added', channel: name, id: member.id, info: member.info });
  });
  channel.bind('pusher:member_removed', (member) => {
    emit({ type: 'member_removed', channel: name, id: member.id });
  });
  channel.bind_global((event, data) => {
    if (!event.startsWith('pusher:') && !event.startsWith('client-')) {
      emit({ type: 'event', channel: name, event, data });
    }
  });
  // Client events are bound by name to get the metadata (user_id on presence channels).
  channel.bind('client-hello', (data, metadata) => {
    emit({ type: 'event', channel: name, event: 'client-hello', data, ...metadata });
  });
  for (const event of ['report', 'client-doc']) {
    bindWithChunking(channel, event, (data) => emit({ type: 'whole', channel: name, event, data }));
  }
}

pusher.signin();
pusher.user.bind_global((event, data) => emit({ type: 'user_event', event, data }));
pusher.user.signinDonePromise.then(() => {
  signedIn = true;
  readyCheck();
});

function quit() {
  pusher.disconnect();
  setImmediate(() => process.exit(0));
}

readline.createInterface({ input: process.stdin })
  .on('line', (line) => {
    const command = JSON.parse(line);
    if (command.cmd === 'trigger') {
      channels.get(command.channel).trigger(command.event, command.data);
    } else if (command.cmd === 'trigger_chunked') {
      triggerChunked(channels.get(command.channel), command.event, command.data, command.size);
    } else if (command.cmd === 'quit') {
      quit();
    }
  })
  .on('close', quit);
