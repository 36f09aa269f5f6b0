"""The golden regression check fails on a one-ulp change of one stored run score, naming it, and passes on the
untouched output (scripts/regression.py, suite tiny). Needs RR_EXECUTABLE (set by CTest)."""
import importlib.util
import os
import shutil
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("regression", ROOT / "scripts" / "regression.py")
regression = importlib.util.module_from_spec(spec)
spec.loader.exec_module(regression)
RR = os.environ.get("RR_EXECUTABLE", str(ROOT / "build" / "mpi" / "routerretriever"))


def test_one_ulp_in_a_stored_run_fails_the_check(tmp_path, capsys):
    regression.suite_tiny(Path(RR), tmp_path)  # runs the pipeline into tmp_path/out
    out = tmp_path / "out"
    assert regression.main(["check", "tiny", "--rr", RR, "--output", str(out)]) == 0
    changed = tmp_path / "changed"
    shutil.copytree(out, changed)
    with h5py.File(changed / "results.h5", "r+") as f:
        score = f["runs/astro/pilot-mean/score"]
        values = score[()]
        values[0, 0] = np.nextafter(values[0, 0], np.float32(np.inf), dtype=np.float32)
        score[...] = values
    capsys.readouterr()
    assert regression.main(["check", "tiny", "--rr", RR, "--output", str(changed)]) == 1
    report = capsys.readouterr().out
    assert "run astro pilot-mean score: expected" in report
    assert "1 differ" in report
