"""analysis/significance.py and rr_analysis.py compare / table --baseline / export-trec, against scipy.stats
(an independent implementation) and by hand.

Run with: /usr/bin/python3 -m pytest -q tests/analysis
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from scipy import stats

TOOL = Path(__file__).resolve().parents[2] / "analysis" / "rr_analysis.py"
sys.path.insert(0, str(TOOL.parent))
import rr_analysis  # noqa: E402
import significance  # noqa: E402


def per_query_pairs():
    """(x, y) pairs like per-query measures: continuous, many ties at 0 and 1, tiny and large n."""
    rng = np.random.default_rng(3)
    pairs = []
    for n in (2, 3, 7, 30, 200, 2000):
        x = rng.random(n)
        pairs.append((x, np.clip(x + rng.normal(0.02, 0.1, n), 0, 1)))
        ndcg = rng.choice([0.0, 0.3, 0.5, 1.0], size=n)
        pairs.append((ndcg, np.where(rng.random(n) < 0.7, ndcg, rng.choice([0.0, 1.0], size=n))))
    pairs.append((np.full(50, 0.25), np.full(50, 0.75)))  # constant difference: no variance
    return pairs


def test_t_test_equals_scipy():
    compared = 0
    for x, y in per_query_pairs():
        t, p = significance.paired_t_test(x, y)
        reference = stats.ttest_rel(x, y)
        if np.isnan(reference.pvalue):
            assert np.isnan(p)
            continue
        assert t == pytest.approx(reference.statistic, rel=1e-12, abs=1e-12)
        assert abs(p - reference.pvalue) <= 1e-12, (x.size, p, reference.pvalue)
        compared += 1
    assert compared >= 10


@pytest.mark.parametrize("permutations,seed", [(2000, 7), (999, 0), (10000, 123)])
def test_randomization_equals_scipy_with_the_same_seed(permutations, seed):
    for x, y in per_query_pairs():
        ours = significance.randomization_test(x, y, permutations, seed)
        reference = stats.permutation_test(
            (x, y), lambda a, b, axis: np.mean(a - b, axis=axis), permutation_type="samples", vectorized=True,
            n_resamples=permutations, random_state=seed)
        assert ours == reference.pvalue, (x.size, ours, reference.pvalue)


def test_holm_by_hand_and_nan():
    # sorted 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1, kept monotone: 0.06)
    assert list(significance.holm([0.01, 0.04, 0.03, 0.005])) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    out = significance.holm([0.2, np.nan, 0.6])
    assert out[0] == pytest.approx(0.4) and np.isnan(out[1]) and out[2] == pytest.approx(0.6)
    assert list(significance.holm([0.5, 0.9])) == [1.0, 1.0]


def test_wins_ties_losses():
    assert significance.wins_ties_losses([1, 0.5, 0, 0.2], [0.5, 0.5, 0.1, 0.1]) == (2, 1, 1)


ROUTERS = ["base", "multitask", "pilot-mean", "bm25"]
DATASETS = ["alpha", "beta"]


def write_results(path, queries=40):
    """/metrics with per-query values (pilot-mean clearly above base on alpha), /runs and query/corpus ids."""
    rng = np.random.default_rng(11)
    measures = ["recip_rank", "ndcg_cut_10"]
    with h5py.File(path, "w") as f:
        for d, ds in enumerate(DATASETS):
            base = rng.random(queries) * 0.5
            shift = {"base": 0.0, "multitask": 0.01, "pilot-mean": 0.3 if ds == "alpha" else 0.0, "bm25": -0.05}
            for router in ROUTERS:
                values = np.clip(base + shift[router] + rng.normal(0, 0.02, queries), 0, 1)
                g = f.create_group(f"metrics/{ds}/{router}")
                g.attrs["measures"] = np.array(measures, dtype=h5py.string_dtype())
                per_query = np.stack([values / 2, values], axis=1)
                g["per_query"] = per_query
                g["mean"] = per_query.mean(axis=0)
                rows = np.stack([rng.permutation(30)[:5] for _ in range(queries)]).astype(np.int64)
                rows[0, 3:] = -1  # a query with fewer hits
                f[f"runs/{ds}/{router}/doc"] = rows
                f[f"runs/{ds}/{router}/score"] = -np.sort(-rng.random((queries, 5)), axis=1).astype(np.float32)
            f[f"datasets/{ds}/corpus_ids"] = np.array([f"{ds}-d{i}" for i in range(30)], dtype=h5py.string_dtype())
            f[f"datasets/{ds}/query_ids/test"] = np.array([f"q{i}" for i in range(queries)], dtype=h5py.string_dtype())
        f["routers/name"] = np.array(ROUTERS, dtype=h5py.string_dtype())
        f["routers/label"] = np.array(["Base encoder", "Multi-task", "**RouterRetriever** (pilot mean)", "BM25"],
                                      dtype=h5py.string_dtype())
    return path


def test_compare_records_match_scipy_and_holm_the_family(tmp_path):
    path = write_results(tmp_path / "results.h5")
    records = rr_analysis.compare(path, ["base", "multitask"], permutations=500, seed=5)
    assert len(records) == len(DATASETS) * 2 * (len(ROUTERS) - 1)
    values = rr_analysis.per_query(path)
    for r in records:
        x, y = values[r["dataset"]][r["system"]], values[r["dataset"]][r["baseline"]]
        assert r["p_ttest"] == pytest.approx(stats.ttest_rel(x, y).pvalue, abs=1e-12)
        assert (r["wins"], r["ties"], r["losses"]) == significance.wins_ties_losses(x, y)
        assert r["permutations"] == 500 and r["seed"] == 5
    holm = significance.holm([r["p_ttest"] for r in records])
    assert [r["p_ttest_holm"] for r in records] == pytest.approx(list(holm))
    best = next(r for r in records if (r["dataset"], r["system"], r["baseline"]) == ("alpha", "pilot-mean", "base"))
    assert best["p_ttest_holm"] < 1e-6 and best["wins"] > 30


def test_compare_command_line_json_and_errors(tmp_path):
    path = write_results(tmp_path / "results.h5")
    run = subprocess.run([sys.executable, str(TOOL), "compare", str(path), "--baseline", "base", "--json",
                          "--permutations", "200"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    assert {r["system"] for r in records} == {"multitask", "pilot-mean", "bm25"}
    assert all({"p_ttest", "p_randomization", "p_ttest_holm", "wins", "ties", "losses"} <= r.keys() for r in records)
    bad = subprocess.run([sys.executable, str(TOOL), "compare", str(path), "--baseline", "nobody"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "baseline 'nobody'" in bad.stderr


def check_latex_tabular(text):
    """A parser's check of a booktabs tabular: balanced braces and math, every row with as many cells as the
    column spec, rules in order, no unescaped special character outside commands and math."""
    lines = [line for line in text.splitlines() if line and not line.startswith("%")]
    assert lines[0].startswith(r"\begin{tabular}{") and lines[-1] == r"\end{tabular}"
    spec = re.match(r"\\begin\{tabular\}\{([lrc|]+)\}", lines[0]).group(1)
    columns = len(spec.replace("|", ""))
    assert [l for l in lines if l in (r"\toprule", r"\midrule", r"\bottomrule")] == [r"\toprule", r"\midrule", r"\bottomrule"]
    rows = [l for l in lines[1:-1] if l not in (r"\toprule", r"\midrule", r"\bottomrule")]
    for row in rows:
        assert row.endswith(r" \\"), row
        body = row[:-3]
        depth = 0
        for ch in body:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, row
        assert depth == 0 and body.count("$") % 2 == 0, row
        cells = re.split(r"(?<!\\)&", body)
        assert len(cells) == columns, row
        assert not re.search(r"(?<!\\)[#%_]", body), row
    return rows


def test_table_marks_in_markdown_and_latex(tmp_path):
    path = write_results(tmp_path / "results.h5")
    md = rr_analysis.make_table(path, baselines=["base", "multitask"], labels=True)
    row = next(line for line in md.splitlines() if "RouterRetriever" in line)
    assert "<sup>ab</sup>" in row.split("|")[2]  # alpha: better than both
    assert "<sup>" not in row.split("|")[3]  # beta: no difference
    assert "a: significantly better than Base encoder" in md
    tex = rr_analysis.make_table(path, fmt="latex", baselines=["base", "multitask"], labels=True)
    rows = check_latex_tabular(tex)
    assert any(r.startswith(r"\textbf{RouterRetriever}") and "$^{ab}$" in r for r in rows)
    with pytest.raises(rr_analysis.MissingData):
        rr_analysis.make_table([path, path], baselines=["base"])


def test_export_trec_writes_each_run_in_rank_order(tmp_path):
    path = write_results(tmp_path / "results.h5")
    written = rr_analysis.export_trec(path, tmp_path / "runs", ["pilot-mean"])
    assert sorted(p.name for p in written) == ["alpha.pilot-mean.trec", "beta.pilot-mean.trec"]
    lines = (tmp_path / "runs" / "alpha.pilot-mean.trec").read_text().splitlines()
    with h5py.File(path, "r") as f:
        rows, scores = f["runs/alpha/pilot-mean/doc"][()], f["runs/alpha/pilot-mean/score"][()]
    assert len(lines) == int((rows >= 0).sum())
    first = lines[0].split()
    assert first == ["q0", "Q0", f"alpha-d{rows[0, 0]}", "1", f"{float(scores[0, 0]):.9g}", "pilot-mean"]
    assert [l.split()[3] for l in lines if l.startswith("q0 ")] == ["1", "2", "3"]  # the -1 rows are left out
