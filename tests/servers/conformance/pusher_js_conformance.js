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
// It reads JSON commands, one a line, on stdin:
//   {"cmd": "trigger", "channel", "event", "data"}      send a client event
//   {"cmd": "quit"}                                     disconnect and exit 0 (also on EOF)
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
    } else if (command.cmd === 'quit') {
      quit();
    }
  })
  .on('close', quit);
