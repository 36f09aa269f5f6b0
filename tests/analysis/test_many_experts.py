"""rr_analysis.py's reports at T = 100 experts (issue 31, item 6): the routing heatmap without per-cell text, the
single-expert rows of tables and bar chart folded into best / median / worst, the full table in a linked file.

Run with: /usr/bin/python3 -m pytest -q tests/analysis
"""

import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

TOOL = Path(__file__).resolve().parents[2] / "analysis" / "rr_analysis.py"
sys.path.insert(0, str(TOOL.parent))
import rr_analysis  # noqa: E402

DATASETS = ["d0", "d1", "d2", "d3", "d4", "d5"]
MEASURES = ["ndcg_cut_10", "recall_100"]
QUERIES = 40
FOLDED = ["Single expert: best", "Single expert: median", "Single expert: worst"]


def experts(count):
    """The names of `count` experts."""
    return [f"e{i:03d}" for i in range(count)]


def routers(count):
    """Table 1 order with `count` single experts."""
    return ["bm25", "base", *(f"single-{e}" for e in experts(count)), "multitask", "pilot-mean", "instance-oracle"]


def strings(values):
    """A UTF-8 variable-length string array."""
    return np.array(values, dtype=h5py.string_dtype())


def write_results(path, count, seed=0):
    """A results file with `count` experts: each dataset ranks the single experts in its own random order, 0.9
    points of nDCG@10 (x100) apart, base at 30 and the best experts significantly above it; pilot-mean routes
    most of a dataset's queries to one expert, instance-oracle to the best single expert per query."""
    rng = np.random.default_rng(seed)
    names = routers(count)
    with h5py.File(path, "w") as f:
        f["experts"] = strings(experts(count))
        config = {"name": f"t{count}", "seed": seed, "datasets": [{"name": ds} for ds in DATASETS]}
        f.create_group("meta").attrs.update({"config": json.dumps(config), "seed": seed})
        f["routers/name"] = strings(names)
        f["routers/label"] = strings([f"Label of {name}" for name in names])
        for ds in DATASETS:
            rank = rng.permutation(count)
            level = {"bm25": 0.25, "base": 0.3, "multitask": 0.5, "pilot-mean": 0.55, "instance-oracle": 0.7}
            level.update({f"single-{e}": 0.05 + 0.009 * r for e, r in zip(experts(count), rank)})
            singles = []
            for router in names:
                values = np.clip(level[router] + rng.normal(0, 0.05, (QUERIES, len(MEASURES))), 0, 1)
                group = f.create_group(f"metrics/{ds}/{router}")
                group.attrs["measures"] = strings(MEASURES)
                group["per_query"] = values
                group["mean"] = values.mean(axis=0)
                if router.startswith("single-"):
                    singles.append(values[:, 0])
            favourite = int(rng.integers(count))
            f[f"routing/{ds}/pilot-mean"] = np.where(rng.random(QUERIES) < 0.6, favourite,
                                                     rng.integers(0, count, QUERIES)).astype(np.int32)
            f[f"routing/{ds}/instance-oracle"] = np.argmax(np.stack(singles), axis=0).astype(np.int32)
    return path


def single_means(path, measure="ndcg_cut_10"):
    """(experts x datasets) means x 100 of the single experts, read straight from the file."""
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f["routers/name"][()] if n.decode().startswith("single-")]
        column = MEASURES.index(measure)
        return names, np.array([[100.0 * f[f"metrics/{ds}/{name}/mean"][column] for ds in DATASETS]
                                for name in names])


def folded_expected(values):
    """Per column of `values` (experts x columns): the best, median ((n + 1) // 2-th best) and worst value."""
    ranked = -np.sort(-values, axis=0)
    return ranked[0], ranked[(len(values) - 1) // 2], ranked[-1]


def markdown_rows(text):
    """(header cells, {row name: cells}) of a Markdown table."""
    split = [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines()
             if line.startswith("|")]
    return split[0][1:], {row[0]: row[1:] for row in split[2:]}


@pytest.fixture(scope="module")
def hundred(tmp_path_factory):
    """One results file with 100 experts."""
    return write_results(tmp_path_factory.mktemp("t100") / "results.h5", 100)


def test_table_folds_100_singles_into_best_median_worst(hundred, tmp_path):
    full = tmp_path / "table.full.md"
    header, rows = markdown_rows(rr_analysis.make_table(hundred, full_table=full))
    assert list(rows) == ["bm25", "base", *FOLDED, "multitask", "pilot-mean", "instance-oracle"]
    assert header == [*DATASETS, "Avg"]
    _, values = single_means(hundred)
    for name, expected in zip(FOLDED, folded_expected(values)):
        assert rows[name][:-1] == [f"{v:.1f}" for v in expected], name
    for name, expected in zip(FOLDED, folded_expected(values.mean(axis=1, keepdims=True))):
        assert float(rows[name][-1]) == pytest.approx(expected[0], abs=0.051), name  # Avg: pandas' mean vs numpy's


def test_full_table_file_holds_all_100_rows(hundred, tmp_path):
    full = tmp_path / "table.full.md"
    folded = rr_analysis.make_table(hundred, full_table=full)
    assert "[table.full.md](table.full.md)" in folded
    _, rows = markdown_rows(full.read_text())
    assert list(rows) == routers(100)
    names, values = single_means(hundred)
    assert [rows[name][:-1] for name in names] == [[f"{v:.1f}" for v in row] for row in values]


def test_folded_cells_keep_the_chosen_experts_significance_letters(hundred, tmp_path):
    full = tmp_path / "table.full.md"
    _, rows = markdown_rows(rr_analysis.make_table(hundred, baselines=["base"], labels=True, full_table=full))
    _, every = markdown_rows(full.read_text())
    assert "Label of multitask" in rows and "Label of single-e000" in every
    names, values = single_means(hundred)
    picks = {FOLDED[0]: np.argmax(values, axis=0), FOLDED[2]: np.argmin(values, axis=0)}
    for name, chosen in picks.items():
        for column, expert in enumerate(chosen):
            assert rows[name][column] == every[f"Label of {names[expert]}"][column]
    assert all("<sup>a</sup>" in cell for cell in rows[FOLDED[0]][:-1])  # 0.94 against 0.3
    assert not any("<sup>" in cell for cell in rows[FOLDED[2]])  # 0.05 against 0.3


def test_folded_cells_over_two_runs_are_the_chosen_experts_mean_and_std(hundred, tmp_path):
    other = write_results(tmp_path / "seed1.h5", 100, seed=1)
    full = tmp_path / "table.full.md"
    _, rows = markdown_rows(rr_analysis.make_table([hundred, other], full_table=full))
    _, every = markdown_rows(full.read_text())
    names, first = single_means(hundred)
    values = (first + single_means(other)[1]) / 2
    order = np.argsort(-values, axis=0, kind="stable")
    for name, rank in zip(FOLDED, (0, 49, 99)):
        for column in range(len(DATASETS)):
            cell = rows[name][column]
            assert " ± " in cell and cell == every[names[order[rank, column]]][column], (name, column)


@pytest.mark.parametrize("max_singles", [0, 100])
def test_no_folding_up_to_the_threshold(hundred, tmp_path, max_singles):
    full = tmp_path / "never.md"
    _, rows = markdown_rows(rr_analysis.make_table(hundred, max_singles=max_singles, full_table=full))
    assert list(rows) == routers(100) and not full.exists()


def test_csv_keeps_every_row(hundred):
    lines = rr_analysis.make_table(hundred, fmt="csv").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == routers(100)


def test_table_command_writes_the_full_table_beside_the_folded_one(hundred, tmp_path):
    for fmt, suffix in (("markdown", "md"), ("latex", "tex")):
        out = tmp_path / f"table.{suffix}"
        done = subprocess.run([sys.executable, str(TOOL), "table", str(hundred), "--format", fmt, "--out", str(out)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        full = tmp_path / f"table.full.{suffix}"
        assert full.name in out.read_text()
        for path, want in ((out, ["bm25", "base", *FOLDED, "multitask", "pilot-mean", "instance-oracle"]),
                           (full, routers(100))):
            text = path.read_text()
            rows = (list(markdown_rows(text)[1]) if fmt == "markdown"
                    else [line.split(" & ")[0] for line in text.splitlines() if " & " in line][1:])
            assert rows == want, path.name


def heatmap_axes(fig):
    """The heatmap panels of a routing figure (the colorbar's axes left out)."""
    return [ax for ax in fig.axes if ax.images and ax.get_label() != "<colorbar>"]


def test_heatmap_at_100_experts_has_no_cell_text(hundred):
    fig = rr_analysis.plot_routing_heatmap(hundred)
    panels = heatmap_axes(fig)
    assert len(panels) == 2 and len(fig.axes) == 3  # pilot-mean, instance-oracle and the colorbar
    for ax in panels:
        assert len(ax.texts) == 0
        assert ax.images[0].get_array().shape == (len(DATASETS), 100)
        assert 0 < len(ax.get_xticks()) <= rr_analysis.HEATMAP_MAX_TICKS
    width, height = fig.get_size_inches()
    assert width <= rr_analysis.HEATMAP_MAX_SIZE[0] and height <= rr_analysis.HEATMAP_MAX_SIZE[1]


def test_heatmap_at_5_experts_keeps_a_share_per_cell(tmp_path):
    fig = rr_analysis.plot_routing_heatmap(write_results(tmp_path / "results.h5", 5))
    for ax in heatmap_axes(fig):
        assert len(ax.texts) == len(DATASETS) * 5
        assert [t.get_text() for t in ax.get_xticklabels()] == experts(5)


def test_bars_fold_100_singles(hundred):
    fig = rr_analysis.plot_ndcg_bars(hundred)
    ax = fig.axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["bm25", "base", *FOLDED, "multitask", "pilot-mean", "instance-oracle"]
    _, values = single_means(hundred)
    best = ax.containers[labels.index(FOLDED[0])]
    assert [bar.get_height() for bar in best][:-1] == pytest.approx(values.max(axis=0))


def test_plots_at_100_experts_are_written(hundred, tmp_path):
    written = rr_analysis.make_plots(hundred, tmp_path / "figures")
    assert sorted(p.name for p in written) == [f"{name}.{suffix}" for name in ("ndcg_bars", "routing_heatmap")
                                               for suffix in ("pdf", "png")]
    for path in written:
        assert path.stat().st_size > 10_000
