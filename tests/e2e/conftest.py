"""Shared fixtures for end-to-end tests: the tlslab binary, certificates made with the openssl CLI,
and real peers (openssl s_server) on loopback ports."""
import os
import pathlib
import re
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
    """A loopback port that was free a moment ago. Racy: another program may take it before the
    caller binds it. Only for peers that cannot listen on port 0 and say which port they got
    (nginx refuses port 0), and for a port that must be known before its listener starts; every
    other listener binds port 0 and is asked (announced_port, wait_listening)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refusing_socket():
    """A socket bound to a loopback port and never listening: the kernel refuses connections to
    the port (RST), and no other program can take the port while the socket is open."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


@pytest.fixture
def free_port_closed():
    """A loopback port where nothing listens, held for the test (refusing_socket)."""
    with refusing_socket() as s:
        yield s.getsockname()[1]


def announced_port(read, pattern, proc, timeout=15.0):
    """Waits until read() (what proc has printed so far) matches pattern, whose first group is the
    port proc listens on (it was started on port 0 and says which port it got); returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if m := re.search(pattern, read()):
            return int(m.group(1))
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening:\n{read()[-4000:]}")
        time.sleep(0.02)
    raise RuntimeError(f"server did not say where it listens:\n{read()[-4000:]}")


def listening_ports(pid):
    """The TCP ports process pid listens on, from the kernel's socket tables."""
    inodes = set()
    fd_dir = pathlib.Path(f"/proc/{pid}/fd")
    try:
        fds = list(fd_dir.iterdir())
    except OSError:
        return set()
    for fd in fds:
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:["):-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in pathlib.Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: TCP_LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def wait_listening(proc, ports=None, timeout=15.0):
    """Waits until proc listens on all of ports (None: on one port, which is returned): for peers
    started on port 0 that do not say which port they got (nghttpd prints "listen 127.0.0.1:0"),
    and to know that a port answers because proc listens there, not another program."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        found = listening_ports(proc.pid)
        if ports is None and len(found) == 1:
            return found.pop()
        if ports is not None and set(ports) <= found:
            return None
        time.sleep(0.02)
    raise RuntimeError(f"server pid {proc.pid} did not listen on {ports or 'a port'}")


PROXY_READY = r"tlslab proxy: \w+ mode on 127\.0\.0\.1:(\d+)[ ,]"  # tlslab proxy's first listener
SERVE_READY = r"https://127\.0\.0\.1:(\d+)/"  # tlslab serve's first listener
S_SERVER_READY = r"ACCEPT 127\.0\.0\.1:(\d+)\n"  # openssl s_server -accept 127.0.0.1:0


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


def start_s_server(args, log, cwd=None):
    """Starts `openssl s_server` with args on a loopback port the kernel chooses (-accept on port 0:
    it prints "ACCEPT 127.0.0.1:PORT", which -quiet would silence); its output goes to log.
    Returns the process and its port."""
    cmd = ["openssl", "s_server", "-accept", "127.0.0.1:0", *map(str, args)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=cwd)
    try:
        return proc, announced_port(lambda: pathlib.Path(log).read_text(errors="replace"), S_SERVER_READY, proc)
    except RuntimeError:
        stop_process(proc, timeout=5)
        raise


@pytest.fixture
def s_server(tmp_path):
    """Starts `openssl s_server` with the given arguments on a loopback port the kernel chooses;
    stopped at teardown."""
    started = []

    def start(*args, cwd=None, www=True):
        log = tmp_path / f"s_server-{len(started)}.log"
        if www and "-WWW" not in args and "-HTTP" not in args and "-www" not in args:
            args = (*args, "-www")
        proc, port = start_s_server(("-naccept", "1000", *args), log, cwd=cwd or tmp_path)
        started.append(proc)
        return Server(proc, port, log)

    yield start
    for proc in started:
        stop_process(proc, timeout=5)


def have(program):
    return shutil.which(program) is not None


# ---------------------------------------------------------------------------------------------
# nginx from a private configuration.

NGINX_CONF = """daemon off;
{user}
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate {cert};
    ssl_certificate_key {key};
{http}
    server {{
{listen}
{server}
    }}
}}
"""


def start_nginx(prefix, cert, key, listeners, server, http=""):
    """Starts nginx (daemon off, one worker) from a private config under prefix: one server block
    with a loopback listener per entry of listeners (name -> what follows the address: "ssl",
    "ssl http2", ""), server's directives in that block and http's beside it, and TLS 1.2-1.3 with
    cert and key. Returns the process and {name: port}.

    nginx cannot listen on port 0 ("invalid port"), so its ports come from free_port(): another
    program may take one before nginx binds it; nginx then stops with "Address already in use" and
    is started again on other ports."""
    if not have("nginx"):
        pytest.skip("nginx not installed (scripts/install-deps --test)")
    # As root, the workers would switch to nobody, who cannot read pytest's private temp folders.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = pathlib.Path(prefix) / "nginx.conf"
    (conf.parent / "logs").mkdir(parents=True, exist_ok=True)  # nginx opens logs/error.log before its config
    for attempt in range(5):
        ports = {name: free_port() for name in listeners}
        listen = "\n".join(f"        listen 127.0.0.1:{ports[name]} {how};".replace(" ;", ";")
                           for name, how in listeners.items())
        conf.write_text(NGINX_CONF.format(user=user, prefix=prefix, cert=cert, key=key, http=http, listen=listen,
                                          server=server))
        stderr = pathlib.Path(prefix) / "stderr.log"
        proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(prefix)], stdout=subprocess.DEVNULL,
                                stderr=open(stderr, "wb"))
        try:
            wait_listening(proc, ports.values())
            return proc, ports
        except RuntimeError:
            stop_process(proc, timeout=5)
            if "Address already in use" not in stderr.read_text(errors="replace"):
                raise RuntimeError(f"nginx did not start:\n{stderr.read_text(errors='replace')}")
    raise RuntimeError("nginx found no free ports in 5 attempts")


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
