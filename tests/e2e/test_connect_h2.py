"""End-to-end tests of `tlslab connect` over HTTP/2: nginx with `http2` (and an HTTP/1.1-only
listener beside it), nghttpd (HTTP/2 only) and a python3-h2 server that stalls, all on loopback
with a private CA made by the openssl CLI. Every name is mapped with --resolve, inside conftest's
DNS guard."""
import hashlib
import json
import os
import ssl
import subprocess

import pytest

from conftest import PyServer, Pki, have, start_nginx, stop_process, wait_listening

HOST = "www.bank32.com"
LOOPBACK = "127.0.0.1"
BIG = 5 * 1024 * 1024 + 123  # several DATA frames' worth of windows, not a multiple of anything

pytestmark = pytest.mark.usefixtures("dns_on_loopback")


def need(*programs):
    for program in programs:
        if not have(program):
            pytest.skip(f"{program} not installed (scripts/install-deps --test)")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.cert("root", "tlslab Test Root", ca=True, days=365)
    p.cert("leaf", HOST, issuer="root", sans=(HOST,))
    p.chain("leaf_chain", "leaf", "root")
    return p


def pem(certs, name):
    return str(certs.dir / f"{name}.pem")


def key(certs, name):
    return str(certs.dir / f"{name}.key")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The files both servers serve: index.html and a multi-MB random file, with its SHA-256."""
    root = tmp_path_factory.mktemp("site")
    (root / "index.html").write_text("<h1>bank32 over HTTP/2</h1>\n")
    data = os.urandom(BIG)
    (root / "big.bin").write_bytes(data)
    return {"root": root, "big_sha256": hashlib.sha256(data).hexdigest()}


@pytest.fixture(scope="module")
def nginx(certs, site, tmp_path_factory):
    """nginx from a private config: an HTTP/2 listener and an HTTP/1.1-only one over the site."""
    proc, ports = start_nginx(tmp_path_factory.mktemp("nginx"), pem(certs, "leaf_chain"), key(certs, "leaf"),
                              {"h2": "ssl http2", "h1": "ssl"}, http="    default_type application/octet-stream;",
                              server=f"""        root {site["root"]};
        location / {{ }}
        location = /login {{ return 200 "welcome $request_method $content_length\\n"; }}""")
    yield ports
    stop_process(proc, timeout=10)


@pytest.fixture(scope="module")
def nghttpd(certs, site, tmp_path_factory):
    """nghttpd serving the site over HTTP/2 only; its port."""
    need("nghttpd")
    log = tmp_path_factory.mktemp("nghttpd") / "nghttpd.log"
    proc = subprocess.Popen(["nghttpd", "-a", LOOPBACK, "-d", str(site["root"]), "0", key(certs, "leaf"),
                             pem(certs, "leaf_chain")], stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    yield wait_listening(proc)
    stop_process(proc, timeout=10)


def connect(tlslab, certs, port, path, *args, timeout=60):
    return tlslab("connect", f"https://{HOST}:{port}{path}", "--resolve", f"{HOST}:{port}:{LOOPBACK}", "--cacert",
                  pem(certs, "root"), *args, timeout=timeout)


def as_json(proc):
    return json.loads(proc.out)


def shown(proc):
    return f"\n--- stdout\n{proc.out}\n--- stderr\n{proc.err}"


@pytest.fixture(params=["nginx", "nghttpd"])
def h2_port(request):
    """The HTTP/2 port of each real server in turn."""
    return request.getfixturevalue("nginx")["h2"] if request.param == "nginx" else request.getfixturevalue("nghttpd")


# ---------------------------------------------------------------------------------------------
# The exchange over HTTP/2.

def test_get_over_http2_reports_the_stream_and_settings(tlslab, certs, h2_port):
    proc = connect(tlslab, certs, h2_port, "/index.html", "--json")
    assert proc.returncode == 0, shown(proc)
    report = as_json(proc)
    assert report["tls"]["alpn"] == "h2"
    http = report["http"]
    assert http["version"] == "HTTP/2" and http["status"] == 200 and http["reason"] == ""
    assert http["body_sha256"] == hashlib.sha256(b"<h1>bank32 over HTTP/2</h1>\n").hexdigest()
    assert http["stream"] == {"id": 1, "end": "end_stream", "error_code": "NO_ERROR"}
    assert "max_concurrent_streams" in http["server_settings"], http["server_settings"]
    assert all(h["name"] == h["name"].lower() for h in http["headers"])


def test_text_report_says_http2(tlslab, certs, nginx):
    proc = connect(tlslab, certs, nginx["h2"], "/index.html")
    assert proc.returncode == 0, shown(proc)
    assert proc.out == "<h1>bank32 over HTTP/2</h1>\n"
    for text in ("ALPN:", "h2", "HTTP/2 200", "HTTP/2 stream:", "1, ended by the server (END_STREAM)",
                 "Server SETTINGS:", "MAX_CONCURRENT_STREAMS"):
        assert text in proc.err, text + shown(proc)


def test_download_byte_exact(tlslab, certs, site, h2_port, tmp_path):
    out = tmp_path / "big.bin"
    proc = connect(tlslab, certs, h2_port, "/big.bin", "-o", out, "--json")
    assert proc.returncode == 0, shown(proc)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == site["big_sha256"]
    assert as_json(proc)["http"]["body_bytes"] == BIG
    assert as_json(proc)["http"]["saved_to"] == str(out)


def test_head(tlslab, certs, h2_port):
    proc = connect(tlslab, certs, h2_port, "/big.bin", "-I", "--json")
    assert proc.returncode == 0, shown(proc)
    http = as_json(proc)["http"]
    assert http["status"] == 200 and http["body_bytes"] == 0 and http["framing"] == "none"
    assert {"name": "content-length", "value": str(BIG)} in http["headers"]


def test_post_with_data_and_headers(tlslab, certs, nginx):
    proc = connect(tlslab, certs, nginx["h2"], "/login", "-X", "POST", "-d", "user=alice&pw=x", "-H",
                   "X-Lab: 1", "-H", "Connection: keep-alive")
    assert proc.returncode == 0, shown(proc)
    assert proc.out == "welcome POST 15\n"
    assert "HTTP/2 200" in proc.err


def test_fail_on_404_saves_nothing(tlslab, certs, h2_port, tmp_path):
    out = tmp_path / "missing.html"
    proc = connect(tlslab, certs, h2_port, "/missing.html", "--fail", "-o", out)
    assert proc.returncode == 22, shown(proc)
    assert proc.err.strip().splitlines()[-1] == "tlslab: the server answered 404"
    assert not out.exists()


def test_max_filesize(tlslab, certs, h2_port, tmp_path):
    out = tmp_path / "big.bin"
    proc = connect(tlslab, certs, h2_port, "/big.bin", "--max-filesize", "100000", "-o", out)
    assert proc.returncode == 63, shown(proc)
    assert "larger than the --max-filesize limit" in proc.err
    assert not out.exists()


def test_http11_forced(tlslab, certs, nginx):
    proc = connect(tlslab, certs, nginx["h2"], "/index.html", "--http1.1", "--json")
    assert proc.returncode == 0, shown(proc)
    report = as_json(proc)
    assert report["tls"]["alpn"] == "http/1.1"
    assert report["http"]["version"] == "HTTP/1.1" and report["http"]["stream"] is None


def test_http2_falls_back_to_http11(tlslab, certs, nginx):
    proc = connect(tlslab, certs, nginx["h1"], "/index.html", "--http2", "--json")
    assert proc.returncode == 0, shown(proc)
    report = as_json(proc)
    assert report["tls"]["alpn"] == "http/1.1"
    assert report["http"]["version"] == "HTTP/1.1"


def test_without_a_request_nothing_is_offered(tlslab, certs, nginx):
    proc = tlslab("connect", f"{HOST}:{nginx['h2']}", "--resolve", f"{HOST}:{nginx['h2']}:{LOOPBACK}", "--cacert",
                  pem(certs, "root"), "--json")
    assert proc.returncode == 0, shown(proc)
    assert as_json(proc)["tls"]["alpn"] is None
    assert "http" not in as_json(proc)


def test_alpn_and_http2_refused_together(tlslab, certs, nginx):
    proc = connect(tlslab, certs, nginx["h2"], "/", "--alpn", "h2", "--http2")
    assert proc.returncode == 2, shown(proc)
    assert "--alpn and --http2 cannot be used together" in proc.err


# ---------------------------------------------------------------------------------------------
# --trace: the frames both ways.

def test_trace_shows_frames(tlslab, certs, h2_port):
    proc = connect(tlslab, certs, h2_port, "/index.html", "--trace")
    assert proc.returncode == 0, shown(proc)
    for text in ("HTTP/2 frames (--trace)", "-> preface (24 bytes)", "-> SETTINGS stream 0", "<- SETTINGS stream 0",
                 "-> HEADERS stream 1", "END_STREAM END_HEADERS", ":path:", "/index.html", "<- HEADERS stream 1",
                 ":status:", "<- DATA stream 1", "-> GOAWAY stream 0"):
        assert text in proc.err, text + shown(proc)


def test_trace_in_json(tlslab, certs, nginx):
    proc = connect(tlslab, certs, nginx["h2"], "/index.html", "--trace", "--json")
    assert proc.returncode == 0, shown(proc)
    report = as_json(proc)
    hello = next(m for m in report["trace"] if m["type"] == "ClientHello")
    assert hello["fields"]["application_layer_protocol_negotiation"] == "h2, http/1.1"
    frames = report["http2_frames"]
    request = next(f for f in frames if f["direction"] == "sent" and f["type"] == "HEADERS")
    assert request["stream"] == 1 and request["flags"] == ["END_STREAM", "END_HEADERS"]
    assert {"name": ":method", "value": "GET"} in request["headers"]
    response = next(f for f in frames if f["direction"] == "received" and f["type"] == "HEADERS")
    assert response["headers"][0] == {"name": ":status", "value": "200"}
    settings = next(f for f in frames if f["direction"] == "received" and f["type"] == "SETTINGS")
    assert any(x["name"] == "MAX_CONCURRENT_STREAMS" for x in settings["fields"])


# ---------------------------------------------------------------------------------------------
# A server that answers the headers and then nothing (python3-h2).

def stalled_h2(conn):
    import h2.config
    import h2.connection
    import h2.events
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    server.initiate_connection()
    conn.sendall(server.data_to_send())
    while True:
        data = conn.recv(65536)
        if not data:
            return
        for event in server.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                server.send_headers(event.stream_id, [(":status", "200"), ("content-length", "1000")])
                server.send_data(event.stream_id, b"z" * 300)
        conn.sendall(server.data_to_send())


def test_max_time_on_a_stalled_body(tlslab, certs):
    pytest.importorskip("h2.connection")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem(certs, "leaf_chain"), key(certs, "leaf"))
    context.set_alpn_protocols(["h2"])
    server = PyServer(stalled_h2, context)
    try:
        proc = connect(tlslab, certs, server.port, "/", "-o", os.devnull, "--max-time", "1", "--json")
    finally:
        server.close()
    assert proc.returncode == 28, shown(proc)
    report = as_json(proc)
    assert "timed out reading the response body (300 bytes received) (--max-time 1s reached after" in \
        report["error"]["message"]
    assert report["http"]["version"] == "HTTP/2" and report["http"]["stream"]["end"] == "open"
