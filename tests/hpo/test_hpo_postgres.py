"""A real PostgreSQL server on loopback; two `autograph-rec tune` workers share one study, one is
SIGKILLed mid-trial, and the study still ends with exactly N finished trials (none lost, none
run twice: the killed trial ends FAIL and its parameters are re-run once by the survivor)."""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
import yaml

from autograph_rec.hpo.storage import with_postgres_driver
from _hpo_data import base_overrides

N_TRIALS = 8


def _postgres_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if shutil.which("initdb"):
        candidates.append(str(Path(shutil.which("initdb")).parent))
    for folder in candidates:
        if (Path(folder) / "initdb").is_file() and (Path(folder) / "postgres").is_file():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    """A throw-away PostgreSQL cluster (initdb into a temp dir, ``postgres`` on a free loopback
    port, trust auth). initdb refuses to run as root, so as root it runs as the ``postgres``
    system user (or ``nobody``) through ``runuser``."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, postgres) not found: apt-get install postgresql")
    pytest.importorskip("psycopg2", reason="needs psycopg2: pip install 'autograph-rec[postgres]'")
    import psycopg2

    root = Path(tempfile.mkdtemp(prefix="autograph-rec-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = next((u for u in ("postgres", "nobody") if _has_user(u)), None)
        runner = shutil.which("runuser")
        if user is None or runner is None:
            pytest.skip("running as root and no non-root user/runuser to start PostgreSQL with")
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
        prefix = [runner, "-u", user, "--"]
    data = root / "data"
    init = subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                           "-E", "UTF8", "--no-sync"], capture_output=True, text=True)
    assert init.returncode == 0, f"initdb failed: {init.stderr}"
    port = _free_port()
    log = open(root / "server.log", "w")  # written by the server through the inherited descriptor
    server = subprocess.Popen([*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                               "-h", "127.0.0.1", "-k", str(root), "-c", "fsync=off", "-c", "max_connections=60"],
                              stdout=log, stderr=subprocess.STDOUT)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.time() + 30
        while True:
            try:
                psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres").close()
                break
            except psycopg2.OperationalError:
                if server.poll() is not None or time.time() > deadline:
                    pytest.fail(f"PostgreSQL did not start: {(root / 'server.log').read_text()[-2000:]}")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _worker(args: list[str], out: Path, log: Path) -> subprocess.Popen:
    fh = open(log, "w")
    return subprocess.Popen([sys.executable, "-m", "autograph_rec.cli", "tune", *args, "--output", str(out)],
                            stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow
def test_two_workers_share_a_postgres_study_and_survive_a_killed_worker(postgres_url, clustered_data, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump({"metric": "ndcg@20", "params": {
        "train.lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
        "model.num_layers": {"type": "int", "low": 1, "high": 3},
    }}))
    args = ["--space", str(space), "--dataset", "csv", "--n-trials", str(N_TRIALS), "--storage", postgres_url,
            "--study-name", "shared", "--pruner", "none", "--heartbeat-interval", "1", "--grace-period", "3",
            "--no-progress"]
    for item in base_overrides(clustered_data, epochs=60)[1:]:  # trials of a few seconds: time to kill one
        args += ["--set", item]
    # two "machines": each worker has its own output directory, the study lives in PostgreSQL
    survivor = _worker(args, tmp_path / "a", tmp_path / "a.log")
    victim = _worker([*args, "--no-retrain"], tmp_path / "b", tmp_path / "b.log")
    try:
        killed = _wait_for_running_trial(postgres_url, victim, deadline=time.time() + 90)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        assert survivor.wait(180) == 0, (tmp_path / "a.log").read_text()[-3000:]
    finally:
        for proc in (survivor, victim):
            if proc.poll() is None:
                proc.kill()

    study = optuna.load_study(study_name="shared", storage=with_postgres_driver(postgres_url))
    state = optuna.trial.TrialState
    trials = study.get_trials()
    finished = [t for t in trials if t.state in (state.COMPLETE, state.PRUNED)]
    assert len(finished) == N_TRIALS, [(t.number, t.state.name) for t in trials]
    assert not [t for t in trials if t.state in (state.RUNNING, state.WAITING)]
    # the killed trial is FAIL (not lost silently, not counted), re-run exactly once with its parameters
    dead = trials[killed]
    assert dead.state == state.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state in (state.COMPLETE, state.PRUNED)
    assert retries[0].params == dead.params
    assert retries[0].user_attrs["worker"].endswith(f":{survivor.pid}")
    # any other FAIL is a surplus trial that never ran (a lost race for the last slot), not a lost one
    for t in trials:
        if t.state == state.FAIL and t.number != killed:
            assert t.user_attrs.get("surplus") and not t.params, t
    # both workers ran trials of the one study
    workers = {t.user_attrs.get("worker", "").rsplit(":", 1)[-1] for t in trials}
    assert {str(survivor.pid), str(victim.pid)} <= workers
    out = (tmp_path / "a.log").read_text()
    best = tmp_path / "a" / "best" / "shared"  # the best files are per study
    assert "best trial" in out and (best / "best.yaml").is_file() and (best / "best_metrics.json").is_file()


def _wait_for_running_trial(url: str, proc: subprocess.Popen, deadline: float) -> int:
    """Number of a trial the worker ``proc`` is running right now, once it has sampled its parameters
    (killed before that, it leaves no parameters to re-run, and its retry samples new ones)."""
    study = None
    while time.time() < deadline:
        assert proc.poll() is None, "the worker to kill exited early"
        try:
            study = study or optuna.load_study(study_name="shared", storage=with_postgres_driver(url))
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                if t.user_attrs.get("worker", "").endswith(f":{proc.pid}") and t.params:
                    return t.number
        except KeyError:  # the study does not exist yet
            study = None
        time.sleep(0.2)
    raise AssertionError("the worker never started a trial")
