"""The bench's PostgreSQL clusters: a kept one (a fixture) keeps its data from one start to the
next; a throw-away one leaves nothing behind."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from deploy import postgres
from deploy.postgres import LocalPostgres
from tests.conftest import free_port


def sql(cluster: LocalPostgres, statement: str) -> str:
    result = subprocess.run(
        [str(postgres.bin_dir() / "psql"), "-h", "127.0.0.1", "-p", str(cluster.port),
         "-U", cluster.user, "-d", cluster.name, "-tAc", statement],
        capture_output=True, text=True, timeout=60, check=True,
        env=os.environ | {"PGPASSWORD": cluster.password})
    return result.stdout.strip()


def test_a_kept_cluster_starts_again_with_its_data():
    # Not under pytest's tmp_path: as root the cluster runs as `postgres`, which may not enter
    # root's private folders (the bench keeps its fixture under data/).
    folder = Path(tempfile.mkdtemp(prefix="suban-pg-kept-"))
    try:
        with LocalPostgres(free_port(), kept_in=folder) as cluster:
            sql(cluster, "CREATE TABLE closed_appeals (number text); "
                         "INSERT INTO closed_appeals VALUES ('XS20261205-0001')")
        assert (folder / "data").is_dir()
        with LocalPostgres(free_port(), kept_in=folder) as cluster:
            assert sql(cluster, "SELECT number FROM closed_appeals") == "XS20261205-0001"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_a_throw_away_cluster_is_deleted_on_exit():
    with LocalPostgres(free_port()) as cluster:
        folder = cluster.folder
        assert sql(cluster, "SELECT 1") == "1"
    assert not folder.exists()
