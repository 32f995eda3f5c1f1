"""What the Python benches share: the release binary, test certificates made with the openssl CLI,
loopback ports."""
import pathlib
import socket
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
HOST = "www.bank32.com"


def sh(*args, **kw):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, **kw)


def release_binary():
    """Builds (or confirms up to date) and returns build/release/tlslab."""
    binary = ROOT / "build" / "release" / "tlslab"
    # Always let the build decide: an up-to-date tree is a no-op, a stale binary is rebuilt.
    print("building the release binary (cmake --preset release && cmake --build --preset release)...",
          file=sys.stderr)
    subprocess.run(["cmake", "--preset", "release"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", "--preset", "release", "--target", "tlslab"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return binary


def make_ca(d):
    """A test root in d/ca.pem, d/ca.key (ECDSA P-256)."""
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
       d / "ca.key", "-out", d / "ca.pem", "-days", "30", "-subj", "/O=tlslab bench/CN=tlslab Bench Root",
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def make_server_cert(d, name="server", key="ec"):
    """d/NAME.pem and d/NAME.key for HOST, signed by make_ca's root; key is "ec" (P-256) or "rsa"
    (2048 bits)."""
    newkey = ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key == "ec" else ["rsa:2048"]
    sh("openssl", "req", "-newkey", *newkey, "-nodes", "-keyout", d / f"{name}.key", "-out", d / f"{name}.csr",
       "-subj", f"/O=tlslab bench/CN={HOST}")
    (d / f"{name}.ext").write_text(f"basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature"
                                   f"{',keyEncipherment' if key == 'rsa' else ''}\n"
                                   f"extendedKeyUsage=serverAuth\nsubjectAltName=DNS:{HOST}\n")
    sh("openssl", "x509", "-req", "-in", d / f"{name}.csr", "-CA", d / "ca.pem", "-CAkey", d / "ca.key",
       "-CAcreateserial", "-days", "30", "-extfile", d / f"{name}.ext", "-out", d / f"{name}.pem")


def make_pki(d):
    """A test root and a P-256 server certificate for HOST: d/ca.pem, d/server.pem, d/server.key."""
    make_ca(d)
    make_server_cert(d)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=10):
    """Waits until something accepts on 127.0.0.1:port; exits the bench if proc ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit(f"{what} did not start listening on port {port}")
