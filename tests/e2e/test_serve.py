"""End-to-end tests of `tlslab serve` with real clients on loopback: curl, openssl s_client,
gnutls-cli, tlslab connect, Python's ssl module for what the tools cannot do (stalling, cutting a
response, malformed requests), and headless Chromium for the lab's browser steps. Certificates
come from `tlslab ca` (the lab's one certificate for three names).

Every name is mapped to 127.0.0.1 (--resolve, -servername, --host-resolver-rules); the clients
run under conftest's DNS guard, so a forgotten mapping cannot query the network's resolver.
Screenshots go to build/test-artifacts/."""
import hashlib
import json
import os
import pathlib
import random
import re
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from types import SimpleNamespace

import pytest

from conftest import DNS_GUARD, ROOT, have, nss_home, stop_process

pytestmark = pytest.mark.usefixtures("dns_on_loopback")

HOST = "www.bank32.com"
LOOPBACK = "127.0.0.1"
ARTIFACTS = ROOT / "build" / "test-artifacts"
REQUEST = b"GET / HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\nConnection: close\r\n\r\n"


# ---------------------------------------------------------------------------------------------
# Certificates: made once, with tlslab ca.

@pytest.fixture(scope="module")
def pki(tlslab, tmp_path_factory):
    d = tmp_path_factory.mktemp("serve-pki")

    def ca(name):
        tlslab("ca", "init", "--dir", d / name, "--name", f"tlslab serve test {name}", check=0)
        return d / name / "ca.pem"

    def issue(ca_name, out, *names, client=False):
        tlslab("ca", "issue", "--dir", d / ca_name, *names, "--out", d / out, *(["--client"] if client else []),
               check=0)
        return SimpleNamespace(cert=d / f"{out}.pem", key=d / f"{out}-key.pem")

    p = SimpleNamespace(dir=d, ca=ca("ca"), client_ca=ca("client-ca"), other_ca=ca("other-ca"))
    p.multi = issue("ca", "multi", HOST, "www.example.com", "*.bank32.com")  # the lab's certificate
    p.other = issue("ca", "other", "other.test")
    p.renewed = issue("ca", "renewed", HOST, "www.example.com", "*.bank32.com")
    p.alice = issue("client-ca", "alice", "alice@bank32.com", client=True)
    p.mallory = issue("other-ca", "mallory", "mallory@bank32.com", client=True)
    return p


# ---------------------------------------------------------------------------------------------
# The server under test.

class Serve:
    """A running `tlslab serve` on a port the kernel chose; stopped with SIGTERM at teardown."""

    def __init__(self, tlslab, directory, args, env=None):
        self.out_path = directory / "serve.out"
        self.err_path = directory / "serve.err"
        full_env = dict(os.environ, NO_COLOR="1", **(env or {}))
        self.proc = subprocess.Popen([tlslab.path, "serve", "--listen", f"{LOOPBACK}:0", *map(str, args)],
                                     stdout=open(self.out_path, "wb"), stderr=open(self.err_path, "wb"),
                                     stdin=subprocess.DEVNULL, env=full_env)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if m := re.search(r"https://127\.0\.0\.1:(\d+)/", self.err()):
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"tlslab serve exited with {self.proc.returncode}:\n{self.err()}")
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"tlslab serve did not start:\n{self.err()}")

    def out(self):
        return self.out_path.read_text(errors="replace")

    def err(self):
        return self.err_path.read_text(errors="replace")

    def access_lines(self):
        return [line for line in self.out().splitlines() if line.strip()]

    def error_lines(self, text=""):
        """The error log's lines about clients (after the start-up banner) containing text."""
        return [line for line in self.err().splitlines() if line.startswith("tlslab serve: 127.0.0.1:") and text in line]

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self, timeout=15):
        return stop_process(self.proc, timeout=timeout)


@pytest.fixture
def serve(tlslab, tmp_path):
    started = []

    def start(*args, env=None, threads=1):
        d = tmp_path / f"serve{len(started)}"
        d.mkdir()
        s = Serve(tlslab, d, ["--threads", threads, *args], env=env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def cert_args(pair):
    return ["--cert", pair.cert, "--key", pair.key]


# ---------------------------------------------------------------------------------------------
# Clients.

def curl(port, path="/", *args, host=HOST, cacert=None, timeout=20):
    """curl over HTTP/1.1 unless args choose (serve offers h2 first; test_serve_h2.py tests it)."""
    if not any(str(a).startswith("--http") for a in args):
        args = ("--http1.1", *args)
    proc = subprocess.run([*DNS_GUARD, "curl", "-sS", "--max-time", "10", "--resolve", f"{host}:{port}:{LOOPBACK}",
                           *(["--cacert", str(cacert)] if cacert else []), *map(str, args),
                           f"https://{host}:{port}{path}"], capture_output=True, timeout=timeout)
    proc.out = proc.stdout.decode(errors="replace")
    proc.err = proc.stderr.decode(errors="replace")
    return proc


def curl_json(port, pki, *args, host=HOST, path="/.well-known/tlslab"):
    proc = curl(port, path, *args, host=host, cacert=pki.ca)
    assert proc.returncode == 0, proc.err
    return json.loads(proc.out)


def s_client(port, *args, host=HOST, request=REQUEST, timeout=20):
    """openssl s_client sending request (and reading until the server closes), or nothing."""
    wait = ["-ign_eof"] if request else []
    proc = subprocess.run([*DNS_GUARD, "openssl", "s_client", "-connect", f"{LOOPBACK}:{port}", "-servername", host,
                           *wait, *map(str, args)], input=request, capture_output=True, timeout=timeout)
    proc.out = proc.stdout.decode(errors="replace")
    proc.err = proc.stderr.decode(errors="replace")
    return proc


def gnutls(port, pki, *args, host=HOST, request=REQUEST):
    proc = subprocess.run([*DNS_GUARD, "gnutls-cli", "--x509cafile", str(pki.ca), "-p", str(port), "--sni-hostname",
                           host, "--verify-hostname", host, *args, LOOPBACK], input=request, capture_output=True,
                          timeout=20)
    proc.out = proc.stdout.decode(errors="replace")
    return proc


def context(pki, cert=None, tls_max=None):
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if cert:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    if tls_max:
        ctx.maximum_version = tls_max
    return ctx


def tls_socket(port, pki, host=HOST, cert=None, timeout=10):
    raw = socket.create_connection((LOOPBACK, port), timeout=timeout)
    return context(pki, cert).wrap_socket(raw, server_hostname=host)


def read_response(sock):
    """Reads one HTTP/1.1 response with a Content-Length; returns (status, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    length = int(headers.get("content-length", 0))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        body += chunk
    return int(lines[0].split()[1]), headers, body


def read_all(sock):
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, ssl.SSLError):
        pass
    return data


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def wait_for(predicate, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# ---------------------------------------------------------------------------------------------
# Handshakes and the built-in pages, with every client.

@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_curl_sees_its_connection_in_json(serve, pki, version):
    s = serve(*cert_args(pki.multi))
    pin = ["--tlsv1.3"] if version == "1.3" else ["--tlsv1.2", "--tls-max", "1.2"]
    facts = curl_json(s.port, pki, *pin)
    assert facts["tls_version"] == f"TLSv{version}"
    assert facts["sni"] == HOST and facts["alpn"] == "http/1.1" and facts["resumed"] is False
    assert facts["group"] == "x25519" and facts["signature_scheme"] == "ecdsa_secp256r1_sha256"
    assert facts["cipher_suite"] == ("TLS_AES_256_GCM_SHA384" if version == "1.3"
                                     else "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")
    assert facts["client_certificate"] is None and facts["user_agent"].startswith("curl/")
    # The same facts on "/" for a client that asks for JSON; HTML otherwise.
    assert json.loads(curl(s.port, "/", "-H", "Accept: application/json", *pin, cacert=pki.ca).out)["sni"] == HOST
    html = curl(s.port, "/", *pin, cacert=pki.ca).out
    assert f"<h1>Your TLS connection to {HOST}</h1>" in html
    assert f'<td id="tls_version"><code>TLSv{version}</code>' in html


def test_access_log_line_per_request_in_combined_format(serve, pki):
    s = serve(*cert_args(pki.multi))
    proc = curl(s.port, "/", "-H", "Referer: https://ref.example/", "-A", "tester/1.0", "--tlsv1.3", cacert=pki.ca)
    assert proc.returncode == 0
    wait_for(lambda: s.access_lines(), what="the access log line")
    line = s.access_lines()[-1]
    assert re.fullmatch(r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET / HTTP/1\.1" 200 \d+ '
                        r'"https://ref\.example/" "tester/1\.0" TLSv1\.3 TLS_AES_256_GCM_SHA384', line), line


def test_log_json_lines_parse(serve, pki):
    s = serve(*cert_args(pki.multi), "--log-json", "--header-timeout", "1")
    assert curl(s.port, "/.well-known/tlslab", cacert=pki.ca).returncode == 0
    with socket.create_connection((LOOPBACK, s.port)) as raw:  # an error line too
        raw.sendall(b"\x00\x01garbage")
        read_all(raw)
    wait_for(lambda: s.access_lines() and '"error"' in s.err(), what="both logs")
    entry = json.loads(s.access_lines()[-1])
    assert entry["method"] == "GET" and entry["target"] == "/.well-known/tlslab" and entry["status"] == 200
    assert entry["sni"] == HOST and entry["tls_version"] == "TLSv1.3" and entry["cipher"].startswith("TLS_")
    assert entry["bytes"] > 0 and entry["resumed"] is False and entry["user_agent"].startswith("curl/")
    errors = [json.loads(line) for line in s.err().splitlines() if line.startswith("{")]
    assert errors and errors[-1]["client"] == LOOPBACK and "not TLS" in errors[-1]["error"]


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_openssl_s_client_and_gnutls_cli(serve, pki, version):
    s = serve(*cert_args(pki.multi))
    pin = ["-tls1_3"] if version == "1.3" else ["-tls1_2"]
    proc = s_client(s.port, "-CAfile", pki.ca, "-verify_hostname", HOST, "-verify_return_error", *pin)
    assert proc.returncode == 0, proc.err
    assert f"New, TLSv{version}" in proc.out and "Verify return code: 0 (ok)" in proc.out
    assert "HTTP/1.1 200 OK" in proc.out and f'<td id="tls_version"><code>TLSv{version}</code>' in proc.out
    priority = "NORMAL:-VERS-ALL:+VERS-TLS" + version
    g = gnutls(s.port, pki, "--priority", priority,
               request=b"GET /.well-known/tlslab HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert f"(TLS{version}-X.509)" in g.out and "HTTP/1.1 200 OK" in g.out, g.out
    assert f'"tls_version": "TLSv{version}"' in g.out


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_tlslab_connect(tlslab, serve, pki, version):
    s = serve(*cert_args(pki.multi))
    proc = tlslab("connect", f"https://{HOST}:{s.port}/.well-known/tlslab", "--resolve", f"{HOST}:{s.port}:{LOOPBACK}",
                  "--cacert", pki.ca, "--tls-max", version, "--tls-min", version, "--json")
    assert proc.returncode == 0, proc.err
    doc = json.loads(proc.out)
    assert doc["tls"]["version"] == f"TLSv{version}"
    assert doc["tls"]["alpn"] == "h2"  # as curl: a request offers h2 first, and serve takes it
    assert doc["http"]["status"] == 200


def test_sni_picks_the_certificate(serve, pki):
    s = serve(*cert_args(pki.multi), "--sni", f"other.test={pki.other.cert},{pki.other.key}")
    for host in (HOST, "www.example.com", "shop.bank32.com", "other.test"):
        assert curl_json(s.port, pki, host=host)["sni"] == host  # curl verified the name against the certificate
    subject = s_client(s.port, "-CAfile", pki.ca, host="other.test").out
    assert re.search(r"subject=.*CN\s*=\s*other\.test", subject)
    # No SNI, or a name no certificate has: the first certificate.
    proc = subprocess.run(["openssl", "s_client", "-connect", f"{LOOPBACK}:{s.port}", "-noservername"],
                          input=b"", capture_output=True, timeout=20)
    assert re.search(r"subject=.*CN\s*=\s*www\.bank32\.com", proc.stdout.decode())


def test_files_byte_exact_with_every_client(tlslab, serve, pki, tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    small = os.urandom(10_000)
    big = os.urandom(3 * 1024 * 1024 + 17)  # streamed in pieces
    (root / "small.bin").write_bytes(small)
    (root / "big.bin").write_bytes(big)
    s = serve(*cert_args(pki.multi), "--root", root)
    for name, data in (("small.bin", small), ("big.bin", big)):
        out = tmp_path / f"curl-{name}"
        assert curl(s.port, f"/{name}", "-o", out, cacert=pki.ca).returncode == 0
        assert sha256(out.read_bytes()) == sha256(data)
        out = tmp_path / f"tlslab-{name}"
        proc = tlslab("connect", f"https://{HOST}:{s.port}/{name}", "--resolve", f"{HOST}:{s.port}:{LOOPBACK}",
                      "--cacert", pki.ca, "-o", out, "-q")
        assert proc.returncode == 0, proc.err
        assert sha256(out.read_bytes()) == sha256(data)
        request = f"GET /{name} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
        peers = [s_client(s.port, "-CAfile", pki.ca, "-quiet", request=request)]
        if name == "small.bin":  # gnutls-cli writes what it receives one byte per write(2): seconds for big.bin
            peers.append(gnutls(s.port, pki, "--logfile", tmp_path / "gnutls.log", request=request))
        for proc in peers:
            body = proc.stdout.split(b"\r\n\r\n", 1)[1]
            assert sha256(body) == sha256(data)
    # Two requests on one connection (keep-alive).
    proc = curl(s.port, "/small.bin", "-o", os.devnull, "-o", os.devnull, f"https://{HOST}:{s.port}/big.bin",
                "-w", "%{num_connects} ", cacert=pki.ca)
    assert proc.out.split() == ["1", "0"]


# ---------------------------------------------------------------------------------------------
# --root: HEAD, Range, 304, indexes, and no way out of the directory.

@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    (root / "docs").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "page.html").write_text("<h1>page</h1>\n")
    (root / "style.css").write_text("h1{}\n")
    (root / "data.bin").write_bytes(bytes(range(256)) * 4)
    (root / "docs" / "index.html").write_text("<p>docs index</p>\n")
    (root / "empty" / "b.txt").write_text("b\n")
    (root / "empty" / "a.txt").write_text("a\n")
    (tmp_path / "secret.txt").write_text("outside the root\n")
    os.symlink(tmp_path / "secret.txt", root / "escape.txt")
    os.symlink("page.html", root / "inside.html")  # (an absolute link is refused even when it points inside)
    return root


def status_of(port, path, *args, pki):
    proc = curl(port, path, "-o", os.devnull, "-w", "%{http_code}", *args, cacert=pki.ca)
    return int(proc.out)


def test_root_content_types_head_range_and_304(serve, pki, site):
    s = serve(*cert_args(pki.multi), "--root", site)
    head = curl(s.port, "/page.html", "-I", cacert=pki.ca).out
    modified = re.search(r"Last-Modified: (.*)\r", head).group(1)
    head = head.lower()
    assert "content-type: text/html; charset=utf-8" in head and "content-length: 14" in head
    assert "last-modified:" in head and "accept-ranges: bytes" in head
    assert "content-type: text/css" in curl(s.port, "/style.css", "-I", cacert=pki.ca).out.lower()
    assert "application/octet-stream" in curl(s.port, "/data.bin", "-I", cacert=pki.ca).out.lower()
    proc = curl(s.port, "/data.bin", "-r", "10-19", "-i", cacert=pki.ca)
    assert proc.stdout.startswith(b"HTTP/1.1 206") and b"Content-Range: bytes 10-19/1024" in proc.stdout
    assert proc.stdout.endswith(bytes(range(10, 20)))
    assert curl(s.port, "/data.bin", "-r", "-4", cacert=pki.ca).stdout == bytes(range(252, 256))
    assert status_of(s.port, "/data.bin", "-r", "5000-", pki=pki) == 416
    assert status_of(s.port, "/page.html", "-H", f"If-Modified-Since: {modified}", pki=pki) == 304
    assert status_of(s.port, "/page.html", "-H", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT", pki=pki) == 200
    # A file changed on disk is served changed at once (the small-file cache checks it every time).
    (site / "page.html").write_text("<h1>changed page</h1>\n")
    assert curl(s.port, "/page.html", cacert=pki.ca).out == "<h1>changed page</h1>\n"


def test_root_directories(serve, pki, site):
    s = serve(*cert_args(pki.multi), "--root", site)
    assert curl(s.port, "/docs/", cacert=pki.ca).out == "<p>docs index</p>\n"
    proc = curl(s.port, "/docs", "-i", cacert=pki.ca)
    assert proc.out.startswith("HTTP/1.1 301") and "Location: /docs/" in proc.out
    listing = curl(s.port, "/empty/", cacert=pki.ca).out
    assert listing.index('href="a.txt"') < listing.index('href="b.txt"')
    assert status_of(s.port, "/missing.html", pki=pki) == 404
    assert curl(s.port, "/inside.html", cacert=pki.ca).out == "<h1>page</h1>\n"  # a symlink that stays inside


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/docs/%2E%2E/%2e%2e/secret.txt",
                                  "/escape.txt"])
def test_root_refuses_paths_outside(serve, pki, site, path):
    s = serve(*cert_args(pki.multi), "--root", site)
    proc = curl(s.port, path, "--path-as-is", "-i", cacert=pki.ca)
    assert proc.out.startswith("HTTP/1.1 403"), proc.out
    assert "outside the root" not in proc.out


def test_echo(serve, pki):
    s = serve(*cert_args(pki.multi), "--echo")
    proc = curl(s.port, "/some/path?q=1", "-d", "hello=world", "-H", "X-Test: yes", cacert=pki.ca)
    assert proc.out.startswith("POST /some/path?q=1 HTTP/1.1\r\n")
    assert "X-Test: yes\r\n" in proc.out and proc.out.endswith("\r\n\r\nhello=world")


# ---------------------------------------------------------------------------------------------
# Resumption: tickets and the cache, shared ticket keys, and none at all.

def resumes(first_port, second_port, pki, *args):
    """Connects to first_port saving the session, then to second_port offering it; returns the
    second connection's "New"/"Reused" line (s_client's words)."""
    with tempfile.TemporaryDirectory() as d:
        sess = pathlib.Path(d) / "session.pem"
        first = s_client(first_port, "-CAfile", pki.ca, "-sess_out", sess, *args)
        assert "New, " in first.out, first.out
        if not sess.exists():  # TLS 1.3 without a ticket: no session to offer
            return "New (no session saved)"
        second = s_client(second_port, "-CAfile", pki.ca, "-sess_in", sess, *args)
        return re.search(r"^(New|Reused), .*$", second.out, re.M).group(0)


@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2"])
def test_resumption(serve, pki, version):
    s = serve(*cert_args(pki.multi))
    assert resumes(s.port, s.port, pki, version).startswith("Reused")
    if version == "-tls1_2":  # the session cache, without tickets
        assert resumes(s.port, s.port, pki, version, "-no_ticket").startswith("Reused")
    # The page tells the visitor.
    ctx = context(pki, tls_max=ssl.TLSVersion.TLSv1_3 if version == "-tls1_3" else ssl.TLSVersion.TLSv1_2)
    session = None
    for resumed in (False, True):
        with ctx.wrap_socket(socket.create_connection((LOOPBACK, s.port)), server_hostname=HOST,
                             session=session) as sock:
            sock.sendall(b"GET /.well-known/tlslab HTTP/1.1\r\nHost: x\r\n\r\n")
            facts = json.loads(read_response(sock)[2])
            assert facts["resumed"] is resumed and sock.session_reused is resumed
            session = sock.session


def test_no_resumption(serve, pki):
    s = serve(*cert_args(pki.multi), "--no-resumption")
    assert resumes(s.port, s.port, pki, "-tls1_3").startswith("New")
    assert resumes(s.port, s.port, pki, "-tls1_2").startswith("New")
    assert resumes(s.port, s.port, pki, "-tls1_2", "-no_ticket").startswith("New")


def test_ticket_key_file_shared_by_two_instances(tlslab, serve, pki, tmp_path):
    keys = tmp_path / "ticket.key"
    keys.write_bytes(os.urandom(80))
    a = serve(*cert_args(pki.multi), "--ticket-key-file", keys)
    b = serve(*cert_args(pki.multi), "--ticket-key-file", keys)
    c = serve(*cert_args(pki.multi))  # its own random key
    for version in ("-tls1_3", "-tls1_2"):
        assert resumes(a.port, b.port, pki, version).startswith("Reused")
        assert resumes(a.port, c.port, pki, version).startswith("New")
    keys.write_bytes(b"short")
    proc = tlslab("serve", "--listen", f"{LOOPBACK}:0", *cert_args(pki.multi), "--ticket-key-file", keys)
    assert proc.returncode == 26 and "must hold exactly 80 bytes (it has 5)" in proc.err


def test_ocsp_stapling(serve, pki, tmp_path):
    # A "good" response for the server certificate, signed by the CA itself (openssl ocsp as a responder).
    serial = sh_out("openssl", "x509", "-in", pki.multi.cert, "-noout", "-serial").split("=")[1]
    index = tmp_path / "index.txt"
    index.write_text(f"V\t301231000000Z\t\t{serial}\tunknown\t/CN={HOST}\n")
    sh_out("openssl", "ocsp", "-issuer", pki.ca, "-cert", pki.multi.cert, "-no_nonce", "-reqout", tmp_path / "req.der")
    sh_out("openssl", "ocsp", "-index", index, "-CA", pki.ca, "-rsigner", pki.ca, "-rkey", pki.dir / "ca" / "ca-key.pem",
           "-reqin", tmp_path / "req.der", "-respout", tmp_path / "resp.der", "-ndays", "1")
    s = serve(*cert_args(pki.multi), "--ocsp", tmp_path / "resp.der")
    for version in ("-tls1_3", "-tls1_2"):
        out = s_client(s.port, "-CAfile", pki.ca, "-status", version, request=None).out
        assert "OCSP Response Status: successful" in out and "Cert Status: good" in out, out
    plain = serve(*cert_args(pki.multi))
    assert "OCSP response: no response sent" in s_client(plain.port, "-CAfile", pki.ca, "-status", request=None).out


def sh_out(*args):
    return subprocess.run(list(map(str, args)), check=True, capture_output=True).stdout.decode().strip()


# ---------------------------------------------------------------------------------------------
# Client certificates.

def test_client_certificate_required(serve, pki):
    s = serve(*cert_args(pki.multi), "--client-ca", pki.client_ca, "--verify-client", "required")
    facts = curl_json(s.port, pki, "--cert", pki.alice.cert, "--key", pki.alice.key)
    assert "alice@bank32.com" in facts["client_certificate"] and facts["client_certificate_verified"] is True
    for args in ([], ["--cert", pki.mallory.cert, "--key", pki.mallory.key]):
        for pin in (["--tlsv1.3"], ["--tlsv1.2", "--tls-max", "1.2"]):
            proc = curl(s.port, "/", *pin, *args, cacert=pki.ca)
            assert proc.returncode != 0 and "HTTP" not in proc.out, proc.out
    wait_for(lambda: len(s.error_lines("TLS handshake failed")) == 4, what="four refusals logged")
    assert any("certificate" in line for line in s.error_lines("TLS handshake failed"))


def test_client_certificate_optional(serve, pki):
    s = serve(*cert_args(pki.multi), "--client-ca", pki.client_ca, "--verify-client", "optional")
    assert curl_json(s.port, pki)["client_certificate"] is None
    facts = curl_json(s.port, pki, "--cert", pki.alice.cert, "--key", pki.alice.key)
    assert facts["client_certificate_verified"] is True
    proc = curl(s.port, "/", "--cert", pki.mallory.cert, "--key", pki.mallory.key, cacert=pki.ca)
    assert proc.returncode != 0  # a certificate given must verify


# ---------------------------------------------------------------------------------------------
# Limits: 413, 431, 408, plain HTTP, max connections, idle keep-alive.

def test_limits_answer_as_http_says(serve, pki):
    # Which limit answers which status, and when a timeout passes, is proven without sockets
    # (tests/unit/serve/policy_test.cpp); here each answer reaches a real client whole, before the
    # connection ends. The clients run at once: the two timeouts pass together.
    s = serve(*cert_args(pki.multi), "--header-timeout", "1", "--request-timeout", "1", "--max-header-size", "4096",
              "--max-body-size", "1000")
    cases = [
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n", 431, "larger than 4096 bytes"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n", 413, "larger than 1000 bytes"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + b"b" * 2000 + b"\r\n0\r\n\r\n",
         413, "larger than 1000 bytes"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n", 408, "request header not complete in 1 s"),
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", 408, "request body not complete in 1 s"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, "malformed request"),
    ]
    replies = {}

    def client(request, status):
        with tls_socket(s.port, pki) as sock:
            sock.sendall(request)
            replies[status, request] = read_all(sock)

    threads = [threading.Thread(target=client, args=(request, status)) for request, status, _ in cases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for request, status, logged in cases:
        reply = replies[status, request]
        assert reply.startswith(f"HTTP/1.1 {status} ".encode()), (status, reply[:200])
        assert b"Connection: close" in reply
        wait_for(lambda: s.error_lines(logged), what=logged)
    # The server still serves.
    assert curl_json(s.port, pki)["tls_version"] == "TLSv1.3"


def test_plain_http_on_the_tls_port(serve, pki):
    s = serve(*cert_args(pki.multi))
    proc = subprocess.run([*DNS_GUARD, "curl", "-sS", "-i", f"http://{LOOPBACK}:{s.port}/"], capture_output=True,
                          timeout=20)
    assert proc.stdout.startswith(b"HTTP/1.1 400") and b"use https://" in proc.stdout
    wait_for(lambda: s.error_lines("plain HTTP request on the TLS port; answered 400"), what="log line")


def test_idle_keep_alive_connection_closes_quietly(serve, pki):
    # The idle deadline itself is proven to the microsecond in tests/unit/serve/policy_test.cpp.
    s = serve(*cert_args(pki.multi), "--idle-timeout", "0.2")
    with tls_socket(s.port, pki) as sock:
        sock.sendall(b"GET /.well-known/tlslab HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(sock)[0] == 200
        start = time.monotonic()
        assert read_all(sock) == b""
        assert 0.15 < time.monotonic() - start < 5
    assert s.error_lines() == []


def test_max_connections(serve, pki):
    s = serve(*cert_args(pki.multi), "--max-connections", "3")
    held = [tls_socket(s.port, pki) for _ in range(3)]
    try:
        with socket.create_connection((LOOPBACK, s.port)) as extra:
            extra.settimeout(5)
            assert extra.recv(1) == b""  # closed at once
        assert "more than 3 connections; refusing new ones" in s.err()
    finally:
        for sock in held:
            sock.close()
    wait_for(lambda: curl(s.port, "/", cacert=pki.ca).returncode == 0, what="serving again")


# ---------------------------------------------------------------------------------------------
# Signals: SIGHUP reloads certificates, SIGTERM finishes what is in flight.

def serial_of(port, pki):
    proc = s_client(port, "-CAfile", pki.ca, request=b"")
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", proc.out, re.S).group(0)
    return subprocess.run(["openssl", "x509", "-noout", "-serial"], input=pem.encode(),
                          capture_output=True).stdout.decode().strip()


def test_sighup_reloads_certificates_without_dropping_connections(serve, pki, tmp_path):
    cert, key = tmp_path / "server.pem", tmp_path / "server-key.pem"
    shutil.copy(pki.multi.cert, cert)
    shutil.copy(pki.multi.key, key)
    s = serve("--cert", cert, "--key", key)
    before = serial_of(s.port, pki)
    with tls_socket(s.port, pki) as old:
        old.sendall(b"GET /.well-known/tlslab HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_response(old)[0] == 200
        shutil.copy(pki.renewed.cert, cert)
        shutil.copy(pki.renewed.key, key)
        s.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "SIGHUP: certificates reloaded" in s.err(), what="the reload")
        after = serial_of(s.port, pki)
        assert before != after
        old.sendall(b"GET /.well-known/tlslab HTTP/1.1\r\nHost: x\r\n\r\n")  # the old connection goes on
        assert read_response(old)[0] == 200
    # A broken file: the old certificates stay.
    cert.write_text("not a certificate")
    s.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed, keeping the old certificates" in s.err(), what="the failed reload")
    assert serial_of(s.port, pki) == after


def test_sigterm_finishes_a_slow_download(serve, pki, tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    data = os.urandom(4 * 1024 * 1024)
    (root / "big.bin").write_bytes(data)
    s = serve(*cert_args(pki.multi), "--root", root, "--grace", "20")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # a slow reader: the server must wait for it
    raw.connect((LOOPBACK, s.port))
    with context(pki).wrap_socket(raw, server_hostname=HOST) as sock:
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        got = sock.recv(65536)
        with tls_socket(s.port, pki) as idle:  # an idle keep-alive connection is closed at once
            idle.sendall(b"GET /.well-known/tlslab HTTP/1.1\r\nHost: x\r\n\r\n")
            read_response(idle)
            s.proc.send_signal(signal.SIGTERM)
            assert read_all(idle) == b""
        wait_for(lambda: "SIGTERM: no new connections; finishing" in s.err(), what="the stop")
        wait_for(lambda: refused(s.port), what="the listener to close")
        assert s.proc.poll() is None  # still sending
        start = time.monotonic()
        while True:
            time.sleep(0.01)
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
            if time.monotonic() - start > 1:  # slow for a second, then as fast as it can
                got += read_all(sock)
                break
    head, body = got.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200") and sha256(body) == sha256(data)  # and then the server closed
    assert s.proc.wait(timeout=10) == 0


# ---------------------------------------------------------------------------------------------
# Robustness: a storm of bad clients; the server keeps serving, logs one line each, leaks nothing.

def refused(port):
    try:
        socket.create_connection((LOOPBACK, port), timeout=2).close()
        return False
    except OSError:
        return True


def test_storm_of_bad_clients(serve, pki, tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))
    root = tmp_path / "site"
    root.mkdir()
    (root / "big.bin").write_bytes(os.urandom(16 * 1024 * 1024))  # more than the socket buffers hold
    (root / "index.html").write_text("hello\n")
    s = serve(*cert_args(pki.multi), "--root", root, "--handshake-timeout", "1", "--header-timeout", "1",
              threads=2)
    assert curl(s.port, "/", cacert=pki.ca).out == "hello\n"
    time.sleep(0.3)
    fds_before = s.fds()

    def connect():
        return socket.create_connection((LOOPBACK, s.port), timeout=10)

    client_hello = first_flight()
    expected = {}

    def bad(kind, count, action):
        expected[kind] = expected.get(kind, 0) + count
        for _ in range(count):
            action()

    def random_bytes():
        with connect() as c:
            # (never an SSLv2-format hello: a first byte with the high bit, then 1 as the third)
            c.sendall(bytes([random.choice([0x00, 0x17, 0x80, 0xff])]) + os.urandom(1) + b"\x02" + os.urandom(298))
            read_all(c)

    def truncated_hello():
        with connect() as c:
            c.sendall(client_hello[:40])

    def stalled_hellos(count):
        stalled = [connect() for _ in range(count)]  # all at once: their timeouts pass together
        for c in stalled:
            c.sendall(client_hello[:40])
        for c in stalled:
            with c:
                read_all(c)  # the server gives up after the handshake timeout

    def plain_http():
        with connect() as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            read_all(c)

    def oversized_header():
        with tls_socket(s.port, pki) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"z" * 40000 + b"\r\n\r\n")
            assert read_all(c).startswith(b"HTTP/1.1 431")

    def cut_response():
        with tls_socket(s.port, pki) as c:
            c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            c.recv(1000)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # reset

    slowloris = [connect() for _ in range(20)]  # connect, then say nothing
    threads = [threading.Thread(target=lambda: bad("not TLS", 10, random_bytes)),
               threading.Thread(target=lambda: bad("plain HTTP request", 10, plain_http))]
    for t in threads:
        t.start()
    expected["TLS handshake not complete in 1 s"] = 5
    threads.append(threading.Thread(target=lambda: stalled_hellos(5)))
    threads[-1].start()
    bad("closed the connection during the TLS handshake", 10, truncated_hello)
    bad("request header larger than", 5, oversized_header)
    bad("closed the connection during the response", 5, cut_response)
    abandoned = [connect() for _ in range(1000)]
    for c in abandoned:
        c.close()
    expected["closed the connection without sending anything"] = 1000
    # Meanwhile, a good client is served.
    assert curl(s.port, "/", cacert=pki.ca).out == "hello\n"
    for t in threads:
        t.join()
    expected["sent nothing in 1 s"] = len(slowloris)
    wait_for(lambda: len(s.error_lines("sent nothing in 1 s")) == len(slowloris), what="the slowloris timeouts")
    for c in slowloris:
        c.close()
    for kind, count in expected.items():
        wait_for(lambda: len(s.error_lines(kind)) >= count, what=f"{count} lines of {kind!r}")
        assert len(s.error_lines(kind)) == count, (kind, s.error_lines(kind)[:3])
    assert len(s.error_lines()) == sum(expected.values()), "one line per bad client, no more"
    assert curl(s.port, "/", cacert=pki.ca).out == "hello\n"
    wait_for(lambda: s.fds() <= fds_before, what=f"the server to hold {fds_before} descriptors again "
                                                 f"(it holds {s.fds()})")


def first_flight():
    """A real ClientHello (the bytes Python's ssl sends first)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname=HOST)
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


# ---------------------------------------------------------------------------------------------
# No certificate given: one from the local CA.

def test_without_a_certificate_the_local_ca_issues_one(serve, pki, tmp_path):
    ca_dir = tmp_path / "local-ca"
    s = serve("--name", HOST, env={"TLSLAB_CA": str(ca_dir)})
    err = s.err()
    assert f"no CA yet: created one in {ca_dir}" in err and "to trust it: tlslab ca trust" in err
    assert "DNS:localhost, IP:127.0.0.1, IP:::1, DNS:www.bank32.com" in err
    ca = ca_dir / "ca.pem"
    for host in ("localhost", HOST):
        assert curl_json(s.port, SimpleNamespace(ca=ca), host=host)["sni"] == host
    assert curl(s.port, "/", host=LOOPBACK, cacert=ca).returncode == 0  # IP SAN
    s.stop()
    again = serve(env={"TLSLAB_CA": str(ca_dir)})  # the CA is reused
    assert "no CA yet" not in again.err() and "DNS:localhost, IP:127.0.0.1, IP:::1 (" in again.err()
    assert curl(again.port, "/", host="localhost", cacert=ca).returncode == 0


# ---------------------------------------------------------------------------------------------
# A real browser (lab 2.b and 2.c).

def chromium(url, host, home, shot=None):
    rules = f"MAP {host} {LOOPBACK}, MAP * ~NOTFOUND"  # every other name fails without a DNS query
    with tempfile.TemporaryDirectory() as profile:
        args = [*DNS_GUARD, "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", f"--host-resolver-rules={rules}", "--dump-dom", url]
        if shot:
            args[-2:-2] = [f"--screenshot={shot}", "--window-size=1024,700"]
        proc = subprocess.run(args, capture_output=True, timeout=60, env=dict(os.environ, HOME=str(home)))
    return proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


@pytest.mark.skipif(not (have("chromium") and have("certutil")), reason="needs chromium and libnss3-tools")
def test_browser_shows_the_connection_for_each_name(serve, pki, tmp_path):
    s = serve(*cert_args(pki.multi))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    trusted = nss_home(tmp_path, "trusted", pki.ca)
    for host in (HOST, "www.example.com", "shop.bank32.com"):
        shot = ARTIFACTS / f"serve-{host}.png"
        shot.unlink(missing_ok=True)
        dom, err = chromium(f"https://{host}:{s.port}/", host, trusted, shot)
        assert f"Your TLS connection to {host}" in dom, err[-2000:]
        assert '<td id="tls_version"><code>TLSv1.3</code>' in dom
        assert f'<td id="sni"><code>{host}</code>' in dom and '<td id="alpn"><code>h2</code>' in dom
        assert re.search(r'<td id="cipher_suite"><code>TLS_\w+</code>', dom)
        assert "HeadlessChrome" in dom
        assert shot.stat().st_size > 10_000
    # Without the CA in its store the browser refuses, and shows no page.
    dom, err = chromium(f"https://{HOST}:{s.port}/", HOST, nss_home(tmp_path, "untrusted"))
    assert "ERR_CERT_AUTHORITY_INVALID" in err and "Your TLS connection" not in dom


def _sslv2_hello(version):
    """An SSLv2-format ClientHello (RFC 5246 appendix E.2), as some scanners still send."""
    specs = b"\x00\xc0\x2f\x00\xc0\x2b\x00\x00\x2f"  # ECDHE-RSA/ECDSA-AES128-GCM, AES128-SHA as SSLv2 specs
    body = b"\x01" + version + len(specs).to_bytes(2, "big") + b"\x00\x00\x00\x20" + specs + os.urandom(32)
    return (0x8000 | len(body)).to_bytes(2, "big") + body


def _answer(port, flight):
    with socket.create_connection((LOOPBACK, port), timeout=10) as c:
        c.sendall(flight)
        got = b""
        while len(got) < 7:
            data = c.recv(4096)
            if not data:
                break
            got += data
    return got[:1].hex() + (f" alert {got[6]}" if got[:1] == b"\x15" and len(got) >= 7 else "")


@pytest.mark.parametrize("version", [b"\x03\x03", b"\x03\x01"])
def test_sslv2_format_hello_gets_the_alert_s_server_sends(serve, pki, s_server, version):
    s = serve(*cert_args(pki.multi))
    # s_server at tlslab serve's minimum version, TLS 1.2.
    ref = s_server("-cert", pki.multi.cert, "-key", pki.multi.key, "-min_protocol", "TLSv1.2")
    expected = _answer(ref.port, _sslv2_hello(version))
    assert expected.startswith("15 alert"), expected
    assert _answer(s.port, _sslv2_hello(version)) == expected
    wait_for(lambda: "SSLv2-format ClientHello refused" in s.err(), what="the log line")


# ---------------------------------------------------------------------------------------------
# A port that is taken: SO_REUSEPORT (one listener per worker) must not let a second instance
# share it and split the connections.

@pytest.mark.parametrize("listen", ["127.0.0.1:{}", "0.0.0.0:{}"])
def test_second_instance_refuses_a_taken_port(tlslab, serve, pki, listen):
    s = serve(*cert_args(pki.multi))
    second = tlslab("serve", "--listen", listen.format(s.port), "--threads", "2", *cert_args(pki.renewed), timeout=10)
    assert second.returncode == 7, second.err
    assert f"address in use by pid {s.proc.pid} (tlslab serve)" in second.err
    assert "listening" not in second.err


def test_proxy_refuses_the_port_of_a_serve(tlslab, serve, pki):
    s = serve(*cert_args(pki.multi))
    proxy = tlslab("proxy", "--listen", f"{LOOPBACK}:{s.port}", "--ca", pki.dir / "ca", "--threads", "1",
                   timeout=10)
    assert proxy.returncode == 7, proxy.err
    assert f"cannot listen on {LOOPBACK}:{s.port}: address in use by pid {s.proc.pid} (tlslab serve)" in proxy.err


def test_threads_beyond_reason_is_a_usage_error(tlslab, pki):
    proc = tlslab("serve", "--threads", "100000", *cert_args(pki.multi), timeout=10)
    assert proc.returncode == 2 and "--threads 100000: at most 256" in proc.err
    assert "internal error" not in proc.err


def test_timeout_beyond_reason_is_a_usage_error(tlslab, pki):
    proc = tlslab("serve", "--handshake-timeout", "1e300", *cert_args(pki.multi), timeout=10)
    assert proc.returncode == 2 and "--handshake-timeout 1e+300: at most 604800 seconds" in proc.err
