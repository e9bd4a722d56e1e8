"""Static files from web/ (issue 3 "Static files"): types, the security
headers, ETag and 304, and no way out of web_root."""

import os
import shutil

import pytest

CSP = "Content-Security-Policy"
ESCAPES = [
    "/../etc/passwd",
    "/%2e%2e/etc/passwd",
    "/%2E%2E/%2e%2e/etc/passwd",
    "/a/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2fetc%2fpasswd",
    "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/.%2e/etc/passwd",
    "/..\\..\\etc\\passwd",
    "/index.html%00.txt",
]


def test_index_html(server):
    status, headers, body = server.http("GET", "/")
    assert status == 200, body[:200]
    assert headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in headers.get(CSP, ""), headers
    assert b"<html" in body.lower() or b"<!doctype html" in body.lower()
    status, headers2, body2 = server.http("GET", "/index.html")
    assert status == 200 and body2 == body


def test_etag_and_304(server):
    status, headers, body = server.http("GET", "/")
    assert status == 200
    etag = headers.get("ETag")
    assert etag, headers
    assert headers.get("Cache-Control")
    status, headers, body = server.http("GET", "/", headers={"If-None-Match": etag})
    assert status == 304 and body == b""
    status, _, body = server.http("GET", "/", headers={"If-None-Match": '"other"'})
    assert status == 200 and body


def test_unknown_file_is_404(server):
    status, _, _ = server.http("GET", "/no-such-file.js")
    assert status == 404


@pytest.mark.parametrize("path", ESCAPES)
def test_no_path_escape(server, path):
    status, _, body = server.http("GET", path)
    assert status in (400, 404), (path, status)
    assert b"root:" not in body


def test_symlink_out_of_web_root(server_factory, source_dir, tmp_path):
    web = tmp_path / "web"
    src = os.path.join(source_dir, "web")
    if os.path.isdir(src):
        shutil.copytree(src, web)
    else:
        web.mkdir()
        (web / "index.html").write_text("<!doctype html><html><body>x</body></html>")
    (web / "hello.txt").write_text("inside\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside secret\n")
    os.symlink(secret, web / "leak.txt")
    os.symlink(tmp_path, web / "out")
    os.symlink("hello.txt", web / "alias.txt")  # inside: harmless either way

    srv = server_factory(server_extra=f'web_root = "{web}"')
    status, headers, body = srv.http("GET", "/hello.txt")
    assert status == 200 and body == b"inside\n"
    assert headers["Content-Type"].startswith("text/plain")
    for path in ("/leak.txt", "/out/secret.txt"):
        status, _, body = srv.http("GET", path)
        assert status == 404, (path, status)
        assert b"secret" not in body
