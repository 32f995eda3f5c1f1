"""Shared fixtures for end-to-end tests: the tlslab binary, certificates made with the openssl CLI,
and real peers (openssl s_server) on loopback ports."""
import os
import pathlib
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def tlslab_path():
    path = os.environ.get("TLSLAB_BIN") or str(ROOT / "build" / "dev" / "tlslab")
    if not os.access(path, os.X_OK):
        pytest.exit(f"tlslab binary not found at {path}; build it or set TLSLAB_BIN", returncode=2)
    return path


@pytest.fixture(scope="session")
def tlslab():
    """Returns a function that runs tlslab with arguments and returns the CompletedProcess."""
    path = tlslab_path()

    def run(*args, input=None, timeout=30, env=None, check=None):
        full_env = dict(os.environ)
        full_env["NO_COLOR"] = "1"
        if env:
            full_env.update(env)
        proc = subprocess.run([*run.prefix, path, *map(str, args)], input=input, capture_output=True,
                              timeout=timeout, env=full_env)
        proc.out = proc.stdout.decode(errors="replace")
        proc.err = proc.stderr.decode(errors="replace")
        if check is not None:
            assert proc.returncode == check, f"exit {proc.returncode}, wanted {check}\n{proc.out}\n{proc.err}"
        return proc

    run.path = path
    run.prefix = []  # a command to run tlslab under (a module may set it, and must reset it)
    return run


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


class Pki:
    """Certificates made with the openssl command line, independent of tlslab's own CA code."""

    def __init__(self, directory):
        self.dir = pathlib.Path(directory).resolve()  # commands run with cwd=dir: relative paths would double
        self.dir.mkdir(parents=True, exist_ok=True)

    def _run(self, *args):
        proc = subprocess.run(["openssl", *map(str, args)], capture_output=True, cwd=self.dir)
        if proc.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(map(str, args))} failed:\n{proc.stderr.decode(errors='replace')}")

    def key(self, name, kind="ec"):
        path = self.dir / f"{name}.key"
        if kind == "ec":
            self._run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
        else:
            self._run("genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{kind.split('-')[-1]}",
                      "-out", path)
        return path

    def cert(self, name, cn, issuer=None, ca=False, sans=(), days=30, start_days=-1, eku="serverAuth",
             key_kind="ec", digest="sha256"):
        """Makes NAME.key and NAME.pem. issuer is the name of an earlier cert (None: self-signed).
        Dates are relative to now in days: start_days for notBefore (positive: not yet valid), days for
        notAfter (negative: expired)."""
        key = self.key(name, key_kind)
        work = self.dir / ".work"  # openssl ca's scratch files, kept apart from the certificates
        work.mkdir(exist_ok=True)
        ext = work / f"{name}.ext"
        lines = ["subjectKeyIdentifier=hash"]
        if ca:
            lines += ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]
        else:
            lines += ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
            if eku:
                lines.append(f"extendedKeyUsage={eku}")
        if issuer:
            lines.append("authorityKeyIdentifier=keyid:always")
        if sans:
            lines.append("subjectAltName=" + ",".join(
                s if ":" in s and s.split(":")[0] in ("DNS", "IP", "email") else f"DNS:{s}" for s in sans))
        ext.write_text("\n".join(lines) + "\n")
        csr = work / f"{name}.csr"
        self._run("req", "-new", "-key", key, "-subj", f"/O=tlslab tests/CN={cn}", "-out", csr)
        # notAfter is `days` from now (negative: expired that long ago); notBefore is `start_days` from
        # now, moved back to 30 days before notAfter when it would not come first (an expired cert
        # made with the default start_days=-1).
        now = time.time()
        not_after = now + days * 86400
        not_before = now + start_days * 86400
        if not_before >= not_after:
            not_before = not_after - 30 * 86400
        start = time.strftime("%Y%m%d%H%M%SZ", time.gmtime(not_before))
        end = time.strftime("%Y%m%d%H%M%SZ", time.gmtime(not_after))
        pem = self.dir / f"{name}.pem"
        # openssl x509 has no -not_before; `openssl ca` does, with a throwaway database.
        db = work / f"{name}.db"
        db.write_text("")
        signer_cert = self.dir / f"{issuer}.pem" if issuer else None
        signer_key = self.dir / f"{issuer}.key" if issuer else key
        conf = work / f"{name}.cnf"
        conf.write_text(f"""[ca]
default_ca = d
[d]
database = {db}
new_certs_dir = {work}
serial = {work / (name + '.srl')}
default_md = {digest}
policy = p
unique_subject = no
email_in_dn = no
copy_extensions = none
[p]
commonName = supplied
organizationName = optional
""")
        (work / f"{name}.srl").write_text(os.urandom(8).hex().upper() + "\n")
        args = ["ca", "-batch", "-config", conf, "-in", csr, "-out", pem, "-startdate", start, "-enddate", end,
                "-extfile", ext, "-notext", "-preserveDN", "-keyfile", signer_key]
        if issuer:
            args += ["-cert", signer_cert]
        else:
            args += ["-selfsign"]
        self._run(*args)
        return pem

    def chain(self, name, *names):
        path = self.dir / f"{name}.pem"
        path.write_bytes(b"".join((self.dir / f"{n}.pem").read_bytes() for n in names))
        return path


@pytest.fixture
def pki(tmp_path):
    return Pki(tmp_path / "pki")


class Server:
    def __init__(self, proc, port, log):
        self.proc, self.port, self.log = proc, port, log

    def output(self):
        return pathlib.Path(self.log).read_text(errors="replace")


@pytest.fixture
def s_server(tmp_path):
    """Starts `openssl s_server` with the given arguments on a free loopback port; stopped at teardown."""
    started = []

    def start(*args, cwd=None, www=True):
        port = free_port()
        log = tmp_path / f"s_server-{port}.log"
        cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-naccept", "1000", *map(str, args)]
        if www and "-WWW" not in args and "-HTTP" not in args and "-www" not in args:
            cmd.append("-www")
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                                cwd=cwd or tmp_path)
        started.append(proc)
        wait_port(port, proc=proc)
        return Server(proc, port, log)

    yield start
    for proc in started:
        stop_process(proc, timeout=5)


def have(program):
    return shutil.which(program) is not None


def stop_process(proc, sig=signal.SIGTERM, timeout=15):
    """Sends sig, waits up to timeout seconds, then kills; returns the exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


# ---------------------------------------------------------------------------------------------
# Chromium's trust store on Linux: an NSS database under $HOME/.pki/nssdb.

def _certutil(home, command, *args):
    # stdin from /dev/null: certutil must never wait for a terminal.
    subprocess.run(["certutil", command, "-d", f"sql:{home / '.pki' / 'nssdb'}", *map(str, args)], check=True,
                   timeout=30, stdin=subprocess.DEVNULL, capture_output=True)


def nss_home(tmp_path, name, ca=None):
    """A HOME for Chromium whose NSS database trusts ca (if given). The database is made before
    Chromium's first run: it would make one itself, and certutil -N on an existing one asks for
    its password."""
    home = tmp_path / name
    (home / ".pki" / "nssdb").mkdir(parents=True)
    _certutil(home, "-N", "--empty-password")
    if ca:
        nss_trust(home, ca)
    return home


def nss_trust(home, ca):
    """Adds ca to home's NSS database as a trusted root for servers."""
    _certutil(home, "-A", "-n", "tlslab-test-root", "-t", "C,,", "-i", ca)


# ---------------------------------------------------------------------------------------------
# Guard: no DNS query may leave the machine (this host's resolver is not on loopback).

DNS_GUARD = []  # command prefix for tlslab, curl and browsers, set by dns_on_loopback


@pytest.fixture(scope="module")
def dns_on_loopback(tlslab, tmp_path_factory):
    """Runs tlslab and curl in a private mount namespace whose /etc/resolv.conf names only
    127.0.0.1: a test that forgets --resolve fails instead of asking the network's DNS server.
    Without the rights for it (not root), the tests run as they are; they map every name anyway.
    A module uses it with an autouse fixture of its own, and puts DNS_GUARD before the commands
    it starts itself."""
    conf = tmp_path_factory.mktemp("dns") / "resolv.conf"
    conf.write_text("nameserver 127.0.0.1\n")
    prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c",
              'mount --bind "$0" /etc/resolv.conf && exec "$@"', str(conf)]
    if have("unshare") and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
        DNS_GUARD[:] = prefix
        tlslab.prefix = prefix
    yield
    DNS_GUARD.clear()
    tlslab.prefix = []


# ---------------------------------------------------------------------------------------------
# Scripted peers.

class PyServer:
    """A loopback server whose connections are handled by handler(conn) in threads; with a
    context, each connection is a TLS server connection (Python's ssl: a real peer too)."""

    def __init__(self, handler, context=None, accept=True, host="127.0.0.1"):
        self.sock = socket.create_server((host, 0), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.port = self.sock.getsockname()[1]
        self.handler, self.context = handler, context
        self.stop = threading.Event()
        self.errors = []
        if accept:
            threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        try:
            with conn:
                conn.settimeout(10)
                if self.context:
                    conn = self.context.wrap_socket(conn, server_side=True)
                self.handler(conn)
        except (OSError, ssl.SSLError) as e:
            self.errors.append(e)

    def close(self):
        self.stop.set()
        self.sock.close()


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data
