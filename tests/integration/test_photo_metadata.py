"""Issue 19: photos lose their metadata (EXIF with GPS, XMP, text chunks)
before they are stored; the picture and its orientation stay;
uploads.keep_metadata = true keeps everything. Real JPEG/PNG/WebP files are
made here with Pillow (Debian python3-pil) and read back with it. Runs
against uploads_local and uploads_s3 (s3rver): the stored size differs from
the sent one, which the S3 provider must be told."""

import hashlib
import io
import json

import pytest
from PIL import Image

from test_uploads import backend, fetch, s3rver, upload, upload_ok  # noqa: F401 (fixtures)

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# 48°51'29.6"N 2°17'40.2"E: a position that must not leave the phone.
GPS = {1: "N", 2: (48.0, 51.0, 29.6), 3: "E", 4: (2.0, 17.0, 40.2)}


def picture():
    """A 64x48 gradient: a decoder can tell it was kept whole."""
    img = Image.new("RGB", (64, 48))
    img.putdata([(x * 4, y * 5, (x + y) * 2) for y in range(48) for x in range(64)])
    return img


def exif_with_gps(orientation=6):
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12 Pro"  # Model
    exif[GPS_IFD] = GPS
    return exif


def encoded(fmt, **kw):
    buf = io.BytesIO()
    picture().save(buf, fmt, **kw)
    return buf.getvalue()


def pixels(data):
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB").tobytes()


def assert_no_gps(data):
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        assert GPS_IFD not in exif, dict(exif)
        assert not exif.get_ifd(GPS_IFD)
        assert 0x010F not in exif and 0x0110 not in exif
        assert "exif" not in im.info or b"Phone" not in im.info["exif"]
    assert b"PhoneMaker" not in data and b"Phone 12 Pro" not in data


def stored_copy(srv, tok, rec):
    status, _, data = fetch(srv, tok, rec["url"])
    assert status == 200
    # The record describes the stored bytes, not the sent ones.
    assert rec["size"] == len(data)
    assert rec["sha256"] == hashlib.sha256(data).hexdigest()
    return data


def test_jpeg_gps_stripped_orientation_kept(backend):
    srv = backend.start()
    tok = srv.user("alice")
    original = encoded("JPEG", quality=90, exif=exif_with_gps(6).tobytes())
    with Image.open(io.BytesIO(original)) as im:  # the test's own file has what it should
        assert im.getexif().get_ifd(GPS_IFD)
    rec = upload_ok(srv, tok, original, name="IMG_0001.jpg")
    assert rec["type"] == "image/jpeg"
    data = stored_copy(srv, tok, rec)
    assert len(data) < len(original)
    assert_no_gps(data)
    with Image.open(io.BytesIO(data)) as im:
        # Only the orientation survives, so the photo still shows upright.
        assert dict(im.getexif()) == {ORIENTATION: 6}
        assert im.size == (64, 48)
    # The scans are copied, not re-encoded: the same pixels decode.
    assert pixels(data) == pixels(original)


def test_png_text_and_exif_stripped(backend):
    srv = backend.start()
    tok = srv.user("alice")
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "PhoneMaker at home, 12 Rue Example")
    original = encoded("PNG", pnginfo=info, exif=exif_with_gps(3).tobytes())
    rec = upload_ok(srv, tok, original, name="screen.png")
    data = stored_copy(srv, tok, rec)
    assert b"Rue Example" not in data and b"tEXt" not in data
    assert_no_gps(data)
    with Image.open(io.BytesIO(data)) as im:
        assert dict(im.getexif()) == {ORIENTATION: 3}
    assert pixels(data) == pixels(original)


def test_webp_exif_stripped(backend):
    if backend.kind != "local":
        pytest.skip("one backend is enough for the third format")
    srv = backend.start()
    tok = srv.user("alice")
    original = encoded("WEBP", lossless=True, exif=exif_with_gps(1).tobytes())
    assert b"PhoneMaker" in original
    rec = upload_ok(srv, tok, original, name="pic.webp")
    assert rec["type"] == "image/webp"
    data = stored_copy(srv, tok, rec)
    assert_no_gps(data)
    assert pixels(data) == pixels(original)


def test_keep_metadata_stores_as_sent(backend):
    srv = backend.start(uploads="keep_metadata = true")
    tok = srv.user("alice")
    original = encoded("JPEG", quality=90, exif=exif_with_gps(6).tobytes())
    rec = upload_ok(srv, tok, original, name="IMG_0002.jpg")
    data = stored_copy(srv, tok, rec)
    assert data == original


def test_jpeg_whose_exif_lies_is_refused(backend):
    """The Exif segment claims 65 000 bytes in a 900-byte file: refused
    with a machine code, and nothing is left in the store."""
    srv = backend.start()
    tok = srv.user("alice")
    good = encoded("JPEG", quality=50)
    liar = good[:2] + b"\xff\xe1\xfd\xe8Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + good[2:600]
    status, _, body = upload(srv, tok, liar, name="liar.jpg")
    assert status == 422, body
    err = json.loads(body)["error"]
    assert err["code"] == "bad_image"
    assert "claims" in err["message"]
    srv.wait_log("upload_rejected")
    assert len(backend.stored(srv)) == 0
    # A truncated JPEG (cut in its header segments) is refused the same way.
    status, _, body = upload(srv, tok, good[:300], name="cut.jpg")
    assert status == 422 and json.loads(body)["error"]["code"] == "bad_image", body
