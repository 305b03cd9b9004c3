"""`gt2yolo convert` of local files starts without the AWS SDK or pydantic.

Every command builds the whole parser (start-job and selftest included); those commands import
boto3 and pydantic only when they run. Loading them costs a few tenths of a second per run,
more than 5% of converting a 100k-line manifest on 2 cores (see benchmarks/README.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


def test_the_cli_module_loads_neither_boto3_nor_pydantic() -> None:
    # Given a fresh interpreter importing the CLI
    script = (
        "import sys, gt2yolo_cli.main\n"
        "print(sorted(m for m in ('boto3', 'pydantic', 's3transfer') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": str(LAMBDAS), "PATH": ""},
    )  # fmt: skip

    # Then none of them was imported
    assert done.stdout.strip() == "[]"
