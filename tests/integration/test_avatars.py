"""Avatars (issue 18): a JPEG, PNG or WebP becomes a 256x256 JPEG with no
metadata, upright (EXIF orientation applied), the centre square, alpha on
white; served by version with long caching; initials drawn as SVG when
there is none; removable; refused with a readable error when damaged or
too big."""

import io
import json

import pytest
from PIL import Image

from parley_client import Client, run
from test_access import bearer, call

PIL_WEBP = True
try:
    Image.new("RGB", (1, 1)).save(io.BytesIO(), "WEBP")
except (KeyError, OSError):  # Pillow without WebP
    PIL_WEBP = False


def upload(server, token, data):
    h = dict(bearer(token))
    h["Content-Type"] = "application/octet-stream"
    status, _, body = server.http("POST", "/api/profile/avatar", body=data, headers=h)
    return status, json.loads(body)


def picture(server, token, url):
    status, headers, body = server.http("GET", url, headers=bearer(token))
    return status, headers, body


def red_left_blue_right_jpeg(orientation):
    img = Image.new("RGB", (600, 400), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 300, 400))
    exif = Image.Exif()
    exif[0x0112] = orientation          # Orientation
    exif[0x8825] = {2: (52.0, 31.0, 0.0)}  # GPS latitude: must not survive
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes(), quality=95)
    return out.getvalue()


def test_jpeg_is_upright_square_and_clean(server):
    tok = server.people("alice", "bob")

    async def body():
        async with Client(server, tok["bob"]) as b:
            status, out = upload(server, tok["alice"], red_left_blue_right_jpeg(6))
            assert status == 200, out
            url = out["profile"]["avatar"]
            assert url.startswith("/api/users/") and "?v=" in url, out
            ev = await b.next_event("profile")
            assert ev["profile"]["avatar"] == url
            return url

    url = run(body())
    status, headers, data = picture(server, tok["bob"], url)
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert "immutable" in headers["cache-control"]
    img = Image.open(io.BytesIO(data))
    assert img.size == (256, 256) and img.format == "JPEG"
    assert not img.getexif(), "metadata survived"
    assert b"Exif" not in data
    # Orientation 6 turns the stored left (red) to the top.
    top, bottom = img.getpixel((128, 40)), img.getpixel((128, 215))
    assert top[0] > 200 and top[2] < 60, top
    assert bottom[2] > 200 and bottom[0] < 60, bottom
    # Without ?v= it is cached briefly only.
    status, headers, _ = picture(server, tok["bob"], url.split("?")[0])
    assert status == 200 and "immutable" not in headers["cache-control"]


def test_png_alpha_on_white_webp_and_errors(server):
    tok = server.people("alice")
    img = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    img.paste((0, 128, 0, 255), (100, 100, 200, 200))
    out = io.BytesIO()
    img.save(out, "PNG")
    status, res = upload(server, tok["alice"], out.getvalue())
    assert status == 200, res
    _, _, data = picture(server, tok["alice"], res["profile"]["avatar"])
    got = Image.open(io.BytesIO(data))
    corner, centre = got.getpixel((5, 5)), got.getpixel((128, 128))
    assert min(corner) > 240, corner
    assert centre[1] > 100 and centre[0] < 40, centre
    if PIL_WEBP:
        out = io.BytesIO()
        Image.new("RGB", (64, 32), (200, 10, 10)).save(out, "WEBP")
        status, res = upload(server, tok["alice"], out.getvalue())
        assert status == 200, res
        _, _, data = picture(server, tok["alice"], res["profile"]["avatar"])
        assert Image.open(io.BytesIO(data)).size == (256, 256)
    for bad, word in ((b"GIF89a not a supported kind", "JPEG, PNG or WebP"),
                      (b"\xff\xd8\xff\xe0 broken jpeg" + b"\0" * 64, "damaged")):
        status, res = upload(server, tok["alice"], bad)
        assert status == 400 and res["error"]["code"] == "bad_request", res
        assert word in res["error"]["message"], res
    out = io.BytesIO()
    Image.new("L", (20000, 1)).save(out, "PNG")
    status, res = upload(server, tok["alice"], out.getvalue())
    assert status == 400 and "too many pixels" in res["error"]["message"], res


def test_initials_when_none_and_delete(server):
    admin = server.user("root", role="admin")
    tok = server.people("alice")
    assert call(server, "PATCH", "/api/profile", tok["alice"],
                {"display_name": "Alice <Liddell>"})[0] == 200
    me = call(server, "GET", "/api/profile", tok["alice"])[1]["profile"]
    assert me["avatar"] is None
    status, headers, data = picture(server, admin, f"/api/users/{me['id']}/avatar")
    assert status == 200 and headers["content-type"] == "image/svg+xml", data
    assert b">A&lt;<" in data and b"<script" not in data, data
    out = io.BytesIO()
    Image.new("RGB", (10, 10), (1, 2, 3)).save(out, "PNG")
    assert upload(server, tok["alice"], out.getvalue())[0] == 200
    status, res, _ = call(server, "DELETE", "/api/profile/avatar", tok["alice"])
    assert status == 200 and res["profile"]["avatar"] is None, res
    status, headers, _ = picture(server, admin, f"/api/users/{me['id']}/avatar")
    assert headers["content-type"] == "image/svg+xml"
    assert picture(server, admin, "/api/users/u_424242/avatar")[0] == 404
