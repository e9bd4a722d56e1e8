"""Profiles (issue 18): GET/PATCH /api/profile, another person's profile,
an admin's edit (audited), validation with readable errors, the `profile`
event to everyone online, a status that expires."""

import time

from parley_client import Client, run
from test_access import call


def test_profile_edit_event_and_validation(server):
    admin = server.user("root", role="admin")
    tok = server.people("alice", "bob")
    st, out, _ = call(server, "GET", "/api/profile", tok["alice"])
    assert st == 200, out
    p = out["profile"]
    assert p["name"] == "alice" and p["pronouns"] == "" and p["tz"] == "" and p["status"] is None
    assert p["avatar"] is None

    async def body():
        async with Client(server, tok["bob"]) as b:
            st, out, _ = call(server, "PATCH", "/api/profile", tok["alice"],
                              {"display_name": "Alice Liddell", "pronouns": "she/her",
                               "tz": "Europe/Berlin",
                               "status": {"text": "in the lab", "expires": None}})
            assert st == 200, out
            assert out["profile"]["display_name"] == "Alice Liddell"
            ev = await b.next_event("profile")
            assert ev["profile"] == out["profile"], ev
            # Events name her by the new display name from now on.
            g = b.room_id("general")
            async with Client(server, tok["alice"]) as a:
                assert a.ready["user"]["display_name"] == "Alice Liddell"
                await a.send_text(g, "hello")
            m = await b.next_event("message")
            assert m["user"]["name"] == "alice" and m["text"] == "hello", m

    run(body())
    # Someone else reads it; unknown ids are 404.
    st, out, _ = call(server, "GET", "/api/users/" + _id(server, admin, "alice") + "/profile",
                      tok["bob"])
    assert st == 200 and out["profile"]["pronouns"] == "she/her", out
    assert out["profile"]["status"] == {"text": "in the lab", "expires": None}
    assert call(server, "GET", "/api/users/u_999999/profile", tok["bob"])[0] == 404
    # Only known fields, each checked.
    for bad, word in (({"nickname": "x"}, "unknown"), ({"display_name": ""}, "display_name"),
                      ({"display_name": "x" * 65}, "display_name"),
                      ({"pronouns": "a\nb"}, "pronouns"), ({"tz": "Mars/Olympus"}, "tz"),
                      ({"tz": "../../etc/passwd"}, "tz"), ({"status": {"text": 3}}, "status"),
                      ({"status": {"text": "x", "mood": 1}}, "status")):
        st, out, _ = call(server, "PATCH", "/api/profile", tok["alice"], bad)
        assert st == 400 and out["error"]["code"] == "bad_request", (bad, out)
        assert word in out["error"]["message"], (bad, out)
    # A status past its expiry reads as none; clearing works.
    past = int(time.time() * 1000) - 1000
    st, out, _ = call(server, "PATCH", "/api/profile", tok["alice"],
                      {"status": {"text": "gone", "expires": past}})
    assert st == 200 and out["profile"]["status"] is None, out
    st, out, _ = call(server, "PATCH", "/api/profile", tok["alice"], {"tz": ""})
    assert st == 200 and out["profile"]["tz"] == "" and out["profile"]["pronouns"] == "she/her"


def _id(server, admin, name):
    users = call(server, "GET", "/api/admin/users", admin)[1]["users"]
    return next(u["id"] for u in users if u["name"] == name)


def test_admin_edits_a_profile_and_it_is_audited(server):
    admin = server.user("root", role="admin")
    tok = server.people("alice")
    alice = _id(server, admin, "alice")
    st, out, _ = call(server, "PATCH", f"/api/admin/users/{alice}/profile", admin,
                      {"display_name": "Dr. Alice"})
    assert st == 200 and out["profile"]["display_name"] == "Dr. Alice", out
    assert call(server, "PATCH", f"/api/admin/users/{alice}/profile", tok["alice"],
                {"pronouns": "x"})[0] == 403
    deadline = time.time() + 5
    while time.time() < deadline:
        entries = call(server, "GET", "/api/admin/audit", admin)[1]["entries"]
        if any(e["action"] == "user.profile" and e["target"] == alice for e in entries):
            break
        time.sleep(0.05)
    else:
        raise AssertionError(entries[:5])
    # Own edits are not audit entries (they are the person's own business).
    call(server, "PATCH", "/api/profile", tok["alice"], {"pronouns": "she/her"})
    time.sleep(0.2)
    entries = call(server, "GET", "/api/admin/audit", admin)[1]["entries"]
    assert sum(e["action"] == "user.profile" for e in entries) == 1
