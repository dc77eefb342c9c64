"""A shared MLflow tracking server on loopback: training logs to it, scoring loads the champion from it.

The server is the documented set-up of the README ("Scaling out"): ``mlflow server``
with a SQLite backend and a local artifact destination, artifacts proxied by the
server (clients need no access to its disk).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.settings import small_world

pytestmark = pytest.mark.slow

SETTINGS = small_world(600, 16, 40, 50)
CUTOFF = "2024-04-01"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"mlflow server did not answer on {url} within {seconds:.0f} s")
            time.sleep(1)


@contextlib.contextmanager
def mlflow_server(folder: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``mlflow server`` on a free loopback port, SQLite backend, artifacts proxied to ``folder``."""
    url = f"http://127.0.0.1:{_free_port()}"
    mlflow_bin = shutil.which("mlflow", path=os.path.dirname(sys.executable)) or "mlflow"
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
           "MLFLOW_DISABLE_TELEMETRY": "true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [mlflow_bin, "server", "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
               "--artifacts-destination", str(folder / "artifacts"),
               "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1], "--workers", "1"]
    with open(folder / "server.log", "wb") as out:
        # Its own process group: stopping it stops the workers it started, and nothing else.
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_until_up(url, proc)
        yield url, proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def test_a_shared_server_takes_the_training_run_and_serves_the_champion_to_scoring(tmp_path, monkeypatch):
    import mlflow

    from churnml.score import main as score_main
    from churnml.train import main as train_main

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # restored after score_main sets it
    sets = [f"--set={s}" for s in SETTINGS]
    out = tmp_path / "outreach.csv"
    with mlflow_server(tmp_path) as (url, proc):
        assert train_main([*sets, "--tracking-uri", url, "--experiment", "shared"]) == 0
        client = mlflow.MlflowClient(url)
        (run,) = client.search_runs([client.get_experiment_by_name("shared").experiment_id])
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # proxied by the server
        assert client.get_model_version_by_alias("churnml", "champion").run_id == run.info.run_id
        assert list((tmp_path / "artifacts").rglob("MLmodel")), "the model files live on the server side"
        data_sets = [f"--set={s}" for s in SETTINGS if s.startswith("data.")]  # score refuses time/features/model
        assert score_main([*data_sets, "--tracking-uri", url, "--cutoff", CUTOFF, "--out", str(out), "--top", "10"]) == 0
    assert proc.poll() is not None
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/health", timeout=2)
    listed = pd.read_csv(out, dtype={"customer_id": str})
    assert len(listed) == 10 and listed["rank"].tolist() == list(range(1, 11))
    assert listed["churn_probability"].between(0, 1).all()
    assert "Traceback" not in (tmp_path / "server.log").read_text(encoding="utf-8", errors="replace")
