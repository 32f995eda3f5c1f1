"""End-to-end tests of `tlslab ca` and `tlslab cert show`: certificates issued by tlslab checked by
other implementations (openssl verify, GnuTLS certtool, curl, openssl s_server/s_client, tlslab
connect, headless Chromium), and bad input refused with exact messages and nothing half-written."""
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess

import pytest

from conftest import have

NAMES = ["www.bank32.com", "*.bank32.com", "bank32.com", "127.0.0.1", "::1"]


def openssl(*args, input=None, check=True):
    proc = subprocess.run(["openssl", *map(str, args)], capture_output=True, input=input, timeout=30)
    proc.out = proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    if check:
        assert proc.returncode == 0, proc.out
    return proc


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def listing(directory):
    return sorted(p.name for p in pathlib.Path(directory).iterdir())


@pytest.fixture
def home(tmp_path):
    """An empty HOME with no XDG or TLSLAB_CA variables, so the default CA folder is under it."""
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def env(home):
    return {"HOME": str(home), "XDG_DATA_HOME": "", "TLSLAB_CA": ""}


@pytest.fixture
def ca(tlslab, tmp_path):
    """A root CA in tmp_path/ca; returns its folder."""
    d = tmp_path / "ca"
    tlslab("ca", "init", "--dir", d, "--name", "tlslab e2e root", check=0)
    return d


def issue(tlslab, ca_dir, out, *names, check=0, extra=()):
    return tlslab("ca", "issue", "--dir", ca_dir, "--out", out, *extra, *names, check=check)


# ---- ca init ----

def test_init_uses_xdg_data_home_and_private_modes(tlslab, home, env):
    proc = tlslab("ca", "init", env=env, check=0)
    d = home / ".local/share/tlslab/ca"
    assert f"Created a root CA in {d}" in proc.out
    assert listing(d) == ["ca-key.pem", "ca.pem"]
    assert mode(d / "ca-key.pem") == 0o600
    assert mode(d) == 0o700
    text = openssl("x509", "-in", d / "ca.pem", "-noout", "-text").out
    assert re.search(r"Basic Constraints: critical\s+CA:TRUE", text)
    assert re.search(r"Key Usage: critical\s+Certificate Sign, CRL Sign", text)
    assert "Subject Key Identifier" in text
    assert "tlslab development CA" in text

    xdg = home / "data"
    tlslab("ca", "init", env={**env, "XDG_DATA_HOME": str(xdg)}, check=0)
    assert (xdg / "tlslab/ca/ca.pem").exists()
    tlslab("ca", "init", env={**env, "TLSLAB_CA": str(home / "env-ca")}, check=0)
    assert (home / "env-ca/ca.pem").exists()


def test_init_refuses_to_overwrite(tlslab, ca):
    before = (ca / "ca.pem").read_bytes(), (ca / "ca-key.pem").read_bytes()
    proc = tlslab("ca", "init", "--dir", ca, check=73)
    assert f"a CA already exists in {ca}" in proc.err
    assert ((ca / "ca.pem").read_bytes(), (ca / "ca-key.pem").read_bytes()) == before


@pytest.mark.parametrize("key,algo", [("ec-p384", "id-ecPublicKey"), ("rsa-2048", "rsaEncryption"),
                                      ("ed25519", "ED25519")])
def test_init_key_types(tlslab, tmp_path, key, algo):
    d = tmp_path / key
    tlslab("ca", "init", "--dir", d, "--key-type", key, "--days", "30", check=0)
    text = openssl("x509", "-in", d / "ca.pem", "-noout", "-text").out
    assert algo in text
    issue(tlslab, d, tmp_path / "leaf", "a.test")
    openssl("verify", "-CAfile", d / "ca.pem", tmp_path / "leaf.pem")


# ---- ca issue ----

def test_issue_multi_name_leaf_verifies_with_openssl(tlslab, ca, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([os.path.abspath(tlslab.path), "ca", "issue", "--dir", str(ca), *NAMES, "bücher.de", "me@bank32.com"],
                          capture_output=True, cwd=work, timeout=30, env={**os.environ, "NO_COLOR": "1"})
    out = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()
    assert listing(work) == ["www.bank32.com+6-key.pem", "www.bank32.com+6.pem"]
    assert mode(work / "www.bank32.com+6-key.pem") == 0o600
    assert "bücher.de (xn--bcher-kva.de)" in out
    assert "Expires:" in out and "(in 397 days)" in out
    cert = work / "www.bank32.com+6.pem"
    text = openssl("x509", "-in", cert, "-noout", "-text").out
    assert "DNS:www.bank32.com, DNS:*.bank32.com, DNS:bank32.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, " \
           "DNS:xn--bcher-kva.de, email:me@bank32.com" in text
    assert "Subject: CN = www.bank32.com" in text
    assert re.search(r"Extended Key Usage:\s+TLS Web Server Authentication, E-mail Protection", text)
    assert "Authority Key Identifier" in text and "Subject Key Identifier" in text
    serial = openssl("x509", "-in", cert, "-noout", "-serial").out.strip().split("=")[1]
    assert len(serial) >= 16  # at least 64 bits
    for host in ["www.bank32.com", "api.bank32.com", "bank32.com"]:
        openssl("verify", "-CAfile", ca / "ca.pem", "-verify_hostname", host, "-purpose", "sslserver", cert)
    openssl("verify", "-CAfile", ca / "ca.pem", "-verify_ip", "127.0.0.1", cert)
    openssl("verify", "-CAfile", ca / "ca.pem", "-verify_ip", "::1", cert)
    bad = openssl("verify", "-CAfile", ca / "ca.pem", "-verify_hostname", "a.b.bank32.com", cert, check=False)
    assert bad.returncode != 0 and "hostname mismatch" in bad.out


def test_issue_client_certificate(tlslab, ca, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    tlslab("ca", "issue", "--dir", ca, "--client", "--out", str(out) + "/", "alice.test", check=0)
    cert = out / "alice.test-client.pem"
    text = openssl("x509", "-in", cert, "-noout", "-text").out
    assert re.search(r"Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication", text)
    openssl("verify", "-CAfile", ca / "ca.pem", "-purpose", "sslclient", cert)


def test_issue_warns_about_wildcards_browsers_refuse(tlslab, ca, tmp_path):
    proc = issue(tlslab, ca, tmp_path / "w", "*.test")
    assert "warning: *.test: browsers refuse a wildcard directly under a top-level domain" in proc.err


def test_certtool_verifies_root_and_intermediate_chains(tlslab, ca, tmp_path):
    if not have("certtool"):
        pytest.skip("certtool (gnutls-bin) not installed")
    sub = tmp_path / "sub"
    proc = tlslab("ca", "init", "--intermediate", "--parent", ca, "--dir", sub, "--name", "e2e issuing CA", check=0)
    assert "Created an intermediate CA" in proc.out
    assert listing(sub) == ["ca-key.pem", "ca.pem", "chain.pem", "root.pem"]
    proc = issue(tlslab, sub, tmp_path / "srv", "www.bank32.com", "bank32.com")
    assert "srv-chain.pem" in proc.out
    full = tmp_path / "full.pem"
    full.write_bytes((tmp_path / "srv-chain.pem").read_bytes() + (ca / "ca.pem").read_bytes())
    result = subprocess.run(["certtool", "--verify-chain", "--infile", str(full)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Chain verification output: Verified" in result.stdout
    result = subprocess.run(["certtool", "--verify", "--load-ca-certificate", str(ca / "ca.pem"), "--infile",
                             str(tmp_path / "srv-chain.pem"), "--verify-hostname", "bank32.com"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    openssl("verify", "-CAfile", ca / "ca.pem", "-untrusted", sub / "ca.pem", tmp_path / "srv.pem")
    # Without the intermediate, the leaf does not chain.
    assert openssl("verify", "-CAfile", ca / "ca.pem", tmp_path / "srv.pem", check=False).returncode != 0


def test_name_constrained_ca(tlslab, tmp_path):
    d = tmp_path / "nc"
    proc = tlslab("ca", "init", "--dir", d, "--permit-dns", ".test", check=0)
    assert "May issue for: test and names under them; no IP addresses" in proc.out
    issue(tlslab, d, tmp_path / "in", "www.bank32.test")
    openssl("verify", "-CAfile", d / "ca.pem", tmp_path / "in.pem")
    # Names every client would reject are refused, the constraint named, nothing written...
    proc = issue(tlslab, d, tmp_path / "out", "bar.example", check=2)
    assert "bar.example is outside the name constraints of" in proc.err
    assert "it may issue only for test and names under it, and for no IP address" in proc.err
    assert "--force" in proc.err and not (tmp_path / "out.pem").exists()
    proc = issue(tlslab, d, tmp_path / "ip", "www.bank32.test", "127.0.0.1", check=2)
    assert "127.0.0.1 is outside the name constraints" in proc.err and not (tmp_path / "ip.pem").exists()
    # ... unless --force: then with a warning, so verifiers can be watched refusing them.
    proc = issue(tlslab, d, tmp_path / "out", "www.bank32.com", extra=["--force"])
    assert "www.bank32.com is outside the CA's name constraints" in proc.err
    bad = openssl("verify", "-CAfile", d / "ca.pem", tmp_path / "out.pem", check=False)
    assert bad.returncode != 0 and "permitted subtree violation" in bad.out
    issue(tlslab, d, tmp_path / "ip", "www.bank32.test", "127.0.0.1", extra=["--force"])
    bad = openssl("verify", "-CAfile", d / "ca.pem", tmp_path / "ip.pem", check=False)
    assert bad.returncode != 0 and "excluded subtree violation" in bad.out


def test_name_constrained_ca_signs_only_what_it_may(tlslab, tmp_path):
    d = tmp_path / "nc"
    tlslab("ca", "init", "--dir", d, "--permit-dns", ".test", check=0)
    csr = make_csr(tmp_path, cn="api.lab.test", san="DNS:api.lab.test,DNS:evil.com")
    proc = tlslab("ca", "sign", "--dir", d, csr, "--copy-sans", "--out", tmp_path / "api", check=2)
    assert "evil.com is outside the name constraints" in proc.err and not (tmp_path / "api.pem").exists()
    tlslab("ca", "sign", "--dir", d, csr, "--out", tmp_path / "api", check=0)  # its CN alone is fine
    tlslab("ca", "sign", "--dir", d, csr, "--copy-sans", "--force", "--out", tmp_path / "forced", check=0)


# ---- ca sign ----

def make_csr(tmp_path, cn="api.bank32.com", san="DNS:api.bank32.com,DNS:evil.com,IP:10.0.0.1"):
    key, csr = tmp_path / "req.key", tmp_path / "req.csr"
    args = ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-subj", f"/O=Bank32/CN={cn}", "-out", csr]
    if san:
        args += ["-addext", f"subjectAltName={san}"]
    openssl(*args)
    return csr


def test_sign_csr_ignores_its_extensions(tlslab, ca, tmp_path):
    csr = make_csr(tmp_path)
    proc = tlslab("ca", "sign", "--dir", ca, csr, "api.bank32.com", "--out", tmp_path / "api", check=0)
    assert "(from the command line)" in proc.out
    assert not (tmp_path / "api-key.pem").exists()
    text = openssl("x509", "-in", tmp_path / "api.pem", "-noout", "-text").out
    assert "DNS:api.bank32.com" in text and "evil.com" not in text
    assert "Subject: O = Bank32, CN = api.bank32.com" in text
    openssl("verify", "-CAfile", ca / "ca.pem", tmp_path / "api.pem")
    # The certified key is the request's.
    assert openssl("x509", "-in", tmp_path / "api.pem", "-noout", "-pubkey").out == \
        openssl("pkey", "-in", tmp_path / "req.key", "-pubout").out


def test_sign_csr_copy_sans_and_stdin(tlslab, ca, tmp_path):
    csr = make_csr(tmp_path)
    proc = tlslab("ca", "sign", "--dir", ca, "-", "--copy-sans", "--out", tmp_path / "copied",
                  input=csr.read_bytes(), check=0)
    assert "Signed standard input" in proc.out
    text = openssl("x509", "-in", tmp_path / "copied.pem", "-noout", "-text").out
    assert "DNS:api.bank32.com, DNS:evil.com, IP Address:10.0.0.1" in text
    proc = tlslab("ca", "sign", "--dir", ca, csr, "--copy-sans", "x.test", check=2)


def test_sign_refuses_a_tampered_csr(tlslab, ca, tmp_path):
    csr = make_csr(tmp_path, san=None)
    der = openssl("req", "-in", csr, "-outform", "DER").stdout
    tampered = tmp_path / "tampered.csr"
    # Change one byte of the subject: the signature no longer covers what is there.
    tampered.write_bytes(der.replace(b"Bank32", b"Bank33"))
    proc = tlslab("ca", "sign", "--dir", ca, tampered, check=26)
    assert f"{tampered}: the request's signature does not verify with its own key" in proc.err
    assert not list(tmp_path.glob("api.bank32.com*"))


# ---- rehash, export, capath ----

def test_rehash_matches_openssl_and_serves_capath(tlslab, ca, tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for d in (ours, theirs):
        d.mkdir()
        shutil.copy(ca / "ca.pem", d / "root.pem")
    # A second CA with the same subject: a hash collision, numbered .0 and .1.
    twin = tmp_path / "twin"
    tlslab("ca", "init", "--dir", twin, "--name", "tlslab e2e root", check=0)
    for d in (ours, theirs):
        shutil.copy(twin / "ca.pem", d / "twin.crt")
        os.symlink("gone.pem", d / "0badf00d.0")
    proc = tlslab("ca", "rehash", ours, check=0)
    assert "Rehashed" in proc.out and "2 links" in proc.out
    assert "removed  0badf00d.0 -> gone.pem  (its target is gone)" in proc.out
    openssl("rehash", theirs)

    def links(d):
        return {p.name: os.readlink(p) for p in d.iterdir() if p.is_symlink()}
    assert links(ours) == links(theirs)
    assert sorted(n.split(".")[1] for n in links(ours)) == ["0", "1"]
    again = tlslab("ca", "rehash", ours, check=0)
    assert again.out.count("kept") == 2 and "linked " not in again.out

    issue(tlslab, ca, tmp_path / "leaf", "www.bank32.com")
    openssl("verify", "-CApath", ours, tmp_path / "leaf.pem")


def test_export_capath_for_an_intermediate(tlslab, ca, tmp_path):
    sub = tmp_path / "sub"
    tlslab("ca", "init", "--intermediate", "--parent", ca, "--dir", sub, check=0)
    issue(tlslab, sub, tmp_path / "leaf", "www.bank32.com")
    capath = tmp_path / "capath"
    proc = tlslab("ca", "export", "--capath", capath, "--dir", sub, check=0)
    assert "openssl verify -CApath" in proc.out
    assert len([p for p in capath.iterdir() if p.is_symlink()]) == 2
    openssl("verify", "-CApath", capath, tmp_path / "leaf.pem")


# ---- against real TLS peers ----

def test_curl_and_openssl_and_tlslab_connect_against_s_server(tlslab, ca, tmp_path, s_server):
    issue(tlslab, ca, tmp_path / "srv", *NAMES)
    server = s_server("-cert", tmp_path / "srv.pem", "-key", tmp_path / "srv-key.pem")
    port = server.port
    for name in ["www.bank32.com", "api.bank32.com", "bank32.com"]:
        r = subprocess.run(["curl", "-sS", "--cacert", str(ca / "ca.pem"), "--resolve", f"{name}:{port}:127.0.0.1",
                            f"https://{name}:{port}/"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert "s_server" in r.stdout or "Ciphers" in r.stdout
    r = subprocess.run(["curl", "-sS", "--cacert", str(ca / "ca.pem"), f"https://127.0.0.1:{port}/"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(["curl", "-sS", "--cacert", str(ca / "ca.pem"), "--resolve", f"other.com:{port}:127.0.0.1",
                        f"https://other.com:{port}/"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 60  # curl: peer certificate cannot be authenticated
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "www.bank32.com",
                        "-verify_hostname", "www.bank32.com", "-verify_return_error", "-CAfile", str(ca / "ca.pem")],
                       input=b"", capture_output=True, timeout=30)
    assert r.returncode == 0 and b"Verify return code: 0 (ok)" in r.stdout
    proc = tlslab("connect", f"www.bank32.com:{port}", "--resolve", f"www.bank32.com:{port}:127.0.0.1",
                  "--cacert", ca / "ca.pem")
    assert proc.returncode == 0, proc.out + proc.err


def test_curl_through_an_intermediate(tlslab, ca, tmp_path, s_server):
    sub = tmp_path / "sub"
    tlslab("ca", "init", "--intermediate", "--parent", ca, "--dir", sub, check=0)
    issue(tlslab, sub, tmp_path / "srv", "www.bank32.com")
    server = s_server("-cert", tmp_path / "srv.pem", "-key", tmp_path / "srv-key.pem", "-cert_chain", sub / "ca.pem")
    r = subprocess.run(["curl", "-sS", "--cacert", str(ca / "ca.pem"), "--resolve",
                        f"www.bank32.com:{server.port}:127.0.0.1", f"https://www.bank32.com:{server.port}/"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(home, url, rules, tmp_path):
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                           f"--host-resolver-rules={rules}", "--dump-dom", url],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(home)})


def test_chromium_accepts_a_multi_name_certificate(tlslab, ca, tmp_path, s_server):
    if not have("chromium") or not have("certutil"):
        pytest.skip("chromium or certutil (libnss3-tools) not installed: apt-get install chromium libnss3-tools")
    issue(tlslab, ca, tmp_path / "srv", "www.bank32.com", "*.bank32.com", "127.0.0.1")
    server = s_server("-cert", tmp_path / "srv.pem", "-key", tmp_path / "srv-key.pem")
    home = tmp_path / "chome"
    home.mkdir()
    rules = "MAP www.bank32.com 127.0.0.1, MAP api.bank32.com 127.0.0.1"
    # Not trusted yet: Chromium refuses (and still exits 0: judge by its stderr and the DOM).
    r = chromium(home, f"https://www.bank32.com:{server.port}/", rules, tmp_path)
    assert "ERR_CERT_AUTHORITY_INVALID" in r.stderr and "Ciphers" not in r.stdout
    # tlslab puts the CA in the test's own NSS database (Chromium's ~/.pki/nssdb).
    nssdb = home / ".pki/nssdb"
    proc = tlslab("ca", "trust", "--dir", ca, "--nss", nssdb, "--no-system", "--apply", check=0)
    assert "certutil -A" in proc.out
    for name in ["www.bank32.com", "api.bank32.com"]:
        r = chromium(home, f"https://{name}:{server.port}/", rules, tmp_path)
        assert "Ciphers" in r.stdout, r.stderr[-2000:]
    # A name the certificate does not hold.
    r = chromium(home, f"https://bank32.com:{server.port}/", "MAP bank32.com 127.0.0.1", tmp_path)
    assert "ERR_CERT_COMMON_NAME_INVALID" in r.stderr


# ---- trust ----

def test_trust_prints_without_changing_anything(tlslab, ca, tmp_path):
    nssdb = tmp_path / "nssdb"
    proc = tlslab("ca", "trust", "--dir", ca, "--nss", nssdb, check=0)
    assert "update-ca-certificates" in proc.out
    assert re.search(r"install -m 0644 \S+/ca.pem /usr/local/share/ca-certificates/tlslab-tlslab-e2e-root-[0-9a-f]{8}"
                     r"\.crt", proc.out)
    assert "Nothing was changed: run again with --apply to do it." in proc.out
    assert not nssdb.exists()


def test_trust_apply_and_remove_in_nss(tlslab, ca, tmp_path):
    if not have("certutil"):
        pytest.skip("certutil (libnss3-tools) not installed")
    nssdb = tmp_path / "nssdb"
    tlslab("ca", "trust", "--dir", ca, "--nss", nssdb, "--no-system", "--apply", check=0)
    listed = subprocess.run(["certutil", "-L", "-d", f"sql:{nssdb}"], capture_output=True, text=True).stdout
    assert re.search(r"tlslab-tlslab-e2e-root-[0-9a-f]{8}\s+C,,", listed)
    tlslab("ca", "trust", "--dir", ca, "--nss", nssdb, "--no-system", "--apply", "--remove", check=0)
    listed = subprocess.run(["certutil", "-L", "-d", f"sql:{nssdb}"], capture_output=True, text=True).stdout
    assert "tlslab-" not in listed


# ---- cert show ----

def test_cert_show_pem_der_bundle_and_json(tlslab, ca, tmp_path):
    sub = tmp_path / "sub"
    tlslab("ca", "init", "--intermediate", "--parent", ca, "--dir", sub, check=0)
    issue(tlslab, sub, tmp_path / "srv", "www.bank32.com", "127.0.0.1")
    proc = tlslab("cert", "show", tmp_path / "srv.pem", check=0)
    assert re.search(r"Names \(SAN\):\s+DNS:www.bank32.com, IP:127.0.0.1", proc.out)
    proc = tlslab("cert", "show", tmp_path / "srv-chain.pem", check=0)
    assert "Certificate 1 of 2" in proc.out and "Certificate 2 of 2" in proc.out
    assert "CA:TRUE, pathlen:0 (critical)" in proc.out
    der = openssl("x509", "-in", tmp_path / "srv.pem", "-outform", "DER").stdout
    proc = tlslab("cert", "show", "-", "--json", input=der, check=0)
    doc = json.loads(proc.out)
    assert doc["source"] == "standard input"
    leaf = doc["certificates"][0]
    assert leaf["subject_alt_names"] == [{"type": "dns", "value": "www.bank32.com"},
                                         {"type": "ip", "value": "127.0.0.1"}]
    assert leaf["extended_key_usage"] == ["serverAuth"]
    assert leaf["is_ca"] is False


# ---- bad input ----

def test_missing_and_corrupt_ca_files(tlslab, ca, tmp_path):
    proc = tlslab("ca", "issue", "--dir", tmp_path / "none", "a.test", check=77)
    assert f"no CA in {tmp_path / 'none'}: the directory does not exist" in proc.err
    broken = tmp_path / "broken"
    shutil.copytree(ca, broken)
    (broken / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    proc = tlslab("ca", "issue", "--dir", broken, "a.test", check=77)
    assert f"{broken / 'ca.pem'}" in proc.err
    shutil.copy(ca / "ca.pem", broken / "ca.pem")
    (broken / "ca-key.pem").write_text("garbage")
    proc = tlslab("ca", "issue", "--dir", broken, "a.test", check=77)
    assert f"{broken / 'ca-key.pem'}: not a private key" in proc.err
    (broken / "ca-key.pem").unlink()
    proc = tlslab("ca", "issue", "--dir", broken, "a.test", check=77)
    assert f"{broken / 'ca-key.pem'} is missing" in proc.err
    other = tmp_path / "other"
    tlslab("ca", "init", "--dir", other, check=0)
    shutil.copy(other / "ca-key.pem", broken / "ca-key.pem")
    proc = tlslab("ca", "issue", "--dir", broken, "a.test", check=77)
    assert "does not belong to" in proc.err
    assert not list(pathlib.Path.cwd().glob("a.test*"))


@pytest.mark.parametrize("name,reason", [
    ("", "the name is empty"),
    ("www bank32.com", "it contains a space"),
    ("a.*.com", "a wildcard is only allowed as the whole left-most label"),
    ("*.*.com", "only one wildcard is allowed"),
    ("*", "a lone * would match every name"),
    ("a" * 64 + ".com", "is 64 characters long; the limit is 63"),
    ("256.1.1.1", "not a valid IPv4 address"),
])
def test_invalid_names(tlslab, ca, tmp_path, name, reason):
    proc = issue(tlslab, ca, tmp_path / "x", "ok.test", name, check=2)
    assert f'invalid name "{name}": ' in proc.err and reason in proc.err
    assert not list(tmp_path.glob("x*"))


def test_unknown_key_type(tlslab, ca, tmp_path):
    proc = issue(tlslab, ca, tmp_path / "x", "a.test", check=2, extra=("--key-type", "dsa-1024"))
    assert 'unknown key type "dsa-1024"; use one of: ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519' in proc.err
    proc = tlslab("ca", "init", "--dir", tmp_path / "k", "--key-type", "rsa-1024", check=2)
    assert not (tmp_path / "k").exists()


def test_key_is_the_old_spelling_of_key_type(tlslab, ca, tmp_path):
    """--key names a key file in serve and connect; ca's key type became --key-type, and the old
    spelling still works without being shown."""
    issue(tlslab, ca, tmp_path / "x", "a.test", extra=("--key", "ec-p384"))
    assert "NIST CURVE: P-384" in openssl("x509", "-in", tmp_path / "x.pem", "-noout", "-text").out
    helptext = tlslab("ca", "issue", "--help", check=0).out
    assert "--key-type KIND" in helptext and "--key " not in helptext
    proc = issue(tlslab, ca, tmp_path / "y", "a.test", check=2, extra=("--key", "ec-p384", "--key-type", "ec-p256"))
    assert proc.err == "tlslab ca issue: --key and --key-type cannot be used together\n"


def test_unwritable_output_leaves_nothing(tlslab, ca, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    proc = issue(tlslab, ca, blocker / "srv", "a.test", check=23)
    assert f"cannot write {blocker / 'srv-key.pem'}" in proc.err
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    if os.geteuid() != 0:  # root writes anywhere
        proc = issue(tlslab, ca, ro / "srv", "a.test", check=23)
        assert "Permission denied" in proc.err
    assert listing(ro) == []
    assert listing(tmp_path) == ["ca", "file", "ro"]


def test_cert_show_bad_input(tlslab, tmp_path):
    proc = tlslab("cert", "show", tmp_path / "none.pem", check=26)
    assert f"cannot read certificate file {tmp_path / 'none.pem'}" in proc.err
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    proc = tlslab("cert", "show", junk, check=26)
    assert f"{junk}: not a certificate (neither PEM nor DER)" in proc.err
