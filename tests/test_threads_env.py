"""The OpenMP wait policy the package sets (ocean/__init__.py): passive unless the user chose."""
import os
import subprocess
import sys


def _policy_after_import(env_value):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if env_value is not None:
        env["OMP_WAIT_POLICY"] = env_value
    out = subprocess.run([sys.executable, "-c", "import os, ocean; print(os.environ['OMP_WAIT_POLICY'])"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_import_sets_passive_wait_policy():
    assert _policy_after_import(None) == "PASSIVE"


def test_user_wait_policy_is_kept():
    assert _policy_after_import("ACTIVE") == "ACTIVE"
