"""End-to-end tests of `tlslab connect` against real peers on loopback: `openssl s_server` with
certificates made by the openssl CLI, curl as the reference verdict, tshark for the key log, and
hostile peers scripted here with Python's socket and ssl modules.

Every name used as a target is mapped to 127.0.0.1 with --resolve / --connect-to (or is an IP
literal), so no test sends a DNS query; as a guard, tlslab and curl run with a resolv.conf that
names only 127.0.0.1 (dns_on_loopback), and the one test that must resolve a name runs tlslab in
a private network namespace."""
import hashlib
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import stat
import ssl
import subprocess
import threading
import time

import pytest

from conftest import (DNS_GUARD, PROXY_READY, SERVE_READY, Pki, PyServer, announced_port, have, read_request,
                      refusing_socket, stop_process)

HOST = "www.bank32.com"
LOOPBACK = "127.0.0.1"


# ---------------------------------------------------------------------------------------------
# Guard: no DNS query may leave the machine (conftest's dns_on_loopback, for every test here).

pytestmark = pytest.mark.usefixtures("dns_on_loopback")  # conftest's DNS guard for every test here


# ---------------------------------------------------------------------------------------------
# Certificates: made once per module (openssl CLI, independent of tlslab's code).

@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("pki"))
    p.cert("root", "tlslab Test Root", ca=True, days=365)
    p.cert("inter", "tlslab Test Intermediate", issuer="root", ca=True, days=180)
    p.cert("leaf", HOST, issuer="inter", sans=(HOST,))
    p.cert("expired", HOST, issuer="inter", sans=(HOST,), days=-3)
    p.cert("future", HOST, issuer="inter", sans=(HOST,), start_days=3)
    p.cert("wild", "*.bank32.com", issuer="inter", sans=("*.bank32.com",))
    p.cert("ip", LOOPBACK, issuer="inter", sans=(f"IP:{LOOPBACK}",))
    p.cert("dnsip", LOOPBACK, issuer="inter", sans=(f"DNS:{LOOPBACK}",))
    p.cert("ip6", "::1", issuer="inter", sans=("IP:::1",))
    p.chain("ip6_chain", "ip6", "inter")
    p.cert("self", HOST, sans=(HOST,))
    p.cert("other_root", "Other Root", ca=True, days=365)
    p.cert("other_leaf", HOST, issuer="other_root", sans=(HOST,))
    p.cert("client_ca", "tlslab Client CA", ca=True, days=365)
    p.cert("client", "alice", issuer="client_ca", eku="clientAuth")
    p.cert("stranger", "mallory", issuer="other_root", eku="clientAuth")
    p.chain("leaf_chain", "leaf", "inter")  # for Python's ssl servers
    return p


def pem(certs, name):
    return str(certs.dir / f"{name}.pem")


def key(certs, name):
    return str(certs.dir / f"{name}.key")


def serve(s_server, certs, leaf, chain, *extra, cwd=None):
    """Starts s_server presenting certificate leaf followed by chain (a certificate name, or None
    for the leaf alone)."""
    sent = ["-cert_chain", pem(certs, chain)] if chain else []
    return s_server("-cert", pem(certs, leaf), "-key", key(certs, leaf), *sent, *extra, cwd=cwd)


# ---------------------------------------------------------------------------------------------
# Running tlslab and curl against a port.

def connect(tlslab, port, *args, host=HOST, timeout=20, env=None):
    """tlslab connect HOST:PORT with HOST mapped to loopback (IP literals need no mapping)."""
    route = [] if host == LOOPBACK else ["--resolve", f"{host}:{port}:{LOOPBACK}"]
    return tlslab("connect", f"{host}:{port}", *route, *args, timeout=timeout, env=env)


def curl(port, *args, host=HOST, path="/"):
    """curl's exit code for the same request, or None when curl is not installed."""
    if not have("curl"):
        return None
    route = [] if host == LOOPBACK else ["--resolve", f"{host}:{port}:{LOOPBACK}"]
    proc = subprocess.run([*DNS_GUARD, "curl", "-sS", "-o", os.devnull, "--max-time", "5", *route, *args,
                           f"https://{host}:{port}{path}"], capture_output=True, timeout=10)
    return proc.returncode


def expect(proc, code, *texts):
    """Asserts the exit code and that every text appears in the output (stdout + stderr), with runs
    of spaces counting as one (the report aligns its columns)."""
    both = squeeze(proc.out + proc.err)
    shown = f"\n--- stdout\n{proc.out}\n--- stderr\n{proc.err}"
    assert proc.returncode == code, f"exit {proc.returncode}, wanted {code}{shown}"
    for text in texts:
        assert squeeze(text) in both, f"{text!r} not in the output{shown}"


def squeeze(text):
    return re.sub(r"[ \t]+", " ", text)


def one_error_line(proc):
    """Asserts that standard error ends with exactly one "tlslab: ..." line (the report may come
    before it when a body was going to standard output), and returns it."""
    lines = [line for line in proc.err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("tlslab: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], proc.err
    return errors[0]


def as_json(proc):
    return json.loads(proc.out)


OK = "Verdict:     OK — the server is who it claims to be"
FAILED = "Verdict:     FAILED — no data was sent"


# ---------------------------------------------------------------------------------------------
# Verification verdicts, each checked against curl's.

VERDICTS = {
    # name: (server certificate, chain it sends after it, host to connect to, exit code, texts in the report)
    "good_chain_with_intermediate": ("leaf", "inter", HOST, 0, [OK, "Chain:       trusted",
                                                                      f"Hostname:    {HOST} matches DNS:{HOST}"]),
    "expired": ("expired", "inter", HOST, 60, [FAILED, "expired on", "(3 days ago)",
                                                       "the server must renew its certificate"]),
    "not_yet_valid": ("future", "inter", HOST, 60, [FAILED, "not valid before", "(3 days from now)",
                                                           "check the clocks"]),
    "wrong_host": ("leaf", "inter", "www.evil32.com", 60,
                   [FAILED, "Hostname:    MISMATCH",
                    f"name www.evil32.com is not among the certificate's DNS SANs [{HOST}]",
                    "hostname check failed"]),
    "self_signed": ("self", None, HOST, 60, [FAILED, "self-signed"]),
    "untrusted_root": ("other_leaf", "other_root", HOST, 60,
                       [FAILED, "the root 'O=tlslab tests, CN=Other Root' sent by the server is not a trusted anchor"]),
    "missing_intermediate": ("leaf", None, HOST, 60,
                             [FAILED, "probably missing its intermediate certificate",
                              "send the full chain"]),
    "wildcard_match": ("wild", "inter", "x.bank32.com", 0, [OK, "x.bank32.com matches DNS:*.bank32.com"]),
    "wildcard_two_labels": ("wild", "inter", "a.b.bank32.com", 60,
                            [FAILED, "Hostname:    MISMATCH", "covers exactly one label"]),
    "wildcard_apex": ("wild", "inter", "bank32.com", 60,
                      [FAILED, "Hostname:    MISMATCH", "does not cover bank32.com itself"]),
    "ip_san": ("ip", "inter", LOOPBACK, 0, [OK, f"{LOOPBACK} matches IP:{LOOPBACK}"]),
    "ip_only_as_dns_san": ("dnsip", "inter", LOOPBACK, 60,
                           [FAILED, f"address {LOOPBACK} is not among the certificate's IP SANs none",
                            "listed as a DNS name, which does not count for an address"]),
}


@pytest.mark.parametrize("case", list(VERDICTS))
def test_verdict_agrees_with_curl(tlslab, s_server, certs, case):
    leaf, chain, host, code, texts = VERDICTS[case]
    server = serve(s_server, certs, leaf, chain)
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), host=host)
    expect(proc, code, *texts)
    if code:
        # One line on standard error says why; the report on standard output says the rest.
        one_error_line(proc)
    assert curl(server.port, "--cacert", pem(certs, "root"), host=host) in (None, code)


def test_self_signed_trusted_explicitly(tlslab, s_server, certs):
    server = serve(s_server, certs, "self", None)
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "self"))
    expect(proc, 0, OK, f"O=tlslab tests, CN={HOST} <- trust anchor (from {pem(certs, 'self')})")
    assert curl(server.port, "--cacert", pem(certs, "self")) in (None, 0)


def test_ipv6_loopback(tlslab, certs, py_server):
    seen = {}

    def handler(conn):
        seen["request"] = read_request(conn)
        conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")

    server = py_server(handler, tls_certs=certs, leaf="ip6", host="::1")
    proc = tlslab("connect", f"https://[::1]:{server.port}/v6", "--cacert", pem(certs, "root"))
    expect(proc, 0, OK, f"Target: [::1]:{server.port}", f"TCP connected: [::1]:{server.port}",
           "::1 matches IP:::1", "SNI sent: none", "HTTP/1.1 204 No Content")
    assert f"Host: [::1]:{server.port}\r\n".encode() in seen["request"]


# ---------------------------------------------------------------------------------------------
# Client certificates (s_server -Verify). TLS 1.3 servers reject a client certificate after the
# client has finished its handshake: tlslab must wait for that verdict.

@pytest.fixture
def mtls_server(s_server, certs):
    return serve(s_server, certs, "leaf", "inter", "-Verify", "1", "-verify_return_error", "-CAfile",
                 pem(certs, "client_ca"))


@pytest.mark.parametrize("request_args", [[], ["--get", "/"]], ids=["handshake-only", "with-request"])
def test_client_cert_missing(tlslab, certs, mtls_server, request_args):
    proc = connect(tlslab, mtls_server.port, "--cacert", pem(certs, "root"), *request_args)
    expect(proc, 35, "the server requires a client certificate (--cert FILE --key FILE)")
    one_error_line(proc)
    assert curl(mtls_server.port, "--cacert", pem(certs, "root")) not in (0, 60)


def test_client_cert_accepted(tlslab, certs, mtls_server):
    args = ["--cacert", pem(certs, "root"), "--cert", pem(certs, "client"), "--key", key(certs, "client")]
    proc = connect(tlslab, mtls_server.port, *args)
    expect(proc, 0, OK, "Client certificate: sent: O=tlslab tests, CN=alice")
    proc = connect(tlslab, mtls_server.port, *args, "--get", "/")
    expect(proc, 0, "HTTP/1.0 200 ok")
    assert curl(mtls_server.port, *args) in (None, 0)


@pytest.mark.parametrize("tls_max", ["1.3", "1.2"])
def test_client_cert_from_another_ca_refused(tlslab, certs, mtls_server, tls_max):
    args = ["--cacert", pem(certs, "root"), "--cert", pem(certs, "stranger"), "--key", key(certs, "stranger"),
            "--tls-max", tls_max]
    proc = connect(tlslab, mtls_server.port, *args)
    expect(proc, 35, "the server rejected our client certificate")
    one_error_line(proc)


def test_client_cert_refused_with_request(tlslab, certs, mtls_server):
    # With a request to send, the TLS 1.3 alert arrives with the first read: still a refusal of
    # the handshake, not a broken response.
    args = ["--cacert", pem(certs, "root"), "--cert", pem(certs, "stranger"), "--key", key(certs, "stranger")]
    proc = connect(tlslab, mtls_server.port, *args, "--get", "/")
    expect(proc, 35, "the server rejected the connection after the handshake: tlsv1 alert unknown ca",
           "the server rejected our client certificate")
    assert "HTTP response" not in proc.out + proc.err, "no response came: the report must not show one"


# ---------------------------------------------------------------------------------------------
# Protocol versions.

def test_tls12_forced(tlslab, s_server, certs):
    server = serve(s_server, certs, "leaf", "inter")
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--tls-max", "1.2")
    expect(proc, 0, "Protocol:           TLSv1.2", "Key exchange:     ECDHE", OK)
    doc = as_json(connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--tls-max", "1.2", "--json"))
    assert doc["tls"]["version"] == "TLSv1.2"
    assert doc["tls"]["cipher_suite"]["key_exchange"] == "ECDHE"
    assert doc["tls"]["cipher_suite"]["iana"].startswith("TLS_ECDHE_ECDSA_WITH_")


def test_tls13_default(tlslab, s_server, certs):
    server = serve(s_server, certs, "leaf", "inter")
    doc = as_json(connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--json"))
    assert doc["tls"]["version"] == "TLSv1.3"
    assert doc["tls"]["cipher_suite"]["iana"].startswith("TLS_AES_") or "CHACHA20" in doc["tls"]["cipher_suite"]["iana"]


@pytest.mark.parametrize("server_flag,client_args", [("-tls1_3", ["--tls-max", "1.2"]),
                                                     ("-tls1_2", ["--tls-min", "1.3"])])
def test_no_version_in_common(tlslab, s_server, certs, server_flag, client_args):
    server = serve(s_server, certs, "leaf", "inter", server_flag)
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), *client_args)
    expect(proc, 35, "no TLS version in common (see --tls-min/--tls-max)")
    one_error_line(proc)
    curl_args = ["--tls-max", "1.2"] if server_flag == "-tls1_3" else ["--tlsv1.3"]
    assert curl(server.port, "--cacert", pem(certs, "root"), *curl_args) in (None, 35)


# ---------------------------------------------------------------------------------------------
# Trust stores and relaxed checks.

def subject_hash(path):
    return subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", path], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_capath_names_the_anchor_file(tlslab, s_server, certs, tmp_path):
    capath = tmp_path / "capath"
    capath.mkdir()
    shutil.copy(pem(certs, "root"), capath / "root.pem")
    shutil.copy(pem(certs, "other_root"), capath / "other_root.pem")
    subprocess.run(["openssl", "rehash", str(capath)], check=True, capture_output=True)
    anchor = f"{subject_hash(pem(certs, 'root'))}.0"
    assert (capath / anchor).exists()
    server = serve(s_server, certs, "leaf", "inter")
    proc = connect(tlslab, server.port, "--capath", capath)
    expect(proc, 0, OK, f"<- trust anchor ({capath}/{anchor})", f"CA directory {capath} (2 hashed entries)")
    doc = as_json(connect(tlslab, server.port, "--capath", capath, "--json"))
    assert doc["trust_anchor_file"] == anchor
    assert doc["trust_store"] == {"kind": "directory", "path": str(capath), "anchors": 2, "lazy": True}
    assert curl(server.port, "--capath", str(capath)) in (None, 0)


def test_capath_empty_dir(tlslab, s_server, certs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    server = serve(s_server, certs, "leaf", "inter")
    proc = connect(tlslab, server.port, "--capath", empty)
    expect(proc, 77, f"CA directory {empty} has no hashed entries")
    one_error_line(proc)
    expect(connect(tlslab, server.port, "--capath", tmp_path / "nowhere"), 77, "does not exist")


def test_insecure_continues(tlslab, s_server, certs):
    server = serve(s_server, certs, "expired", "inter")
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "-k", "--get", "/")
    expect(proc, 0, "Verdict:     FAILED — continuing anyway because of --insecure", "expired on",
           "HTTP/1.0 200 ok")
    assert curl(server.port, "--cacert", pem(certs, "root"), "-k") in (None, 0)
    doc = as_json(connect(tlslab, server.port, "--cacert", pem(certs, "root"), "-k", "--json"))
    assert doc["verification"]["ok"] is False and doc["verification"]["enforced"] is False
    assert doc["error"] is None


def test_no_check_hostname_still_verifies_the_chain(tlslab, s_server, certs):
    server = serve(s_server, certs, "leaf", "inter")
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--no-check-hostname", host="www.evil32.com")
    expect(proc, 0, OK, "Hostname:    not checked (--no-check-hostname)")
    other = serve(s_server, certs, "other_leaf", "other_root")
    proc = connect(tlslab, other.port, "--cacert", pem(certs, "root"), "--no-check-hostname")
    expect(proc, 60, FAILED, "is not a trusted anchor")


# ---------------------------------------------------------------------------------------------
# Routing overrides.

def test_resolve(tlslab, s_server, certs):
    server = serve(s_server, certs, "leaf", "inter")
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"))
    expect(proc, 0, f"Target: {HOST}:{server.port} (--resolve maps it to {LOOPBACK})", f"SNI sent: {HOST}")
    doc = as_json(connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--json"))
    assert doc["route"]["via"] == "--resolve"
    assert doc["connected_address"] == f"{LOOPBACK}:{server.port}"
    assert doc["tls"]["sni"] == HOST


@pytest.mark.parametrize("rule", ["{host}:443:127.0.0.1:{port}", "::127.0.0.1:{port}"])
def test_connect_to(tlslab, s_server, certs, rule):
    server = serve(s_server, certs, "leaf", "inter")
    rule = rule.format(host=HOST, port=server.port)
    proc = tlslab("connect", HOST, "--connect-to", rule, "--cacert", pem(certs, "root"))
    expect(proc, 0, OK, f"(--connect-to sends it to {LOOPBACK}:{server.port})", f"SNI sent:           {HOST}")
    doc = as_json(tlslab("connect", HOST, "--connect-to", rule, "--cacert", pem(certs, "root"), "--json"))
    assert doc["route"] == {"host": LOOPBACK, "port": server.port, "via": "--connect-to"}
    assert doc["target"]["port"] == 443
    if have("curl"):
        rc = subprocess.run([*DNS_GUARD, "curl", "-sS", "-o", os.devnull, "--max-time", "5", "--connect-to", rule,
                             "--cacert", pem(certs, "root"), f"https://{HOST}/"], capture_output=True).returncode
        assert rc == 0


# ---------------------------------------------------------------------------------------------
# HTTP: byte-exact downloads, JSON report, trace.

@pytest.fixture
def www(s_server, certs, tmp_path):
    """s_server -WWW serving a binary file (NUL bytes and all) from its own directory."""
    root = tmp_path / "www"
    root.mkdir()
    blob = bytes(range(256)) * 300 + os.urandom(50_000) + b"\0\r\n\r\n" * 10
    (root / "blob.bin").write_bytes(blob)
    server = serve(s_server, certs, "leaf", "inter", "-WWW", cwd=root)
    server.blob = blob
    return server


def test_get_binary_file_byte_exact(tlslab, certs, www, tmp_path):
    out = tmp_path / "out.bin"
    proc = connect(tlslab, www.port, "--cacert", pem(certs, "root"), "--get", "/blob.bin", "-o", out)
    expect(proc, 0, f"Saved to:         {out}", f"{len(www.blob)} bytes (until close)")
    assert out.read_bytes() == www.blob
    # The URL form, body to standard output (not a terminal here), report to standard error.
    proc = tlslab("connect", f"https://{HOST}:{www.port}/blob.bin", "--resolve", f"{HOST}:{www.port}:{LOOPBACK}",
                  "--cacert", pem(certs, "root"))
    assert proc.returncode == 0, proc.err
    assert proc.stdout == www.blob
    assert squeeze(OK) in squeeze(proc.err)


def test_failed_download_leaves_no_file(tlslab, certs, www, tmp_path):
    out = tmp_path / "out.bin"
    proc = connect(tlslab, www.port, "--cacert", pem(certs, "root"), "--get", "/blob.bin", "-o", out,
                   "--max-filesize", "1000")
    expect(proc, 63, "larger than the --max-filesize limit")
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.bin")], "temporary file left behind"
    # An earlier complete file is not clobbered by a failed download.
    out.write_bytes(b"previous")
    expect(connect(tlslab, www.port, "--cacert", pem(certs, "root"), "--get", "/blob.bin", "-o", out,
                   "--max-filesize", "1000"), 63)
    assert out.read_bytes() == b"previous"


def test_output_to_a_fifo_and_through_a_symlink(tlslab, certs, www, tmp_path):
    # A FIFO stands for /dev/null and other devices: written to, never replaced by a regular file.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = {}
    reader = threading.Thread(target=lambda: got.update(data=fifo.read_bytes()), daemon=True)
    reader.start()
    proc = connect(tlslab, www.port, "--cacert", pem(certs, "root"), "--get", "/blob.bin", "-o", fifo, "-q")
    if reader.is_alive():  # tlslab never opened the FIFO: release the reader
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(5)
    expect(proc, 0)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced by a regular file"
    assert got.get("data") == www.blob
    # Through a symbolic link, the file it points to gets the body; the link stays.
    (tmp_path / "real.bin").write_bytes(b"old")
    (tmp_path / "link.bin").symlink_to(tmp_path / "real.bin")
    proc = connect(tlslab, www.port, "--cacert", pem(certs, "root"), "--get", "/blob.bin", "-o",
                   tmp_path / "link.bin", "-q")
    expect(proc, 0)
    assert (tmp_path / "link.bin").is_symlink()
    assert (tmp_path / "real.bin").read_bytes() == www.blob


def test_unwritable_output_fails_before_the_request(tlslab, certs, www, tmp_path):
    out = tmp_path / "no-such-dir" / "out.bin"
    proc = connect(tlslab, www.port, "--cacert", pem(certs, "root"), "--get", "/blob.bin", "-o", out)
    expect(proc, 23, f"cannot write {out}")
    one_error_line(proc)
    assert "FILE:" not in www.output(), "the request was sent although the body could not be saved"


def test_json_report(tlslab, certs, www, tmp_path):
    out = tmp_path / "out.bin"
    proc = connect(tlslab, www.port, "--cacert", pem(certs, "root"), "--get", "/blob.bin", "-o", out, "--json")
    assert proc.returncode == 0, proc.err
    doc = as_json(proc)
    assert doc["tls"]["version"] == "TLSv1.3"
    assert doc["tls"]["cipher_suite"]["iana"] in ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                                 "TLS_CHACHA20_POLY1305_SHA256")
    assert [c["subject"] for c in doc["peer_chain"]] == [f"O=tlslab tests, CN={HOST}",
                                                        "O=tlslab tests, CN=tlslab Test Intermediate"]
    assert [c["subject"] for c in doc["verified_chain"]][-1] == "O=tlslab tests, CN=tlslab Test Root"
    assert doc["verification"]["ok"] is True
    assert doc["verification"]["hostname"]["matched"] == f"DNS:{HOST}"
    assert doc["http"]["status"] == 200
    assert doc["http"]["body_bytes"] == len(www.blob)
    assert doc["http"]["body_sha256"] == hashlib.sha256(www.blob).hexdigest()
    assert doc["http"]["saved_to"] == str(out)
    assert doc["error"] is None
    # Failures are in the JSON too, with the exit code.
    proc = connect(tlslab, www.port, "--json", "--cacert", pem(certs, "other_root"), host="www.evil32.com")
    assert proc.returncode == 60
    doc = as_json(proc)
    assert doc["verification"]["ok"] is False
    assert doc["error"]["kind_exit_code"] == 60


def test_trace_in_json(tlslab, s_server, certs):
    server = serve(s_server, certs, "leaf", "inter")
    doc = as_json(connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--trace", "--json"))
    assert isinstance(doc["trace"], list) and len(doc["trace"]) >= 4
    assert {m["direction"] for m in doc["trace"]} == {"sent", "received"}


# ---------------------------------------------------------------------------------------------
# Key log: proven by Wireshark's dissector decrypting a capture.

def start_capture(port, path):
    """Starts tshark capturing tcp port PORT on lo into path; returns once packets are captured.
    tshark reports "Capturing on" before its filter is live, so a probe (connections to a closed
    port, also in the filter) shows when it really is."""
    probe_socket = refusing_socket()  # open until this returns: the port stays refused, and nobody else's
    probe = probe_socket.getsockname()[1]
    proc = subprocess.Popen(["tshark", "-i", "lo", "-f", f"tcp port {port} or tcp port {probe}", "-w", str(path),
                             "-P", "-l"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection((LOOPBACK, probe), timeout=0.2).close()
        except OSError:
            pass  # refused: the SYN and RST are what we wait to see
        if select.select([proc.stdout], [], [], 0.2)[0] and proc.stdout.readline():
            return proc
    proc.kill()
    _, err = proc.communicate()
    pytest.fail(f"tshark did not capture on lo (capturing needs root): {err.decode(errors='replace')}")


def decrypted_http(capture, keylog, port):
    # s_server negotiates no ALPN, so tell the dissector that the decrypted stream is HTTP.
    return subprocess.run(["tshark", "-r", str(capture), "-o", f"tls.keylog_file:{keylog}", "-d",
                           f"tls.port=={port},http", "-Y", "http"],
                          capture_output=True, text=True, timeout=30).stdout


@pytest.mark.skipif(not have("tshark"), reason="tshark is not installed (package tshark)")
def test_keylog_decrypts_capture(tlslab, certs, www, tmp_path):
    capture = tmp_path / "cap.pcapng"
    by_option, by_env = tmp_path / "keys-option.log", tmp_path / "keys-env.log"
    tshark = start_capture(www.port, capture)
    try:
        shutil.copy(tmp_path / "www" / "blob.bin", tmp_path / "www" / "other.bin")
        expect(connect(tlslab, www.port, "--cacert", pem(certs, "root"), "--get", "/blob.bin", "-o",
                       tmp_path / "a", "--keylog", by_option), 0)
        expect(connect(tlslab, www.port, "--cacert", pem(certs, "root"), "--get", "/other.bin", "-o",
                       tmp_path / "b", env={"SSLKEYLOGFILE": str(by_env)}), 0)
        time.sleep(0.3)
    finally:
        tshark.send_signal(signal.SIGINT)
        tshark.wait(timeout=10)
    assert "CLIENT_TRAFFIC_SECRET_0" in by_option.read_text()
    assert oct(by_option.stat().st_mode & 0o777) == "0o600"
    assert "CLIENT_TRAFFIC_SECRET_0" in by_env.read_text()
    # Each key log decrypts its own connection, and only that one.
    seen = decrypted_http(capture, by_option, www.port)
    assert "GET /blob.bin" in seen and "GET /other.bin" not in seen, seen
    seen = decrypted_http(capture, by_env, www.port)
    assert "GET /other.bin" in seen and "GET /blob.bin" not in seen, seen


# ---------------------------------------------------------------------------------------------
# Hostile and broken peers, scripted here.

@pytest.fixture
def py_server():
    servers = []

    def start(handler=None, tls_certs=None, accept=True, leaf="leaf", host=LOOPBACK):
        context = None
        if tls_certs:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(pem(tls_certs, f"{leaf}_chain"), key(tls_certs, leaf))
        server = PyServer(handler, context, accept, host)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize("garbage", [b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", b"HTTP/1.1 400 Bad Request\r\n\r\n",
                                     bytes(range(200, 256)) * 20])
def test_garbage_instead_of_server_hello(tlslab, py_server, garbage):
    def handler(conn):
        conn.recv(4096)
        conn.sendall(garbage)

    server = py_server(handler)
    proc = connect(tlslab, server.port)
    expect(proc, 35, f"tlslab: TLS handshake with {LOOPBACK}:{server.port} failed")
    one_error_line(proc)


@pytest.mark.parametrize("sent", [b"", b"\x16\x03\x03\x00\x7a\x02\x00\x00\x76\x03\x03"])
def test_server_closes_mid_handshake(tlslab, py_server, sent):
    def handler(conn):
        conn.recv(4096)
        conn.sendall(sent)  # nothing, or the start of a ServerHello record

    server = py_server(handler)
    proc = connect(tlslab, server.port)
    expect(proc, 35, f"tlslab: TLS handshake with {LOOPBACK}:{server.port} failed")
    one_error_line(proc)


@pytest.mark.parametrize("option", ["--connect-timeout", "--max-time"])
def test_server_never_answers(tlslab, py_server, option):
    server = py_server(accept=False)  # the kernel completes TCP connects; nobody reads or writes
    start = time.monotonic()
    proc = connect(tlslab, server.port, option, "1")
    elapsed = time.monotonic() - start
    expect(proc, 28, f"timed out during the TLS handshake ({option} 1s")
    assert elapsed < 5, elapsed  # 1 s limit; the rest is process start (sanitizers) on a busy machine
    one_error_line(proc)


def endless(conn, length_header=b""):
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" + length_header + b"\r\n")
    chunk = b"x" * 16384
    while True:
        conn.sendall(chunk)


@pytest.mark.parametrize("framing", ["until-close", "content-length"])
def test_endless_response_max_time(tlslab, certs, py_server, tmp_path, framing):
    header = b"Content-Length: 100000000000\r\n" if framing == "content-length" else b""
    server = py_server(lambda conn: endless(conn, header), tls_certs=certs)
    out = tmp_path / "out.bin"
    start = time.monotonic()
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--get", "/", "-o", out, "--max-time", "2")
    elapsed = time.monotonic() - start
    expect(proc, 28, "timed out reading the response body (", "bytes received) (--max-time 2s")
    assert elapsed < 6, elapsed  # 2 s limit; the rest is process start (sanitizers) on a busy machine
    assert not out.exists()
    assert os.listdir(tmp_path) == [], "a temporary file was left behind"


@pytest.mark.parametrize("framing", ["until-close", "content-length"])
def test_endless_response_max_filesize(tlslab, certs, py_server, tmp_path, framing):
    header = b"Content-Length: 100000000000\r\n" if framing == "content-length" else b""
    server = py_server(lambda conn: endless(conn, header), tls_certs=certs)
    out = tmp_path / "out.bin"
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--get", "/", "-o", out,
                   "--max-filesize", "1000")
    expect(proc, 63, "larger than the --max-filesize limit")
    assert not out.exists()
    assert os.listdir(tmp_path) == [], "a temporary file was left behind"


@pytest.mark.parametrize("close_notify", [True, False])
def test_response_cut_short(tlslab, certs, py_server, tmp_path, close_notify):
    def handler(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"y" * 40000)
        if close_notify:
            conn.unwrap()

    server = py_server(handler, tls_certs=certs)
    out = tmp_path / "out.bin"
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--get", "/", "-o", out)
    expect(proc, 56, "closed the connection in the middle of the response (after 40000 body bytes)")
    assert not out.exists()
    assert os.listdir(tmp_path) == [], "a temporary file was left behind"


def test_http_error_with_fail(tlslab, certs, py_server, tmp_path):
    def handler(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")

    server = py_server(handler, tls_certs=certs)
    out = tmp_path / "out.bin"
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--get", "/x", "-o", out, "--fail")
    expect(proc, 22, "the server answered 404 Not Found")
    assert not out.exists(), "--fail must not save the error page (as curl does not)"
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--get", "/x", "--fail")
    expect(proc, 22, "the server answered 404 Not Found")
    assert proc.stdout == b"", "--fail must not print the error page"
    doc = as_json(connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--get", "/x", "--fail", "--json"))
    assert doc["http"]["status"] == 404 and doc["error"]["kind_exit_code"] == 22
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--get", "/x", "-o", out)
    expect(proc, 0, "HTTP/1.1 404 Not Found")
    assert out.read_bytes() == b"not found"


def chunked(body, size=7000):
    return b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


@pytest.mark.parametrize("framing", ["content-length", "chunked", "until-close"])
def test_download_framings_byte_exact(tlslab, certs, py_server, tmp_path, framing):
    body = os.urandom(100_000) + b"\r\n0\r\n\r\n"
    head = {"content-length": b"Content-Length: %d\r\n" % len(body), "chunked": b"Transfer-Encoding: chunked\r\n",
            "until-close": b"Connection: close\r\n"}[framing]

    def handler(conn):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n" + (chunked(body) if framing == "chunked" else body))
        conn.unwrap()

    server = py_server(handler, tls_certs=certs)
    out = tmp_path / "out.bin"
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--get", "/", "-o", out, "--json")
    assert proc.returncode == 0, proc.err
    assert out.read_bytes() == body
    doc = as_json(proc)
    assert doc["http"]["framing"] == framing.replace("-", " " if framing == "until-close" else "-")
    assert doc["http"]["body_sha256"] == hashlib.sha256(body).hexdigest()


# ---------------------------------------------------------------------------------------------
# Bad input files and unreachable peers: the message names the file; nothing is sent.

@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, certs):
    d = tmp_path_factory.mktemp("bad")
    (d / "garbage.pem").write_text("this is not a certificate\n")
    (d / "truncated.pem").write_text(certs.dir.joinpath("root.pem").read_text()[:200])
    (d / "empty.pem").write_text("")
    subprocess.run(["openssl", "pkey", "-in", key(certs, "client"), "-aes128", "-passout", "pass:secret",
                    "-out", d / "encrypted.key"], check=True, capture_output=True)
    return d


@pytest.mark.parametrize("name,why", [("missing.pem", "No such file or directory"),
                                      ("garbage.pem", "not a certificate"),
                                      ("truncated.pem", ""),
                                      ("empty.pem", "the file is empty"),
                                      (".", "it is a directory")])
def test_bad_ca_file(tlslab, bad_files, free_port_closed, name, why):
    path = bad_files / name
    proc = connect(tlslab, free_port_closed, "--cacert", path)
    expect(proc, 77, str(path), why)
    one_error_line(proc)


@pytest.mark.parametrize("option,name,why", [
    ("--cert", "missing.pem", "No such file or directory"),
    ("--cert", "garbage.pem", "not a certificate"),
    ("--key", "garbage.pem", "not a private key"),
    ("--key", "missing.pem", "No such file or directory"),
    ("--key", "encrypted.key", "the private key is encrypted"),
    ("--key", "empty.pem", "the file is empty"),
    ("--cert", "empty.pem", "the file is empty"),
])
def test_bad_client_cert_files(tlslab, certs, bad_files, free_port_closed, option, name, why):
    path = bad_files / name
    args = {"--cert": [path, "--key", key(certs, "client")], "--key": [pem(certs, "client"), "--key", path]}[option]
    proc = connect(tlslab, free_port_closed, "--cert", *args)
    expect(proc, 58, str(path), why)
    one_error_line(proc)


def test_client_cert_without_key(tlslab, certs, free_port_closed):
    proc = connect(tlslab, free_port_closed, "--cert", pem(certs, "client"))
    expect(proc, 58, f"{pem(certs, 'client')}: no PEM PRIVATE KEY block found",
           "the key was looked for in the certificate file")


def test_client_key_does_not_match(tlslab, certs, free_port_closed):
    proc = connect(tlslab, free_port_closed, "--cert", pem(certs, "client"), "--key", key(certs, "leaf"))
    expect(proc, 58, f"key {key(certs, 'leaf')} does not match the certificate in {pem(certs, 'client')}")


def test_nothing_listening(tlslab, free_port_closed):
    proc = connect(tlslab, free_port_closed)
    expect(proc, 7, f"could not connect to {LOOPBACK}:{free_port_closed}: Connection refused")
    one_error_line(proc)


def test_dns_guard_keeps_queries_on_loopback(tlslab):
    if not DNS_GUARD:
        pytest.skip("no DNS guard (needs root for `unshare -m`): not resolving a name here")
    proc = tlslab("connect", f"{HOST}:443", "--connect-timeout", "5")
    expect(proc, 6, f"could not resolve host {HOST}")


def test_unresolvable_name(tlslab):
    # Resolving a name asks the system's DNS server, which is not on loopback: run tlslab in a
    # network namespace of its own, where the query cannot leave the process's loopback.
    if not have("unshare") or subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs `unshare -n` (root) to resolve without sending a DNS query off the machine")
    proc = subprocess.run(["unshare", "-n", tlslab.path, "connect", "nonexistent.invalid:443"], capture_output=True,
                          text=True, timeout=20, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 6, proc.stderr
    assert "could not resolve host nonexistent.invalid" in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1, proc.stderr


# ---------------------------------------------------------------------------------------------
# Time limits, Ctrl-C and the report on a terminal.

@pytest.mark.parametrize("option", ["--connect-timeout", "--max-time"])
@pytest.mark.parametrize("value, why", [("nan", "not a number of seconds"), ("-1", "a time limit cannot be negative"),
                                        ("1e308", "out of range"), ("inf", "out of range"),
                                        ("1e-9", "out of range"), ("10s", "not a number of seconds")])
def test_time_limits_refused(tlslab, free_port_closed, option, value, why):
    proc = connect(tlslab, free_port_closed, option, value, host=LOOPBACK)
    expect(proc, 2, f"tlslab: {option} '{value}': {why}")
    one_error_line(proc)


def test_scan_timeout_refused(tlslab, free_port_closed):
    for value, why in [("nan", "not a number of seconds"), ("1e308", "out of range"), ("0", "out of range")]:
        proc = tlslab("scan", f"{LOOPBACK}:{free_port_closed}", "--timeout", value)
        expect(proc, 2, f"tlslab: --timeout '{value}': {why}")


def test_default_connect_timeout_documented(tlslab):
    proc = tlslab("connect", "--help")
    expect(proc, 0, "(default 300, as curl)", "exits 130")


def silent_after_request(conn, sent=b""):
    """Reads the request, sends `sent` (maybe nothing), then holds the connection until the client
    closes it."""
    read_request(conn)
    conn.sendall(sent)
    while conn.recv(4096):
        pass


@pytest.mark.parametrize("sent, step", [
    (b"", "timed out waiting for the response headers"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"z" * 300,
     "timed out reading the response body (300 bytes received)"),
])
def test_timeout_names_the_step(tlslab, certs, py_server, sent, step):
    server = py_server(lambda conn: silent_after_request(conn, sent), tls_certs=certs)
    proc = connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--get", "/", "-o", os.devnull,
                   "--max-time", "1")
    expect(proc, 28, f"{step} (--max-time 1s reached after")
    one_error_line(proc)


def test_huge_max_time_still_connects(tlslab, s_server, certs):
    # The longest accepted limit is a limit, not an instant timeout.
    server = serve(s_server, certs, "leaf", "inter")
    expect(connect(tlslab, server.port, "--cacert", pem(certs, "root"), "--max-time", "31536000"), 0, OK)


def run_on_terminal(args, until, env=None):
    """Runs tlslab with a pseudo-terminal as its standard input, output and error; once `until`
    has been printed, sends SIGINT as Ctrl-C would. Returns (exit code, everything printed,
    what was printed before the signal)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            env={**os.environ, "NO_COLOR": "1", **(env or {})})
    os.close(slave)
    out, before = b"", None
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            out += chunk
            if before is None and until.encode() in out:
                before = out.decode(errors="replace")
                proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, out.decode(errors="replace").replace("\r\n", "\n"), before


def test_ctrl_c_while_the_server_never_answers(tlslab, py_server):
    server = py_server(accept=False)  # the kernel completes the TCP connect; nobody reads or writes
    code, out, before = run_on_terminal([tlslab.path, "connect", f"{LOOPBACK}:{server.port}"], "TCP connected:")
    assert before is not None, f"the TCP connect line never appeared on the terminal:\n{out}"
    assert code == 130, out
    assert squeeze(f"TCP connected: {LOOPBACK}:{server.port} from") in squeeze(out), out
    assert "Timings" in out, out  # the rest of what was learnt
    assert re.search(r"tlslab: interrupted during the TLS handshake \(Ctrl-C after \d+ ms\)", out), out


def test_terminal_report_is_the_pipe_report(tlslab, s_server, certs):
    """Printed progressively on a terminal, the report reads as it does in a pipe (the Connection
    lines aligned as one section)."""
    server = serve(s_server, certs, "leaf", "inter")
    args = [f"{HOST}:{server.port}", "--resolve", f"{HOST}:{server.port}:{LOOPBACK}", "--cacert", pem(certs, "root")]
    code, out, _ = run_on_terminal([tlslab.path, "connect", *args], "\0never")
    piped = tlslab("connect", *args)
    assert code == 0 and piped.returncode == 0, out
    mask = lambda text: re.sub(r"\d+\.\d ms|:\d{4,5} |\d+ days", "#", text)
    assert mask(out) == mask(piped.out), f"--- terminal\n{out}\n--- pipe\n{piped.out}"


def test_ctrl_c_json_reports_what_was_learnt(tlslab, py_server):
    accepted = threading.Event()

    def handler(conn):
        accepted.set()
        while conn.recv(4096):  # never answers; returns when the client goes away
            pass

    server = py_server(handler)
    proc = subprocess.Popen([tlslab.path, "connect", f"{LOOPBACK}:{server.port}", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert accepted.wait(10)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, (out, err)
    doc = json.loads(out)
    assert doc["connected_address"] == f"{LOOPBACK}:{server.port}"
    assert doc["error"]["kind_exit_code"] == 130
    assert "interrupted during the TLS handshake" in doc["error"]["message"]


# ---------------------------------------------------------------------------------------------
# International names: IDNA for DNS, SNI, the Host header and the certificate check.

IDN, IDN_ASCII = "bücher.de", "xn--bcher-kva.de"


@pytest.fixture(scope="module")
def idn_certs(certs):
    certs.cert("idn", IDN_ASCII, issuer="inter", sans=(IDN_ASCII,))
    certs.chain("idn_chain", "idn", "inter")
    return certs


def test_idn_target(tlslab, py_server, idn_certs):
    requests = []

    def handler(conn):
        requests.append(read_request(conn).decode(errors="replace"))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    names = []
    server = py_server(handler, tls_certs=idn_certs, leaf="idn")
    server.context.sni_callback = lambda sock, name, ctx: names.append(name)
    port = server.port
    proc = tlslab("connect", f"https://{IDN}:{port}/", "--resolve", f"{IDN}:{port}:{LOOPBACK}", "--cacert",
                  pem(idn_certs, "root"), "-o", os.devnull)
    expect(proc, 0, OK, f"Target: {IDN}:{port} ({IDN_ASCII})", f"SNI sent: {IDN_ASCII}",
           f"Hostname: {IDN_ASCII} matches DNS:{IDN_ASCII}")
    assert f"Host: {IDN_ASCII}:{port}\r\n" in requests[0], requests
    assert names == [IDN_ASCII], names
    doc = as_json(tlslab("connect", f"{IDN}:{port}", "--resolve", f"{IDN}:{port}:{LOOPBACK}", "--cacert",
                         pem(idn_certs, "root"), "--json"))
    assert doc["target"]["host"] == IDN_ASCII and doc["target"]["unicode_host"] == IDN
    assert curl(port, "--cacert", pem(idn_certs, "root"), host=IDN_ASCII) in (None, 0)


def test_invalid_idn_refused(tlslab, free_port_closed):
    proc = tlslab("connect", f"bü_cher.de:{free_port_closed}")
    assert proc.returncode == 2, proc.err
    assert "the target: invalid name" in one_error_line(proc)


# ---------------------------------------------------------------------------------------------
# Session tickets: read after the handshake once, shown alike in text, JSON and the trace.

@pytest.mark.parametrize("request_args", [[], ["--get", "/", "-o", os.devnull]])
def test_session_tickets_reported_alike(tlslab, s_server, certs, request_args):
    server = serve(s_server, certs, "leaf", "inter")  # TLS 1.3: two tickets after the handshake
    args = ["--cacert", pem(certs, "root"), *request_args]
    expect(connect(tlslab, server.port, *args), 0, "Session ticket: received")
    assert as_json(connect(tlslab, server.port, *args, "--json"))["tls"]["session_ticket"] is True
    proc = connect(tlslab, server.port, *args, "--trace")
    messages = proc.out.split("TLS handshake\n")[0]  # the trace printed before the handshake summary
    # s_server sends two tickets; the wait after the handshake ends at the first, and the second is
    # in the same read unless the network split them.
    assert messages.count("<- handshake NewSessionTicket") in (1, 2), proc.out


# ---------------------------------------------------------------------------------------------
# The environment: SSL_CERT_FILE, SSL_CERT_DIR (as OpenSSL and curl read them), SSLKEYLOGFILE.

NO_TRUST_ENV = {"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""}


def test_ssl_cert_file_adds_to_the_system_store(tlslab, s_server, certs):
    server = serve(s_server, certs, "leaf", "inter")
    expect(connect(tlslab, server.port, env=NO_TRUST_ENV), 60, FAILED)
    proc = connect(tlslab, server.port, env={"SSL_CERT_FILE": pem(certs, "root"), "SSL_CERT_DIR": ""})
    expect(proc, 0, OK, f"and CA file {pem(certs, 'root')} (1 certificate, from SSL_CERT_FILE)")
    doc = as_json(connect(tlslab, server.port, "--json", env={"SSL_CERT_FILE": pem(certs, "root")}))
    assert doc["trust_store"]["file"] == {"path": pem(certs, "root"), "anchors": 1, "variable": "SSL_CERT_FILE"}
    # --cacert replaces the environment's trust, as in curl.
    expect(connect(tlslab, server.port, "--cacert", pem(certs, "other_root"),
                   env={"SSL_CERT_FILE": pem(certs, "root")}), 60, FAILED)


def test_ssl_cert_dir_replaces_the_system_directory(tlslab, s_server, certs, tmp_path):
    capath = tmp_path / "capath"
    capath.mkdir()
    shutil.copy(pem(certs, "root"), capath / "root.pem")
    subprocess.run(["openssl", "rehash", str(capath)], check=True, capture_output=True)
    server = serve(s_server, certs, "leaf", "inter")
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = connect(tlslab, server.port, env={"SSL_CERT_FILE": "", "SSL_CERT_DIR": f"{empty}:{capath}"})
    expect(proc, 0, OK, f"system store, directory {empty}:{capath} (1 hashed entry, from SSL_CERT_DIR)")


@pytest.mark.parametrize("variable, value, code, why", [
    ("SSL_CERT_FILE", "/nonexistent/ca.pem", 77, "/nonexistent/ca.pem"),
    ("SSL_CERT_DIR", "/nonexistent", 77, "CA directory /nonexistent: does not exist"),
    ("SSLKEYLOGFILE", "/nonexistent/keys.log", 23, "cannot open key log file /nonexistent/keys.log"),
])
def test_bad_environment_variable_named(tlslab, free_port_closed, variable, value, code, why):
    proc = connect(tlslab, free_port_closed, host=LOOPBACK, env={variable: value})
    expect(proc, code, why, variable)
    assert variable in one_error_line(proc)


# ---------------------------------------------------------------------------------------------
# curl's habits: request bodies, credentials in the URL, malformed URLs; each compared with what
# curl itself sends or answers.

def recording_server(py_server, certs, received):
    """A TLS server that keeps each request (head and Content-Length body) and answers 200."""
    def handler(conn):
        data = read_request(conn)
        head, _, body = data.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length: *(\d+)", head)
        while length and len(body) < int(length.group(1)):
            body += conn.recv(65536)
        received.append((head.decode(errors="replace"), body))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")

    return py_server(handler, tls_certs=certs)


def curl_request(port, args, stdin=None):
    """Runs curl against the loopback server on port, for its exit status (None: not installed)."""
    if not have("curl"):
        return None
    proc = subprocess.run([*DNS_GUARD, "curl", "-sS", "-o", os.devnull, "--max-time", "5", "--resolve",
                           f"{HOST}:{port}:{LOOPBACK}", *args], input=stdin, capture_output=True, timeout=10)
    return proc.returncode


BODIES = {
    # name: (arguments, standard input, the body sent)
    "data_file_loses_its_newlines": (["-d", "@{form}"], None, b"a=1&b=2c=3 x"),
    "data_binary_file_as_it_is": (["--data-binary", "@{form}"], None, b"a=1&b=2\r\nc=3 x\n"),
    "data_from_stdin": (["-d", "@-"], b"from=stdin\n", b"from=stdin"),
    "data_binary_from_stdin": (["--data-binary", "@-"], b"\x00\x01\n", b"\x00\x01\n"),
    "parts_joined_with_ampersands": (["-d", "x=1", "--data-binary", "@{form}", "--data-raw", "@lit"], None,
                                     b"x=1&a=1&b=2\r\nc=3 x\n&@lit"),
    "literal_data": (["-d", "plain=1"], None, b"plain=1"),
    "empty_data_is_an_empty_post": (["-d", ""], None, b""),
}


@pytest.mark.parametrize("case", list(BODIES))
def test_request_body_as_curl_sends_it(tlslab, certs, py_server, tmp_path, case):
    args, stdin, body = BODIES[case]
    form = tmp_path / "form.txt"
    form.write_bytes(b"a=1&b=2\r\nc=3 x\n")
    args = [a.format(form=form) for a in args]
    received = []
    server = recording_server(py_server, certs, received)
    url = f"https://{HOST}:{server.port}/form"
    proc = tlslab("connect", url, "--resolve", f"{HOST}:{server.port}:{LOOPBACK}", "--cacert", pem(certs, "root"),
                  *args, input=stdin)
    expect(proc, 0, "HTTP/1.1 200 OK")
    head, sent = received[-1]
    assert head.startswith("POST /form HTTP/1.1"), head
    assert "Content-Type: application/x-www-form-urlencoded" in head
    assert sent == body
    # curl sends the same bytes.
    if curl_request(server.port, ["--cacert", pem(certs, "root"), *args, url], stdin=stdin) is not None:
        assert received[-1][1] == body


def test_missing_data_file_names_it(tlslab, free_port_closed, tmp_path):
    proc = tlslab("connect", f"https://{LOOPBACK}:{free_port_closed}/", "-d", f"@{tmp_path}/nope.txt")
    expect(proc, 26, f"{tmp_path}/nope.txt")
    assert "--data" in one_error_line(proc)


def test_url_credentials_sent_as_basic_auth(tlslab, certs, py_server):
    received = []
    server = recording_server(py_server, certs, received)
    url = f"https://alice:s%40cret@{HOST}:{server.port}/private"
    proc = tlslab("connect", url, "--resolve", f"{HOST}:{server.port}:{LOOPBACK}", "--cacert", pem(certs, "root"))
    expect(proc, 0, "HTTP/1.1 200 OK")
    head = received[-1][0]
    assert "Authorization: Basic YWxpY2U6c0BjcmV0" in head, head  # alice:s@cret
    assert "s@cret" not in proc.out + proc.err and "s%40cret" not in proc.out + proc.err
    if curl_request(server.port, ["--cacert", pem(certs, "root"), url]) is not None:
        assert "Authorization: Basic YWxpY2U6c0BjcmV0" in received[-1][0]
    # -H Authorization replaces it, as in curl.
    tlslab("connect", url, "--resolve", f"{HOST}:{server.port}:{LOOPBACK}", "--cacert", pem(certs, "root"),
           "-H", "Authorization: Bearer t0ken", check=0)
    assert "Authorization: Bearer t0ken" in received[-1][0] and "Basic" not in received[-1][0]


@pytest.mark.parametrize("url, why", [
    ("https://www.bank32.com:{port}/a b", "a space at position"),
    ("https://www.bank32.com:{port}/a\tb", "a control character at position"),
    ("https://www bank32.com:{port}/", "a space at position"),
    ("https://www.bank32.com:99999/", "'99999' is not a port number"),
    ("https://www.bank32.com:x/", "not a valid URL"),
    ("https://a\"b.bank32.com:{port}/", "is not a host name"),
])
def test_malformed_url_is_exit_3_as_curl(tlslab, free_port_closed, url, why):
    url = url.format(port=free_port_closed)
    proc = tlslab("connect", url)
    expect(proc, 3, why)
    assert proc.out == "", "nothing is sent for a malformed URL"
    one_error_line(proc)
    code = curl_request(free_port_closed, [url])
    assert code in (None, 3), f"curl said {code}"


# ---------------------------------------------------------------------------------------------
# -x: through an HTTP proxy with CONNECT, against `tlslab proxy --mode explicit` and scripted ones.

@pytest.fixture(scope="module")
def proxy_ca(tlslab, tmp_path_factory):
    folder = tmp_path_factory.mktemp("proxy-ca") / "ca"
    tlslab("ca", "init", "--dir", folder, "--name", "tlslab connect test proxy CA", check=0)
    return folder


@pytest.fixture
def explicit_proxy(tlslab, proxy_ca, certs, tmp_path):
    """Starts `tlslab proxy --mode explicit` that reaches HOST on loopback and trusts the test root."""
    started = []

    def start(*args):
        log_path = tmp_path / f"proxy-{len(started)}.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen([*DNS_GUARD, tlslab.path, "proxy", "--mode", "explicit", "--listen",
                                 f"{LOOPBACK}:0", "--threads", "1", "--ca", str(proxy_ca), "--upstream-resolve",
                                 f"{HOST}:{LOOPBACK}", "--upstream-cacert", pem(certs, "root"), *map(str, args)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "NO_COLOR": "1"})
        started.append(proc)
        return announced_port(lambda: log_path.read_text(errors="replace"), PROXY_READY, proc)

    yield start
    for proc in started:
        stop_process(proc, timeout=5)


def via_proxy(tlslab, proxy_port, server_port, *args):
    return tlslab("connect", f"{HOST}:{server_port}", "-x", f"http://{LOOPBACK}:{proxy_port}", *args)


def test_proxy_pass_rule_shows_the_real_chain(tlslab, s_server, certs, explicit_proxy):
    server = serve(s_server, certs, "leaf", "inter")
    proxy = explicit_proxy("--pass", HOST)
    proc = via_proxy(tlslab, proxy, server.port, "--cacert", pem(certs, "root"))
    expect(proc, 0, OK, f"Target: {HOST}:{server.port} (through the proxy)", f"Proxy: http://{LOOPBACK}:{proxy} (-x)",
           f"TCP connected: {LOOPBACK}:{proxy}", f"Tunnel: CONNECT {HOST}:{server.port}: HTTP/1.1 200",
           "Issuer: O=tlslab tests, CN=tlslab Test Intermediate")
    doc = as_json(via_proxy(tlslab, proxy, server.port, "--cacert", pem(certs, "root"), "--json"))
    assert doc["proxy"]["address"] == f"{LOOPBACK}:{proxy}" and doc["proxy"]["established"], doc["proxy"]
    assert doc["proxy"]["connect"] == f"{HOST}:{server.port}" and doc["proxy"]["status"] == 200
    assert doc["connected_address"] == f"{LOOPBACK}:{proxy}"


def test_proxy_intercepting_shows_the_forged_chain(tlslab, s_server, certs, explicit_proxy, proxy_ca):
    server = serve(s_server, certs, "leaf", "inter")
    proxy = explicit_proxy()
    # Verified against the proxy's CA: the chain is the forged one.
    proc = via_proxy(tlslab, proxy, server.port, "--cacert", proxy_ca / "ca.pem", "--get", "/")
    expect(proc, 0, OK, "Issuer: O=tlslab, CN=tlslab connect test proxy CA")
    assert re.search(r"Status: +HTTP/\S+ 200", proc.err), proc.err  # the body went to standard output
    # Against the real root it is refused, as curl refuses it.
    proc = via_proxy(tlslab, proxy, server.port, "--cacert", pem(certs, "root"))
    expect(proc, 60, FAILED, "tlslab connect test proxy CA")
    if have("curl"):
        r = subprocess.run([*DNS_GUARD, "curl", "-sS", "-o", os.devnull, "-x", f"http://{LOOPBACK}:{proxy}",
                            "--cacert", pem(certs, "root"), f"https://{HOST}:{server.port}/"], capture_output=True,
                           timeout=10)
        assert r.returncode == 60, r.stderr


def scripted_proxy(py_server, reply, requests):
    def handler(conn):
        requests.append(read_request(conn).decode(errors="replace"))
        conn.sendall(reply)

    return py_server(handler)


@pytest.mark.parametrize("reply, why", [
    (b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"lab\"\r\n"
     b"Content-Length: 6\r\n\r\ndenied", "407 Proxy Authentication Required (it asks for Basic realm=\"lab\""),
    (b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n", f"502 Bad Gateway (the proxy could not reach {HOST}:443)"),
    (b"", "closed the connection without answering CONNECT"),
    (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "is not an HTTP response"),
])
def test_proxy_refusal_names_the_proxy(tlslab, py_server, reply, why):
    requests = []
    server = scripted_proxy(py_server, reply, requests)
    proxy = f"{LOOPBACK}:{server.port}"
    proc = tlslab("connect", f"https://{HOST}/", "-x", proxy)
    expect(proc, 56, why, proxy)
    one_error_line(proc)
    assert requests[0].startswith(f"CONNECT {HOST}:443 HTTP/1.1\r\nHost: {HOST}:443\r\n"), requests
    if reply and have("curl"):
        r = subprocess.run([*DNS_GUARD, "curl", "-sS", "-o", os.devnull, "-x", proxy, f"https://{HOST}/"],
                           capture_output=True, timeout=10)
        assert r.returncode == 56, r.stderr


def test_proxy_credentials_and_connect_to(tlslab, py_server):
    requests = []
    server = scripted_proxy(py_server, b"HTTP/1.1 407 No\r\n\r\n", requests)
    proc = tlslab("connect", f"https://{HOST}/", "-x", f"http://bob:pw%3A1@{LOOPBACK}:{server.port}",
                  "--connect-to", f"{HOST}:443:other.bank32.com:8443")
    expect(proc, 56, "the ones in -x were not accepted")
    assert requests[0].startswith("CONNECT other.bank32.com:8443 HTTP/1.1"), requests
    assert "Proxy-Authorization: Basic Ym9iOnB3OjE=\r\n" in requests[0], requests  # bob:pw:1


def test_proxy_not_listening(tlslab, free_port_closed):
    proc = tlslab("connect", f"https://{HOST}/", "-x", f"{LOOPBACK}:{free_port_closed}")
    expect(proc, 7, f"could not connect to the proxy {LOOPBACK}:{free_port_closed}: Connection refused")


@pytest.mark.parametrize("value, why", [
    ("socks5://127.0.0.1:1080", "socks5:// proxies are not supported"),
    ("https://127.0.0.1:3128", "https:// proxies are not supported"),
    ("http://127.0.0.1:0", "'0' is not a port number"),
])
def test_proxy_refused_values(tlslab, value, why):
    assert why in usage_line(tlslab, "connect", f"https://{HOST}/", "-x", value)


def usage_line(tlslab, *args):
    proc = tlslab(*args)
    assert proc.returncode == 2, (proc.returncode, proc.err)
    return one_error_line(proc)


# ---------------------------------------------------------------------------------------------
# -4 / -6.

def test_ip_family_picks_the_addresses(tlslab, s_server, certs):
    server = serve(s_server, certs, "leaf", "inter")
    both = ["--resolve", f"{HOST}:{server.port}:[::1],{LOOPBACK}", "--cacert", pem(certs, "root")]
    # s_server listens on 127.0.0.1 only: without -4 the first address (::1) is refused first.
    proc = tlslab("connect", f"{HOST}:{server.port}", *both, "-4")
    expect(proc, 0, OK)
    assert "[::1]" not in proc.out
    proc = tlslab("connect", f"{HOST}:{server.port}", *both, "-6")
    expect(proc, 7, "Connection refused")
    proc = tlslab("connect", f"{HOST}:{server.port}", "--resolve", f"{HOST}:{server.port}:{LOOPBACK}", "-6")
    expect(proc, 6, f"no IPv6 address to connect to for {HOST} (-6): --resolve gives only {LOOPBACK}")
    proc = tlslab("connect", f"https://[::1]:{server.port}/", "-4")
    expect(proc, 7, "no IPv4 address to connect to for ::1 (-4): ::1 is not an IPv4 address")
    assert "cannot be used together" in usage_line(tlslab, "connect", HOST, "-4", "-6")
    # curl's codes for the same two cases.
    code = curl_request(server.port, ["-6", "--cacert", pem(certs, "root"), f"https://{HOST}:{server.port}/"])
    assert code in (None, 6)
    code = curl_request(server.port, ["-4", f"https://[::1]:{server.port}/"])
    assert code in (None, 7)


# ---------------------------------------------------------------------------------------------
# Revocation: CRLs (--crlfile) and stapled OCSP (--cert-status), made with the openssl CLI
# (`openssl ca -gencrl`, `openssl ocsp`) and compared with curl's exit codes.

def x509_field(path, option):
    out = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", option], capture_output=True, text=True,
                         check=True).stdout.strip()
    return out.split("=", 1)[1]


def ca_index(pki, name, entries):
    """Writes an `openssl ca` database: entries are (certificate name, None or a CRL reason)."""
    revoked_at = time.strftime("%y%m%d%H%M%SZ", time.gmtime(time.time() - 2 * 86400))
    lines = []
    for cert, reason in entries:
        path = pki.dir / f"{cert}.pem"
        expiry = time.strftime("%y%m%d%H%M%SZ", time.strptime(x509_field(path, "-enddate"), "%b %d %H:%M:%S %Y %Z"))
        serial = x509_field(path, "-serial")
        status, when = ("R", f"{revoked_at},{reason}") if reason else ("V", "")
        lines.append(f"{status}\t{expiry}\t{when}\t{serial}\tunknown\t/CN={cert}\n")
    index = pki.dir / f"{name}.index"
    index.write_text("".join(lines))
    conf = pki.dir / f"{name}.cnf"
    conf.write_text(f"[ca]\ndefault_ca = d\n[d]\ndatabase = {index}\ndefault_md = sha256\n"
                    f"crlnumber = {pki.dir / (name + '.crlnumber')}\n")
    (pki.dir / f"{name}.crlnumber").write_text("01\n")
    return index, conf


@pytest.fixture(scope="module")
def revocation(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("revocation"))
    p.cert("root", "tlslab Test Root", ca=True, days=365)
    p.cert("inter", "tlslab Test Intermediate", issuer="root", ca=True, days=180)
    p.cert("leaf", HOST, issuer="inter", sans=(HOST,))
    p.cert("gone", HOST, issuer="inter", sans=(HOST,))
    p.cert("stranger", "Someone Else", ca=True, days=30)
    p.chain("leaf_chain", "leaf", "inter")  # for tlslab serve
    _, inter_conf = ca_index(p, "inter", [("leaf", None), ("gone", "keyCompromise")])
    _, root_conf = ca_index(p, "root", [("inter", None)])
    for ca, conf in (("inter", inter_conf), ("root", root_conf)):
        p._run("ca", "-gencrl", "-batch", "-config", conf, "-keyfile", p.dir / f"{ca}.key", "-cert",
               p.dir / f"{ca}.pem", "-crldays", "7", "-out", p.dir / f"{ca}.crl")
    # One file with the CRL of every CA of the chain.
    (p.dir / "crls.crl").write_bytes((p.dir / "inter.crl").read_bytes() + (p.dir / "root.crl").read_bytes())
    # OCSP responses stapled by s_server: about leaf (good), gone (revoked), and one signed by a
    # stranger the CA never authorised.
    index = p.dir / "inter.index"
    for name, cert, signer in (("good", "leaf", "inter"), ("revoked", "gone", "inter"),
                               ("forged", "leaf", "stranger")):
        req = p.dir / f"{name}.req"
        p._run("ocsp", "-issuer", p.dir / "inter.pem", "-cert", p.dir / f"{cert}.pem", "-no_nonce", "-reqout", req)
        p._run("ocsp", "-index", index, "-CA", p.dir / "inter.pem", "-rsigner", p.dir / f"{signer}.pem", "-rkey",
               p.dir / f"{signer}.key", "-reqin", req, "-respout", p.dir / f"{name}.ocsp", "-ndays", "1")
    return p


def rpem(revocation, name):
    return str(revocation.dir / name)


def curl_code(port, *args):
    if not have("curl"):
        return None
    return subprocess.run([*DNS_GUARD, "curl", "-sS", "-o", os.devnull, "--max-time", "5", "--resolve",
                           f"{HOST}:{port}:{LOOPBACK}", *map(str, args), f"https://{HOST}:{port}/"],
                          capture_output=True, timeout=10).returncode


CRL_CASES = {
    # name: (server certificate, CRL file, exit code, texts)
    "not_revoked": ("leaf", "crls.crl", 0, [OK, "Revocation (CRL): no certificate of the chain is revoked "
                                                "(2 CRLs from"]),
    "revoked": ("gone", "crls.crl", 60, [FAILED, "revoked on", "(2 days ago), reason keyCompromise",
                                         "CRL of 'O=tlslab tests, CN=tlslab Test Intermediate'",
                                         "Revocation (CRL): FAILED against 2 CRLs"]),
    "root_crl_missing": ("leaf", "inter.crl", 60, [FAILED, "depth 1", "no CRL from its issuer "
                                                                       "'O=tlslab tests, CN=tlslab Test Root'"]),
}


@pytest.mark.parametrize("case", list(CRL_CASES))
def test_crlfile_as_curl(tlslab, s_server, revocation, case):
    leaf, crls, code, texts = CRL_CASES[case]
    server = s_server("-cert", rpem(revocation, f"{leaf}.pem"), "-key", rpem(revocation, f"{leaf}.key"),
                      "-cert_chain", rpem(revocation, "inter.pem"))
    args = ["--cacert", rpem(revocation, "root.pem"), "--crlfile", rpem(revocation, crls)]
    proc = connect(tlslab, server.port, *args)
    expect(proc, code, *texts)
    if code:
        assert "certificate verification failed" in one_error_line(proc)
    assert curl_code(server.port, *args) in (None, code)
    if case == "revoked":
        doc = as_json(connect(tlslab, server.port, *args, "--json"))
        problem = doc["verification"]["problems"][0]
        assert problem["revocation"]["reason"] == "keyCompromise" and problem["revocation"]["date"].endswith("Z")
        assert doc["verification"]["crl"] == {"file": rpem(revocation, crls), "crls": 2}


def test_crlfile_unreadable_is_exit_82(tlslab, revocation, free_port_closed, tmp_path):
    (tmp_path / "not.crl").write_text("hello\n")
    for path, why in ((tmp_path / "nope.crl", "nope.crl"), (tmp_path / "not.crl", "not a CRL"),
                      (rpem(revocation, "root.pem"), "no CRL in it")):
        proc = connect(tlslab, free_port_closed, "--crlfile", path, host=LOOPBACK)
        expect(proc, 82, why)
        assert "CRL file" in one_error_line(proc)


OCSP_CASES = {
    # name: (server certificate, stapled response or None, exit code, texts)
    "good": ("leaf", "good.ocsp", 0, [OK, "OCSP staple: good (signed by O=tlslab tests, CN=tlslab Test Intermediate"]),
    "revoked": ("gone", "revoked.ocsp", 91, ["OCSP staple: revoked", "(2 days ago), reason keyCompromise",
                                             "the certificate status is not good (--cert-status)"]),
    "forged": ("leaf", "forged.ocsp", 91, ["OCSP staple: invalid", "signature does not verify"]),
    "not_for_this_certificate": ("gone", "good.ocsp", 91, ["says nothing about the server's certificate"]),
}


@pytest.mark.parametrize("case", list(OCSP_CASES))
def test_cert_status_stapled_as_curl(tlslab, s_server, revocation, case):
    leaf, staple, code, texts = OCSP_CASES[case]
    server = s_server("-cert", rpem(revocation, f"{leaf}.pem"), "-key", rpem(revocation, f"{leaf}.key"),
                      "-cert_chain", rpem(revocation, "inter.pem"), "-status_file", rpem(revocation, staple))
    args = ["--cacert", rpem(revocation, "root.pem"), "--cert-status"]
    proc = connect(tlslab, server.port, *args)
    expect(proc, code, *texts)
    if code:
        assert "certificate status (--cert-status)" in one_error_line(proc)
    assert curl_code(server.port, *args) in (None, code)
    doc = as_json(connect(tlslab, server.port, *args, "--json"))
    assert doc["verification"]["ocsp"]["ok"] == (code == 0)
    # --insecure does not turn the status check off, as in curl.
    if code:
        expect(connect(tlslab, server.port, *args, "-k"), code)


def test_cert_status_without_a_staple(tlslab, revocation, tmp_path):
    log_path = tmp_path / "serve.err"
    proc = subprocess.Popen([tlslab.path, "serve", "--listen", f"{LOOPBACK}:0", "--cert",
                             rpem(revocation, "leaf_chain.pem"), "--key", rpem(revocation, "leaf.key"), "--threads", "1"],
                            stdout=subprocess.DEVNULL, stderr=open(log_path, "wb"), stdin=subprocess.DEVNULL)
    try:
        port = announced_port(lambda: log_path.read_text(errors="replace"), SERVE_READY, proc)
        args = ["--cacert", rpem(revocation, "root.pem"), "--cert-status"]
        proc2 = connect(tlslab, port, *args)
        expect(proc2, 91, "OCSP staple: none", "the server sent no OCSP response", "fix: the server must staple")
        assert curl_code(port, *args) in (None, 91)
        # Without --cert-status nothing is asked for.
        expect(connect(tlslab, port, "--cacert", rpem(revocation, "root.pem")), 0, OK)
    finally:
        stop_process(proc, timeout=5)
