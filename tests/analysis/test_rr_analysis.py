"""Tests of analysis/rr_analysis.py on small synthetic results files.

Run with: /usr/bin/python3 -m pytest -q tests/analysis
"""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

TOOL = Path(__file__).resolve().parents[2] / "analysis" / "rr_analysis.py"
sys.path.insert(0, str(TOOL.parent))
import rr_analysis  # noqa: E402

EXPERTS = ["alpha", "beta", "gamma"]
CONFIG_DATASETS = ["beta", "alpha", "delta"]  # configured order differs from HDF5's alphabetical order
MEASURES = ["recip_rank", "ndcg_cut_10", "recall_100"]
ROUTERS = ["instance-oracle", "zz-custom", "pilot-mean", "single-beta", "bm25", "multitask", "single-alpha",
           "base", "single-gamma"]  # written in scrambled order
TABLE_ORDER = ["bm25", "base", "single-alpha", "single-beta", "single-gamma", "multitask", "pilot-mean",
               "instance-oracle", "zz-custom"]
RECORDED = TABLE_ORDER[:-1]  # the /routers table evaluate writes; zz-custom is not in it
FIGURES = ["routing_heatmap", "ndcg_bars", "embedding_pca", "training_curves"]
ALL_PARTS = frozenset({"metrics", "routing", "pilots", "train_queries", "training", "scores", "runs"})
HIDDEN, TEST_QUERIES, TRAIN_QUERIES = 16, 12, 20


def ndcg(ds, router, offset=0.0):
    """The synthetic nDCG@10 of `router` on `ds`; pilot-mean on alpha is 0.4567."""
    if (ds, router) == ("alpha", "pilot-mean"):
        return 0.4567 + offset
    return 0.1 + 0.03 * ROUTERS.index(router) + 0.01 * CONFIG_DATASETS.index(ds) + offset


def strings(values):
    """A UTF-8 variable-length string array."""
    return np.array(values, dtype=h5py.string_dtype())


def write_metrics(f, offset, skip=()):
    """/metrics/<ds>/<router>/{mean,per_query} with attr measures; (ds, router) pairs in `skip` left out."""
    for ds in CONFIG_DATASETS:
        for router in ROUTERS:
            if (ds, router) in skip:
                continue
            group = f.create_group(f"metrics/{ds}/{router}")
            group.attrs["measures"] = strings(MEASURES)
            mean = np.array([0.5, ndcg(ds, router, offset), 0.9])
            group["mean"] = mean
            group["per_query"] = np.tile(mean, (TEST_QUERIES, 1))


def write_routing(f, rng, routers=("pilot-mean", "instance-oracle", "bm25", "single-beta")):
    """/routing/<ds>/<router>: pilot-mean mostly picks the dataset's own expert, bm25 -1."""
    for ds in CONFIG_DATASETS:
        own = EXPERTS.index(ds) if ds in EXPERTS else 2
        choices = {"pilot-mean": np.where(rng.random(TEST_QUERIES) < 0.75, own, rng.integers(0, 3, TEST_QUERIES)),
                   "instance-oracle": rng.integers(0, 3, TEST_QUERIES),
                   "bm25": np.full(TEST_QUERIES, -1),
                   "single-beta": np.full(TEST_QUERIES, 1)}
        for router in routers:
            f[f"routing/{ds}/{router}"] = choices[router].astype(np.int32)


def write_pilots(f, rng):
    """/pilots: one pilot per (dataset with an expert, best expert) pair."""
    pairs = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 2)]
    f["pilots/emb"] = rng.normal(size=(len(pairs), HIDDEN)).astype(np.float32)
    f["pilots/expert"] = np.array([e for _, e in pairs], dtype=np.int32)
    f["pilots/dataset"] = np.array([d for d, _ in pairs], dtype=np.int32)
    f["pilots/count"] = np.array([12, 3, 9, 6, 20], dtype=np.int64)
    f["pilots"].attrs["experts"] = strings(EXPERTS)
    f["pilots"].attrs["datasets"] = strings(["alpha", "beta", "gamma"])


def write_training(f, rng):
    """/training curves: base without dev evaluations, three experts and multitask with them."""
    for model, steps in [("base", 300), *((f"expert-{e}", 60) for e in EXPERTS), ("multitask", 40)]:
        group = f.create_group(f"training/{model}")
        group["steps"] = np.arange(1, steps + 1, dtype=np.float64)
        group["loss"] = 5.0 / np.sqrt(group["steps"][()]) + 0.3 * rng.random(steps)
        group["lr"] = np.full(steps, 1e-4)
        evals = np.arange(0, steps + 1, 20, dtype=np.float64) if model != "base" else np.array([])
        group["eval_steps"] = evals
        group["dev_ndcg10"] = 0.2 + 0.1 * np.sqrt(evals / max(steps, 1))


def write_results(path, offset=0.0, parts=ALL_PARTS, seed=1, skip=()):
    """A synthetic rr results file following the schema; `parts` chooses the optional groups written. As rr
    does, the bulky objects (corpus ids, training-query embeddings, scores, runs) are written into a part file
    under results.parts/ and reached by external links."""
    rng = np.random.default_rng(seed)
    part_name = f"{Path(path).stem}.parts/bulk-{seed}.h5"
    (Path(path).parent / part_name).parent.mkdir(exist_ok=True)
    with h5py.File(path, "w") as f, h5py.File(Path(path).parent / part_name, "w") as bulk:
        for name in ("train_queries", "scores", "runs"):
            if name in parts:
                bulk.create_group(name)
                f[name] = h5py.ExternalLink(part_name, f"/{name}")
        f["experts"] = strings(EXPERTS)
        config = {"name": "synthetic", "seed": seed, "datasets": [{"name": ds} for ds in CONFIG_DATASETS]}
        f.create_group("meta").attrs.update({"config": json.dumps(config), "version": "test", "ranks": 1,
                                             "seed": seed})
        f["index"] = h5py.ExternalLink("missing-index.h5", "/index")
        if "metrics" in parts:
            f["routers/name"] = strings(RECORDED)
            f["routers/label"] = strings([f"Label of {name}" for name in RECORDED])
        for ds in CONFIG_DATASETS:
            bulk[f"ids/{ds}"] = strings([f"{ds}-d{i}" for i in range(30)])
            f[f"datasets/{ds}/corpus_ids"] = h5py.ExternalLink(part_name, f"/ids/{ds}")
            f[f"datasets/{ds}/query_ids/test"] = strings([f"{ds}-q{i}" for i in range(TEST_QUERIES)])
            f[f"datasets/{ds}/query_ids/train"] = strings([f"{ds}-t{i}" for i in range(TRAIN_QUERIES)])
            centre = rng.normal(size=HIDDEN)
            if "train_queries" in parts:
                bulk[f"train_queries/{ds}/base"] = (centre + 0.3 * rng.normal(size=(TRAIN_QUERIES, HIDDEN))
                                                 ).astype(np.float32)
            if "scores" in parts:
                bulk[f"scores/{ds}"] = rng.random((TRAIN_QUERIES, len(EXPERTS)))
                bulk[f"scores/{ds}"].attrs["experts"] = strings(EXPERTS)
            if "runs" in parts:
                bulk[f"runs/{ds}/bm25/doc"] = rng.integers(0, 30, (TEST_QUERIES, 5))
                bulk[f"runs/{ds}/bm25/score"] = rng.random((TEST_QUERIES, 5)).astype(np.float32)
        if "metrics" in parts:
            write_metrics(f, offset, skip)
        if "routing" in parts:
            write_routing(f, rng)
        if "pilots" in parts:
            write_pilots(f, rng)
        if "training" in parts:
            write_training(f, rng)
    return path


def markdown_rows(text):
    """(header cells, {router: cells}) of a Markdown table."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    split = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    return split[0][1:], {row[0]: row[1:] for row in split[2:]}


def expected_avg(router, offset=0.0):
    """The Avg cell's value (x100) of `router` over the three datasets."""
    return 100 * np.mean([ndcg(ds, router, offset) for ds in CONFIG_DATASETS])


@pytest.fixture
def results_file(tmp_path):
    """One complete synthetic results file."""
    return write_results(tmp_path / "results.h5")


@pytest.fixture
def two_seed_files(tmp_path):
    """Two runs whose every nDCG@10 differs by 0.1."""
    return [write_results(tmp_path / "seed1.h5", 0.0, seed=1), write_results(tmp_path / "seed2.h5", 0.1, seed=2)]


def test_load_results_reads_the_schema_without_following_the_index_link(results_file):
    results = rr_analysis.load_results(results_file)
    assert results["experts"] == EXPERTS
    assert results["datasets"] == CONFIG_DATASETS
    assert results["metrics"]["alpha"]["pilot-mean"]["ndcg_cut_10"] == pytest.approx(0.4567)
    assert results["pilots"]["emb"].shape == (5, HIDDEN)
    assert results["pilots"]["datasets"] == ["alpha", "beta", "gamma"]
    assert set(results["train_queries"]) == set(CONFIG_DATASETS)
    assert results["training"]["expert-beta"]["dev_ndcg10"].shape == (4,)
    assert results["meta"]["config"]["name"] == "synthetic"


def test_snapshot_is_self_contained_and_reads_the_same(results_file, tmp_path, capsys):
    copy = tmp_path / "kept" / "copy.h5"
    copy.parent.mkdir()
    assert rr_analysis.main(["snapshot", str(results_file), str(copy)]) == 0
    shutil.rmtree(tmp_path / "results.parts")  # what rr does to replaced parts
    assert rr_analysis.load_results(results_file)["train_queries"] == {}  # the original's links now dangle
    with h5py.File(copy, "r") as f:
        # the index link is re-aimed from the copy's folder: kept/copy.h5 -> ../missing-index.h5
        assert f.get("index", getlink=True).filename == os.path.join("..", "missing-index.h5")
        assert not isinstance(f.get("scores", getlink=True), h5py.ExternalLink)
        assert f["datasets/alpha/corpus_ids"][0] == b"alpha-d0"
        assert f["runs/beta/bm25/doc"].shape == (TEST_QUERIES, 5)
    kept = rr_analysis.load_results(copy)
    assert set(kept["train_queries"]) == set(CONFIG_DATASETS)
    assert kept["metrics"]["alpha"]["pilot-mean"]["ndcg_cut_10"] == pytest.approx(0.4567)
    assert rr_analysis.main(["snapshot", str(results_file), str(tmp_path / "x.h5")]) == 2  # parts missing
    assert not (tmp_path / "x.h5").exists() and not list(tmp_path.glob("x.h5.tmp-*"))
    err = capsys.readouterr().err
    assert "/datasets/alpha/corpus_ids links to a file that is missing" in err, err


def test_markdown_table_numbers_avg_and_row_order(results_file):
    header, rows = markdown_rows(rr_analysis.make_table([results_file]))
    assert header == [*CONFIG_DATASETS, "Avg"]
    assert list(rows) == TABLE_ORDER
    assert rows["pilot-mean"][CONFIG_DATASETS.index("alpha")] == "45.7"
    assert rows["bm25"][0] == f"{100 * ndcg('beta', 'bm25'):.1f}"
    assert rows["pilot-mean"][-1] == f"{expected_avg('pilot-mean'):.1f}"
    assert "±" not in "".join(cell for cells in rows.values() for cell in cells)


def test_rows_follow_the_recorded_router_table(tmp_path):
    # A router the analysis has never heard of takes the place the results file gives it, with its label.
    path = write_results(tmp_path / "results.h5")
    with h5py.File(path, "r+") as f:
        order = ["bm25", "base", "single-alpha", "single-beta", "single-gamma", "multitask", "zz-custom",
                 "pilot-mean", "instance-oracle"]
        del f["routers"]
        f["routers/name"] = strings(order)
        f["routers/label"] = strings([f"Label of {name}" for name in order])
    _, rows = markdown_rows(rr_analysis.make_table([path]))
    assert list(rows) == order
    _, labelled = markdown_rows(rr_analysis.make_table([path], labels=True))
    assert list(labelled) == [f"Label of {name}" for name in order]


def test_load_gives_a_frame_per_router_and_per_query(results_file):
    frame = rr_analysis.load(results_file)
    assert set(frame.columns) >= {"dataset", "router", "label", *MEASURES}
    assert len(frame) == len(CONFIG_DATASETS) * len(ROUTERS)
    row = frame[(frame.dataset == "alpha") & (frame.router == "pilot-mean")].iloc[0]
    assert row["ndcg_cut_10"] == pytest.approx(0.4567)
    assert row["label"] == "Label of pilot-mean"
    alpha = frame[frame.dataset == "alpha"].router.tolist()
    assert alpha[:len(RECORDED)] == RECORDED  # the recorded Table 1 order, then the rest
    per_query = rr_analysis.load(results_file, per_query=True)
    assert len(per_query) == len(CONFIG_DATASETS) * len(ROUTERS) * TEST_QUERIES
    assert per_query[per_query.dataset == "alpha"]["query"].iloc[0] == "alpha-q0"


def test_latex_table(results_file):
    text = rr_analysis.make_table([results_file], fmt="latex")
    assert r"\toprule" in text and r"\bottomrule" in text
    row = next(line for line in text.splitlines() if line.startswith("pilot-mean &"))
    assert row.split(" & ")[CONFIG_DATASETS.index("alpha") + 1] == "45.7"
    assert row.endswith(f"{expected_avg('pilot-mean'):.1f} \\\\")
    assert [line.split(" & ")[0] for line in text.splitlines() if " & " in line][1:] == TABLE_ORDER


def test_csv_table_with_another_measure(results_file):
    frame = pd.read_csv(io.StringIO(rr_analysis.make_table([results_file], "recall_100", "csv")), index_col=0)
    assert list(frame.index) == TABLE_ORDER
    assert list(frame.columns) == [*CONFIG_DATASETS, "Avg"]
    assert (frame.to_numpy() == 90.0).all()


def test_mean_and_std_over_two_files(two_seed_files):
    _, rows = markdown_rows(rr_analysis.make_table(two_seed_files))
    assert rows["pilot-mean"][CONFIG_DATASETS.index("alpha")] == "50.7 ± 7.1"  # 45.67 and 55.67, ddof=1
    assert rows["bm25"][-1] == f"{expected_avg('bm25', 0.05):.1f} ± 7.1"
    frame = pd.read_csv(io.StringIO(rr_analysis.make_table(two_seed_files, fmt="csv")), index_col=0)
    assert list(frame.columns[:2]) == ["beta", "beta_std"]
    assert frame.loc["pilot-mean", "alpha"] == pytest.approx(50.7)
    assert frame.loc["pilot-mean", "alpha_std"] == pytest.approx(7.1)


def test_missing_cell_is_a_dash_and_has_no_avg(tmp_path):
    path = write_results(tmp_path / "partial.h5", skip={("delta", "multitask")})
    _, rows = markdown_rows(rr_analysis.make_table([path]))
    assert rows["multitask"][CONFIG_DATASETS.index("delta")] == "–"
    assert rows["multitask"][-1] == "–"
    assert rows["base"][-1] == f"{expected_avg('base'):.1f}"


def test_unknown_measure_is_an_error(results_file):
    with pytest.raises(rr_analysis.MissingData, match="available: .*ndcg_cut_10"):
        rr_analysis.make_table([results_file], "no_such_measure")
    assert rr_analysis.main(["table", str(results_file), "--measure", "no_such_measure"]) == 2


def assert_figures(out_dir, names):
    """Exactly the figures `names` exist in out_dir, each as a non-empty PNG and PDF."""
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(f"{n}.{s}" for n in names for s in ("png", "pdf"))
    for name in names:
        assert (out_dir / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out_dir / f"{name}.pdf").read_bytes()[:5] == b"%PDF-"
        assert (out_dir / f"{name}.png").stat().st_size > 10_000


def test_plots_writes_every_figure(results_file, tmp_path, capsys):
    written = rr_analysis.make_plots([results_file], tmp_path / "figures")
    assert len(written) == 2 * len(FIGURES)
    assert_figures(tmp_path / "figures", FIGURES)
    assert "skipping" not in capsys.readouterr().err


def test_plots_over_several_runs(two_seed_files, tmp_path):
    rr_analysis.make_plots(two_seed_files, tmp_path / "figures")
    assert_figures(tmp_path / "figures", FIGURES)


def test_plots_skip_absent_data(tmp_path, capsys):
    path = write_results(tmp_path / "metrics-only.h5", parts={"metrics"})
    rr_analysis.make_plots([path], tmp_path / "figures")
    assert_figures(tmp_path / "figures", ["ndcg_bars"])
    err = capsys.readouterr().err
    for name in ("routing_heatmap", "embedding_pca", "training_curves"):
        assert f"skipping {name}" in err


def test_plots_without_metrics_draw_the_rest(tmp_path, capsys):
    path = write_results(tmp_path / "no-metrics.h5", parts=ALL_PARTS - {"metrics"})
    rr_analysis.make_plots([path], tmp_path / "figures")
    assert_figures(tmp_path / "figures", ["routing_heatmap", "embedding_pca", "training_curves"])
    assert "skipping ndcg_bars" in capsys.readouterr().err


def run_tool(*args):
    """Runs the tool as a command; returns the completed process."""
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("command", [[], ["table"], ["plots"]])
def test_help(command):
    completed = run_tool(*command, "--help")
    assert completed.returncode == 0
    assert completed.stdout.startswith("usage:")


def test_command_line(results_file, tmp_path):
    table = run_tool("table", results_file, "--format", "markdown", "--out", tmp_path / "table.md")
    assert table.returncode == 0, table.stderr
    assert "| pilot-mean |" in (tmp_path / "table.md").read_text()
    plots = run_tool("plots", results_file, "--out", tmp_path / "figures")
    assert plots.returncode == 0, plots.stderr
    assert len(plots.stdout.split()) == 2 * len(FIGURES)
    missing = run_tool("table", tmp_path / "absent.h5")
    assert missing.returncode == 2 and "error" in missing.stderr


def test_routing_counts_put_ties_in_their_own_column(tmp_path):
    # Queries 0-2 of alpha: every single expert scores the same, so the router's choice (expert 0) is a tie.
    result = {"path": "x", "experts": ["alpha", "beta"], "datasets": ["alpha"],
              "routing": {"alpha": {"instance-oracle": np.array([0, 0, 0, 1, -1])}},
              "ties": {"alpha": np.array([True, True, True, False, False])}}
    counts = rr_analysis.routing_counts([result], "instance-oracle")
    assert list(counts.columns) == ["alpha", "beta", "base", rr_analysis.TIE_COLUMN]
    assert counts.loc["alpha"].tolist() == [0, 1, 1, 3]
    result["ties"] = {}
    assert rr_analysis.routing_counts([result], "instance-oracle").loc["alpha"].tolist() == [3, 1, 1]
