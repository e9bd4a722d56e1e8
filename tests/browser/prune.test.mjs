// The web client's handling of the `pruned` event (web/js/state.js) in
// plain node: held rows below before_seq become tombstones in place, the
// rest stay, and a second event changes nothing.
import assert from 'node:assert/strict';
import { mergeMessages, pruneMessages, roomMessages } from '../../web/js/state.js';

const room = 'r_prune_test';
mergeMessages(room, [1, 2, 3, 4].map((seq) => ({
  id: 'm_' + seq, room, seq, text: 'text ' + seq, reactions: { '👍': ['u_1'] },
  attachments: seq === 2 ? [{ id: 'up_1' }] : undefined,
})));
assert.equal(pruneMessages(room, 3), 2);
const list = roomMessages(room).list;
assert.deepEqual(list.map((m) => m.seq), [1, 2, 3, 4]);
for (const m of list.slice(0, 2)) {
  assert.equal(m.deleted, true);
  assert.equal(m.text, undefined);
  assert.equal(m.reactions, undefined);
  assert.equal(m.attachments, undefined);
}
assert.equal(list[2].text, 'text 3');
assert.equal(list[2].deleted, undefined);
assert.equal(pruneMessages(room, 3), 0);
assert.equal(pruneMessages('r_unknown', 5), 0);
assert.equal(pruneMessages(room, undefined), 0);
console.log('ok prune.test.mjs');
