"""A real SMTP server for the e-mail tests: aiosmtpd in its own process.

Run as a script (with /usr/bin/python3, where Debian's python3-aiosmtpd
lives) it listens on 127.0.0.1:PORT and writes each message it accepts to
DIR/<n>.eml (the bytes as received) and DIR/<n>.json (envelope, and whether
the session was under TLS and authenticated). Options: --tls CERT KEY
offers STARTTLS; --auth USER:PASS requires AUTH (after STARTTLS).

Imported, `SmtpSink` starts and stops that process and reads the messages
back with Python's `email` package.
"""

import argparse
import email
import email.policy
import glob
import json
import os
import socket
import subprocess
import sys
import time

SYSTEM_PYTHON = "/usr/bin/python3"
START_TIMEOUT = 10.0  # s for the sink to accept connections


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    def __init__(self, folder, port=None, tls=None, auth=None):
        self.folder = folder
        self.port = port or free_port()
        self.tls = tls  # (cert, key)
        self.auth = auth  # "user:pass"
        self.proc = None
        os.makedirs(folder, exist_ok=True)

    def start(self):
        args = [SYSTEM_PYTHON, os.path.abspath(__file__), "--port", str(self.port),
                "--dir", self.folder]
        if self.tls:
            args += ["--tls", *self.tls]
        if self.auth:
            args += ["--auth", self.auth]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("smtp sink exited: " + self.proc.stdout.read())
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("smtp sink did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self):
        """[(email.message.EmailMessage, envelope dict)] in arrival order."""
        out = []
        for path in sorted(glob.glob(os.path.join(self.folder, "*.eml")),
                           key=lambda p: int(os.path.basename(p)[:-4])):
            with open(path, "rb") as f:
                msg = email.message_from_bytes(f.read(), policy=email.policy.default)
            with open(path[:-4] + ".json") as f:
                env = json.load(f)
            out.append((msg, env))
        return out

    def wait_messages(self, n=1, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages()
            if len(msgs) >= n or time.monotonic() > deadline:
                return msgs
            time.sleep(0.1)


def _serve(opts):
    import asyncio
    import ssl
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    counter = [0]

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            counter[0] += 1
            base = os.path.join(opts.dir, str(counter[0]))
            with open(base + ".json.tmp", "w") as f:
                json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                           "tls": session.ssl is not None,
                           "authenticated": bool(session.authenticated)}, f)
            with open(base + ".eml.tmp", "wb") as f:
                f.write(envelope.original_content or envelope.content)
            os.rename(base + ".json.tmp", base + ".json")
            os.rename(base + ".eml.tmp", base + ".eml")
            return "250 Message accepted for delivery"

    kwargs = {}
    if opts.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(opts.tls[0], opts.tls[1])
        kwargs.update(tls_context=ctx, require_starttls=True)
    if opts.auth:
        user, password = opts.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = (data is not None and data.login == user.encode()
                  and data.password == password.encode())
            # A failure must not be "handled", or the client waits forever.
            return AuthResult(success=True) if ok else AuthResult(success=False, handled=False)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    ctl = Controller(Handler(), hostname="127.0.0.1", port=opts.port, **kwargs)
    ctl.start()
    print("ready", flush=True)
    try:
        asyncio.run(_forever())
    finally:
        ctl.stop()


async def _forever():
    import asyncio
    import signal
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth")
    _serve(ap.parse_args())
    sys.exit(0)
