"""store_mongo's error paths that CongoDB cannot produce, against a
scripted server (Debian python3-mockupdb; run with /usr/bin/python3):

  - lost client_id race: the insert gets duplicate key 11000 on the
    (user, client_id) index -> a tombstone fills the seq taken, the
    winner's message is the answer, as a duplicate;
  - write concern error on the insert -> unavailable, never acked, no
    retry and no tombstone (the message is there, at its seq);
  - "not primary" -> unavailable, no seq taken;
  - network error mid-insert -> the insert is retried with the same _id
    and seq and acked; a second network error -> unavailable, and the
    health monitor writes a tombstone with that _id at that seq.

    /usr/bin/python3 mock_errors.py path/to/store_mongo_drive
"""
import os
import subprocess
import sys
import threading

try:
    from mockupdb import MockupDB, OpMsg
except ImportError:
    print("skipped: python3-mockupdb is not installed (tools/setup.sh --test)")
    sys.exit(77)

DRIVE = None
DB = "mock"
HELLO = {"ismaster": True, "isWritablePrimary": True, "minWireVersion": 0,
         "maxWireVersion": 13, "maxBsonObjectSize": 16777216,
         "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000, "ok": 1}


def cursor(coll, docs):
    return {"cursor": {"id": 0, "ns": "%s.%s" % (DB, coll), "firstBatch": docs}, "ok": 1}


def documents(request):
    """The inserted documents of an OP_MSG insert (command or sequence)."""
    docs = request.doc.get("documents")
    return list(docs) if docs else list(request.docs[1:])


class Scripted:
    """A mockupdb server that answers the handshake, pings and the
    schema step, and the driver process appending one message."""

    def __init__(self, client_id="c1", linger=0):
        self.server = MockupDB(request_timeout=20)
        self.server.autoresponds(self.background)
        self.server.run()
        args = [DRIVE, self.server.uri, DB, "append", "r_1", "u_1", "hello"]
        if client_id:
            args.append(client_id)
        env = dict(os.environ, PARLEY_DRIVE_LINGER=str(linger))
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)

    @staticmethod
    def background(request):
        """The handshake, the monitor's pings, the schema step (a database
        at the current schema version, 4)."""
        doc = request.doc or {}
        first = next(iter(doc), "").lower()
        if first in ("ismaster", "hello"):
            return request.replies(HELLO)
        if first in ("ping", "createindexes", "endsessions"):
            return request.replies({"ok": 1})
        if first == "find" and doc.get("find") == "meta":
            return request.replies(cursor("meta", [{"key": "schema", "version": 4}]))
        if first == "find" and doc.get("find") == "rooms":  # the hole sweep: no rooms
            return request.replies(cursor("rooms", []))
        return False

    def finish(self):
        out, _ = self.proc.communicate(timeout=60)
        self.server.stop()
        lines = out.splitlines()
        result = next(l for l in lines if l.startswith("result "))
        fields = dict(kv.split("=", 1) for kv in result.split()[1:5])
        ready = next((l for l in lines if l.startswith("ready=")), "")
        return fields, ready, out

    def counter(self, matcher):
        """Counts (and answers ok) further requests that match."""
        box = {"n": 0}
        lock = threading.Lock()

        def respond(request):
            if request.matches(matcher):
                with lock:
                    box["n"] += 1
                return request.ok(n=1)
            return False
        self.server.autoresponds(respond)
        return box

    def dedup_lookup_misses(self):
        self.server.receives(OpMsg({"find": "messages"})).replies(cursor("messages", []))

    def seq_step(self, seq):
        r = self.server.receives(OpMsg({"findAndModify": "rooms"}))
        assert r.doc["update"]["$inc"] == {"last_seq": 1}, r.doc
        r.replies({"value": {"id": "r_1", "last_seq": seq},
                   "lastErrorObject": {"n": 1, "updatedExisting": True}, "ok": 1})


def check(cond, what, out=""):
    if not cond:
        print("FAIL: %s\n%s" % (what, out))
        sys.exit(1)
    print("ok: %s" % what)


def lost_client_id_race():
    s = Scripted(client_id="c1")
    s.dedup_lookup_misses()
    s.seq_step(7)
    ins = s.server.receives(OpMsg({"insert": "messages"}))
    first = documents(ins)[0]
    check(first["seq"] == 7 and first["client_id"] == "c1", "insert at seq 7 with client_id")
    ins.replies({"ok": 1, "n": 0, "writeErrors": [{
        "index": 0, "code": 11000,
        "errmsg": "E11000 duplicate key error collection: mock.messages index: "
                  "user_client dup key: { user: \"u_1\", client_id: \"c1\" }"}]})
    tomb = s.server.receives(OpMsg({"insert": "messages"}))
    t = documents(tomb)[0]
    check(t["seq"] == 7 and t["deleted"] == 1 and t.get("text") is None
          and "client_id" not in t and t["_id"] != first["_id"],
          "a tombstone fills seq 7 (no client_id, its own _id)")
    tomb.replies({"ok": 1, "n": 1})
    look = s.server.receives(OpMsg({"find": "messages"}))
    check(look.doc["filter"] == {"user": "u_1", "client_id": "c1"}, "the winner is looked up")
    look.replies(cursor("messages", [{"id": "m_4294967301", "room": "r_1", "seq": 5,
                                      "user": "u_1", "text": "hello", "client_id": "c1",
                                      "ts": 999, "deleted": 0, "reactions": []}]))
    fields, _, out = s.finish()
    check(fields["rc"] == "0" and fields["dup"] == "1" and fields["seq"] == "5",
          "the answer is the winner's message (seq 5) as a duplicate", out)


def write_concern_error():
    s = Scripted(client_id="c2", linger=1)
    s.dedup_lookup_misses()
    s.seq_step(8)
    ins = s.server.receives(OpMsg({"insert": "messages"}))
    check(ins.doc.get("writeConcern", {}).get("w") == "majority"
          and ins.doc["writeConcern"].get("j") is True, "majority + journal asked for")
    more = s.counter(OpMsg({"insert": "messages"}))
    ins.replies({"ok": 1, "n": 1, "writeConcernError": {
        "code": 64, "codeName": "WriteConcernFailed",
        "errmsg": "waiting for replication timed out", "errInfo": {"wtimeout": True}}})
    fields, _, out = s.finish()
    check(fields["rc"] == "-6", "a write concern error is unavailable, never acked", out)
    check(more["n"] == 0, "no retry, no tombstone: the message stands at its seq", out)


def not_primary():
    s = Scripted(client_id="c3")
    steps = s.counter(OpMsg({"findAndModify": "rooms"}))
    s.server.autoresponds(OpMsg({"find": "messages"}), ok=0, code=10107,
                          codeName="NotWritablePrimary", errmsg="not primary")
    fields, _, out = s.finish()
    check(fields["rc"] == "-6" and "not primary" in out, "not primary is unavailable", out)
    check(steps["n"] == 0, "no seq taken", out)


def network_error_then_retry():
    s = Scripted(client_id=None)
    s.seq_step(9)
    ins = s.server.receives(OpMsg({"insert": "messages"}))
    first = documents(ins)[0]
    ins.hangup()
    again = s.server.receives(OpMsg({"insert": "messages"}))
    second = documents(again)[0]
    check(second["_id"] == first["_id"] and second["seq"] == 9,
          "after a network error the insert is retried with the same _id and seq")
    again.replies({"ok": 1, "n": 1})
    fields, _, out = s.finish()
    check(fields["rc"] == "0" and fields["seq"] == "9", "then acked at seq 9", out)


def network_error_leaves_hole_filled():
    s = Scripted(client_id=None, linger=6)
    s.seq_step(10)
    ins = s.server.receives(OpMsg({"insert": "messages"}))
    first = documents(ins)[0]
    ins.hangup()
    s.server.receives(OpMsg({"insert": "messages"})).hangup()
    # The monitor: is anything at (r_1, 10)? Nothing: a tombstone goes there.
    count = s.server.receives(OpMsg({"aggregate": "messages"}))
    check(count.doc["pipeline"][0]["$match"] == {"room": "r_1", "seq": 10},
          "the monitor looks at the hole")
    count.replies(cursor("messages", []))
    tomb = s.server.receives(OpMsg({"insert": "messages"}))
    t = documents(tomb)[0]
    check(t["_id"] == first["_id"] and t["seq"] == 10 and t["deleted"] == 1,
          "a tombstone with the failed insert's _id fills seq 10")
    tomb.replies({"ok": 1, "n": 1})
    fields, ready, out = s.finish()
    check(fields["rc"] == "-6", "the append itself was unavailable, never acked", out)
    check("seq_hole_filled" in out or ready.startswith("ready=1"), "store ready again", out)


def main(argv):
    global DRIVE
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    DRIVE = argv[0]
    for case in (lost_client_id_race, write_concern_error, not_primary,
                 network_error_then_retry, network_error_leaves_hole_filled):
        print("== %s" % case.__name__)
        sys.stdout.flush()
        case()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
