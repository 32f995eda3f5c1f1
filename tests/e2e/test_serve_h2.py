"""End-to-end tests of `tlslab serve` over HTTP/2: curl --http2, nghttp, h2load and headless
Chromium for what serve answers, and python3-h2 (or raw frames) for the known attacks on HTTP/2
servers. Each attack test shows the server still answering another client while the attack runs
or right after it, and its memory bounded.

The server and certificates are test_serve.py's (its fixtures are imported)."""
import json
import re
import signal
import socket
import ssl
import struct
import subprocess
import time

import h2.config
import h2.connection
import h2.events
import h2.settings
import pytest

from conftest import DNS_GUARD, have, nss_home
from test_serve import (ARTIFACTS, HOST, LOOPBACK, cert_args, chromium, curl, curl_json, pki, serve,  # noqa: F401
                        sha256, wait_for)

pytestmark = pytest.mark.usefixtures("dns_on_loopback")


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def h2_socket(port, pki, timeout=10):
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(socket.create_connection((LOOPBACK, port), timeout=timeout), server_hostname=HOST)
    assert sock.selected_alpn_protocol() == "h2"
    return sock


class H2Client:
    """A python3-h2 client on a TLS socket, for hand-made frame sequences."""

    def __init__(self, port, pki, settings=None, timeout=10):
        self.sock = h2_socket(port, pki, timeout)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        if settings:
            self.conn.update_settings(settings)
        self.flush()
        self.events = []

    def flush(self):
        """Sends what python3-h2 has queued; the server may have ended the connection already."""
        if data := self.conn.data_to_send():
            try:
                self.sock.sendall(data)
            except (OSError, ssl.SSLError):
                pass

    def headers(self, path="/", method="GET", end=True, extra=()):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", method), (":scheme", "https"), (":authority", HOST),
                                     (":path", path), *extra], end_stream=end)
        return sid

    def read(self, until, timeout=10):
        """Reads events until until(events) is true, or the connection ends; returns the events."""
        deadline = time.monotonic() + timeout
        while not until(self.events) and time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, ConnectionResetError, ssl.SSLError):
                break
            if not data:
                break
            try:
                self.events += self.conn.receive_data(data)
            except h2.exceptions.ProtocolError:
                break
            self.flush()
        return self.events

    def close(self):
        self.sock.close()


def goaway(events):
    return next((e for e in events if isinstance(e, h2.events.ConnectionTerminated)), None)


def still_serving(s, pki):
    proc = curl(s.port, "/.well-known/tlslab", "--http2", "-w", "\n%{http_version}", cacert=pki.ca)
    assert proc.returncode == 0 and proc.out.endswith("\n2"), proc.err


# ---------------------------------------------------------------------------------------------
# What serve answers, over HTTP/2.

def test_curl_http2_sees_h2_on_the_page_and_in_the_log(serve, pki):
    s = serve(*cert_args(pki.multi), "--log-json")
    proc = curl(s.port, "/.well-known/tlslab", "--http2", "-w", "\n%{http_version}", cacert=pki.ca)
    body, version = proc.out.rsplit("\n", 1)
    assert version == "2", proc.err
    facts = json.loads(body)
    assert facts["alpn"] == "h2" and facts["protocol"] == "h2" and facts["http_version"] == "HTTP/2.0"
    page = curl(s.port, "/", "--http2", cacert=pki.ca).out
    assert '<td id="protocol"><code>h2</code>' in page and '<td id="tls_version">' in page
    wait_for(lambda: len(s.access_lines()) == 2, what="two access log lines")
    entry = json.loads(s.access_lines()[0])
    assert entry["protocol"] == "HTTP/2.0" and entry["status"] == 200 and entry["target"] == "/.well-known/tlslab"
    # HTTP/1.1 is still there for who asks for it, and --alpn chooses.
    assert curl_json(s.port, pki, "--http1.1")["protocol"] == "http/1.1"
    only = serve(*cert_args(pki.multi), "--alpn", "http/1.1")
    assert curl(only.port, "/", "--http2", "-w", "%{http_version}", "-o", "/dev/null", cacert=pki.ca).out == "1.1"


def test_root_over_http2(serve, pki, tmp_path):
    root = tmp_path / "www"
    (root / "docs").mkdir(parents=True)
    big = bytes(range(256)) * 12289  # about 3 MB: many windows' worth
    (root / "big.bin").write_bytes(big)
    (root / "docs" / "index.html").write_text("the index\n")
    s = serve(*cert_args(pki.multi), "--root", root)

    def get(path, *args):
        return subprocess.run([*DNS_GUARD, "curl", "-sS", "--http2", "--max-time", "10", "--resolve",
                               f"{HOST}:{s.port}:{LOOPBACK}", "--cacert", str(pki.ca), *args,
                               f"https://{HOST}:{s.port}{path}"], capture_output=True, timeout=20)

    whole = get("/big.bin")
    assert sha256(whole.stdout) == sha256(big)
    assert get("/big.bin", "-r", "1000-1999").stdout == big[1000:2000]
    head = get("/big.bin", "-I").stdout.decode()
    assert head.startswith("HTTP/2 200") and f"content-length: {len(big)}" in head
    modified = re.search(r"last-modified: (.*)\r", head).group(1)
    assert get("/big.bin", "-w", "%{http_code}", "-H", f"If-Modified-Since: {modified}").stdout == b"304"
    assert get("/docs/").stdout == b"the index\n"
    # The connection page stays reachable under --root (no file of that name here).
    facts = json.loads(get("/.well-known/tlslab").stdout)
    assert facts["protocol"] == "h2"
    # nghttp and h2load, over HTTP/2 only.
    nghttp = subprocess.run([*DNS_GUARD, "nghttp", "-nsy", f"https://{LOOPBACK}:{s.port}/big.bin"],
                            capture_output=True, text=True, timeout=30)
    assert nghttp.returncode == 0 and re.search(r"\b200\s+3M\s+/big\.bin", nghttp.stdout), nghttp.stdout
    load = subprocess.run([*DNS_GUARD, "h2load", "--npn-list=h2", "-n", "2000", "-c", "10", "-m", "10",
                           f"https://{LOOPBACK}:{s.port}/docs/index.html"], capture_output=True, text=True, timeout=60)
    assert "2000 succeeded, 0 failed" in load.stdout and "Application protocol: h2" in load.stdout, load.stdout


def test_echo_login_and_client_certificates_over_http2(serve, pki):
    s = serve(*cert_args(pki.multi), "--echo")
    echo = curl(s.port, "/a?b=c", "--http2", "-d", "payload", "-H", "X-Test: yes", cacert=pki.ca).out
    assert echo.startswith("POST /a?b=c HTTP/2.0\r\n") and "x-test: yes\r\n" in echo and echo.endswith("payload")
    site = serve(*cert_args(pki.multi), "--client-ca", pki.client_ca, "--verify-client", "optional")
    login = curl(site.port, "/login", "--http2", "-d", "username=alice&password=pw", "--cert", pki.alice.cert,
                 "--key", pki.alice.key, cacert=pki.ca).out
    assert 'Welcome, alice' in login
    wait_for(lambda: site.access_lines(), what="the access log line")
    assert '"POST /login HTTP/2.0" 200' in site.access_lines()[-1]
    assert "alice@bank32.com" in site.access_lines()[-1]  # the client certificate's subject


def test_limits_over_http2(serve, pki):
    s = serve(*cert_args(pki.multi), "--max-header-size", "4096", "--max-body-size", "1000")
    big_header = curl(s.port, "/", "--http2", "-H", "X-Big: " + "a" * 5000, "-w", "%{http_code}", "-o", "/dev/null",
                      cacert=pki.ca)
    assert big_header.out == "431"
    big_body = curl(s.port, "/", "--http2", "-d", "b" * 5000, "-w", "%{http_code}", "-o", "/dev/null", cacert=pki.ca)
    assert big_body.out == "413"
    wait_for(lambda: s.error_lines("answered 431") and s.error_lines("answered 413"), what="both limits logged")
    still_serving(s, pki)


def test_keylog_decrypts_a_capture(serve, pki, tmp_path):
    keylog = tmp_path / "keys.log"
    s = serve(*cert_args(pki.multi), "--keylog", keylog)
    still_serving(s, pki)
    lines = keylog.read_text().splitlines()
    assert any(line.startswith("SERVER_TRAFFIC_SECRET_0 ") for line in lines), lines
    assert oct(keylog.stat().st_mode & 0o777) == "0o600"
    env_log = tmp_path / "env.log"
    t = serve(*cert_args(pki.multi), env={"SSLKEYLOGFILE": str(env_log)})
    curl_json(t.port, pki, "--tlsv1.2", "--tls-max", "1.2")
    assert env_log.read_text().startswith("CLIENT_RANDOM ")


def test_sigterm_sends_goaway_and_finishes_the_stream_in_flight(serve, pki):
    s = serve(*cert_args(pki.multi), "--echo")
    c = H2Client(s.port, pki)
    sid = c.headers("/upload", "POST", end=False)
    c.conn.send_data(sid, b"first half, ")
    c.flush()
    time.sleep(0.2)  # the stream reaches the server before the signal
    s.proc.send_signal(signal.SIGTERM)
    events = c.read(goaway)
    assert goaway(events).error_code == 0 and goaway(events).last_stream_id == sid
    # python3-h2 sends nothing after a GOAWAY: the rest of the body as a raw frame.
    c.sock.sendall(raw_frame(0, 1, sid, b"second half"))
    body = b""
    for kind, flags, stream, payload in raw_frames(c.sock):
        if kind == 0 and stream == sid:
            body += payload
            if flags & 1:
                break
    assert body.endswith(b"first half, second half")
    assert s.proc.wait(timeout=10) == 0


@pytest.mark.skipif(not (have("chromium") and have("certutil")), reason="needs chromium and libnss3-tools")
def test_chromium_shows_h2(serve, pki, tmp_path):
    s = serve(*cert_args(pki.multi))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dom, err = chromium(f"https://{HOST}:{s.port}/", HOST, nss_home(tmp_path, "trusted", pki.ca),
                        ARTIFACTS / "serve-h2.png")
    assert '<td id="protocol"><code>h2</code>' in dom, err[-2000:]
    assert '<td id="alpn"><code>h2</code>' in dom and '<td id="http_version"><code>HTTP/2.0</code>' in dom
    wait_for(lambda: any("HTTP/2.0" in line and "HeadlessChrome" in line for line in s.access_lines()),
             what="Chromium's request in the access log")


# ---------------------------------------------------------------------------------------------
# Attacks: each leaves the server answering others, its memory bounded.

def test_rapid_reset(serve, pki):
    s = serve(*cert_args(pki.multi))
    before = rss_kib(s.proc.pid)
    c = H2Client(s.port, pki)
    for _ in range(2000):  # CVE-2023-44487: open and cancel at once, as fast as the socket takes it
        sid = c.headers("/")
        c.conn.reset_stream(sid)
    c.flush()
    end = goaway(c.read(goaway))
    assert end is not None and end.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM
    c.close()
    still_serving(s, pki)
    wait_for(lambda: s.error_lines("rapid reset"), what="the rapid reset logged")
    assert rss_kib(s.proc.pid) - before < 20_000


def raw_frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def raw_session(port, pki):
    sock = h2_socket(port, pki)
    sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + raw_frame(4, 0, 0))
    return sock


def raw_frames(sock, timeout=10):
    """Yields (type, flags, stream, payload) of the frames read from sock until it ends."""
    data, deadline = b"", time.monotonic() + timeout
    sock.settimeout(timeout)
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (OSError, ssl.SSLError):
            return
        if not chunk:
            return
        data += chunk
        while len(data) >= 9:
            length = int.from_bytes(data[:3], "big")
            if len(data) < 9 + length:
                break
            yield data[3], data[4], int.from_bytes(data[5:9], "big") & 0x7FFFFFFF, data[9:9 + length]
            data = data[9 + length:]


def read_goaway(sock, timeout=10):
    """Reads until a GOAWAY frame; returns its error code (None if the connection ended without)."""
    for kind, _, _, payload in raw_frames(sock, timeout):
        if kind == 7:
            return int.from_bytes(payload[4:8], "big")
    return None


def test_continuation_flood(serve, pki):
    s = serve(*cert_args(pki.multi))
    before = rss_kib(s.proc.pid)
    sock = raw_session(s.port, pki)
    # HEADERS without END_HEADERS, then CONTINUATION frames that never end the block (CVE-2024-27316).
    sock.sendall(raw_frame(1, 0, 1, b"\x82\x87\x84"))
    code = None
    try:
        for _ in range(10_000):
            sock.sendall(raw_frame(9, 0, 1, b"\x40\x03abc\x03def"))
    except (OSError, ssl.SSLError):
        pass
    code = read_goaway(sock)
    assert code in (None, 11), code  # ENHANCE_YOUR_CALM, or cut at once
    sock.close()
    still_serving(s, pki)
    assert rss_kib(s.proc.pid) - before < 20_000


def test_hpack_bomb(serve, pki):
    s = serve(*cert_args(pki.multi))
    before = rss_kib(s.proc.pid)
    c = H2Client(s.port, pki)
    # One 4 kB field goes into the dynamic table, then is referenced thousands of times: a few
    # bytes on the wire, megabytes once decoded.
    big = ("x-bomb", "b" * 4000)
    c.headers("/", extra=[big])
    c.flush()
    c.read(lambda ev: any(isinstance(e, h2.events.StreamEnded) for e in ev))
    sid = c.conn.get_next_available_stream_id()
    c.conn.send_headers(sid, [(":method", "GET"), (":scheme", "https"), (":authority", HOST), (":path", "/")]
                        + [big] * 4000, end_stream=True)
    c.flush()
    c.read(lambda ev: goaway(ev) or any(isinstance(e, h2.events.StreamReset) for e in ev))
    assert goaway(c.events) or any(isinstance(e, h2.events.StreamReset) for e in c.events)
    c.close()
    still_serving(s, pki)
    assert rss_kib(s.proc.pid) - before < 20_000


@pytest.mark.parametrize("kind", ["settings", "ping"])
def test_settings_and_ping_floods(serve, pki, kind):
    s = serve(*cert_args(pki.multi))
    before = rss_kib(s.proc.pid)
    sock = raw_session(s.port, pki)
    frame = raw_frame(4, 0, 0, b"\x00\x03\x00\x00\x00\x64") if kind == "settings" else raw_frame(6, 0, 0, b"12345678")
    try:
        sock.sendall(frame * 5000)  # acknowledgements never read
    except (OSError, ssl.SSLError):
        pass
    assert read_goaway(sock) in (None, 11)
    sock.close()
    still_serving(s, pki)
    wait_for(lambda: s.error_lines("flood"), what="the flood logged")
    assert rss_kib(s.proc.pid) - before < 20_000


def test_window_held_at_zero(serve, pki, tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "big.bin").write_bytes(b"z" * (64 << 20))
    s = serve(*cert_args(pki.multi), "--root", root)
    before = rss_kib(s.proc.pid)
    # Clients that ask for 64 MB each on 100 streams and never open their windows, nor read.
    slow = []
    for _ in range(5):
        c = H2Client(s.port, pki, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 0})
        for _ in range(100):
            c.headers("/big.bin")
        c.flush()
        slow.append(c)
    time.sleep(0.5)  # the server takes the requests: what it holds for them is measured below
    still_serving(s, pki)
    grown = rss_kib(s.proc.pid) - before
    assert grown < 40_000, f"{grown} kB for 500 streams of 64 MB held at a zero window"
    for c in slow:
        c.close()
    still_serving(s, pki)


def test_thousands_of_idle_streams(serve, pki):
    s = serve(*cert_args(pki.multi), "--max-streams", "100")
    before = rss_kib(s.proc.pid)
    c = H2Client(s.port, pki)
    c.conn.remote_settings.max_concurrent_streams = 1 << 30  # python3-h2 would keep to the server's limit
    for _ in range(3000):  # requests whose bodies never come
        c.headers("/", "POST", end=False)
    c.flush()
    events = c.read(goaway, timeout=15)
    # 100 streams are taken (the last the server processed is the 100th, 199); the next ones are
    # refused, and a client that goes on being refused is one too many: its connection ends as
    # for a rapid reset.
    refused = [e for e in events if isinstance(e, h2.events.StreamReset)]
    assert all(e.error_code == h2.errors.ErrorCodes.REFUSED_STREAM for e in refused)
    end = goaway(events)
    assert end.error_code == h2.errors.ErrorCodes.ENHANCE_YOUR_CALM and end.last_stream_id == 199
    still_serving(s, pki)
    assert rss_kib(s.proc.pid) - before < 20_000
    c.close()
