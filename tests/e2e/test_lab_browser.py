"""The lab in a real browser: headless Chromium with a temporary NSS database trusting the lab CA
loads the server under each of its names (tasks 2b/2c), and the page through the proxy when it
trusts the compromised CA (task 3). Without the CA, Chromium refuses. Screenshots are kept in
build/test-artifacts/."""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess

import pytest

from conftest import ROOT, nss_home

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM or not shutil.which("certutil"),
                                reason="chromium and certutil (libnss3-tools) are needed")
ARTIFACTS = ROOT / "build" / "test-artifacts"
NAMES = ["www.bank32.com", "www.example.com", "shop.bank32.com"]


def chromium(home, url, screenshot=None):
    rules = ", ".join(f"MAP {n} 127.0.0.1" for n in NAMES)
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={home / 'profile'}", f"--host-resolver-rules={rules}"]
    args += [f"--screenshot={screenshot}", "--window-size=1024,700"] if screenshot else ["--dump-dom"]
    env = dict(os.environ, HOME=str(home))
    proc = subprocess.run(args + [url], capture_output=True, timeout=60, env=env)
    return proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


@pytest.fixture(scope="module")
def kept_lab(tmp_path_factory, request):
    from conftest import tlslab_path
    directory = tmp_path_factory.mktemp("lab")
    proc = subprocess.run([tlslab_path(), "lab", "--task", "3", "--keep", "--json", "--dir", str(directory)],
                          capture_output=True, timeout=120, env=dict(os.environ, NO_COLOR="1"))
    report = json.loads(proc.stdout)
    assert report["ok"], proc.stdout.decode() + proc.stderr.decode()
    pids, ports = [], {}
    for line in report["kept"]:
        pids.append(int(line.rsplit("pid ", 1)[1]))
        port = int(re.search(r":(\d+)", line.split(" ", 2)[-1]).group(1))
        ports["proxy" if line.startswith("proxy") else "files" if "files" in line else "server"] = port
    yield directory, ports
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("name", NAMES)
def test_browser_trusting_the_lab_ca_loads_each_name(kept_lab, tmp_path, name):
    directory, ports = kept_lab
    home = nss_home(tmp_path, "trusting", directory / "ca" / "ca.pem")
    url = f"https://{name}:{ports['server']}/"
    dom, err = chromium(home, url)
    assert 'id="sni"' in dom, err
    assert f"<code>{name}</code>" in dom  # the page shows the name the browser asked for
    assert "TLSv1.3" in dom
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"lab-{name}.png"
    chromium(home, url, screenshot=shot)
    assert shot.exists() and shot.stat().st_size > 1000


def test_browser_without_the_ca_refuses(kept_lab, tmp_path):
    directory, ports = kept_lab
    home = nss_home(tmp_path, "plain")
    dom, err = chromium(home, f"https://www.bank32.com:{ports['server']}/")
    assert 'id="sni"' not in dom
    assert "ERR_CERT_AUTHORITY_INVALID" in err


def test_browser_trusting_the_compromised_ca_is_intercepted(kept_lab, tmp_path):
    directory, ports = kept_lab
    home = nss_home(tmp_path, "victim", directory / "evil-ca" / "ca.pem")
    url = f"https://www.bank32.com:{ports['proxy']}/"
    dom, err = chromium(home, url)
    assert 'id="sni"' in dom, err  # the real server's page, relayed by the proxy
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chromium(home, url, screenshot=ARTIFACTS / "lab-intercepted.png")
    log = (directory / "proxy.log").read_text()
    assert re.search(r'"GET https://www\.bank32\.com:\d+/" 200', log), log[-2000:]
    # The same browser trusting only the real CA refuses the proxy's forged certificate.
    honest = nss_home(tmp_path, "honest", directory / "ca" / "ca.pem")
    dom, err = chromium(honest, url)
    assert 'id="sni"' not in dom
    assert "ERR_CERT_AUTHORITY_INVALID" in err
