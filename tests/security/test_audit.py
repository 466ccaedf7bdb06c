"""`make audit` runs pip-audit over the installed dependencies. It needs the vulnerability database on
the internet, so the suite checks only that the tool is installed and wired in, offline."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_audit_runs_pip_audit_on_the_installed_dependencies() -> None:
    # Under a parent make (CI runs the suite through `make test`) make prints directory lines too.
    dry_run = subprocess.run(["make", "--no-print-directory", "-n", "audit"], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
    assert dry_run.returncode == 0, dry_run.stderr
    commands = [line for line in dry_run.stdout.splitlines() if "pip-audit" in line]
    assert commands and "--skip-editable" in commands[-1], dry_run.stdout


def test_pip_audit_is_installed_with_the_dev_tools() -> None:
    pip_audit = Path(sys.executable).parent / "pip-audit"
    version = subprocess.run([str(pip_audit), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("pip-audit ")
