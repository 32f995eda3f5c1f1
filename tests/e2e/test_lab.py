"""tlslab lab end to end: every task passes on this machine, and a failure is reported as one."""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import have  # noqa: F401  (keeps the fixture module imported first)


def test_whole_lab_passes_and_reports_json(tlslab, tmp_path):
    proc = tlslab("lab", "--json", "--dir", tmp_path / "lab", timeout=120)
    report = json.loads(proc.out)
    assert proc.returncode == 0, proc.out + proc.err
    assert report["ok"] is True
    tasks = {s["task"] for s in report["steps"]}
    assert tasks == {"setup", "1a", "1b", "1c", "1d", "2a", "2b", "2c", "3"}
    assert all(s["pass"] for s in report["steps"])
    password = [s for s in report["steps"] if s["title"] == "the proxy saw the password"][0]
    assert "correct-horse-battery-staple" in password["observed"]
    # The commands shown are ones a user can run.
    assert any(s["command"].startswith("tlslab connect ") for s in report["steps"])
    # With --dir the folder stays, with the CA and the downloaded image in it.
    assert (tmp_path / "lab" / "ca" / "ca.pem").exists()
    assert (tmp_path / "lab" / "downloaded.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_single_task_narrated(tlslab):
    proc = tlslab("lab", "--task", "1c", timeout=60)
    assert proc.returncode == 0, proc.out + proc.err
    assert "Task 1c" in proc.out and "Task 1a" not in proc.out
    assert "PASS" in proc.out and "FAIL" not in proc.out
    assert "--no-check-hostname" in proc.out


def test_bad_task_is_a_usage_error(tlslab):
    proc = tlslab("lab", "--task", "9z")
    assert proc.returncode == 2
    assert "--task 9z" in proc.err


def test_keep_leaves_servers_running(tlslab, tmp_path):
    proc = tlslab("lab", "--task", "2a", "--keep", "--json", "--dir", tmp_path / "kept", timeout=60)
    report = json.loads(proc.out)
    assert report["ok"] is True
    pids = [int(line.rsplit("pid ", 1)[1]) for line in report["kept"]]
    assert pids
    try:
        for pid in pids:
            os.kill(pid, 0)  # still alive
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGTERM)


def test_failure_is_reported(tlslab, tmp_path):
    # A CA folder whose key is not a key: setup must fail and say so, exit 1.
    ca = tmp_path / "broken" / "ca"
    ca.mkdir(parents=True)
    (ca / "ca.pem").write_text("not a certificate\n")
    (ca / "ca-key.pem").write_text("not a key\n")
    proc = tlslab("lab", "--json", "--dir", tmp_path / "broken", timeout=60)
    report = json.loads(proc.out)
    assert proc.returncode == 1
    assert report["ok"] is False
    assert any(not s["pass"] for s in report["steps"])


def lab_children(folder):
    """Processes whose command line names the lab's folder (its servers)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if str(folder).encode() in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def wait_until(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_interrupted_lab_leaves_nothing_behind(tlslab, tmp_path, sig):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([tlslab.path, "lab", "--interactive", "--task", "1a"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, TMPDIR=str(tmp), NO_COLOR="1"))
    out = b""
    while b"Press Enter for task 1a" not in out:  # the servers are up; the lab waits for Enter
        chunk = proc.stdout.read1(4096)
        assert chunk, out.decode(errors="replace") + proc.stderr.read().decode(errors="replace")
        out += chunk
    (folder,) = tmp.iterdir()
    assert (folder / "ca" / "ca-key.pem").exists()
    servers = lab_children(folder)
    assert len(servers) == 2
    try:
        proc.send_signal(sig)
        proc.wait(timeout=15)
        assert proc.returncode == -sig
        if sig != signal.SIGKILL:
            assert "tlslab lab: interrupted; its servers are stopped and" in proc.stderr.read().decode()
        wait_until(lambda: not lab_children(folder))
        wait_until(lambda: not folder.exists())
    finally:
        for pid in lab_children(folder):  # a failed run must not leave them either
            os.kill(pid, signal.SIGKILL)


def test_dir_that_is_a_file_is_a_usage_error(tlslab, tmp_path):
    (tmp_path / "file").write_text("")
    proc = tlslab("lab", "--dir", tmp_path / "file")
    assert proc.returncode == 2 and "--dir" in proc.err and "not a folder" in proc.err
    assert "internal error" not in proc.err
    proc = tlslab("lab", "--dir", tmp_path / "file" / "sub")
    assert proc.returncode == 23 and "cannot make the folder" in proc.err
