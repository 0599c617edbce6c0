"""`scimhub demo --script`: the README's run command tells the seed story and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_demo_script_plays_the_seed_story(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIMHUB_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scimhub",
            "demo",
            "--script",
            "--users",
            "15",
            "--groups",
            "2",
            "--cycle-seconds",
            "1",
            "--data-dir",
            str(tmp_path),
        ],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert (
        "Azure AD integration error. The request was unauthorized. Please sign out and "
        "try again. TrackingID: " in out
    )
    assert "the integration API answered 401 / 701018" in out
    assert "the original configuration was restored" in out
    assert "the job is Active with Auto sync on" in out
    assert "Sign in as admin@demo.scimhub.local" in out
    # rerunning on the same data directory reuses the organization and the admin
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "scimhub",
            "demo",
            "--script",
            "--users",
            "15",
            "--cycle-seconds",
            "1",
            "--data-dir",
            str(tmp_path),
        ],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    password = (tmp_path / "admin-password.txt").read_text().strip()
    assert password in again.stdout
