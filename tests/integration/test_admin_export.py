"""GET /api/admin/export (issue 17): the CLI's export as one zip over
HTTP, admins only, audited, with the CLI's filters as query parameters;
run as a child process so the server keeps serving meanwhile."""

import io
import json
import zipfile

from parley_client import Client, run
from test_uploads import AUTH_PLUGINS, upload_ok

PLUGINS = "{ " + AUTH_PLUGINS + ', {"uploads_local", dir = "files"} }'


def bearer(token):
    return {"Authorization": "Bearer " + token}


def test_admin_export_zip_filters_access_and_audit(server_factory):
    srv = server_factory(plugins=PLUGINS)
    tok = srv.people("ann", "ben")
    srv.add_user("root", role="admin")
    admin = srv.token("root")

    async def fill():
        async with Client(srv, tok["ann"]) as a:
            g = a.room_id("general")
            lab = (await a.request("create_room", name="lab"))["room"]["id"]
            up = upload_ok(srv, tok["ann"], b"raw data\n", name="d.txt")
            for i in range(20):
                assert (await a.send_text(g, f"m {i}"))["type"] == "ack"
            assert (await a.send_text(lab, "in lab", attachments=[up["id"]]))["type"] == "ack"
            return up

    up = run(fill())

    # Not for members, nor anonymous.
    st, _, _ = srv.http("GET", "/api/admin/export", headers=bearer(tok["ann"]))
    assert st == 403
    st, _, _ = srv.http("GET", "/api/admin/export")
    assert st == 401

    st, h, body = srv.http("GET", "/api/admin/export?with_files=1", headers=bearer(admin),
                           timeout=60)
    assert st == 200, body[:300]
    assert h["Content-Type"] == "application/zip"
    assert "attachment" in h["Content-Disposition"] and ".zip" in h["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert z.testzip() is None
        manifest = json.loads(z.read("manifest.json"))
        assert {r["name"] for r in manifest["rooms"]} == {"general", "lab"}
        assert manifest["messages"] == 21
        assert z.read("files/" + up["id"]) == b"raw data\n"

    # The CLI's filters: rooms and pseudonyms.
    st, _, body = srv.http("GET", "/api/admin/export?room=lab&pseudonymise=1",
                           headers=bearer(admin), timeout=60)
    assert st == 200, body[:300]
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert [r["name"] for r in manifest["rooms"]] == ["lab"]
        assert manifest["pseudonymised"] is True and manifest["with_files"] is False
        assert b'"ann"' not in z.read("messages.jsonl")

    # Refusals answer 400 and leave nothing behind in the data dir.
    for q in ("room=nope", "since=last%20week", "since=2026-13-45"):
        st, _, body = srv.http("GET", "/api/admin/export?" + q, headers=bearer(admin),
                               timeout=60)
        assert st == 400, (q, st, body)
    import os
    assert not [n for n in os.listdir(srv.data_dir) if n.startswith("export-")]

    # Audited with the filters.
    st, _, data = srv.http("GET", "/api/admin/audit", headers=bearer(admin))
    entries = [e for e in json.loads(data)["entries"] if e["action"] == "data.export"]
    assert len(entries) >= 3, entries
    assert any(e["detail"]["rooms"] == ["lab"] and e["detail"]["pseudonymise"] for e in entries)
