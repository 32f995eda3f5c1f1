"""End-to-end tests of `tlslab scan` against real servers on loopback (openssl s_server, nginx,
tlslab serve) configured with known sets of versions, suites and certificates; every finding is
checked against the configuration, and protocols/suites against sslscan and testssl.sh (Debian
packages) when they are installed. Targets are IP literals: no name is ever resolved, and every
command runs under conftest's DNS guard."""
import json
import os
import socket
import subprocess
import threading
import time

import pytest

from conftest import DNS_GUARD, Pki, PyServer, have, start_nginx, start_s_server, stop_process
from test_serve import Serve

pytestmark = pytest.mark.usefixtures("dns_on_loopback")  # conftest's DNS guard for every test here

IP = "127.0.0.1"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    p = Pki(tmp_path_factory.mktemp("scan-pki"))
    p.cert("root", "tlslab Scan Root", ca=True, days=365)
    p.cert("good", "localhost", issuer="root", sans=("IP:127.0.0.1",), days=60)
    p.cert("expired", "localhost", issuer="root", sans=("IP:127.0.0.1",), days=-3)
    p.cert("sha1", "localhost", issuer="root", sans=("IP:127.0.0.1",), digest="sha1", key_kind="rsa-2048")
    p.cert("other", "other.example", issuer="root", sans=("other.example",))
    return p


def scan(tlslab, port, certs, *extra, check=0):
    proc = tlslab("scan", f"{IP}:{port}", "--cacert", certs.dir / "root.pem", "--json", *extra, check=check,
                  timeout=60)
    return json.loads(proc.out) if check == 0 else proc


def version(report, name):
    return next(v for v in report["protocols"] if v["version"] == name)


def offered(report):
    return [v["version"] for v in report["protocols"] if v["supported"]]


def suites(report, name):
    return [s["name"] for s in version(report, name)["cipher_suites"]]


def serve(s_server, certs, cert, *args):
    return s_server("-cert", certs.dir / f"{cert}.pem", "-key", certs.dir / f"{cert}.key", *args)


@pytest.fixture(scope="module")
def testssl_run(certs, tmp_path_factory):
    """testssl.sh takes about a minute even for one small server (half of it its own start-up), so
    it scans one server only (TLS 1.2 and 1.3, four suites), started here in the background while
    the other tests run; the test at the end of this module waits for it."""
    if not have("testssl"):
        yield None
        return
    folder = tmp_path_factory.mktemp("testssl")
    server, port = start_s_server(["-www", "-cert", certs.dir / "good.pem", "-key", certs.dir / "good.key",
                                   "-min_protocol", "TLSv1.2", "-serverpref",
                                   "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA:AES128-SHA"],
                                  folder / "s_server.log")
    out = folder / "testssl.json"
    # --nodns none and an IP literal: no name lookups; NXCONNECT replaces the "invalid." name it
    # otherwise resolves while probing the local openssl's options.
    proc = subprocess.Popen([*DNS_GUARD, "testssl", "--quiet", "--color", "0", "--nodns", "none", "--warnings", "off",
                             "--jsonfile", out, "-p", "-E", f"{IP}:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "NXCONNECT": f"{IP}:0"})
    yield port, proc, out
    for p in (proc, server):
        p.kill()
        p.wait()


def test_tls13_only(tlslab, s_server, certs, testssl_run):
    srv = serve(s_server, certs, "good", "-tls1_3")
    r = scan(tlslab, srv.port, certs)
    assert offered(r) == ["TLS 1.3"]
    assert set(suites(r, "TLS 1.3")) == {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                                         "TLS_AES_128_GCM_SHA256"}
    assert {"x25519", "secp256r1", "secp384r1"} <= set(r["groups"])
    assert "ecdsa_secp256r1_sha256" in r["signature_algorithms"]
    assert r["tls13_resumption"] is True
    assert r["verification"]["ok"] is True
    assert r["compression"] is False
    assert r["secure_renegotiation"] is None and r["fallback_scsv"] is None
    assert r["grade"]["letter"] == "A", r["grade"]
    assert r["connections"] < 100


def test_tls12_server_order(tlslab, s_server, certs):
    srv = serve(s_server, certs, "good", "-tls1_2", "-serverpref", "-cipher",
                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256")
    r = scan(tlslab, srv.port, certs)
    assert offered(r) == ["TLS 1.2"]
    assert suites(r, "TLS 1.2") == ["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
    assert version(r, "TLS 1.2")["server_preference"] is True
    assert r["secure_renegotiation"] is True and r["extended_master_secret"] is True
    assert r["session_id_resumption"] is True and r["ticket_resumption"] is True
    assert r["grade"]["letter"] == "A"
    assert any("TLS 1.3" in rec for rec in r["grade"]["recommendations"])


def test_client_order_is_detected(tlslab, s_server, certs):
    srv = serve(s_server, certs, "good", "-tls1_2", "-cipher",
                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256")
    r = scan(tlslab, srv.port, certs)
    assert version(r, "TLS 1.2")["server_preference"] is False


def test_legacy_tls10_cbc(tlslab, s_server, certs):
    srv = serve(s_server, certs, "good", "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0")
    r = scan(tlslab, srv.port, certs)
    assert offered(r) == ["TLS 1.0"]
    names = suites(r, "TLS 1.0")
    assert names and all("_CBC_" in n for n in names), names
    assert r["grade"]["letter"] == "C"  # TLS 1.0 caps at B, no TLS 1.2/1.3 at C
    assert any("TLS 1.0" in reason for reason in r["grade"]["reasons"])
    assert any("neither TLS 1.2" in reason for reason in r["grade"]["reasons"])


def test_fallback_scsv_and_versions(tlslab, s_server, certs):
    srv = serve(s_server, certs, "good", "-cipher", "DEFAULT:@SECLEVEL=0", "-min_protocol", "TLSv1.1")
    r = scan(tlslab, srv.port, certs)
    assert "TLS 1.3" in offered(r) and "TLS 1.2" in offered(r)
    assert r["fallback_scsv"] is True


def test_no_resumption(tlslab, s_server, certs):
    srv = serve(s_server, certs, "good", "-tls1_2", "-no_ticket", "-no_cache")
    r = scan(tlslab, srv.port, certs)
    assert r["session_id_resumption"] is False
    assert r["ticket_resumption"] is False


def test_expired_chain_is_t(tlslab, s_server, certs):
    srv = serve(s_server, certs, "expired", "-tls1_3")
    r = scan(tlslab, srv.port, certs)
    assert r["grade"]["letter"] == "T"
    assert r["grade"]["letter_if_trusted"] == "A"
    assert any("expired" in p["reason"] for p in r["verification"]["problems"])


def test_sha1_chain_is_t(tlslab, s_server, certs):
    srv = serve(s_server, certs, "sha1", "-cipher", "DEFAULT:@SECLEVEL=0")
    r = scan(tlslab, srv.port, certs)
    assert r["grade"]["letter"] == "T"
    assert any("SHA-1" in reason for reason in r["grade"]["reasons"]), r["grade"]


def test_name_mismatch_and_text_report(tlslab, s_server, certs):
    srv = serve(s_server, certs, "other", "-tls1_3")
    proc = tlslab("scan", f"{IP}:{srv.port}", "--cacert", certs.dir / "root.pem", check=0)
    assert "Grade" in proc.out and "T (would be" in proc.out
    assert "Connections made" in proc.out
    assert "TLS_AES_256_GCM_SHA384" in proc.out


def test_unreachable_exit_code(tlslab, free_port_closed):
    proc = tlslab("scan", f"{IP}:{free_port_closed}", check=7)
    assert "could not connect" in proc.err


def test_usage(tlslab):
    tlslab("scan", check=2)
    tlslab("scan", f"{IP}:443", "--concurrency", "0", check=2)


def test_targets_file_json_lines(tlslab, s_server, certs, tmp_path, free_port_closed):
    a = serve(s_server, certs, "good", "-tls1_3")
    targets = tmp_path / "targets.txt"
    targets.write_text(f"# two servers\n{IP}:{a.port}\n{IP}:{free_port_closed}\n")
    proc = tlslab("scan", "--targets", targets, "--cacert", certs.dir / "root.pem", "--json", timeout=60)
    lines = [json.loads(line) for line in proc.out.splitlines()]
    assert len(lines) == 2
    assert lines[0]["grade"]["letter"] == "A"
    assert "error" in lines[1]
    assert proc.returncode == 7


@pytest.fixture
def nginx(tmp_path, certs):
    proc, ports = start_nginx(tmp_path / "nginx", certs.dir / "good.pem", certs.dir / "good.key", {"tls": "ssl http2"},
                              server="""        ssl_session_tickets on;
        ssl_session_cache shared:s:1m;
        add_header Strict-Transport-Security "max-age=31536000" always;
        location / { return 200 "ok\\n"; }""")
    yield ports["tls"]
    stop_process(proc, timeout=5)


def test_nginx_hsts_a_plus(tlslab, nginx, certs):
    r = scan(tlslab, nginx, certs)
    assert offered(r) == ["TLS 1.2", "TLS 1.3"]
    assert r["hsts_max_age"] == 31536000
    assert r["http_status"] == 200
    assert r["alpn"][:2] == ["h2", "http/1.1"]
    assert r["fallback_scsv"] is True
    assert r["grade"]["letter"] == "A+", r["grade"]


# ---------------------------------------------------------------------------------------------
# Cross-checks with sslscan: the same protocols and the same suites.

def openssl_to_iana():
    out = subprocess.run(["openssl", "ciphers", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                         capture_output=True, text=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "-":
            table[parts[2]] = parts[0]
    return table


def sslscan_findings(port):
    out = subprocess.run(["sslscan", "--no-colour", f"{IP}:{port}"], capture_output=True, text=True,
                         timeout=120).stdout
    names = openssl_to_iana()
    protocols, accepted = set(), {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3") \
                and parts[1] == "enabled":
            protocols.add(parts[0].replace("TLSv", "TLS "))
        if parts[:1] in (["Accepted"], ["Preferred"]) and len(parts) >= 5:
            accepted.setdefault(parts[1].replace("TLSv", "TLS "), set()).add(names.get(parts[4], parts[4]))
    return protocols, accepted


@pytest.mark.skipif(not have("sslscan"), reason="sslscan not installed")
@pytest.mark.parametrize("args", [
    ("-tls1_2", "-serverpref", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"),
    ("-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"),
    ("-cipher", "DEFAULT:@SECLEVEL=0"),
], ids=["tls12-order", "tls10-cbc", "default"])
def test_agrees_with_sslscan(tlslab, s_server, certs, args):
    srv = serve(s_server, certs, "good", *args)
    r = scan(tlslab, srv.port, certs)
    protocols, accepted = sslscan_findings(srv.port)
    assert set(offered(r)) == protocols
    for name in protocols:
        assert set(suites(r, name)) == accepted.get(name, set()), name


def parse_testssl(out):
    """Protocols offered and suites per protocol from testssl.sh's flat JSON (-p -E)."""
    names = {"SSLv2": "SSLv2", "SSLv3": "SSLv3", "TLS1": "TLS 1.0", "TLS1_1": "TLS 1.1", "TLS1_2": "TLS 1.2",
             "TLS1_3": "TLS 1.3"}
    protocols, accepted = set(), {}
    findings = json.loads(out.read_text())
    # testssl.sh writes its fatal errors into the JSON file too (id "scanProblem") before it exits.
    fatal = [e["finding"] for e in findings if e["id"] == "scanProblem" and e.get("severity") == "FATAL"]
    assert not fatal, f"testssl.sh failed: {fatal}"
    for e in findings:
        if e["id"] in names and e["finding"].startswith("offered"):
            protocols.add(names[e["id"]])
        if e["id"].startswith("cipher-"):  # cipher-tls1_2_xc02b: "TLS 1.2 xc02b ECDHE-... TLS_ECDHE_..._SHA256"
            protocol = e["id"].removeprefix("cipher-").rsplit("_x", 1)[0].upper()
            accepted.setdefault(names[protocol], set()).add(e["finding"].split()[-1])
    return protocols, accepted


@pytest.mark.skipif(not have("testssl"), reason="testssl.sh not installed")
def test_agrees_with_testssl(tlslab, certs, testssl_run):
    port, proc, out = testssl_run
    r = scan(tlslab, port, certs)
    # Its exit code counts findings below 242 and is one of its errors from 242 to 255.
    code = proc.wait(timeout=180)
    assert code < 242 and out.exists(), f"testssl.sh failed (exit {code})"
    protocols, accepted = parse_testssl(out)
    assert set(offered(r)) == protocols
    for name in protocols:
        assert set(suites(r, name)) == accepted.get(name, set()), name


# ---------------------------------------------------------------------------------------------
# The project's own server.

@pytest.fixture
def tlslab_serve(tlslab, certs, tmp_path):
    started = []

    def start(*args):
        d = tmp_path / f"serve{len(started)}"
        d.mkdir()
        s = Serve(tlslab, d, ["--threads", 1, "--cert", certs.dir / "good.pem", "--key", certs.dir / "good.key", *args])
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def test_tlslab_serve_tls13_only(tlslab, tlslab_serve, certs):
    r = scan(tlslab, tlslab_serve("--tls-min", "1.3").port, certs)
    assert offered(r) == ["TLS 1.3"]
    assert suites(r, "TLS 1.3") == ["TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"]
    assert r["groups"] == ["x25519", "secp256r1", "secp384r1"]  # serve's default groups
    assert r["signature_algorithms"] == ["ecdsa_secp256r1_sha256"]  # a P-256 key: the one TLS 1.3 scheme
    assert r["alpn"] == ["h2", "http/1.1"]  # serve's default, as nginx with http2
    assert r["tls13_resumption"] is True and r["ticket_resumption"] is True
    assert r["session_id_resumption"] is None
    assert r["max_early_data"] == 0
    assert r["ocsp_stapling"] is False
    assert r["compression"] is False
    assert r["secure_renegotiation"] is None and r["extended_master_secret"] is None
    assert r["fallback_scsv"] is None
    assert r["verification"]["ok"] is True and r["verification"]["hostname_ok"] is True
    assert r["http_status"] == 200 and r["hsts"] is None
    assert r["grade"]["letter"] == "A"
    assert any("Strict-Transport-Security" in rec for rec in r["grade"]["recommendations"])


def test_tlslab_serve_tls12_cipher_order(tlslab, tlslab_serve, certs):
    order = ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES256-GCM-SHA384"]
    r = scan(tlslab, tlslab_serve("--tls-max", "1.2", "--ciphers", ":".join(order)).port, certs)
    assert offered(r) == ["TLS 1.2"]
    assert suites(r, "TLS 1.2") == ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                                    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                                    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"]
    assert version(r, "TLS 1.2")["server_preference"] is True
    # TLS 1.2 with an ECDSA P-256 key: groups are found until P-256 itself is taken out (docs/scan.md).
    assert r["groups"] == ["x25519", "secp256r1"]
    assert set(r["signature_algorithms"]) >= {"ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384"}
    assert r["secure_renegotiation"] is True and r["extended_master_secret"] is True
    assert r["session_id_resumption"] is True and r["ticket_resumption"] is True
    assert r["tls13_resumption"] is None
    assert r["fallback_scsv"] is None  # one version: nothing to fall back to
    assert r["grade"]["letter"] == "A"


def test_tlslab_serve_no_resumption(tlslab, tlslab_serve, certs):
    r = scan(tlslab, tlslab_serve("--no-resumption").port, certs)
    assert offered(r) == ["TLS 1.2", "TLS 1.3"]
    assert r["session_id_resumption"] is False
    assert r["ticket_resumption"] is False
    assert r["tls13_resumption"] is False
    assert r["fallback_scsv"] is True


# ---------------------------------------------------------------------------------------------
# Politeness: --concurrency and --delay bound the connections.

def pipe(a, b):
    """Copies a -> b until a ends, then shuts both down (which ends the other direction too)."""
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    for x in (a, b):
        try:
            x.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def slow_forwarder(upstream):
    """Forwards to 127.0.0.1:upstream after holding each connection 40 ms, so that connections
    overlap long enough to be seen."""
    def relay(client):
        time.sleep(0.04)
        server = socket.create_connection((IP, upstream))
        threading.Thread(target=pipe, args=(server, client), daemon=True).start()
        pipe(client, server)

    return PyServer(relay)


def open_connections(pid, port):
    """The TCP sockets process pid holds to 127.0.0.1:port, from /proc (exact at that moment)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        lines = open("/proc/net/tcp").read().splitlines()[1:]
    except OSError:
        return 0
    return sum(1 for line in lines if int(line.split()[2].split(":")[1], 16) == port and line.split()[9] in inodes)


def test_concurrency_and_delay_bound_the_connections(tlslab, s_server, certs):
    srv = serve(s_server, certs, "good", "-tls1_3")
    fwd = slow_forwarder(srv.port)
    proc = subprocess.Popen([tlslab.path, "scan", f"{IP}:{fwd.port}", "--cacert", certs.dir / "root.pem", "--json",
                             "--concurrency", "2", "--delay", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    most = 0
    while proc.poll() is None:
        most = max(most, open_connections(proc.pid, fwd.port))
        time.sleep(0.002)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    r = json.loads(out)
    assert offered(r) == ["TLS 1.3"]  # the findings do not change
    assert most == 2, f"at most {most} connections seen at once, wanted 2"
    # Each connection but the first (the reachability check) waits 20 ms in one of two slots.
    assert r["elapsed_ms"] >= 20 * (r["connections"] - 1) / 2


# ---------------------------------------------------------------------------------------------
# Ports that do not speak TLS: said so, with connect's exit codes, not a report full of "n/a".

def plain_http(conn):
    conn.recv(4096)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def test_plain_http_port_does_not_speak_tls(tlslab):
    server = PyServer(plain_http)
    proc = tlslab("scan", "-q", f"{IP}:{server.port}", check=35)
    assert f"{IP}:{server.port} does not speak TLS (plain HTTP?)" in proc.err
    assert '"HTTP/1.1 400 Bad Request"' in proc.err
    assert "Grade" not in proc.out


def test_silent_port_times_out(tlslab):
    server = PyServer(None, accept=False)  # the kernel completes connections; nobody ever answers
    proc = tlslab("scan", "-q", "--timeout", "1", f"{IP}:{server.port}", check=28)
    assert "answered nothing to a TLS ClientHello in 1s" in proc.err
    assert "Grade" not in proc.out


def test_json_of_one_unreachable_target_is_a_result(tlslab, free_port_closed):
    server = PyServer(plain_http)
    for target, code in ((f"{IP}:{free_port_closed}", 7), (f"{IP}:{server.port}", 35)):
        proc = tlslab("scan", "--json", target, check=code)
        result = json.loads(proc.out)
        assert result["target"] == target and result["exit_code"] == code
        assert result["error"] in proc.err


def test_timeout_out_of_range_is_a_usage_error(tlslab):
    for bad in ("0", "-1", "1e300"):
        proc = tlslab("scan", "--timeout", bad, f"{IP}:443", check=2)
        assert "--timeout" in proc.err
