"""End-to-end tests of `tlslab proxy` with HTTP/2 on either leg: real HTTP/2 peers on loopback
(nginx with `http2`, nghttpd, curl --http2, nghttp, h2load, python3-h2 for hand-made frame
sequences, headless Chromium) and HTTP/1.1 ones (`tlslab serve`), in every combination of legs.

The fixtures (certificates, the proxy, nginx, tlslab serve) are test_proxy's."""
import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import DNS_GUARD, PyServer, have, nss_home, nss_trust, wait_listening
from test_proxy import (BIG, HOST, LOOPBACK, CHROMIUM_FLAGS, certs, curl, key, nginx, pca, pem, procs,  # noqa: F401
                        proxy, serve, sni_proxy, via_sni)

pytestmark = pytest.mark.usefixtures("dns_on_loopback")

h2 = pytest.importorskip("h2.connection")
import h2.config  # noqa: E402
import h2.events  # noqa: E402
import h2.settings  # noqa: E402
import hyperframe.frame  # noqa: E402


def need(*programs):
    for program in programs:
        if not have(program):
            pytest.skip(f"{program} not installed (scripts/install-deps --test)")


@pytest.fixture
def nghttpd(certs, procs, tmp_path):
    """nghttpd (HTTP/2 only) serving a folder; extra arguments go to nghttpd (--trailer=...)."""
    need("nghttpd")

    def start(*args):
        root = tmp_path / "nghttpd-root"
        root.mkdir(exist_ok=True)
        (root / "index.html").write_text("<h1>nghttpd here</h1>\n")
        (root / "data.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
        return procs(["nghttpd", "-a", LOOPBACK, "-d", str(root), *args, "0", key(certs, "leaf"),
                      pem(certs, "leaf_chain")], "nghttpd", lambda p: wait_listening(p.proc))

    return start


class H2Client:
    """A hand-driven HTTP/2 client over TLS (python3-h2): sends what a test says, reads frames."""

    def __init__(self, pca, port, host=HOST, window=None):
        ctx = ssl.create_default_context(cafile=str(pca / "ca.pem"))
        ctx.set_alpn_protocols(["h2"])
        self.sock = ctx.wrap_socket(socket.create_connection((LOOPBACK, port), timeout=15), server_hostname=host)
        assert self.sock.selected_alpn_protocol() == "h2"
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        if window is not None:
            self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.flush()
        self.host = host
        self.port = port

    def flush(self):
        if data := self.conn.data_to_send():
            self.sock.sendall(data)

    def request(self, path, method="GET", body=None, headers=()):
        stream = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream, [(":method", method), (":scheme", "https"),
                                        (":authority", f"{self.host}:{self.port}"), (":path", path), *headers],
                               end_stream=body is None)
        if body is not None:
            self.conn.send_data(stream, body, end_stream=True)
        self.flush()
        return stream

    def events(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the proxy closed the connection")
        out = self.conn.receive_data(data)
        self.flush()
        return out

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# curl and nghttp through the proxy, each combination of legs.

def test_curl_http2_explicit_mode_to_nginx_shows_the_password(proxy, nginx, certs, pca, tmp_path):
    """The issue's trial: curl (h2 by default) through explicit mode to nginx with http2."""
    har = tmp_path / "flows.har"
    p = proxy("--upstream-resolve", f"{HOST}:{LOOPBACK}", "--upstream-cacert", pem(certs, "root"), "--dump",
              "--har", har, mode="explicit")
    r = curl("-x", f"http://{LOOPBACK}:{p.port}", "--cacert", pca / "ca.pem", "-w", "%{http_version}",
             "-d", "user=alice&password=s3cret", f"https://{HOST}:{nginx['h2']}/login")
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(b"welcome\n2"), r.stdout  # curl spoke HTTP/2 with the proxy
    assert p.wait_for("!! form field password = s3cret"), p.out()
    out = p.out()
    assert f'"POST https://{HOST}:{nginx["h2"]}/login" 200' in out, out
    assert "HTTP/2.0" in out and "client TLSv1.3 h2, server TLSv1.3 h2" in out, out
    p.stop()
    entries = json.loads(har.read_text())["log"]["entries"]
    login = [e for e in entries if e["request"]["url"].endswith("/login")]
    assert login and login[0]["request"]["httpVersion"] == "HTTP/2.0"
    assert "s3cret" in json.dumps(login[0]["request"]["postData"])


def test_curl_http2_sni_mode_with_an_http1_server(proxy, serve, certs, pca):
    """Client on h2, server on HTTP/1.1 (tlslab serve --echo): the proxy translates."""
    up = serve("--echo")
    p = sni_proxy(proxy, certs, up.port, "--dump")
    body = os.urandom(300_000)
    r = subprocess.run([*DNS_GUARD, "curl", "-sS", "--http2", "--cacert", str(pca / "ca.pem"), "-w",
                        "\n%{http_version}", "-H", "Content-Type: application/x", "--data-binary", "@-",
                        *via_sni(p.port, "/upload")], input=body, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(b"\r\n\r\n" + body + b"\n2")  # the echo of the body, byte for byte, over h2
    assert r.stdout.startswith(b"POST /upload HTTP/1.1\r\n")
    assert p.wait_for(f'"POST https://{HOST}:{p.port}/upload" 200'), p.out()
    assert "client TLSv1.3 h2, server TLSv1.3 http/1.1" in p.out(), p.out()


def test_http1_client_with_an_http2_server(proxy, nghttpd, certs, pca):
    """Client on HTTP/1.1, server on h2 (nghttpd): a client that prefers http/1.1 but also offers
    h2 gets HTTP/1.1 from the proxy, while the server picks h2; the proxy translates."""
    up = nghttpd()
    p = sni_proxy(proxy, certs, up.port)
    ctx = ssl.create_default_context(cafile=str(pca / "ca.pem"))
    ctx.set_alpn_protocols(["http/1.1", "h2"])
    with ctx.wrap_socket(socket.create_connection((LOOPBACK, p.port), timeout=15), server_hostname=HOST) as c:
        assert c.selected_alpn_protocol() == "http/1.1"
        c.sendall(f"GET /data.bin HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        got = b""
        while data := c.recv(1 << 20):
            got += data
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert body == bytes(range(256)) * 4096 or (b"chunked" in head.lower() and len(body) > 1 << 20)
    assert p.wait_for(f'"GET https://{HOST}/data.bin" 200'), p.out()
    p.stop()
    assert "client TLSv1.3 http/1.1, server TLSv1.3 h2" in p.out(), p.out()


def test_nghttp_many_streams_h2_both_legs(proxy, nghttpd, certs, pca):
    """nghttp (it cannot be given a name's address) through reverse mode: 40 streams at once."""
    need("nghttp")
    up = nghttpd()
    p = proxy("--upstream", f"{HOST}:{up.port}", "--upstream-resolve", f"{HOST}:{LOOPBACK}",
              "--upstream-cacert", pem(certs, "root"), mode="reverse")
    urls = [f"https://{LOOPBACK}:{p.port}/data.bin?n={i}" for i in range(40)]
    r = subprocess.run(["nghttp", "-nsy", *urls], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(" 200 ") >= 40 or r.stdout.count("/data.bin") >= 40, r.stdout
    for i in (0, 39):
        assert p.wait_for(f"/data.bin?n={i}\" 200"), p.out()


def test_h2load_many_concurrent_streams(proxy, nginx, certs, pca):
    need("h2load")
    p = sni_proxy(proxy, certs, nginx["h2"])
    r = subprocess.run(["h2load", "--npn-list=h2", "-n", "2000", "-c", "4", "-m", "20",
                        f"--connect-to={LOOPBACK}:{p.port}", f"https://{HOST}:{nginx['h2']}/index.html"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2000 succeeded, 0 failed, 0 errored" in r.stdout, r.stdout
    assert "Application protocol: h2" in r.stdout


def test_256_mb_over_http2_is_byte_exact(proxy, nginx, certs, pca, tmp_path):
    p = sni_proxy(proxy, certs, nginx["h2"])
    out = tmp_path / "big.bin"
    r = curl("--http2", "--cacert", pca / "ca.pem", "-o", out, "-w", "%{http_version}",
             "--resolve", f"{HOST}:{p.port}:{LOOPBACK}", f"https://{HOST}:{p.port}/big.bin", timeout=240)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"2"
    digest = hashlib.sha256()
    with open(out, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    assert digest.hexdigest() == nginx["big_sha256"]


def test_http2_off_offers_only_http1(proxy, nginx, certs, pca):
    p = sni_proxy(proxy, certs, nginx["h2"], "--http2", "off", "--dump")
    r = curl("--http2", "--cacert", pca / "ca.pem", "-w", "%{http_version}", "-o", "/dev/null",
             *via_sni(p.port, "/index.html"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"1.1"
    assert p.wait_for("client TLSv1.3 http/1.1, server TLSv1.3 http/1.1"), p.out()


def test_client_offering_h2_after_http1_only_gets_h2(proxy, nginx, certs, pca):
    """A client that offered http/1.1 alone, then h2 (curl --http1.1, then curl's default): the
    second connection resumes the server's session, and the server now picks h2. The proxy must
    not settle the client's protocol from last time's before the server has answered."""
    p = sni_proxy(proxy, certs, nginx["h2"])
    for flag, version in (("--http1.1", b"1.1"), ("--http2", b"2"), ("--http1.1", b"1.1"), ("--http2", b"2")):
        r = curl(flag, "--cacert", pca / "ca.pem", "-w", "%{http_version}", "-o", "/dev/null",
                 *via_sni(p.port, "/index.html"))
        assert r.returncode == 0, (flag, r.stderr, p.out())
        assert r.stdout == version, (flag, r.stdout)
    assert "changed its certificate or protocol" not in p.out(), p.out()


def test_http2_option_is_checked(tlslab):
    r = tlslab("proxy", "--http2", "maybe", check=2)
    assert "--http2 maybe" in r.err


# ---------------------------------------------------------------------------------------------
# Frames by hand (python3-h2): reset, trailers, a reader that stops.

def test_rst_stream_mid_body_leaves_the_connection_usable(proxy, nginx, certs, pca):
    p = sni_proxy(proxy, certs, nginx["h2"])
    c = H2Client(pca, p.port)
    big = c.request("/big.bin")
    got = 0
    while got < 1_000_000:
        for e in c.events():
            if isinstance(e, h2.events.DataReceived):
                got += len(e.data)
                c.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        c.flush()
    c.conn.reset_stream(big, error_code=8)  # CANCEL
    c.flush()
    small = c.request("/index.html")
    body, ended = b"", False
    while not ended:
        for e in c.events():
            if isinstance(e, h2.events.DataReceived) and e.stream_id == small:
                body += e.data
                c.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            if isinstance(e, h2.events.StreamEnded) and e.stream_id == small:
                ended = True
    assert b"Welcome to bank32" in body
    c.close()
    assert p.wait_for("/big.bin"), p.out()
    assert p.wait_for("/index.html\" 200"), p.out()


def test_trailers_are_relayed(proxy, nghttpd, certs, pca):
    up = nghttpd("--trailer=grpc-status: 0")
    p = sni_proxy(proxy, certs, up.port)
    c = H2Client(pca, p.port)
    stream = c.request("/index.html")
    trailers = None
    ended = False
    while not ended:
        for e in c.events():
            if isinstance(e, h2.events.TrailersReceived):
                trailers = dict((k.decode(), v.decode()) for k, v in e.headers)
            if isinstance(e, h2.events.DataReceived):
                c.conn.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
            if isinstance(e, h2.events.StreamEnded) and e.stream_id == stream:
                ended = True
    c.close()
    assert trailers == {"grpc-status": "0"}


@pytest.fixture
def h2_server(certs):
    """A python3-h2 server (ALPN h2) whose connections are handled by handler(sock, conn)."""
    servers = []

    def start(handler):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pem(certs, "leaf"), key(certs, "leaf"))
        context.set_alpn_protocols(["h2"])

        def serve(sock):
            conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
            conn.initiate_connection()
            sock.sendall(conn.data_to_send())
            handler(sock, conn)

        server = PyServer(serve, context)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.close()


def test_upstream_goaway_reaches_the_client(proxy, h2_server, certs, pca):
    """The server answers one request and says GOAWAY: the client gets its answer, then a
    graceful GOAWAY from the proxy, and a request it sent after that is refused, not lost."""
    def answer_one_then_goaway(sock, conn):
        answered = False
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for e in conn.receive_data(data):
                if isinstance(e, h2.events.RequestReceived) and not answered:
                    conn.send_headers(e.stream_id, [(":status", "200")])
                    conn.send_data(e.stream_id, b"first and last", end_stream=True)
                    conn.close_connection(last_stream_id=e.stream_id)
                    answered = True
            sock.sendall(conn.data_to_send())

    up = h2_server(answer_one_then_goaway)
    p = sni_proxy(proxy, certs, up.port)
    c = H2Client(pca, p.port)
    first = c.request("/one")
    # Read the frames as they come until the proxy closes (python3-h2 itself refuses frames
    # after a GOAWAY, which RFC 9113 allows for streams the GOAWAY covers).
    raw = b""
    while data := c.sock.recv(65536):
        raw += data
    c.close()
    frames, pos = [], 0
    while pos + 9 <= len(raw):
        frame, length = hyperframe.frame.Frame.parse_frame_header(memoryview(raw[pos:pos + 9]))
        frame.parse_body(memoryview(raw[pos + 9:pos + 9 + length]))
        frames.append(frame)
        pos += 9 + length
    body = b"".join(f.data for f in frames if isinstance(f, hyperframe.frame.DataFrame) and f.stream_id == first)
    goaways = [f for f in frames if isinstance(f, hyperframe.frame.GoAwayFrame)]
    assert body == b"first and last"
    assert goaways and goaways[0].error_code == 0 and goaways[0].last_stream_id >= first  # graceful
    assert any(isinstance(f, hyperframe.frame.DataFrame) and f.stream_id == first and "END_STREAM" in f.flags
               for f in frames)
    assert p.wait_for('"GET https://www.bank32.com'), p.out()


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def test_a_client_that_stops_reading_keeps_the_proxy_small(proxy, nginx, certs, pca):
    """A client asks for 256 MB and reads nothing: flow control holds the server back, so the
    proxy's memory stays bounded (a few windows, not the file)."""
    p = sni_proxy(proxy, certs, nginx["h2"])
    before = rss_kb(p.proc.pid)
    c = H2Client(pca, p.port)
    c.request("/big.bin")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # Give the relay every chance to buffer: poll the proxy's size until it stops growing.
    sizes = []
    for _ in range(30):
        time.sleep(0.1)
        sizes.append(rss_kb(p.proc.pid))
        if len(sizes) > 5 and sizes[-1] == sizes[-5]:
            break
    grew_mb = (max(sizes) - before) / 1024
    c.close()
    assert grew_mb < 64, f"the proxy grew by {grew_mb:.0f} MB"


# ---------------------------------------------------------------------------------------------
# A browser over HTTP/2 through explicit mode.

def test_chromium_over_http2_login_is_seen(proxy, nginx, certs, pca, tmp_path):
    need("chromium", "certutil")
    har = tmp_path / "flows.har"
    p = proxy("--upstream-resolve", f"{HOST}:{LOOPBACK}", "--upstream-cacert", pem(certs, "root"), "--dump",
              "--har", har, mode="explicit")
    page = nginx["root"] / "login.html"  # the page logs in by itself and shows the answer
    page.write_text('<!doctype html><title>login</title><p id=out>waiting</p><script>fetch("/login", {method: "POST", '
                    'body: new URLSearchParams({user: "alice", password: "s3cret"})}).then(r => r.text())'
                    '.then(t => { document.getElementById("out").textContent = "answer: " + t })</script>\n')
    home = nss_home(tmp_path, "home")
    nss_trust(home, pca / "ca.pem")
    r = subprocess.run([*DNS_GUARD, "chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                        f"--proxy-server=http://{LOOPBACK}:{p.port}", "--virtual-time-budget=30000", "--dump-dom",
                        f"https://{HOST}:{nginx['h2']}/login.html"],
                       capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
                       env={**os.environ, "HOME": str(home)})
    assert "answer: welcome" in r.stdout, r.stderr[-2000:]
    assert p.wait_for("!! form field password = s3cret", timeout=10), p.out()
    assert "client TLSv1.3 h2" in p.out()
    p.stop()
    entries = json.loads(har.read_text())["log"]["entries"]
    login = [e for e in entries if e["request"]["url"].endswith("/login")]
    assert login and login[0]["request"]["httpVersion"] == "HTTP/2.0"
    assert "s3cret" in json.dumps(login[0])
