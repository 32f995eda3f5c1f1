"""End-to-end tests of `tlslab proxy` on loopback: real upstreams (`tlslab serve`, nginx from a
private config, `openssl s_server`, and small Python servers for the misbehaving cases) with a
private upstream CA made by the openssl CLI; real clients (curl, `tlslab connect`, Python sockets,
headless Chromium through --mode explicit).

Every upstream name is mapped with --upstream-resolve NAME:127.0.0.1, every client name with
--resolve or --host-resolver-rules, and the proxy, curl and Chromium run inside conftest's DNS
guard (a resolv.conf naming only 127.0.0.1), so nothing can query a real resolver."""
import hashlib
import itertools
import json
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import urllib.parse

import pytest

from conftest import (DNS_GUARD, PROXY_READY, SERVE_READY, Pki, PyServer, announced_port, free_port, have, nss_home,
                      nss_trust, read_request, start_nginx, stop_process)

HOST = "www.bank32.com"
SANS = ("www.bank32.com", "bank32.com", "api.bank32.com")
LOOPBACK = "127.0.0.1"
BIG = 256 * 1024 * 1024


pytestmark = pytest.mark.usefixtures("dns_on_loopback")  # conftest's DNS guard for every test here


# ---------------------------------------------------------------------------------------------
# Certificates: the real servers' private CA (openssl CLI) and the proxy's CA (tlslab ca).

@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("upstream-pki"))
    p.cert("root", "Upstream Test Root", ca=True, days=365)
    p.cert("leaf", HOST, issuer="root", sans=SANS)
    p.cert("rsa", "rsa.bank32.com", issuer="root", sans=("rsa.bank32.com",), key_kind="rsa-2048")
    p.cert("renewed", HOST, issuer="root", sans=(HOST, "new.bank32.com"))
    p.cert("other_root", "Someone Else", ca=True, days=365)
    p.cert("stranger", HOST, issuer="other_root", sans=(HOST,))
    p.cert("wild", "bank32.com", issuer="root", sans=("bank32.com", "*.bank32.com"))
    p.chain("leaf_chain", "leaf", "root")
    # An all-RSA upstream, as the servers a client offering only RSA schemes reaches.
    p.cert("rsa_root", "Upstream RSA Root", ca=True, days=365, key_kind="rsa-2048")
    p.cert("all_rsa", "rsa.bank32.com", issuer="rsa_root", sans=("rsa.bank32.com",), key_kind="rsa-2048")
    return p


def pem(certs, name):
    return str(certs.dir / f"{name}.pem")


def key(certs, name):
    return str(certs.dir / f"{name}.key")


@pytest.fixture(scope="module")
def pca(tlslab, tmp_path_factory):
    """The proxy's CA folder."""
    folder = tmp_path_factory.mktemp("proxy-ca") / "ca"
    tlslab("ca", "init", "--dir", folder, "--name", "tlslab proxy test CA", check=0)
    return folder


# ---------------------------------------------------------------------------------------------
# Long-running processes: upstreams and the proxy.

class Proc:
    """A long-running peer started on port 0; ready(self) waits until it listens and returns its port
    (announced_port on what it prints, or wait_listening)."""

    def __init__(self, cmd, log_dir, name, ready, cwd=None):
        self.out_path = log_dir / f"{name}-{next(Proc.started)}.out"
        self.err_path = self.out_path.with_suffix(".err")
        self.proc = subprocess.Popen(cmd, stdout=open(self.out_path, "wb"), stderr=open(self.err_path, "wb"),
                                     stdin=subprocess.DEVNULL, cwd=cwd, env={**os.environ, "NO_COLOR": "1"})
        try:
            self.port = ready(self)
        except RuntimeError as e:
            self.stop(signal.SIGKILL)
            raise RuntimeError(f"{name}: {e}\n{self.err()[-4000:]}") from None

    started = itertools.count()

    def out(self):
        return self.out_path.read_text(errors="replace")

    def err(self):
        return self.err_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGINT, timeout=15):
        return stop_process(self.proc, sig, timeout)

    def wait_for(self, text, timeout=5.0):
        """Waits until text appears in the output (log lines are written as things happen)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.out() + self.err():
                return True
            time.sleep(0.05)
        return False


@pytest.fixture
def procs(tmp_path):
    started = []

    def start(cmd, name, ready, cwd=None):
        p = Proc(cmd, tmp_path, name, ready, cwd)
        started.append(p)
        return p

    yield start
    for p in reversed(started):
        p.stop(signal.SIGTERM, timeout=5)
    # Built with sanitizers (the asan preset), a report at run time or exit is a failure.
    for p in started:
        for word in ("Sanitizer", "runtime error:"):
            assert word not in p.err(), f"{p.err_path}:\n{p.err()[-4000:]}"


@pytest.fixture
def proxy(tlslab, pca, certs, procs):
    """Starts `tlslab proxy` (inside the DNS guard) with the given arguments on a port the kernel
    chooses (the first --listen; p.port is the port it announces)."""

    def start(*args, mode="sni", ca=True):
        cmd = [*DNS_GUARD, tlslab.path, "proxy", "--mode", mode, "--listen", f"{LOOPBACK}:0", "--threads", "2",
               *(["--ca", str(pca)] if ca else []), *map(str, args)]
        return procs(cmd, "proxy", lambda p: announced_port(p.err, PROXY_READY, p.proc))

    return start


@pytest.fixture
def serve(tlslab, certs, procs):
    """`tlslab serve` presenting the multi-name upstream certificate (extra arguments: --echo, --root),
    an HTTP/1.1 server (serve offers h2 first otherwise; the HTTP/2 upstreams are test_proxy_h2.py's)."""

    def start(*args, cert="leaf", port=0):
        alpn = [] if "--alpn" in map(str, args) else ["--alpn", "http/1.1"]
        cmd = [tlslab.path, "serve", "--listen", f"{LOOPBACK}:{port}", "--cert", pem(certs, cert), "--key",
               key(certs, cert), "--threads", "1", *alpn, *map(str, args)]
        return procs(cmd, "serve", lambda p: announced_port(p.err, SERVE_READY, p.proc))

    return start


@pytest.fixture(scope="module")
def nginx(certs, tmp_path_factory):
    """nginx from a private config: a TLS listener, an HTTP/2 one and a plain one over one root
    that holds index.html and a 256 MB random file (with its SHA-256)."""
    if not have("nginx"):
        pytest.skip("nginx not installed (scripts/install-deps --test)")  # before the 256 MB file
    prefix = tmp_path_factory.mktemp("nginx")
    root = prefix / "root"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>bank32</title><h1>Welcome to bank32</h1>\n")
    digest = hashlib.sha256()
    with open(root / "big.bin", "wb") as f:
        chunk = os.urandom(1024 * 1024)
        for i in range(BIG // len(chunk)):
            block = chunk[:-4] + i.to_bytes(4, "big")  # every MiB differs
            f.write(block)
            digest.update(block)
    proc, ports = start_nginx(prefix, pem(certs, "leaf_chain"), key(certs, "leaf"),
                              {"tls": "ssl", "h2": "ssl http2", "plain": ""},
                              http="""    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 100000;
    ssl_session_tickets on;
    ssl_session_cache shared:SSL:1m;""",
                              server=f"""        root {root};
        location / {{ }}
        location = /login {{ return 200 "welcome\\n"; }}""")
    yield {**ports, "big_sha256": digest.hexdigest(), "root": root}
    proc.terminate()
    proc.wait(timeout=10)


def curl(*args, timeout=60):
    return subprocess.run([*DNS_GUARD, "curl", "-sS", "--max-time", str(timeout - 5), *map(str, args)],
                          capture_output=True, timeout=timeout)


def via_sni(proxy_port, path="/", host=HOST):
    """curl arguments reaching https://HOST:PORT/path through an sni-mode proxy on PORT."""
    return ["--resolve", f"{host}:{proxy_port}:{LOOPBACK}", f"https://{host}:{proxy_port}{path}"]


def sni_proxy(proxy, certs, upstream_port, *args, host=HOST):
    return proxy("--upstream-resolve", f"{host}:{LOOPBACK}", "--upstream-port", upstream_port,
                 "--upstream-cacert", pem(certs, "root"), *args)


# ---------------------------------------------------------------------------------------------
# Modes, with curl.

def test_sni_mode_dump_shows_the_password_and_both_legs(proxy, serve, certs, pca):
    up = serve("--echo")
    p = sni_proxy(proxy, certs, up.port, "--dump")
    r = curl("--cacert", pca / "ca.pem", "-d", "username=alice&password=s3cret", *via_sni(p.port, "/login"))
    assert r.returncode == 0, r.stderr
    assert b"username=alice&password=s3cret" in r.stdout  # the echo server saw the body unchanged
    assert p.wait_for("!! form field password = s3cret"), p.out()
    out = p.out()
    assert f'"POST https://{HOST}:{p.port}/login" 200' in out
    assert "client TLSv1.3 h2, server TLSv1.3 http/1.1" in out  # curl's h2, translated for the HTTP/1.1 server
    # --dump includes the forgery: real and forged certificate side by side.
    assert "real (from the server)" in out and "forged (sent to the client)" in out
    # A second connection resumes the upstream session and reuses the forged certificate.
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/again"))
    assert r.returncode == 0, r.stderr
    assert p.wait_for("server TLSv1.3 http/1.1, resumed"), p.out()
    p.stop()
    assert "forged 1 certificate" in p.err() and "1 cache hit" in p.err()


def test_redact_masks_the_password(proxy, serve, certs, pca):
    up = serve("--echo")
    p = sni_proxy(proxy, certs, up.port, "--dump", "--redact")
    r = curl("--cacert", pca / "ca.pem", "-d", "username=alice&password=s3cret", *via_sni(p.port, "/login"))
    assert r.returncode == 0, r.stderr
    assert p.wait_for("!! form field password = ********"), p.out()
    assert "s3cret" not in p.out()


def connect_json(tlslab, port, pca, host=HOST):
    proc = tlslab("connect", f"{host}:{port}", "--resolve", f"{host}:{port}:{LOOPBACK}", "--cacert",
                  pca / "ca.pem", "--json", timeout=30)
    assert proc.returncode == 0, proc.out + proc.err
    return json.loads(proc.out)


def test_forged_certificate_mirrors_names_and_key_type(tlslab, proxy, serve, certs, pca):
    up = serve()
    rsa_up = serve(cert="rsa")
    p = sni_proxy(proxy, certs, up.port, "--upstream-resolve", f"rsa.bank32.com:{LOOPBACK}")
    report = connect_json(tlslab, p.port, pca)
    leaf = report["peer_chain"][0]
    names = [n["value"] for n in leaf["subject_alt_names"]]
    assert names == list(SANS), names  # the real certificate's names, in order, no duplicates
    assert leaf["key_type"] == "EC"
    assert "tlslab proxy test CA" in leaf["issuer"]
    assert report["verification"]["ok"] and report["tls"]["version"] == "TLSv1.3"
    p.stop()
    # An RSA upstream gets an RSA forgery (the proxy's port is the same for every name: sni mode).
    p = proxy("--upstream-resolve", f"rsa.bank32.com:{LOOPBACK}", "--upstream-port", rsa_up.port,
              "--upstream-cacert", pem(certs, "root"))
    leaf = connect_json(tlslab, p.port, pca, host="rsa.bank32.com")["peer_chain"][0]
    assert leaf["key_type"] == "RSA" and [n["value"] for n in leaf["subject_alt_names"]] == ["rsa.bank32.com"]


def test_a_changed_upstream_certificate_is_noticed(tlslab, proxy, serve, certs, pca):
    """A second connection to a host runs the client's handshake beside the server's, with last
    time's forgery. When the server has changed its certificate meanwhile, that connection is
    closed before anything is relayed, and the next one gets the new names."""
    up = serve()
    p = sni_proxy(proxy, certs, up.port)
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/"))
    assert r.returncode == 0, r.stderr
    up.stop(signal.SIGTERM)
    serve(cert="renewed", port=up.port)
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/"))
    assert r.returncode != 0
    assert p.wait_for("changed its certificate or protocol since the last connection"), p.err()
    names = [n["value"] for n in connect_json(tlslab, p.port, pca)["peer_chain"][0]["subject_alt_names"]]
    assert names == [HOST, "new.bank32.com"]


def test_clients_with_and_without_alpn_alternate(tlslab, proxy, serve, certs, pca):
    """The parallel handshake of a second connection is only tried when the client offers the
    protocol the resumed session has: tlslab connect offers no ALPN, curl offers h2 and http/1.1,
    and alternating them loses no connection."""
    up = serve()
    p = sni_proxy(proxy, certs, up.port)
    for _ in range(2):
        assert connect_json(tlslab, p.port, pca)["verification"]["ok"]
        for _ in range(2):
            r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/"))
            assert r.returncode == 0, r.stderr
    assert "changed its certificate" not in p.err(), p.err()


def serial_seen(tlslab, port, ca_file, host=HOST):
    """The serial number of the certificate a client gets from the proxy (tlslab connect verifies it)."""
    proc = tlslab("connect", f"{host}:{port}", "--resolve", f"{host}:{port}:{LOOPBACK}", "--cacert", ca_file,
                  "--json", timeout=30)
    assert proc.returncode == 0, proc.out + proc.err
    return json.loads(proc.out)["peer_chain"][0]["serial"]


def test_wildcard_hosts_share_one_forgery(tlslab, proxy, serve, certs, pca):
    """Behind a real *.bank32.com, a.bank32.com and b.bank32.com get the same forged certificate:
    the requested name is not added when the real certificate's wildcard covers it."""
    up = serve(cert="wild")
    p = proxy("--upstream-resolve", f"a.bank32.com:{LOOPBACK}", "--upstream-resolve", f"b.bank32.com:{LOOPBACK}",
              "--upstream-port", up.port, "--upstream-cacert", pem(certs, "root"))
    a = connect_json(tlslab, p.port, pca, host="a.bank32.com")["peer_chain"][0]
    b = connect_json(tlslab, p.port, pca, host="b.bank32.com")["peer_chain"][0]
    assert [n["value"] for n in a["subject_alt_names"]] == ["bank32.com", "*.bank32.com"]
    assert a["serial"] == b["serial"]
    p.stop()
    assert "forged 1 certificate" in p.err() and "1 cache hit" in p.err(), p.err()


def test_upstream_resolve_wildcard_and_curls_form(tlslab, proxy, serve, certs, pca):
    """--upstream-resolve '*.bank32.com:ADDR' maps every name under bank32.com; curl's
    NAME:PORT:ADDR form maps only connections to that port."""
    up = serve(cert="wild")
    p = proxy("--upstream-resolve", f"*.bank32.com:{up.port}:{LOOPBACK}", "--upstream-port", up.port,
              "--upstream-cacert", pem(certs, "root"))
    assert connect_json(tlslab, p.port, pca, host="a.bank32.com")["verification"]["ok"] is True
    # Any depth: the name reaches the mapped server (whose *.bank32.com does not cover it).
    tlslab("connect", f"deep.b.bank32.com:{p.port}", "--resolve", f"deep.b.bank32.com:{p.port}:{LOOPBACK}",
           "--cacert", pca / "ca.pem", check=None)
    assert p.wait_for(f"the real server deep.b.bank32.com ({LOOPBACK}:{up.port})"), p.err()
    other = proxy("--upstream-resolve", f"*.bank32.com:{up.port + 1}:{LOOPBACK}", "--upstream-port", up.port,
                  "--upstream-cacert", pem(certs, "root"))
    tlslab("connect", f"a.bank32.com:{other.port}", "--resolve", f"a.bank32.com:{other.port}:{LOOPBACK}",
           "--cacert", pca / "ca.pem", check=None)
    assert other.wait_for("cannot resolve a.bank32.com"), other.err()


def test_upstream_resolve_explains_its_forms(tlslab):
    proc = tlslab("proxy", "--upstream-resolve", "www.bank32.com", check=2)
    assert "NAME:PORT:ADDR as curl's --resolve" in proc.err
    proc = tlslab("proxy", "--upstream-resolve", "www.*.com:127.0.0.1", check=2)
    assert "a wildcard is *.DOMAIN" in proc.err


def test_cert_cache_dir_serves_the_same_certificate_after_a_restart(tlslab, proxy, serve, certs, pca, tmp_path):
    up = serve()
    cache = tmp_path / "forged"
    p = sni_proxy(proxy, certs, up.port, "--cert-cache", cache)
    for _ in range(2):
        r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/"))
        assert r.returncode == 0, r.stderr
    assert p.wait_for(f"{HOST} forged certificate minted in "), p.out()
    p.stop()
    minted = [line for line in p.out().splitlines() if " forged certificate " in line]
    assert len(minted) == 1, minted  # the second connection was served from memory
    serial = minted[0].rsplit("(serial ", 1)[1].rstrip(")")
    assert "forged 1 certificate" in p.err() and "loaded 0 from" in p.err() and "1 cache hit" in p.err(), p.err()
    assert cache.stat().st_mode & 0o777 == 0o700
    assert (cache / "ec-key.pem").stat().st_mode & 0o777 == 0o600
    stored = [f for f in cache.iterdir() if f.name != "ec-key.pem"]
    assert len(stored) == 1 and stored[0].suffix == ".pem", stored
    # openssl agrees the stored certificate is the proxy CA's and certifies the stored key.
    check = subprocess.run(["openssl", "verify", "-CAfile", pca / "ca.pem", stored[0]], capture_output=True)
    assert check.returncode == 0, check.stderr
    pub = [subprocess.run(["openssl", *args], capture_output=True, check=True).stdout
           for args in (["x509", "-noout", "-pubkey", "-in", stored[0]],
                        ["pkey", "-pubout", "-in", cache / "ec-key.pem"])]
    assert pub[0] == pub[1]

    # A new run on the same folder mints nothing: the client gets the very same certificate.
    p = sni_proxy(proxy, certs, up.port, "--cert-cache", cache, "--show-forgery")
    assert serial_seen(tlslab, p.port, pca / "ca.pem") == serial
    assert p.wait_for(f"{HOST} forged certificate loaded from {stored[0]} in "), p.out()
    assert f"(serial {serial})" in p.out()
    assert f"Forged certificate for {HOST} (loaded from {stored[0]} in " in p.out()
    assert serial_seen(tlslab, p.port, pca / "ca.pem") == serial
    p.stop()
    assert "minted" not in p.out()
    assert "forged 0 certificates" in p.err() and "loaded 1 from" in p.err() and "1 cache hit" in p.err(), p.err()


def test_cert_cache_dir_gives_no_stale_forgeries_to_a_new_ca(tlslab, proxy, serve, certs, pca, tmp_path):
    """The CA is made again (same name, new key): certificates stored for the old one are minted
    again, and clients trusting the new CA accept what they get."""
    up = serve()
    cache = tmp_path / "forged"
    p = sni_proxy(proxy, certs, up.port, "--cert-cache", cache)
    old = serial_seen(tlslab, p.port, pca / "ca.pem")
    p.stop()
    new_ca = tmp_path / "new-ca"
    tlslab("ca", "init", "--dir", new_ca, "--name", "tlslab proxy test CA", check=0)
    p = proxy("--ca", new_ca, "--upstream-resolve", f"{HOST}:{LOOPBACK}", "--upstream-port", up.port,
              "--upstream-cacert", pem(certs, "root"), "--cert-cache", cache, ca=False)
    assert serial_seen(tlslab, p.port, new_ca / "ca.pem") != old
    assert p.wait_for("was the CA made again?"), p.err()
    assert "ignoring " in p.err() and "minting a new one" in p.err()
    assert p.wait_for(f"{HOST} forged certificate minted in "), p.out()
    # A corrupt file is no worse: noted, minted again, served.
    p.stop()
    for f in cache.iterdir():
        if f.name != "ec-key.pem":
            f.write_text("garbage\n")
    p = proxy("--ca", new_ca, "--upstream-resolve", f"{HOST}:{LOOPBACK}", "--upstream-port", up.port,
              "--upstream-cacert", pem(certs, "root"), "--cert-cache", cache, ca=False)
    serial_seen(tlslab, p.port, new_ca / "ca.pem")
    assert p.wait_for("not a certificate"), p.err()


def test_cert_cache_dir_that_cannot_be_used_is_a_clear_error(tlslab, pca, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for bad in (blocker, blocker / "sub"):
        r = tlslab("proxy", "--listen", f"{LOOPBACK}:0", "--ca", pca, "--cert-cache", bad, timeout=15)
        assert r.returncode == 23, r.out + r.err  # could not write an output file
        assert f"--cert-cache {bad}: cannot keep forged certificates there" in r.err
    assert "it exists and is not a directory" in tlslab("proxy", "--listen", f"{LOOPBACK}:0", "--ca", pca,
                                                        "--cert-cache", blocker, timeout=15).err
    # The in-memory size moved to --cert-cache-size: a bare number is refused with the way out.
    r = tlslab("proxy", "--listen", f"{LOOPBACK}:0", "--ca", pca, "--cert-cache", "1000", timeout=15)
    assert r.returncode == 2 and "--cert-cache-size N" in r.err, r.err


def test_explicit_mode_connect_and_plain_http(proxy, nginx, certs, pca):
    p = proxy("--upstream-resolve", f"{HOST}:{LOOPBACK}", "--upstream-cacert", pem(certs, "root"), mode="explicit")
    r = curl("--cacert", pca / "ca.pem", "-x", f"http://{LOOPBACK}:{p.port}", f"https://{HOST}:{nginx['tls']}/")
    assert r.returncode == 0, r.stderr
    assert b"Welcome to bank32" in r.stdout
    r = curl("-x", f"http://{LOOPBACK}:{p.port}", f"http://{HOST}:{nginx['plain']}/index.html")
    assert r.returncode == 0 and b"Welcome to bank32" in r.stdout, r.stderr
    assert p.wait_for(f'"GET http://{HOST}:{nginx["plain"]}/index.html" 200'), p.out()
    assert f'"GET https://{HOST}:{nginx["tls"]}/" 200' in p.out()


def test_reverse_mode_to_s_server(proxy, s_server, certs, pca):
    up = s_server("-cert", pem(certs, "leaf"), "-key", key(certs, "leaf"), "-CAfile", pem(certs, "root"))
    p = proxy("--upstream", f"{HOST}:{up.port}", "--upstream-resolve", f"{HOST}:{LOOPBACK}", "--upstream-cacert",
              pem(certs, "root"), mode="reverse")
    # Any name the client uses reaches the one upstream; the forgery carries the upstream's names.
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/"))
    assert r.returncode == 0, r.stderr
    assert b"s_server" in r.stdout  # s_server -www's status page


def test_pass_relays_untouched(proxy, serve, certs, pca):
    up = serve()
    p = sni_proxy(proxy, certs, up.port, "--pass", "*.bank32.com")
    # The client sees the real certificate: it verifies with the upstream CA, not the proxy's.
    r = curl("--cacert", pem(certs, "root"), *via_sni(p.port, "/"))
    assert r.returncode == 0, r.stderr
    assert p.wait_for("passed through untouched (--pass)"), p.out()


def test_keylog_holds_both_legs(proxy, serve, certs, pca, tmp_path):
    up = serve()
    keylog = tmp_path / "keys.log"
    p = sni_proxy(proxy, certs, up.port, "--keylog", keylog)
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/"))
    assert r.returncode == 0, r.stderr
    p.stop()
    lines = keylog.read_text().splitlines()
    assert sum(line.startswith("CLIENT_TRAFFIC_SECRET_0 ") for line in lines) == 2, lines


# ---------------------------------------------------------------------------------------------
# Bulk data and the HAR file.

def test_256_mb_download_is_byte_exact(proxy, nginx, certs, pca, tmp_path):
    p = sni_proxy(proxy, certs, nginx["tls"])
    out = tmp_path / "big.bin"
    started = time.monotonic()
    r = curl("--cacert", pca / "ca.pem", "-o", out, *via_sni(p.port, "/big.bin"), timeout=100)
    elapsed = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    digest = hashlib.sha256()
    with open(out, "rb") as f:
        while block := f.read(4 * 1024 * 1024):
            digest.update(block)
    out.unlink()
    assert digest.hexdigest() == nginx["big_sha256"]
    assert p.wait_for(f"up 0 B, down {BIG} B"), p.out()
    print(f"256 MB through the proxy in {elapsed:.1f} s ({BIG / elapsed / 1e6:.0f} MB/s)")


def test_har_written_at_sigint(proxy, serve, certs, pca, tmp_path):
    up = serve("--echo")
    har = tmp_path / "flows.har"
    p = sni_proxy(proxy, certs, up.port, "--har", har)
    r = curl("--cacert", pca / "ca.pem", "-d", "username=alice&password=s3cret", *via_sni(p.port, "/login"))
    assert r.returncode == 0, r.stderr
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/page?x=1"))
    assert r.returncode == 0, r.stderr
    assert p.stop(signal.SIGINT) == 0
    doc = json.loads(har.read_text())
    assert doc["log"]["version"] == "1.2" and doc["log"]["creator"]["name"] == "tlslab"
    entries = doc["log"]["entries"]
    assert [e["request"]["method"] for e in entries] == ["POST", "GET"]
    post, get = entries
    assert post["request"]["url"] == f"https://{HOST}:{p.port}/login"
    assert post["request"]["postData"]["text"] == "username=alice&password=s3cret"
    assert post["response"]["status"] == 200 and post["response"]["bodySize"] > 0
    assert get["request"]["queryString"] == [{"name": "x", "value": "1"}]
    for e in entries:
        assert e["time"] >= 0 and e["startedDateTime"].endswith("Z") and "timings" in e
    assert "wrote 2 exchanges" in p.err()


# ---------------------------------------------------------------------------------------------
# Secrets in every spelling, the HAR file on disk while the proxy runs, requests with no answer.

PASSWORD = 'p@ss%21"wörd'  # a '%' that looks like an escape, a quote, a non-ASCII letter


def spellings(secret):
    """The ways a secret may be written: as is, percent-encoded (either case, '+' for a space),
    JSON-escaped (with and without \\u escapes)."""
    pct = urllib.parse.quote(secret, safe="")
    return {secret, pct, pct.lower(), urllib.parse.quote_plus(secret), json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1]}


def post_secrets(p, pca):
    """A form POST, a JSON POST and a query string through the proxy, each carrying PASSWORD."""
    quoted = urllib.parse.quote(PASSWORD, safe="")
    r = curl("--cacert", pca / "ca.pem", "-d", "username=alice", "--data-urlencode", f"password={PASSWORD}",
             *via_sni(p.port, "/login"))
    assert r.returncode == 0, r.stderr
    assert f"password={quoted}".encode() in r.stdout  # the echo server saw the body unchanged
    body = json.dumps({"user": {"name": "alice", "password": PASSWORD}})  # "p@ss%21\"w\u00f6rd"
    r = curl("--cacert", pca / "ca.pem", "-H", "Content-Type: application/json", "--data-binary", body,
             *via_sni(p.port, "/api/login"))
    assert r.returncode == 0, r.stderr
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, f"/search?q=x&password={quoted}"))
    assert r.returncode == 0, r.stderr
    assert p.wait_for("/search?q=x&password="), p.out()


def test_redact_masks_the_password_in_every_spelling(proxy, serve, certs, pca, tmp_path):
    up = serve("--echo")
    har = tmp_path / "flows.har"
    p = sni_proxy(proxy, certs, up.port, "--dump", "--redact", "--har", har)
    post_secrets(p, pca)
    assert p.stop(signal.SIGINT) == 0
    out, har_text = p.out(), har.read_text()
    for where, text in (("stdout", out), ("HAR", har_text)):
        for spelling in spellings(PASSWORD):
            assert spelling not in text, f"{spelling!r} in the {where}"
    for spotlight in ("!! form field password = ********", "!! JSON field password = ********",
                      "!! query password = ********"):
        assert spotlight in out, out
    assert f'"GET https://{HOST}:{p.port}/search?q=x&password=********"' in out
    entries = json.loads(har_text)["log"]["entries"]
    assert [e["request"]["method"] for e in entries] == ["POST", "POST", "GET"]
    form, api, search = entries
    assert form["request"]["postData"]["text"] == "username=alice&password=********"
    assert json.loads(api["request"]["postData"]["text"]) == {"user": {"name": "alice", "password": "********"}}
    assert {"name": "password", "value": "********"} in search["request"]["queryString"]


def test_dump_without_redact_shows_the_decoded_password(proxy, serve, certs, pca):
    up = serve("--echo")
    p = sni_proxy(proxy, certs, up.port, "--dump")
    post_secrets(p, pca)
    out = p.out()
    for where in ("form field", "JSON field", "query"):
        assert f"!! {where} password = {PASSWORD}" in out, out


def har_entries(path):
    """The entries of the HAR file at path, None while it is missing or not valid JSON."""
    try:
        return json.loads(path.read_text())["log"]["entries"]
    except (OSError, ValueError):
        return None


def test_har_file_survives_kill_9(proxy, serve, certs, pca, tmp_path):
    up = serve("--echo")
    har = tmp_path / "flows.har"
    p = sni_proxy(proxy, certs, up.port, "--har", har)
    assert har_entries(har) == [], "an empty HAR is written before the proxy listens"
    assert os.stat(har).st_mode & 0o777 == 0o600
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/page?x=1"))
    assert r.returncode == 0, r.stderr
    deadline = time.monotonic() + 5
    while not har_entries(har) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert p.stop(signal.SIGKILL) == -signal.SIGKILL
    entries = har_entries(har)
    assert entries and len(entries) == 1, har.read_text()
    assert entries[0]["request"]["url"] == f"https://{HOST}:{p.port}/page?x=1"
    assert entries[0]["response"]["status"] == 200
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".flows.har")] == []  # no temporary file


def test_har_path_is_checked_before_listening(tlslab, pca, tmp_path):
    def start(*args):
        r = tlslab("proxy", "--listen", f"{LOOPBACK}:0", "--ca", pca, *args, timeout=15)
        assert "mode on" not in r.err, "it listened: " + r.err
        return r

    missing = tmp_path / "missing" / "f.har"
    for bad, why in ((missing, f"the folder {missing.parent} does not exist"), (tmp_path, "it is a directory")):
        r = start("--har", bad)
        assert r.returncode == 23, r.out + r.err  # could not write an output file
        assert f"--har {bad}: cannot write the HAR file there: {why}" in r.err, r.err
    notes = tmp_path / "notes.txt"
    notes.write_text("not a HAR\n")
    r = start("--har", notes)
    assert r.returncode == 73, r.out + r.err  # refusing to overwrite
    assert f"--har {notes}: the file exists and is not a HAR" in r.err and "--force" in r.err, r.err
    assert notes.read_text() == "not a HAR\n"
    assert start("--force").returncode == 2  # --force alone replaces nothing


def test_har_force_replaces_a_file_that_is_not_a_har(proxy, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a HAR\n")
    p = proxy("--upstream-resolve", f"{HOST}:{LOOPBACK}", "--har", notes, "--force")
    assert har_entries(notes) == []
    assert p.stop(signal.SIGINT) == 0


@pytest.mark.parametrize("version", ["--http1.1", "--http2"])
def test_a_request_with_no_answer_is_logged_as_such(proxy, py_server, certs, pca, version):
    """Over HTTP/1.1 the client sees the connection end; over HTTP/2 the proxy answers the stream
    with a 502 (the connection to the client goes on). Either way the flow is 'no response'."""
    def read_and_close(conn):
        read_request(conn)  # and no answer

    up = py_server(read_and_close)
    p = sni_proxy(proxy, certs, up.port, "--dump")
    r = curl(version, "--cacert", pca / "ca.pem", "-w", "%{http_code}", "-d", "username=alice",
             *via_sni(p.port, "/login"))
    if version == "--http1.1":
        assert r.returncode != 0
    else:
        assert r.returncode == 0 and r.stdout.endswith(b"502"), r.stdout
        assert b"the server closed the connection before responding" in r.stdout
    assert p.wait_for("no response"), p.out()
    line = next(l for l in p.out().splitlines() if "no response" in l)
    assert f'"POST https://{HOST}:{p.port}/login" no response (' in line, line
    assert "before a response" in line or "before responding" in line, line
    assert re.search(r"-\d", line) is None, line  # no negative time
    assert " 200 " not in line and "first byte" not in line, line
    assert "< (no response)" in p.out() and "< HTTP/1.1 0" not in p.out()


# ---------------------------------------------------------------------------------------------
# Refusals: a bad upstream certificate, a loop.

def test_bad_upstream_certificate_gives_a_502_page_in_explicit_mode(proxy, serve, certs, pca):
    up = serve(cert="stranger")
    p = proxy("--upstream-resolve", f"{HOST}:{LOOPBACK}", "--upstream-cacert", pem(certs, "root"), mode="explicit")
    r = curl("--cacert", pca / "ca.pem", "-w", "%{http_code}", "-x", f"http://{LOOPBACK}:{p.port}",
             f"https://{HOST}:{up.port}/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(b"502") and b"<h1>502 Bad Gateway</h1>" in r.stdout
    assert b"did not verify" in r.stdout and b"Someone Else" in r.stdout
    assert p.wait_for("failed verification"), p.err()
    assert "refusing to intercept" in p.err()


def test_bad_upstream_certificate_gives_an_alert_in_sni_mode(proxy, serve, certs, pca):
    up = serve(cert="stranger")
    p = sni_proxy(proxy, certs, up.port)
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/"))
    assert r.returncode == 35, r.stderr  # curl: TLS handshake failed
    assert b"handshake failure" in r.stderr
    assert p.wait_for("failed verification"), p.err()
    # --upstream-insecure goes on anyway.
    p2 = sni_proxy(proxy, certs, up.port, "--upstream-insecure")
    r = curl("--cacert", pca / "ca.pem", *via_sni(p2.port, "/"))
    assert r.returncode == 0, r.stderr


def test_loop_is_refused(proxy, pca):
    """The proxy listens on a second port and is told the real server is there: a loop. That port
    is given before the proxy starts, so it cannot be the kernel's choice (port 0)."""
    own = free_port()
    p = proxy("--listen", f"{LOOPBACK}:{own}", "--upstream-resolve", f"{HOST}:{LOOPBACK}", "--upstream-port", own)
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/"))
    assert r.returncode == 35, r.stderr  # a handshake_failure alert
    assert p.wait_for("which is this proxy itself: refusing the loop"), p.err()


class DnsResponder:
    """A DNS server on 127.0.0.1 (UDP) that knows one name: A 127.0.0.1, no AAAA; NXDOMAIN else."""

    def __init__(self, name):
        self.name, self.asked = name, []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((LOOPBACK, 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        while True:
            try:
                query, peer = self.sock.recvfrom(512)
            except OSError:
                return
            labels, i = [], 12
            while query[i]:
                labels.append(query[i + 1:i + 1 + query[i]].decode())
                i += 1 + query[i]
            qtype = int.from_bytes(query[i + 1:i + 3], "big")
            name = ".".join(labels)
            self.asked.append((name, qtype))
            question = query[12:i + 5]
            known = name == self.name
            answers = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01" if known and qtype == 1 else b""
            flags = 0x8180 if known else 0x8183
            header = query[:2] + flags.to_bytes(2, "big") + b"\x00\x01" + (1 if answers else 0).to_bytes(2, "big")
            self.sock.sendto(header + b"\x00\x00\x00\x00" + question + answers, peer)

    def close(self):
        self.sock.close()


def test_dns_option_asks_the_given_server(proxy, serve, certs, pca):
    """--dns: the real server's address comes from a DNS server of our choice (a responder on
    loopback here), not from /etc/hosts or the system resolver."""
    up = serve()
    dns = DnsResponder(HOST)
    try:
        p = proxy("--dns", f"{LOOPBACK}:{dns.port}", "--upstream-port", up.port, "--upstream-cacert",
                  pem(certs, "root"))
        r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/"))
        assert r.returncode == 0, r.stderr
        assert (HOST, 1) in dns.asked and (HOST, 28) in dns.asked
        r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/", host="nowhere.bank32.com"))
        assert r.returncode == 35, r.stderr
        assert p.wait_for(f"cannot resolve nowhere.bank32.com with the DNS server {LOOPBACK}:{dns.port}: "
                          "no such name (NXDOMAIN)"), p.err()
    finally:
        dns.close()


# ---------------------------------------------------------------------------------------------
# Misbehaving peers (small Python servers and clients).

@pytest.fixture
def py_server(certs):
    servers = []

    def start(handler, tls=True):
        context = None
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pem(certs, "leaf"), key(certs, "leaf"))
            context.set_alpn_protocols(["http/1.1"])
        server = PyServer(handler, context)
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.close()


@pytest.mark.parametrize("version", ["--http1.1", "--http2"])
def test_upstream_closing_mid_body(proxy, py_server, certs, pca, version):
    """The server cuts its response: the client sees the cut (over HTTP/2 the proxy resets the
    stream), and the flow says it was cut short and why."""
    def cut(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 5000)
        conn.shutdown(socket.SHUT_RDWR)  # a cut: no close_notify

    up = py_server(cut)
    p = sni_proxy(proxy, certs, up.port)
    r = curl(version, "--cacert", pca / "ca.pem", *via_sni(p.port, "/cut"))
    assert r.returncode in (18, 56, 92), r.stderr  # partial file / receive failure / HTTP/2 stream error
    assert p.wait_for("down 5000 B"), p.out()
    if version == "--http1.1":
        assert "(cut short: the connection ended before the response was complete)" in p.out()
    else:
        assert "(cut short: " in p.out(), p.out()


def tls_client(pca, port, host=HOST):
    ctx = ssl.create_default_context(cafile=str(pca / "ca.pem"))
    ctx.set_alpn_protocols(["http/1.1"])
    raw = socket.create_connection((LOOPBACK, port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=host)


def test_websocket_is_relayed(proxy, py_server, certs, pca):
    def ws_echo(conn):
        head = read_request(conn)
        assert b"Upgrade: websocket" in head
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
        while data := conn.recv(65536):
            conn.sendall(data)

    up = py_server(ws_echo)
    p = sni_proxy(proxy, certs, up.port)
    with tls_client(pca, p.port) as c:
        c.sendall(b"GET /chat HTTP/1.1\r\nHost: www.bank32.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        assert read_request(c).startswith(b"HTTP/1.1 101")
        frame = bytes([0x81, 0x85, 1, 2, 3, 4]) + bytes(b ^ m for b, m in zip(b"hello", b"\x01\x02\x03\x04\x01"))
        for _ in range(3):  # frames go both ways, byte for byte, after the upgrade
            c.sendall(frame)
            got = b""
            while len(got) < len(frame):
                got += c.recv(65536)
            assert got == frame
    assert p.wait_for('"GET https://www.bank32.com'), p.out()
    assert " 101 " in p.out()


def test_half_close_on_a_raw_tunnel(proxy, py_server):
    """Explicit mode CONNECT to a --pass host: a raw relay. The client half-closes; the upstream
    reads to its end, then still answers; the client reads the answer, then the end."""
    def echo_then_bye(conn):
        received = b""
        while data := conn.recv(65536):
            received += data
        conn.sendall(b"got %d bytes; bye" % len(received))
        conn.shutdown(socket.SHUT_WR)

    up = py_server(echo_then_bye, tls=False)
    p = proxy("--upstream-resolve", f"raw.bank32.com:{LOOPBACK}", "--pass", "raw.bank32.com", mode="explicit")
    with socket.create_connection((LOOPBACK, p.port), timeout=10) as c:
        c.sendall(f"CONNECT raw.bank32.com:{up.port} HTTP/1.1\r\nHost: raw.bank32.com:{up.port}\r\n\r\n".encode())
        assert read_request(c).startswith(b"HTTP/1.1 200")
        c.sendall(b"a" * 100000)
        c.shutdown(socket.SHUT_WR)
        answer = b""
        while data := c.recv(65536):
            answer += data
    assert answer == b"got 100000 bytes; bye"


def test_garbage_and_stalled_clients(proxy, serve, certs, pca):
    up = serve()
    p = sni_proxy(proxy, certs, up.port, "--handshake-timeout", "1")
    with socket.create_connection((LOOPBACK, p.port), timeout=10) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(3000))
        assert c.recv(100) == b""  # closed on us
    assert p.wait_for("not a TLS client"), p.err()
    started = time.monotonic()
    with socket.create_connection((LOOPBACK, p.port), timeout=10) as c:
        c.sendall(b"\x16\x03\x01\x02\x00\x01")  # the start of a ClientHello, then nothing
        assert c.recv(100) == b""
    assert time.monotonic() - started < 5
    assert p.wait_for("no complete ClientHello in time"), p.err()
    # The proxy goes on serving.
    r = curl("--cacert", pca / "ca.pem", *via_sni(p.port, "/"))
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------------------------------------
# A real browser through --mode explicit.

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(home, url, proxy_port, profile):
    return subprocess.run([*DNS_GUARD, "chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                           f"--proxy-server=http://{LOOPBACK}:{proxy_port}", "--dump-dom", url],
                          capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
                          env={**os.environ, "HOME": str(home)})


def test_chromium_through_explicit_mode(proxy, nginx, certs, pca, tmp_path):
    if not have("chromium") or not have("certutil"):
        pytest.skip("chromium or certutil (libnss3-tools) not installed: scripts/install-deps --test")
    p = proxy("--upstream-resolve", f"{HOST}:{LOOPBACK}", "--upstream-cacert", pem(certs, "root"), mode="explicit")
    url = f"https://{HOST}:{nginx['tls']}/"
    home = nss_home(tmp_path, "home")
    # Without the proxy's CA: refused (Chromium exits 0 anyway; judge by stderr and the DOM).
    r = chromium(home, url, p.port, tmp_path / "profile-1")
    assert "ERR_CERT_AUTHORITY_INVALID" in r.stderr and "Welcome to bank32" not in r.stdout, r.stderr[-2000:]
    nss_trust(home, pca / "ca.pem")
    r = chromium(home, url, p.port, tmp_path / "profile-2")
    assert "Welcome to bank32" in r.stdout, r.stderr[-2000:]
    # Chromium's own background requests also try the proxy; only the page matters here.
    assert p.wait_for(f'"GET https://{HOST}:{nginx["tls"]}/" 200'), p.out()


# ---------------------------------------------------------------------------------------------
# The client-facing side answers as a TLS server: the proxy in front of `openssl s_server`, and
# s_server alone, given the same hand-made first flights, answer alike.

def _record(ctype, body):
    return bytes([ctype]) + b"\x03\x01" + struct.pack(">H", len(body)) + body


def _ext(kind, data):
    return struct.pack(">HH", kind, len(data)) + data


def _u16s(values):
    data = b"".join(struct.pack(">H", v) for v in values)
    return struct.pack(">H", len(data)) + data


def made_hello(sni, schemes=(0x0804, 0x0403, 0x0401), cert_schemes=None, filler=0):
    """A TLS 1.3 ClientHello handshake message; filler unknown code points pad signature_algorithms."""
    name = sni.encode()
    exts = _ext(0, struct.pack(">HBH", len(name) + 3, 0, len(name)) + name)
    exts += _ext(43, b"\x04\x03\x04\x03\x03") + _ext(10, _u16s([0x1d]))
    exts += _ext(51, struct.pack(">HHH", 36, 0x1d, 32) + os.urandom(32))
    exts += _ext(13, _u16s([0x0a00 + i % 0x100 for i in range(filler)] + list(schemes)))
    if cert_schemes:
        exts += _ext(50, _u16s(cert_schemes))
    body = b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) + _u16s([0x1301, 0x1302, 0xc02f])
    body += b"\x01\x00" + struct.pack(">H", len(exts)) + exts
    return b"\x01" + struct.pack(">I", len(body))[1:] + body


def in_records(message, size=16384, ctype=22):
    return b"".join(_record(ctype, message[i:i + size]) for i in range(0, len(message), size))


def sslv2_hello():
    specs = b"\x00\xc0\x2f\x00\xc0\x30\x00\x00\x2f\x00\x00\xff"  # as 3-byte SSLv2 cipher specs
    body = b"\x01\x03\x03" + struct.pack(">HHH", len(specs), 0, 32) + specs + os.urandom(32)
    return struct.pack(">H", 0x8000 | len(body)) + body


def first_answer(port, flight):
    """What a TLS server answers to flight: "server_hello", "alert N" or "closed"."""
    with socket.create_connection((LOOPBACK, port), timeout=10) as c:
        c.sendall(flight)
        got = b""
        while len(got) < 7:
            try:
                data = c.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
            got += data
    if got[:1] == b"\x16" and got[5:6] == b"\x02":
        return "server_hello"
    if got[:1] == b"\x15" and len(got) >= 7:
        return f"alert {got[6]}"
    return "closed" if not got else f"bytes {got[:8].hex()}"


ODD_FLIGHTS = {
    "sslv2_format_hello": lambda host: sslv2_hello(),
    "hello_over_five_records": lambda host: in_records(made_hello(host, filler=32650)),
    "app_data_inside_the_hello": lambda host: (lambda r: r[:105] + _record(23, b"hello") + r[105:])(
        in_records(made_hello(host), 100)),
    "rsa_only_in_certificates": lambda host: in_records(made_hello(host, (0x0804, 0x0809), (0x0804, 0x0809, 0x0401))),
}


def all_rsa_reverse_proxy(proxy, s_server, certs):
    """s_server with an all-RSA chain, and the proxy in reverse mode in front of it."""
    host = "rsa.bank32.com"
    up = s_server("-cert", pem(certs, "all_rsa"), "-key", key(certs, "all_rsa"))
    p = proxy("--upstream", f"{host}:{up.port}", "--upstream-resolve", f"{host}:{LOOPBACK}", "--upstream-cacert",
              pem(certs, "rsa_root"), mode="reverse")
    return host, up, p


@pytest.mark.parametrize("case", sorted(ODD_FLIGHTS))
def test_reverse_mode_answers_first_flights_as_s_server_does(proxy, s_server, certs, pca, case):
    host, up, p = all_rsa_reverse_proxy(proxy, s_server, certs)
    flight = ODD_FLIGHTS[case](host)
    expected = first_answer(up.port, flight)
    assert expected in ("server_hello", "alert 40", "alert 10"), expected  # what s_server answers today
    assert first_answer(p.port, flight) == expected, p.err()
    if case == "app_data_inside_the_hello":
        assert p.wait_for("OpenSSL answered it: the client broke the TLS protocol: unexpected message"), p.err()


def test_a_client_offering_only_rsa_pss_accepts_the_forged_chain(proxy, s_server, certs, pca):
    host, _, p = all_rsa_reverse_proxy(proxy, s_server, certs)
    for version in ("-tls1_3", "-tls1_2"):
        r = subprocess.run(["openssl", "s_client", "-connect", f"{LOOPBACK}:{p.port}", "-servername", host, version,
                            "-verify_return_error", "-CAfile", str(pca / "ca.pem"), "-sigalgs",
                            "rsa_pss_rsae_sha256:rsa_pss_pss_sha256"],
                           input=b"", capture_output=True, timeout=30)
        out = r.stdout.decode(errors="replace")
        assert r.returncode == 0 and "Verify return code: 0 (ok)" in out, out + r.stderr.decode(errors="replace")
        assert "tlslab proxy RSA issuer" in out and "Peer signature type: RSA-PSS" in out, out


def test_client_failures_are_told_by_kind(proxy, serve, certs, pca):
    up = serve()
    p = sni_proxy(proxy, certs, up.port)
    # A client that does not trust the proxy's CA: curl answers the forged certificate with unknown_ca.
    r = curl("--cacert", pem(certs, "root"), *via_sni(p.port, "/"))
    assert r.returncode != 0
    assert p.wait_for("does not trust the proxy's CA"), p.err()
    assert "refused the forged certificate" not in p.err()


def test_explicit_mode_answers_garbage_400_at_once(proxy, pca):
    p = proxy("--handshake-timeout", "10", mode="explicit")
    for garbage in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", b"hello world garbage", b"GET / HTTP/1.1\x01"):
        started = time.monotonic()
        with socket.create_connection((LOOPBACK, p.port), timeout=10) as c:
            c.sendall(garbage)
            reply = c.recv(4096)
        assert reply.startswith(b"HTTP/1.1 400 Bad Request"), reply
        assert time.monotonic() - started < 2
    assert p.wait_for("answered 400"), p.err()
