"""`batch run` on Dask distributed: a LocalCluster, and a real `dask scheduler` with two
`dask worker` processes on 127.0.0.1, one of which is killed mid-run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batchutil import case_entry, sequential_reference, stored, verify_ok, write_manifest

from case.util import run_cli
from ektools import ROOT, need_tool
from evidencekit.batch.coordinator import Coordinator
from evidencekit.batch.executors import DaskExecutor
from evidencekit.batch.manifest import load_manifest
from evidencekit.case import Case

distributed = pytest.importorskip("distributed")
DASK = Path(sys.executable).parent / "dask"  # the project environment's own script


def _exhibits(images):
    return [("E1", images[0]), ("E2", images[1])]


def _notes(case_dir: Path) -> list[dict]:
    with Case.open(case_dir) as case:
        return [e.body["details"]["batch"] for e in case.entries() if e.action == "note"]


def test_batch_on_a_local_cluster_stores_what_case_process_stores(tmp_path, images, examiner):
    manifest = load_manifest(write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", _exhibits(images))]))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        with DaskExecutor(client=client) as executor:
            summary = Coordinator(manifest, executor, examiner).run()
        workers = set(client.scheduler_info()["workers"])
    assert [r["status"] for r in summary] == ["done", "done"], summary
    reference = sequential_reference(tmp_path, _exhibits(images), examiner, timeline=True)
    assert stored(tmp_path / "case") == stored(reference)
    verify_ok(tmp_path / "case")
    notes = _notes(tmp_path / "case")
    assert notes[0]["executor"] == "dask" and notes[0]["workers"] == 2 and notes[0]["worker_hosts"] == ["127.0.0.1"]
    ran_on = {u["worker"] for n in notes if n.get("step") == "process" for u in n["units"]}
    assert ran_on <= workers and ran_on


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dask_cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes (no nanny: a killed worker stays dead)."""
    yield from _cluster([[], []])


# A worker that cannot read what root's other worker reads: the same account without the
# capabilities that let root read any file (as a lab's worker service account on another machine).
UNPRIVILEGED = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.fixture
def mixed_cluster(tmp_path):
    """A scheduler, one worker as root and one without root's file-reading capabilities."""
    need_tool("setpriv")
    yield from _cluster([[], UNPRIVILEGED])


def _cluster(prefixes: list[list[str]]):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = {"scheduler": subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                             "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)}
    worker_ports = [_free_port() for _ in prefixes]
    for wp, prefix in zip(worker_ports, prefixes, strict=True):
        procs[f"tcp://127.0.0.1:{wp}"] = subprocess.Popen(
            [*prefix, str(DASK), "worker", address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1", "--worker-port",
             str(wp), "--no-dashboard", "--death-timeout", "60"], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with distributed.Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
        yield address, procs
    finally:  # a test cluster holds nothing worth a graceful close: stop each process we started
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=20)


def test_a_killed_dask_worker_costs_a_retry_and_the_rows_match(tmp_path, images, examiner, dask_cluster):
    address, procs = dask_cluster
    manifest = load_manifest(write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", _exhibits(images),
                                                                             steps=["intake", "process"])]))
    killed: list[str] = []

    def kill_busy_worker(event: dict) -> None:
        if killed or event.get("step") != "process" or event.get("units_total", 0) <= 2:
            return
        busy = [w for w, keys in executor.client.processing().items() if keys and w in procs]
        if busy:
            os.kill(procs[busy[0]].pid, signal.SIGKILL)  # mid-unit: its listing parts are in flight
            killed.append(busy[0])

    started = time.monotonic()
    with DaskExecutor(address) as executor:
        summary = Coordinator(manifest, executor, examiner, kill_busy_worker).run()
    assert killed and procs[killed[0]].wait(timeout=10) == -signal.SIGKILL
    assert [r["status"] for r in summary] == ["done", "done"], [(r["exhibit"], r.get("error")) for r in summary]
    assert time.monotonic() - started < 180
    reference = sequential_reference(tmp_path, _exhibits(images), examiner)
    assert stored(tmp_path / "case") == stored(reference)
    verify_ok(tmp_path / "case")
    notes = _notes(tmp_path / "case")
    assert notes[0]["executor"] == "dask" and notes[0]["workers"] == 2
    survivors = {u["worker"] for n in notes[1:] for u in n["units"] if n.get("step") == "process"}
    assert survivors  # every unit is recorded with the worker that ran it
    # the units the scheduler ran again after the kill are counted, and the ledger says which
    attempts = [u["attempts"] for n in notes[1:] for u in n["units"]]
    assert executor.retries >= 1 and max(attempts) >= 2, (executor.retries, attempts)


def test_batch_run_cli_with_scheduler(tmp_path, images, examiner, dask_cluster):
    address, _ = dask_cluster
    manifest = write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", _exhibits(images)[:1])])
    proc = run_cli("batch", "run", str(manifest), "--scheduler", address)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "1 of 1 exhibits finished, 0 failed"
    bad = run_cli("batch", "run", str(manifest), "--scheduler", "tcp://127.0.0.1:1")
    assert bad.returncode == 2 and "cannot connect to a Dask scheduler" in bad.stderr and "Traceback" not in bad.stderr


def test_a_worker_that_cannot_read_an_evidence_path_stops_the_batch_before_anything_is_written(
        tmp_path, images, examiner, mixed_cluster):
    """Evidence owned by another account (0600): root's worker reads it, the other worker cannot."""
    address, procs = mixed_cluster
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    private = evidence / "private.raw"
    private.write_bytes(images[1].read_bytes())
    os.chown(private, 65534, 65534)
    os.chmod(private, 0o600)
    manifest = write_manifest(tmp_path / "m.yaml", [case_entry(tmp_path / "case", [("E1", images[0]),
                                                                                  ("E2", private)])])
    proc = run_cli("batch", "run", str(manifest), "--scheduler", address)
    unprivileged = list(procs)[2]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"evidencekit: error: {private}: not readable on worker {unprivileged} (mount the shared storage at the "
        "same path on every worker)"), proc.stderr
    assert not (tmp_path / "case").exists()  # refused before any case was created
