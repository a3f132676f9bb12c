"""Executors fail fast and clearly (issue 19, item 6): a ``--dask-scheduler`` address is checked before
anything is written, in every command that runs the model and whatever the run's size (a `run` that
fits in one block too): a malformed address at once, nothing listening or a server that is not a Dask
scheduler (an HTTP server) within the handshake's timeout, each one line and exit 2. Ctrl-C on any
executor is one line and exit 130, without worker tracebacks."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from conftest import ROOT, short_scenario
from experiments.cli.main import app
from experiments.runner.executors import HANDSHAKE_TIMEOUT, scheduler_address
from tests.conftest import assert_one_line_error as refused, invoke

runner = CliRunner()
SCEN = ROOT / "scenarios"
# every command that runs the model, with a file it accepts
COMMANDS = {
    "run": ["run", SCEN / "baseline.yaml", "-n", "2"],  # one block: the executor is never used, still checked
    "sweep": ["sweep", SCEN / "sweep_policies_obedience.yaml"],
    "compare": ["compare", SCEN / "compare_policies.yaml"],
    "sensitivity": ["sensitivity", SCEN / "sensitivity.yaml"],
    "phase-map": ["phase-map", SCEN / "phase_map.yaml"],
    "calibrate": ["calibrate", SCEN / "calibration.yaml"],
    "forecast": ["forecast", SCEN / "calibration.yaml"],
}




def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address, words", [
    ("tcp://127.0.0.1", ["missing port"]),
    ("tcp://127.0.0.1:99999", ["port from 1 to 65535"]),
    ("http://127.0.0.1:8787", ["web address"]),
    ("foo://host:1", ["unknown protocol 'foo'"]),
    ("tcp://:::1:2", ["not a Dask scheduler address"]),
    ("   ", ["expected a scheduler address"]),
])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_malformed_scheduler_address_is_one_line_before_anything_is_written(tmp_path, command, address, words):
    out = tmp_path / "out"
    refused(invoke(*COMMANDS[command], "--out", out, "--dask-scheduler", address), "--dask-scheduler", *words)
    assert not out.exists()


def test_addresses_dask_accepts_are_accepted():
    assert scheduler_address("127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert scheduler_address(" tcp://localhost:8786 ") == "tcp://localhost:8786"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_nothing_listening_is_one_line_at_once(tmp_path, command):
    out = tmp_path / "out"
    started = time.monotonic()
    refused(invoke(*COMMANDS[command], "--out", out, "--dask-scheduler", f"tcp://127.0.0.1:{free_port()}"), "cannot be reached")
    assert time.monotonic() - started < HANDSHAKE_TIMEOUT + 10
    assert not out.exists()


@pytest.fixture
def http_server():
    """A web server on 127.0.0.1 (what a dashboard address or a wrong port reaches): not a Dask scheduler."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # the server's own log would mix into the command's captured output
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("command", ["run", "sweep", "compare"])
def test_an_http_server_as_scheduler_is_one_line_within_the_handshake_timeout(tmp_path, http_server, command):
    out = tmp_path / "out"
    started = time.monotonic()
    refused(invoke(*COMMANDS[command], "--out", out, "--dask-scheduler", http_server), "not", "Dask scheduler")
    assert time.monotonic() - started < HANDSHAKE_TIMEOUT + 10  # not minutes
    assert not out.exists()


def test_keyboard_interrupt_is_one_line_and_exit_130(tmp_path, monkeypatch):
    """Ctrl-C arriving wherever the command is (here: inside the run) ends it with one line."""
    import experiments.runner.run as run_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module.RunPlan, "execute", interrupted)
    res = invoke("run", short_scenario(tmp_path, days=7, replicates=2), "--out", tmp_path / "out", "-w", "1")
    text = res.output.strip()
    assert res.exit_code == 130, text
    assert text.startswith("interrupted") and "\n" not in text and "Traceback" not in text, text


def _cpu(process) -> float:
    try:
        t = process.cpu_times()
        return t.user + t.system
    except Exception:
        return 0.0


def _cpu_self(pid: int) -> float:
    import psutil

    return _cpu(psutil.Process(pid))


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _default_sigint() -> None:
    """Give the command the default Ctrl-C: a test runner's worker (pytest-xdist) may ignore SIGINT, and an
    ignored signal is inherited across exec, so the command would never see the Ctrl-C this test sends.
    And start it with SIGINT and SIGTERM *blocked*, as a CI runner or a thread with signals blocked passes on
    (a signal mask is inherited across exec): the command must unblock them itself. Before it did, a run
    started so went on past the Ctrl-C to a normal end, exit 0 (the fresh-clone CI failure)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})


@pytest.mark.slow
@pytest.mark.signals
@pytest.mark.timeout(300)
@pytest.mark.parametrize("executor", [
    ["--dask", "local", "-w", "2"],
    ["-w", "2"],
    ["-w", "1"]], ids=["dask-local", "pool", "serial"])
def test_ctrl_c_on_any_executor_prints_one_line(tmp_path, executor):
    """SIGINT to the whole process group (what a terminal's Ctrl-C does) while the workers are busy:
    exit 130, one line on stderr, no worker tracebacks, no worker left behind."""
    path = short_scenario(tmp_path, days=150, replicates=40_000, block_size=100)  # stopped long before it ends
    proc = subprocess.Popen([sys.executable, "-m", "experiments.cli", "run", str(path), "--out", str(tmp_path / "out"), "-q", *executor],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_default_sigint)
    # wait until the workers are simulating (a worker still importing when Ctrl-C comes is not covered:
    # it has not yet been told to leave Ctrl-C to the command)
    busy = 2 if executor != ["-w", "1"] else 1
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline and proc.poll() is None:
        cpu = sorted((_cpu(k) for k in _children(proc.pid)), reverse=True) if busy > 1 else [_cpu_self(proc.pid)]
        if len(cpu) >= busy and cpu[busy - 1] > 5:
            break
        time.sleep(0.5)
    assert proc.poll() is None, proc.communicate()
    kids = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 130, err.decode()
    assert len(lines) == 1 and lines[0].startswith("interrupted"), err.decode()
    time.sleep(2)
    assert not [k for k in kids if k.is_running() and k.status() != "zombie"], "workers outlived the command"


@pytest.mark.slow
@pytest.mark.signals
@pytest.mark.timeout(300)
@pytest.mark.parametrize("delay", [0.3, 1.0, 2.0])  # seconds after the first worker process appears (all fail on e214deef)
def test_ctrl_c_while_dask_workers_start_prints_one_line(tmp_path, delay):
    """Ctrl-C to the process group while the --dask local worker processes are still starting (importing
    Dask and the model, before they have set themselves to ignore Ctrl-C): before, each printed its own
    KeyboardInterrupt traceback. They are now started with Ctrl-C blocked, and the command answers it."""
    path = short_scenario(tmp_path, days=150, replicates=40_000, block_size=100)
    proc = subprocess.Popen([sys.executable, "-m", "experiments.cli", "run", str(path), "--out", str(tmp_path / "out"), "-q",
                             "--dask", "local", "-w", "2"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any("multiprocessing" in " ".join(k.cmdline()) for k in _children(proc.pid) if k.is_running()):
            time.sleep(delay)
            break  # a worker process exists and is importing
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()
    kids = _children(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    lines = err.decode().strip().splitlines()
    assert proc.returncode == 130, err.decode()
    assert len(lines) == 1 and lines[0].startswith("interrupted"), err.decode()
    time.sleep(2)
    assert not [k for k in kids if k.is_running() and k.status() != "zombie"], "workers outlived the command"
