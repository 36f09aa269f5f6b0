#!/usr/bin/python3
"""Tables and figures from rr results files (HDF5).

Command line::

    rr_analysis.py table FILE... [--format markdown|latex|csv] [--measure ndcg_cut_10] [--labels] [--out PATH]
                         [--baseline ROUTER]... [--alpha 0.05] [--max-singles 10]
    rr_analysis.py compare FILE --baseline ROUTER [--baseline ROUTER]... [--measure ndcg_cut_10] [--json]
                           [--permutations 10000] [--seed 0] [--alpha 0.05]
    rr_analysis.py export-trec FILE --out DIR [--router ROUTER]...
    rr_analysis.py plots FILE... --out DIR [--max-singles 10]
    rr_analysis.py snapshot FILE OUT
    rr_analysis.py digest FILE [--skip PREFIX]...

Several FILEs are runs of one experiment with different seeds: tables show mean ± std over them (std with
ddof=1), the bar chart draws the std as error bars and the routing heatmap sums the counts; the PCA and the
training curves describe a single run, the first file that has their data.

Many experts (T = 100): more than --max-singles single-expert rows are folded into three, best / median / worst
per column (the table's full version written beside it, as <stem>.full<suffix>, and linked), likewise the bars;
the routing heatmap then drops its per-cell numbers for a square-root colour scale and thins its labels.

As a module: ``load_results(path)`` reads one file into a dict, ``make_table(results, ...)`` renders a table
and ``make_plots(results, out_dir)`` writes the figures. rr keeps a results file's bulky objects (corpus ids,
training-query embeddings, scores, runs) in part files under ``results.parts/``, reached by external links that
h5py follows; a link whose file is missing reads as absent. ``snapshot`` writes a self-contained copy (the parts
copied in, the ``/index`` link to the corpus index kept as a link): a plain ``cp`` of results.h5 keeps links to
parts that rr deletes once a later stage replaces them.
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

import h5py
import matplotlib
import numpy as np
import pandas as pd

import significance

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

DEFAULT_MEASURE = "ndcg_cut_10"
MEAN_ROUTER, ORACLE_ROUTER = "pilot-mean", "instance-oracle"
MISSING = {"markdown": "–", "latex": "--"}
PLUS_MINUS = {"markdown": " ± ", "latex": r" $\pm$ "}
TRAIN_QUERIES_PER_DATASET = 300
PILOT_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "p", "h", "*")
SMOOTH_FRACTION = 20  # loss curves longer than 3 * this get a moving average over len / this steps
FIGURE_STYLE = {
    "font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10, "ytick.labelsize": 10,
    "legend.fontsize": 10, "legend.title_fontsize": 10, "figure.titlesize": 13,
    "axes.spines.top": False, "axes.spines.right": False, "savefig.dpi": 200, "pdf.fonttype": 42,
}


class MissingData(Exception):
    """Data that a table or figure needs is absent from every results file given."""


# --------------------------------------------------------------------------------------------- loading

def _strings(values):
    """Decodes an array (or scalar) of HDF5 strings to a list of str."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(values)]


def _member(group, path):
    """The object at `path` under `group`, or None when absent (a link whose file is missing included)."""
    node = group
    for part in path.strip("/").split("/"):
        node = node.get(part) if node.get(part, getlink=True) is not None else None
        if node is None:
            return None
    return node


def _children(group):
    """Names of the members of `group` (None: no group) that can be read, in stored order."""
    if group is None:
        return []
    return [name for name in group if _member(group, name) is not None]


def _dangling_links(group, prefix=""):
    """(path, target file) of every external link under `group` whose object cannot be read."""
    found = []
    for name in group:
        link = group.get(name, getlink=True)
        node = group.get(name)
        if node is None:
            found.append((f"{prefix}/{name}", getattr(link, "filename", "?")))
        elif isinstance(node, h5py.Group):
            found += _dangling_links(node, f"{prefix}/{name}")
    return found


def snapshot(path, out):
    """Writes a self-contained copy of the results file `path` to `out`: every object a link reaches (its
    parts) is copied in, except the /index link to the corpus index (tens of GB), kept as a link re-aimed from
    the copy's folder."""
    path, out = Path(path), Path(out)
    temp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    try:
        with h5py.File(path, "r") as f, h5py.File(temp, "w") as g:
            g.attrs.update(f.attrs)
            for name in f:
                link = f.get(name, getlink=True)
                if name == "index" and isinstance(link, h5py.ExternalLink):
                    target = os.path.relpath(path.parent / link.filename, out.parent.resolve())
                    g[name] = h5py.ExternalLink(target, link.path)
                    continue
                node = f.get(name)
                if node is None:
                    missing = [(f"/{name}", getattr(link, "filename", "?"))]
                else:
                    missing = _dangling_links(node, f"/{name}") if isinstance(node, h5py.Group) else []
                if missing:
                    raise MissingData(f"{path}: {missing[0][0]} links to a file that is missing ({missing[0][1]})")
                f.copy(name, g, expand_external=True)
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)


PROVENANCE = "/provenance"


def digest(path, skip=()):
    """One line per dataset of the results file `path`, external links followed (its parts and the /index link
    to index.h5), in path order: 'PATH DTYPE SHAPE SHA256' of the values' bytes. Two files whose digests are
    equal hold the same numbers bit for bit. Paths that start with one of `skip` are left out, and always
    /provenance: where and how a file was made (hosts, threads, the inputs' paths), not what it holds."""
    import hashlib
    lines = []
    skip = (*skip, PROVENANCE)

    def visit(group, prefix):
        for name in sorted(group):
            full = f"{prefix}/{name}"
            if any(full.startswith(s) for s in skip):
                continue
            node = group.get(name)
            if node is None:
                raise MissingData(f"{path}: {full} links to a file that is missing")
            if isinstance(node, h5py.Group):
                visit(node, full)
                continue
            values = node[()]
            if node.dtype.kind == "O":
                data = "\x00".join(_strings(values)).encode()
            else:
                data = np.ascontiguousarray(values).tobytes()
            lines.append(f"{full} {node.dtype} {'x'.join(map(str, node.shape)) or 'scalar'} "
                         f"{hashlib.sha256(data).hexdigest()}")

    with h5py.File(path, "r") as f:
        visit(f, "")
    return "\n".join(lines) + "\n"


def _read_meta(f):
    """The attributes of /meta, with the `config` JSON string parsed when it parses."""
    group = _member(f, "meta")
    meta = dict(group.attrs) if group is not None else {}
    if isinstance(meta.get("config"), str):
        try:
            meta["config"] = json.loads(meta["config"])
        except json.JSONDecodeError:
            pass
    return meta


def _ordered(names, preferred):
    """`names` with those listed in `preferred` first (in that order), then the others sorted."""
    names = list(dict.fromkeys(names))
    head = [p for p in dict.fromkeys(preferred) if p in names]
    return head + sorted(set(names) - set(head))


def _dataset_order(f, meta):
    """Dataset names in configured order (config, else /pilots attrs), then any others found in the file."""
    config = meta.get("config")
    configured = [d.get("name") for d in config.get("datasets", [])] if isinstance(config, dict) else []
    pilots = _member(f, "pilots")
    if not configured and pilots is not None and "datasets" in pilots.attrs:
        configured = _strings(pilots.attrs["datasets"])
    found = [ds for group in ("datasets", "metrics", "routing") for ds in _children(_member(f, group))]
    return _ordered(found, [c for c in configured if c in found])


def _read_metrics(f):
    """{dataset: {router: {measure: mean}}} from /metrics."""
    metrics = {}
    for ds in _children(_member(f, "metrics")):
        for router in _children(f["metrics"][ds]):
            group = f["metrics"][ds][router]
            if "measures" in group.attrs and _member(group, "mean") is not None:
                values = group["mean"][()]
                metrics.setdefault(ds, {})[router] = dict(zip(_strings(group.attrs["measures"]), values))
    return metrics


def _read_router_table(f):
    """[(name, label)] of the evaluated routers in Table 1 order, as `evaluate` recorded them in /routers."""
    group = _member(f, "routers")
    if group is None or "name" not in group or "label" not in group:
        return []
    return list(zip(_strings(group["name"][()]), _strings(group["label"][()])))


def _read_routing(f):
    """{dataset: {router: chosen expert index per test query}} from /routing."""
    return {ds: {router: f["routing"][ds][router][()] for router in _children(f["routing"][ds])}
            for ds in _children(_member(f, "routing"))}


def _read_pilots(f):
    """The pilot library (emb, expert, dataset, count, experts, datasets), or None when absent."""
    group = _member(f, "pilots")
    if group is None or _member(group, "emb") is None:
        return None
    pilots = {key: group[key][()] for key in ("emb", "expert", "dataset", "count") if key in _children(group)}
    for key in ("experts", "datasets"):
        pilots[key] = _strings(group.attrs[key]) if key in group.attrs else []
    return pilots


def _read_train_queries(f, per_dataset, seed=0):
    """{dataset: base embeddings of at most `per_dataset` training queries, drawn at random}."""
    rng = np.random.default_rng(seed)
    sample = {}
    for ds in _children(_member(f, "train_queries")):
        dset = _member(f["train_queries"][ds], "base")
        if dset is None or dset.shape[0] == 0:
            continue
        rows = np.sort(rng.choice(dset.shape[0], size=min(per_dataset, dset.shape[0]), replace=False))
        sample[ds] = dset[rows]
    return sample


def _read_ties(f, experts, measure=DEFAULT_MEASURE):
    """{dataset: bool per test query: every single expert has the same `measure` there} (routing cannot
    matter on those queries; the InstanceOracle credits them to the first expert). Absent without the
    single-expert results of two experts or more."""
    ties = {}
    for ds in _children(_member(f, "metrics")):
        columns = []
        for expert in experts:
            group = _member(f, f"metrics/{ds}/single-{expert}")
            if group is None or "measures" not in group.attrs or _member(group, "per_query") is None:
                break
            measures = _strings(group.attrs["measures"])
            if measure not in measures:
                break
            columns.append(group["per_query"][:, measures.index(measure)])
        if len(experts) > 1 and len(columns) == len(experts):
            ties[ds] = np.all(np.stack(columns) == columns[0], axis=0)
    return ties


def _read_training(f):
    """{model: {series name: 1-D array}} from /training."""
    return {model: {key: f["training"][model][key][()] for key in _children(f["training"][model])}
            for model in _children(_member(f, "training"))}


def load_results(path, train_queries_per_dataset=TRAIN_QUERIES_PER_DATASET):
    """Reads the small results of one rr results file into a dict.

    Keys: path, experts, datasets (configured order), meta (/meta attrs, config parsed), metrics
    ({ds: {router: {measure: mean}}}), routers ([(name, label)] in Table 1 order, from /routers), routing
    ({ds: {router: int array}}), ties ({ds: bool per test query where every single expert scores the same
    nDCG@10}), pilots (dict or None),
    train_queries ({ds: sampled base embeddings}), training ({model: {series: array}}).
    Absent groups give empty values. Runs, corpus ids and the /index link are not read.
    """
    with h5py.File(path, "r") as f:
        meta = _read_meta(f)
        experts = _member(f, "experts")
        expert_names = _strings(experts[()]) if experts is not None else []
        return {
            "path": str(path),
            "experts": expert_names,
            "datasets": _dataset_order(f, meta),
            "meta": meta,
            "metrics": _read_metrics(f),
            "routers": _read_router_table(f),
            "routing": _read_routing(f),
            "ties": _read_ties(f, expert_names),
            "pilots": _read_pilots(f),
            "train_queries": _read_train_queries(f, train_queries_per_dataset),
            "training": _read_training(f),
        }


def load(path, per_query=False):
    """A results file's measures as a pandas DataFrame, for notebooks.

    One row per (dataset, router) with columns dataset, router, label and one per measure (the mean over the
    test queries); with per_query=True one row per test query, with its query id. Routers come in the Table 1
    order the file records.
    """
    with h5py.File(path, "r") as f:
        routers = _read_router_table(f)
        labels = dict(routers)
        order = {name: i for i, (name, _) in enumerate(routers)}
        rows = []
        for ds in _children(_member(f, "metrics")):
            qids = None
            datasets_group = _member(f, f"datasets/{ds}/query_ids")
            if per_query and datasets_group is not None:
                split = _children(datasets_group)
                qids = _strings(datasets_group["test"][()]) if "test" in split else None
            for router in _children(f["metrics"][ds]):
                group = f["metrics"][ds][router]
                if "measures" not in group.attrs:
                    continue
                measures = _strings(group.attrs["measures"])
                base = {"dataset": ds, "router": router, "label": labels.get(router, router)}
                if not per_query:
                    rows.append({**base, **dict(zip(measures, group["mean"][()]))})
                    continue
                values = group["per_query"][()]
                for i, row in enumerate(values):
                    query = qids[i] if qids is not None and i < len(qids) else i
                    rows.append({**base, "query": query, **dict(zip(measures, row))})
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["_order"] = frame["router"].map(lambda r: order.get(r, len(order)))
        frame = frame.sort_values(["dataset", "_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    return frame


def _as_results(results):
    """A list of loaded results from one results dict, one path, or a sequence of either."""
    if isinstance(results, (dict, str, Path)):
        results = [results]
    return [r if isinstance(r, dict) else load_results(r) for r in results]


def _run_label(result):
    """A short name for one run: '<experiment> (seed N)', else the file name."""
    config, seed = result["meta"].get("config"), result["meta"].get("seed")
    name = config.get("name") if isinstance(config, dict) else None
    name = name or Path(result["path"]).name
    return f"{name} (seed {seed})" if seed is not None else name


def _union(lists):
    """The union of several ordered lists, keeping first-seen order."""
    return list(dict.fromkeys(item for items in lists for item in items))


# --------------------------------------------------------------------------------------------- tables

def router_order(routers, recorded):
    """Routers in the Table 1 order the results files recorded (`recorded`: names), then any others sorted."""
    return _ordered(routers, recorded)


def router_labels(results):
    """{router name: Table 1 label} from the results files' router tables."""
    return {name: label for r in _as_results(results) for name, label in r["routers"]}


def measure_frame(result, measure=DEFAULT_MEASURE):
    """routers x datasets (+ 'Avg') DataFrame of `measure` x 100 for one run; NaN where absent.

    Avg is the mean over the datasets and is NaN for a router that lacks any of them.
    """
    metrics = result["metrics"]
    datasets = [ds for ds in result["datasets"] if ds in metrics]
    routers = router_order(_union(metrics[ds] for ds in datasets), [name for name, _ in result["routers"]])
    frame = pd.DataFrame(index=routers, columns=datasets, dtype=float)
    for ds in datasets:
        for router, values in metrics[ds].items():
            frame.loc[router, ds] = 100.0 * values.get(measure, np.nan)
    frame["Avg"] = frame[datasets].mean(axis=1, skipna=False)
    return frame


def summarize(results, measure=DEFAULT_MEASURE):
    """(mean, std, n) over runs of the per-run measure frames; std (ddof=1) is all NaN when n == 1."""
    results = _as_results(results)
    frames = [measure_frame(r, measure) for r in results]
    if all(frame.drop(columns="Avg").isna().all().all() for frame in frames):
        available = sorted(_union(values for r in results for by_router in r["metrics"].values()
                                  for values in by_router.values()))
        raise MissingData(f"measure '{measure}' not found; available: {', '.join(available) or 'none'}")
    routers = router_order(_union(f.index for f in frames), _union([n for n, _ in r["routers"]] for r in results))
    columns = [c for c in _union(f.columns for f in frames) if c != "Avg"] + ["Avg"]
    stacked = pd.concat(frames, keys=range(len(frames)))
    grouped = stacked.groupby(level=1, sort=False)
    mean = grouped.mean().reindex(index=routers, columns=columns)
    std = grouped.std(ddof=1).reindex(index=routers, columns=columns)
    return mean, std, len(frames)


def _cell_strings(mean, std, fmt):
    """DataFrame of cell texts: 'm' or 'm ± s' with one decimal, a dash where absent."""
    def cell(m, s):
        if np.isnan(m):
            return MISSING[fmt]
        return f"{m:.1f}" if np.isnan(s) else f"{m:.1f}{PLUS_MINUS[fmt]}{s:.1f}"
    return pd.DataFrame([[cell(m, s) for m, s in zip(mrow, srow)] for mrow, srow in zip(mean.values, std.values)],
                        index=mean.index, columns=mean.columns)


def _latex_escape(text):
    """Escapes the LaTeX special characters that occur in router and dataset names; Markdown bold (the Table 1
    label of RouterRetriever) becomes \\textbf."""
    for char in "\\&%$#_{}":
        text = text.replace(char, "\\" + char)
    return re.sub(r"\*\*(.+?)\*\*", r"\\textbf{\1}", text)


def _with_marks(cells, marks, fmt):
    """Cells with their significance letters as superscripts (ranx's style); `marks`: {(router, column): "ab"}."""
    cells = cells.copy()
    for (router, column), letters in (marks or {}).items():
        if letters and router in cells.index and column in cells.columns:
            sup = f"<sup>{letters}</sup>" if fmt == "markdown" else f"$^{{{letters}}}$"
            cells.loc[router, column] += sup
    return cells


def _markdown(mean, std, caption, marks=None, legend=""):
    """A GitHub-flavoured Markdown table."""
    cells = _with_marks(_cell_strings(mean, std, "markdown"), marks, "markdown")
    lines = [f"<!-- {caption} -->",
             "| Router | " + " | ".join(cells.columns) + " |",
             "|---|" + "---:|" * len(cells.columns)]
    lines += ["| " + " | ".join([router, *row]) + " |" for router, row in zip(cells.index, cells.values)]
    return "\n".join(lines) + "\n" + (f"\n{legend}\n" if legend else "")


def _latex(mean, std, caption, marks=None, legend=""):
    """A booktabs LaTeX tabular (needs \\usepackage{booktabs})."""
    cells = _with_marks(_cell_strings(mean, std, "latex"), marks, "latex")
    datasets = len(cells.columns) - 1
    lines = [f"% {caption}",
             r"\begin{tabular}{l" + "r" * datasets + "|r}",
             r"\toprule",
             " & ".join(["Router", *map(_latex_escape, cells.columns)]) + r" \\",
             r"\midrule"]
    lines += [" & ".join([_latex_escape(router), *row]) + r" \\" for router, row in zip(cells.index, cells.values)]
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += ["% " + line for line in legend.split("\n") if line]
    return "\n".join(lines) + "\n"


def _csv(mean, std, caption, marks=None, legend=""):
    """CSV with one decimal; with several runs each column is followed by its '<column>_std'."""
    frame = mean
    if std.notna().any().any():
        frame = pd.concat([mean, std.add_suffix("_std")], axis=1)
        frame = frame[[c for column in mean.columns for c in (column, f"{column}_std")]]
    return frame.to_csv(index_label="router", float_format="%.1f", lineterminator="\n")


FORMATTERS = {"markdown": _markdown, "latex": _latex, "csv": _csv}

MAX_SINGLES = 10  # a report lists at most this many single-expert rows (Table 1 has 7); more are folded
SINGLE_PREFIX = "single-"
FOLDED_ROWS = tuple(f"Single expert: {rank}" for rank in ("best", "median", "worst"))


def single_rows(routers):
    """The single-expert routers among `routers` (names), in their order."""
    return [r for r in routers if str(r).startswith(SINGLE_PREFIX)]


def fold_singles(mean, std, marks=None):
    """(mean, std, marks) with the single-expert rows replaced, where the first of them stood, by FOLDED_ROWS.

    Per column, of the n single experts with a value there, ranked by it (higher is better; ties keep the table
    order): best is the first, median the ((n + 1) // 2)-th (for an even n the better of the middle two), worst
    the last. Each cell is one expert's, so its std and significance letters come with it; a row may mix
    experts, and its Avg is the best (median, worst) Avg, not the mean of the row.
    """
    singles = single_rows(mean.index)
    if not singles:
        return mean, std, marks or {}
    picked = pd.DataFrame(index=list(FOLDED_ROWS), columns=mean.columns, dtype=object)
    for column in mean.columns:
        values = mean.loc[singles, column].dropna()
        ranked = values.index[np.argsort(-values.to_numpy(), kind="stable")]
        if len(ranked):
            picked[column] = [ranked[0], ranked[(len(ranked) - 1) // 2], ranked[-1]]

    def take(frame):
        rows = pd.DataFrame([[frame.loc[e, c] if isinstance(e, str) else np.nan for c, e in row.items()]
                             for _, row in picked.iterrows()], index=picked.index, columns=mean.columns, dtype=float)
        rest = frame.drop(index=singles)
        at = list(frame.index).index(singles[0])  # the rows before the first single are none of them
        return pd.concat([rest.iloc[:at], rows, rest.iloc[at:]])

    marks = marks or {}
    kept = {key: letters for key, letters in marks.items() if key[0] not in singles}
    for name, row in picked.iterrows():
        kept.update({(name, c): marks[(e, c)] for c, e in row.items() if (e, c) in marks})
    return take(mean), take(std), kept


def full_table_path(out):
    """Where the table command puts the full table beside the folded one at `out`: <stem>.full<suffix>."""
    out = Path(out)
    return out.with_name(f"{out.stem}.full{out.suffix}")


def _fold_note(count, full_table, fmt):
    """The folded table's note on its three single-expert rows and where every one of them is (a link in
    Markdown)."""
    if full_table is None:
        where = "not written (`table --out FILE` writes it beside FILE; `--max-singles 0` keeps every row)"
    else:
        where = f"[{full_table.name}]({full_table.name})" if fmt == "markdown" else full_table.name
    return (f"Single expert: best / median / worst of the {count} single experts, each column on its own (a row "
            f"mixes experts; its Avg is the best, median or worst Avg). The full table: {where}")


def make_table(results, measure=DEFAULT_MEASURE, fmt="markdown", labels=False, baselines=(), alpha=0.05,
               max_singles=MAX_SINGLES, full_table=None):
    """The datasets x routers table of `measure` x 100 as text in `fmt` (markdown, latex or csv).

    `results`: loaded results dicts or paths; with several, each cell is mean ± std over them. `labels`: rows
    named by the Table 1 labels the results files recorded instead of the router names. `baselines` (one
    results file only): a cell gets the letter of each baseline it beats significantly (paired t-test on the
    per-query values, Holm-corrected over every dataset, router and baseline of the table, p < alpha).
    More than `max_singles` single-expert rows (0: no limit) are folded into best / median / worst rows
    (`fold_singles`) in Markdown and LaTeX, not in CSV (data for programs); then the full table, in the same
    format, is written to `full_table` (a path; None: not written), which the folded table's note names by its
    file name: keep the two files side by side.
    """
    results = _as_results(results)
    mean, std, n = summarize(results, measure)
    marks, legend = {}, ""
    if baselines:
        if n > 1:
            raise MissingData("significance marks need one results file (the tests are over its queries)")
        marks, legend = _significance_marks(results[0]["path"], baselines, measure, alpha, router_labels(results))
    caption = f"{measure} x 100" + (f", mean ± std over {n} runs" if n > 1 else "")
    names = router_labels(results) if labels else {}

    def render(mean, std, marks, notes):
        mean, std = (frame.rename(index=lambda r: names.get(r, r)) for frame in (mean, std))
        marks = {(names.get(r, r), c): v for (r, c), v in marks.items()}
        return FORMATTERS[fmt](mean, std, caption, marks, "\n\n".join(note for note in notes if note))

    singles = len(single_rows(mean.index))
    if fmt == "csv" or not max_singles or singles <= max_singles:
        return render(mean, std, marks, [legend])
    if full_table is not None:
        full_table = Path(full_table)
        full_table.write_text(render(mean, std, marks, [legend]), encoding="utf-8")
    return render(*fold_singles(mean, std, marks), [legend, _fold_note(singles, full_table, fmt)])


# --------------------------------------------------------------------------------------------- significance

def per_query(path, measure=DEFAULT_MEASURE):
    """{dataset: {router: per-query values of `measure`}} (test queries, in the file's query order)."""
    values = {}
    with h5py.File(path, "r") as f:
        for ds in _children(_member(f, "metrics")):
            for router in _children(f["metrics"][ds]):
                group = f["metrics"][ds][router]
                if "measures" not in group.attrs or _member(group, "per_query") is None:
                    continue
                measures = _strings(group.attrs["measures"])
                if measure in measures:
                    values.setdefault(ds, {})[router] = group["per_query"][:, measures.index(measure)]
    if not values:
        raise MissingData(f"{path}: no per-query values of '{measure}'")
    return values


def compare(path, baselines, measure=DEFAULT_MEASURE, systems=None, permutations=10000, seed=0):
    """One record per (dataset, system, baseline): means, t-test and randomization p-values, their Holm
    corrections over all the records (the family: every dataset, system and baseline compared), and the
    per-query wins, ties and losses of the system against the baseline."""
    values = per_query(path, measure)
    records = []
    for ds, by_router in values.items():
        for baseline in baselines:
            if baseline not in by_router:
                raise MissingData(f"{path}: baseline '{baseline}' has no '{measure}' on {ds}; "
                                  f"routers: {', '.join(sorted(by_router))}")
            base = by_router[baseline]
            for system in (systems or sorted(by_router)):
                if system == baseline or system not in by_router:
                    continue
                x = by_router[system]
                if x.shape != base.shape:
                    raise MissingData(f"{path}: {ds}: {system} has {x.size} queries, {baseline} {base.size}")
                t, p_t = significance.paired_t_test(x, base)
                wins, ties, losses = significance.wins_ties_losses(x, base)
                records.append({"dataset": ds, "system": system, "baseline": baseline, "measure": measure,
                                "queries": int(x.size), "mean": float(np.mean(x)),
                                "baseline_mean": float(np.mean(base)), "t": t, "p_ttest": p_t,
                                "p_randomization": significance.randomization_test(x, base, permutations, seed),
                                "permutations": permutations, "seed": seed,
                                "wins": wins, "ties": ties, "losses": losses})
    for key in ("p_ttest", "p_randomization"):
        for record, corrected in zip(records, significance.holm([r[key] for r in records])):
            record[key + "_holm"] = float(corrected)
    return records


def _significance_marks(path, baselines, measure, alpha, labels):
    """({(router, dataset): letters}, legend): letter i for baselines[i] where the router is significantly
    better (Holm-corrected paired t-test p < alpha, mean above)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    marks = {}
    for record in compare(path, baselines, measure, permutations=0):
        p = record["p_ttest_holm"]
        if not np.isnan(p) and p < alpha and record["mean"] > record["baseline_mean"]:
            key = (record["system"], record["dataset"])
            marks[key] = marks.get(key, "") + letters[list(baselines).index(record["baseline"])]
    legend = "; ".join(f"{letters[i]}: significantly better than {labels.get(b, b)}" for i, b in enumerate(baselines))
    return ({k: "".join(sorted(v)) for k, v in marks.items()},
            f"{legend} (paired t-test, Holm-corrected over the table, p < {alpha})")


def _compare_table(records, alpha):
    """Compare's records as a Markdown table for people."""
    lines = [f"| dataset | system | baseline | mean | baseline | delta | p (t) | p (rand.) | p (t, Holm) | W/T/L | |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in records:
        p = r["p_ttest_holm"]
        mark = "*" if not np.isnan(p) and p < alpha else ""
        lines.append(f"| {r['dataset']} | {r['system']} | {r['baseline']} | {r['mean']:.4f} | {r['baseline_mean']:.4f} | "
                     f"{r['mean'] - r['baseline_mean']:+.4f} | {r['p_ttest']:.3g} | {r['p_randomization']:.3g} | "
                     f"{p:.3g} | {r['wins']}/{r['ties']}/{r['losses']} | {mark} |")
    permutations = records[0]["permutations"] if records else 0
    seed = records[0]["seed"] if records else 0
    lines.append(f"\n*: Holm-corrected paired t-test p < {alpha} over all {len(records)} comparisons; "
                 f"randomization test: {permutations} permutations, seed {seed}.")
    return "\n".join(lines) + "\n"


def export_trec(path, out_dir, routers=None):
    """Writes <out_dir>/<dataset>.<router>.trec for every stored run (qid Q0 docid rank score router),
    trec_eval's order; returns the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with h5py.File(path, "r") as f:
        for ds in _children(_member(f, "runs")):
            corpus_ids = _member(f, f"datasets/{ds}/corpus_ids")
            query_ids = _member(f, f"datasets/{ds}/query_ids/test")
            if corpus_ids is None or query_ids is None:
                raise MissingData(f"{path}: {ds} lacks datasets/{ds}/corpus_ids or query_ids/test")
            docs_of, qids = _strings(corpus_ids[()]), _strings(query_ids[()])
            for router in _children(f["runs"][ds]):
                if routers and router not in routers:
                    continue
                rows, scores = f["runs"][ds][router]["doc"][()], f["runs"][ds][router]["score"][()]
                target = out_dir / f"{ds}.{router}.trec"
                tmp = target.with_suffix(".trec.tmp")
                with open(tmp, "w", encoding="utf-8") as out:
                    for q, qid in enumerate(qids):
                        rank = 0
                        for row, score in zip(rows[q], scores[q]):
                            if row < 0:
                                continue
                            rank += 1
                            out.write(f"{qid} Q0 {docs_of[row]} {rank} {float(score):.9g} {router}\n")
                os.replace(tmp, target)
                written.append(target)
    return written


# --------------------------------------------------------------------------------------------- figures

def _name_colours(names):
    """A stable colour per name (tab10, tab20 beyond ten names)."""
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    return {name: cmap(i % cmap.N) for i, name in enumerate(names)}


TIE_COLUMN = "all experts equal"


def routing_counts(results, router):
    """datasets x chosen-expert counts of `router` summed over runs; a 'base' column when it chose -1, and the
    queries on which every single expert scores the same counted in their own column, not under the expert
    chosen (the InstanceOracle credits them to the first)."""
    results = _as_results(results)
    experts = _union(r["experts"] for r in results)
    datasets = [ds for ds in _union(r["datasets"] for r in results)
                if any(router in r["routing"].get(ds, {}) for r in results)]
    if not datasets:
        raise MissingData(f"no routing decisions for {router}")
    counts = pd.DataFrame(0, index=datasets, columns=[*experts, "base", TIE_COLUMN])
    for r in results:
        for ds in datasets:
            chosen = r["routing"].get(ds, {}).get(router, np.array([], dtype=int))
            ties = r.get("ties", {}).get(ds)
            names = [TIE_COLUMN if ties is not None and q < len(ties) and ties[q]
                     else r["experts"][i] if i >= 0 else "base" for q, i in enumerate(chosen)]
            counts.loc[ds] += pd.Series(names, dtype=object).value_counts().reindex(counts.columns, fill_value=0)
    return counts.drop(columns=[c for c in ("base", TIE_COLUMN) if not counts[c].any()])


HEATMAP_ANNOTATED = (12, 24)  # the most columns, and rows, whose cells are big enough to hold their share
HEATMAP_MAX_SIZE = (24.0, 16.0)  # inches: many experts or datasets are squeezed into this
HEATMAP_MAX_TICKS = 50  # tick labels per axis; beyond, every k-th is labelled


def _tick_positions(labels, keep=()):
    """(positions to label, k): every k-th of `labels`, k chosen to label at most HEATMAP_MAX_TICKS, and those in
    `keep` always."""
    step = -(-len(labels) // HEATMAP_MAX_TICKS)
    return [i for i, label in enumerate(labels) if i % step == 0 or label in keep], step


def _x_tick_style(vertical, slanted):
    """Text properties of x tick labels: vertical and small (many narrow columns), slanted by 30°, or level."""
    if vertical:
        return {"rotation": 90, "ha": "center", "fontsize": 7}
    return {"rotation": 30, "ha": "right"} if slanted else {"rotation": 0, "ha": "center"}


def _draw_heatmap(ax, counts, title, annotate=True, norm=None):
    """Row-normalised routing heatmap on `ax` (`norm`: of the shares, default linear 0..1), each cell annotated
    with its share when `annotate`; returns the image. Only some rows and columns are labelled when there are
    many (`_tick_positions`), the base and tie columns always."""
    totals = counts.sum(axis=1).to_numpy()
    shares = counts.to_numpy() / np.maximum(totals, 1)[:, None]
    image = ax.imshow(shares, cmap="Blues", norm=norm or matplotlib.colors.Normalize(0.0, 1.0), aspect="auto")
    if annotate:
        for (i, j), share in np.ndenumerate(shares):
            ax.text(j, i, f"{share:.2f}", ha="center", va="center", fontsize=9,
                    color="white" if share > 0.6 else "black")
    columns, step = _tick_positions(counts.columns, keep=("base", TIE_COLUMN))
    ax.set_xticks(columns, counts.columns[columns],
                  **_x_tick_style(counts.shape[1] > HEATMAP_ANNOTATED[0], counts.shape[1] > 4))
    rows, _ = _tick_positions(counts.index)
    ax.set_yticks(rows, [f"{counts.index[i]} (n={totals[i]})" for i in rows],
                  **({"fontsize": 7} if counts.shape[0] > HEATMAP_ANNOTATED[1] else {}))
    ax.set_xlabel("chosen expert" + (f" (one in {step} labelled)" if step > 1 else ""))
    ax.set_title(title)
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    return image


def plot_routing_heatmap(results):
    """(a) Share of test queries routed to each expert, per dataset: pilot-mean beside instance-oracle.

    Up to HEATMAP_ANNOTATED columns and rows each cell shows its share; beyond, cells are narrower and
    unannotated, the colour scale is a square root (1 % of a dataset's queries, a uniform router's share at
    T = 100, stays visible) and the figure is capped at HEATMAP_MAX_SIZE.
    """
    panels = []
    for router in (MEAN_ROUTER, ORACLE_ROUTER):
        try:
            panels.append((router, routing_counts(results, router)))
        except MissingData:
            print(f"routing heatmap: no routing for {router}, panel left out", file=sys.stderr)
    if not panels:
        raise MissingData(f"no routing for {MEAN_ROUTER} or {ORACLE_ROUTER}")
    columns = max(counts.shape[1] for _, counts in panels)
    rows = max(counts.shape[0] for _, counts in panels)
    annotate = columns <= HEATMAP_ANNOTATED[0] and rows <= HEATMAP_ANNOTATED[1]
    column_width = 0.9 if columns <= HEATMAP_ANNOTATED[0] else 0.2
    width = min(sum(1.6 + column_width * counts.shape[1] for _, counts in panels) + 2.5, HEATMAP_MAX_SIZE[0])
    height = min(1.8 + 0.55 * rows, HEATMAP_MAX_SIZE[1])
    norm = None if annotate else matplotlib.colors.PowerNorm(0.5, vmin=0.0, vmax=1.0)
    fig, axes = plt.subplots(1, len(panels), figsize=(width, height), layout="constrained", squeeze=False)
    for ax, (router, counts) in zip(axes[0], panels):
        image = _draw_heatmap(ax, counts, router, annotate, norm)
    for ax in axes[0][1:]:
        ax.set_yticklabels([])
    axes[0][0].set_ylabel("dataset (test queries)")
    fig.colorbar(image, ax=axes[0], shrink=0.9,
                 label="share of the dataset's queries" + ("" if annotate else " (square-root scale)"))
    fig.suptitle(f"Routing decisions per dataset{_runs_note(results)}")
    return fig


def _runs_note(results):
    """Title suffix naming the run, or the number of runs aggregated."""
    results = _as_results(results)
    return f" — {_run_label(results[0])}" if len(results) == 1 else f" — {len(results)} runs"


def plot_ndcg_bars(results, max_singles=MAX_SINGLES):
    """(b) nDCG@10 x 100 per dataset (and the average), one bar per router; std error bars over runs. More than
    `max_singles` single experts (0: no limit) are drawn as three bars, best / median / worst (`fold_singles`)."""
    mean, std, n = summarize(results, DEFAULT_MEASURE)
    singles = len(single_rows(mean.index))
    folded = bool(max_singles) and singles > max_singles
    if folded:
        mean, std, _ = fold_singles(mean, std)
    routers, groups = list(mean.index), list(mean.columns)
    colours = _name_colours(routers)
    bar_width = 0.85 / len(routers)
    fig_width = min(max(7.0, 1.0 + 0.16 * len(routers) * len(groups)), 16.0) + 2.5  # + the legend
    fig, ax = plt.subplots(figsize=(fig_width, max(4.8, 0.8 + 0.25 * len(routers))), layout="constrained")
    x = np.arange(len(groups))
    for i, router in enumerate(routers):
        ax.bar(x + (i - (len(routers) - 1) / 2) * bar_width, mean.loc[router].fillna(0.0), bar_width,
               yerr=std.loc[router].fillna(0.0) if n > 1 else None, capsize=1.5, error_kw={"linewidth": 0.8},
               color=colours[router], label=router)
    ax.axvline(len(groups) - 1.5, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xticks(x, groups, **_x_tick_style(len(groups) > 25, len(groups) > 6))  # slanted names collide beyond 25
    ax.set_xlim(-0.5, len(groups) - 0.5)
    ax.set_ylabel("nDCG@10 (×100)")
    ax.set_xlabel("dataset (test split)")
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(title="router", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    note = f" (mean ± std over {n} runs)" if n > 1 else _runs_note(results)
    if folded:
        note += f"\nsingle experts: best / median / worst of {singles} in each group"
    ax.set_title(f"nDCG@10 per dataset and router{note}")
    return fig


def _first_with(results, key):
    """The first run whose `key` entry is non-empty, or None."""
    return next((r for r in _as_results(results) if r.get(key)), None)


def pca_2d(points):
    """Projects the rows of `points` on their two leading principal axes (numpy SVD).

    Returns (projection [n x 2], explained variance ratio of the two axes). Each axis is oriented so that its
    largest loading is positive, which makes the picture independent of the row order.
    """
    centred = points - points.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    axes *= np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    variance = singular ** 2
    ratio = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    projection = centred @ axes[:2].T
    if projection.shape[1] < 2:
        projection = np.pad(projection, ((0, 0), (0, 2 - projection.shape[1])))
    return projection, np.pad(ratio, (0, 2 - len(ratio)))


def plot_embedding_pca(results):
    """(c) PCA of training-query base embeddings (by dataset) and pilot embeddings (by expert), shared axes."""
    run = _first_with(results, "pilots") or _first_with(results, "train_queries")
    if run is None:
        raise MissingData("no pilot embeddings and no training-query embeddings")
    queries, pilots = run["train_queries"], run["pilots"]
    query_names = _ordered(queries, run["datasets"])
    blocks = [queries[ds] for ds in query_names] + ([pilots["emb"]] if pilots else [])
    projection, ratio = pca_2d(np.vstack(blocks).astype(np.float64))
    colours = _name_colours(_union([run["datasets"], run["experts"], query_names,
                                    pilots["experts"] if pilots else []]))
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 5.2), layout="constrained", sharex=True, sharey=True)
    offsets = np.cumsum([0] + [len(queries[ds]) for ds in query_names])
    query_points = projection[:offsets[-1]]
    for ds, start, stop in zip(query_names, offsets[:-1], offsets[1:]):
        axes[0].scatter(*projection[start:stop].T, s=12, alpha=0.6, color=colours[ds], label=ds, linewidths=0)
    axes[0].set_title("Training queries (base encoder), by dataset")
    if query_names:
        axes[0].legend(title="dataset", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                       markerscale=1.8)
    axes[1].scatter(*query_points.T, s=8, color="0.85", linewidths=0)
    if pilots:
        _draw_pilots(axes[1], projection[len(query_points):], pilots, colours)
    axes[1].set_title("Pilot embeddings over the training queries (grey)")
    for ax in axes:
        ax.set_xlabel(f"PC1 ({100 * ratio[0]:.1f}% of variance)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"PC2 ({100 * ratio[1]:.1f}% of variance)")
    fig.suptitle(f"PCA of base-encoder embeddings — {_run_label(run)}")
    return fig


def _draw_pilots(ax, points, pilots, colours):
    """Pilots coloured by expert, shaped by dataset and sized by their query count, with two legends."""
    experts, datasets = pilots["experts"], pilots["datasets"]
    counts = np.asarray(pilots.get("count", np.ones(len(points))), dtype=float)
    sizes = 50 + 250 * np.sqrt(counts / max(counts.max(), 1.0))
    shapes = {d: PILOT_MARKERS[i % len(PILOT_MARKERS)] for i, d in enumerate(sorted(set(pilots["dataset"])))}
    for (x, y), e, d, size in zip(points, pilots["expert"], pilots["dataset"], sizes):
        ax.scatter(x, y, s=size, marker=shapes[d], color=colours[experts[e]], edgecolors="black", linewidths=0.7,
                   zorder=3)
    expert_handles = [plt.Line2D([], [], linestyle="", marker="o", markersize=9, color=colours[experts[e]],
                                 markeredgecolor="black", label=experts[e]) for e in sorted(set(pilots["expert"]))]
    dataset_handles = [plt.Line2D([], [], linestyle="", marker=shape, markersize=9, color="0.6",
                                  markeredgecolor="black", label=datasets[d] if d < len(datasets) else str(d))
                       for d, shape in shapes.items()]
    by_expert = ax.legend(handles=expert_handles, title="pilot's expert (colour)", loc="upper left",
                          bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.add_artist(by_expert)
    ax.legend(handles=dataset_handles, title="pilot's dataset (shape)\nsize: #training queries", loc="upper left",
              bbox_to_anchor=(1.01, 0.5), frameon=False)


def _model_order(models, experts):
    """Training models in order: base, expert-<expert>..., multitask, then the others."""
    return _ordered(models, ["base", *(f"expert-{e}" for e in experts), "multitask"])


def _draw_loss(ax, steps, loss, colour):
    """A loss curve; a long, noisy one is drawn faint with its moving average on top."""
    window = len(loss) // SMOOTH_FRACTION
    if window < 3:
        ax.plot(steps, loss, color=colour, linewidth=1.2)
        return
    ax.plot(steps, loss, color=colour, linewidth=0.5, alpha=0.15)
    ax.plot(steps, pd.Series(loss).rolling(window, center=True, min_periods=1).mean(), color=colour, linewidth=1.6)


def plot_training_curves(results):
    """(d) Training loss per step and dev nDCG@10 per evaluation step for each model under /training."""
    run = _first_with(results, "training")
    if run is None:
        raise MissingData("no /training curves")
    training = run["training"]
    models = _model_order(training, run["experts"])
    colours = _name_colours(models)
    fig, (loss_ax, dev_ax) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    for model in models:
        series = training[model]
        if len(series.get("loss", [])):
            _draw_loss(loss_ax, series["steps"], series["loss"], colours[model])
        if len(series.get("dev_ndcg10", [])):
            dev_ax.plot(series["eval_steps"], 100 * series["dev_ndcg10"], color=colours[model], marker="o",
                        markersize=4, linewidth=1.2, label=model)
    smoothed = any(len(training[m].get("loss", [])) // SMOOTH_FRACTION >= 3 for m in models)
    loss_ax.set(title="Training loss" + (" (faint: raw, bold: moving average)" if smoothed else ""),
                xlabel="step", ylabel="loss")
    # A from-scratch base starts an order of magnitude above the adapters' losses: a log axis shows both.
    losses = np.concatenate([np.asarray(training[m]["loss"], dtype=float) for m in models
                             if len(training[m].get("loss", []))] or [np.ones(1)])
    if losses.min() > 0 and losses.max() / losses.min() > 10:
        loss_ax.set_yscale("log")
        loss_ax.set_ylabel("loss (log scale)")
    dev_ax.set(title="Dev nDCG@10 (best checkpoint selection)", xlabel="step", ylabel="dev nDCG@10 (×100)")
    if not dev_ax.lines:
        dev_ax.text(0.5, 0.5, "no dev evaluations recorded", ha="center", va="center", transform=dev_ax.transAxes)
    for ax in (loss_ax, dev_ax):
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], color=colours[m], linewidth=2) for m in models]
    dev_ax.legend(handles, models, title="model", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle(f"Training curves — {_run_label(run)}")
    return fig


FIGURES = {
    "routing_heatmap": plot_routing_heatmap,
    "ndcg_bars": plot_ndcg_bars,
    "embedding_pca": plot_embedding_pca,
    "training_curves": plot_training_curves,
}


def make_plots(results, out_dir, max_singles=MAX_SINGLES):
    """Writes each figure as <out_dir>/<name>.png and .pdf; returns the paths written.

    A figure whose data is absent is skipped with a message on stderr. `max_singles`: plot_ndcg_bars's.
    """
    results = _as_results(results)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    figures = {**FIGURES, "ndcg_bars": lambda results: plot_ndcg_bars(results, max_singles)}
    with plt.rc_context(FIGURE_STYLE):
        for name, draw in figures.items():
            try:
                fig = draw(results)
            except MissingData as reason:
                print(f"skipping {name}: {reason}", file=sys.stderr)
                continue
            for suffix in ("png", "pdf"):
                path = out_dir / f"{name}.{suffix}"
                fig.savefig(path, bbox_inches="tight")
                written.append(path)
            plt.close(fig)
    return written


def provenance(path, verify=False):
    """The /provenance of a results file as a dict: its attributes, and `inputs`, one dict per input file
    (owner, name, path, size, mtime, sha256). With `verify`, each input also gets `now`: "same", "changed"
    (its SHA-256 today differs), or "missing"."""
    import hashlib
    with h5py.File(path, "r") as f:
        if PROVENANCE not in f:
            raise MissingData(f"{path}: no {PROVENANCE} (written by rr since the stage that records it)")
        group = f[PROVENANCE]
        out = {k: (_strings(v) if isinstance(v, np.ndarray) and v.dtype.kind in "OS" else
                   v.decode() if isinstance(v, bytes) else v.item() if hasattr(v, "item") else v)
               for k, v in sorted(group.attrs.items())}
        inputs = group.get("inputs")
        columns = {} if inputs is None else {k: inputs[k][()] for k in inputs}
    rows = []
    for i in range(len(columns.get("path", []))):
        row = {k: (_strings([columns[k][i]])[0] if columns[k].dtype.kind in "OS" else int(columns[k][i]))
               for k in ("owner", "name", "path", "size", "mtime", "sha256")}
        if verify:
            file = Path(row["path"])
            if not file.is_file():
                row["now"] = "missing"
            else:
                sha = hashlib.sha256()
                with open(file, "rb") as stream:
                    for block in iter(lambda: stream.read(1 << 20), b""):
                        sha.update(block)
                row["now"] = "same" if sha.hexdigest() == row["sha256"] else "changed"
        rows.append(row)
    out["inputs"] = rows
    return out


def _provenance_text(record):
    """The provenance for people: the attributes (config last), then one line per input file."""
    lines = []
    for key, value in record.items():
        if key in ("inputs", "config"):
            continue
        lines.append(f"{key:<20} {', '.join(value) if isinstance(value, list) else value}")
    lines.append(f"{'config':<20} {record.get('config', '')}")
    lines.append("")
    lines.append(f"{len(record['inputs'])} input files (owner, name, bytes, SHA-256, path):")
    for row in record["inputs"]:
        state = f"  [{row['now']}]" if "now" in row else ""
        lines.append(f"  {row['owner']:<18} {row['name']:<26} {row['size']:>12} {row['sha256']}  {row['path']}{state}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------- command line

def _parser():
    """The argparse parser of the subcommands."""
    parser = argparse.ArgumentParser(prog="rr_analysis.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Run '%(prog)s COMMAND --help' for a command's options.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    table = commands.add_parser("table", help="datasets x routers table of one measure (x100)",
                                description="Datasets x routers table of one measure x 100 with an Avg column; "
                                            "with several files (seeds), mean ± std (ddof=1) per cell.")
    table.add_argument("files", nargs="+", metavar="FILE", type=Path, help="rr results file(s) (HDF5)")
    table.add_argument("--format", choices=sorted(FORMATTERS), default="markdown", help="default: markdown")
    table.add_argument("--measure", default=DEFAULT_MEASURE, help=f"measure name (default: {DEFAULT_MEASURE})")
    table.add_argument("--out", type=Path, help="write here instead of stdout")
    table.add_argument("--labels", action="store_true", help="rows by their Table 1 labels instead of router names")
    table.add_argument("--baseline", action="append", default=[], metavar="ROUTER",
                       help="mark cells significantly better than ROUTER (repeatable; one file only)")
    table.add_argument("--alpha", type=float, default=0.05, help="significance level (default: 0.05)")
    table.add_argument("--max-singles", type=int, default=MAX_SINGLES, metavar="N",
                       help="more single-expert rows than N are folded into best / median / worst per column, the "
                            "full table written beside --out as <stem>.full<suffix> (Markdown and LaTeX; "
                            f"default: {MAX_SINGLES}; 0: never fold)")
    comp = commands.add_parser("compare", help="paired significance tests of the routers against baselines",
                               description="Paired t-test and Fisher randomization test of every router against "
                                           "each baseline on every dataset's per-query values, Holm-corrected "
                                           "over all the comparisons, with wins/ties/losses.")
    comp.add_argument("file", metavar="FILE", type=Path, help="rr results file (HDF5)")
    comp.add_argument("--baseline", action="append", required=True, metavar="ROUTER", help="repeatable")
    comp.add_argument("--system", action="append", default=None, metavar="ROUTER",
                      help="compare only these routers (repeatable; default: all)")
    comp.add_argument("--measure", default=DEFAULT_MEASURE, help=f"default: {DEFAULT_MEASURE}")
    comp.add_argument("--permutations", type=int, default=10000, help="randomization test's (default: 10000)")
    comp.add_argument("--seed", type=int, default=0, help="randomization test's seed (default: 0)")
    comp.add_argument("--alpha", type=float, default=0.05, help="significance level (default: 0.05)")
    comp.add_argument("--json", action="store_true", help="one JSON record per line instead of a table")
    trec = commands.add_parser("export-trec", help="each stored run as a TREC run file",
                               description="Writes DIR/<dataset>.<router>.trec (qid Q0 docid rank score tag) for "
                                           "trec_eval, ranx or ir_measures.")
    trec.add_argument("file", metavar="FILE", type=Path, help="rr results file (HDF5)")
    trec.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    trec.add_argument("--router", action="append", default=None, metavar="ROUTER", help="only these (repeatable)")
    plots = commands.add_parser("plots", help="routing heatmap, nDCG bars, embedding PCA, training curves",
                                description="Writes " + ", ".join(FIGURES) + " as PNG and PDF into DIR; a "
                                            "figure whose data is absent is skipped with a message on stderr.")
    plots.add_argument("files", nargs="+", metavar="FILE", type=Path, help="rr results file(s) (HDF5)")
    plots.add_argument("--out", type=Path, required=True, metavar="DIR", help="output directory")
    plots.add_argument("--train-queries", type=int, default=TRAIN_QUERIES_PER_DATASET, metavar="N",
                       help=f"training queries per dataset in the PCA (default: {TRAIN_QUERIES_PER_DATASET})")
    plots.add_argument("--max-singles", type=int, default=MAX_SINGLES, metavar="N",
                       help="more single experts than N are drawn as best / median / worst bars "
                            f"(default: {MAX_SINGLES}; 0: never fold)")
    copy = commands.add_parser("snapshot", help="a self-contained copy of a results file",
                               description="Copies FILE to OUT with the objects its parts hold copied in (the "
                                           "/index link is kept as a link).")
    copy.add_argument("file", metavar="FILE", type=Path, help="rr results file (HDF5)")
    copy.add_argument("out", metavar="OUT", type=Path, help="the copy to write")
    sums = commands.add_parser("digest", help="a content hash of every dataset (links followed)",
                               description="Prints 'PATH DTYPE SHAPE SHA256' per dataset, links followed: equal "
                                           "digests mean bit-identical results.")
    sums.add_argument("file", metavar="FILE", type=Path, help="rr results file (HDF5)")
    sums.add_argument("--skip", action="append", default=[], metavar="PREFIX", help="leave out paths under PREFIX")
    prov = commands.add_parser("provenance", help="the code, configuration, machine and inputs behind a results file",
                               description="Prints /provenance: rr version, git commit and dirty flag, the "
                                           "configuration and its SHA-256, hosts, ranks, threads, device, precision, "
                                           "library versions, and every input file with its SHA-256 (the names a "
                                           "dataset's 'checksums' use). Exit status 1 with --verify when an input "
                                           "changed or is missing.")
    prov.add_argument("file", metavar="FILE", type=Path, help="rr results file (HDF5)")
    prov.add_argument("--verify", action="store_true", help="checksum every input again and compare")
    prov.add_argument("--json", action="store_true", help="one JSON object instead of text")
    return parser


def main(argv=None):
    """Runs the command line; returns the exit status (0 success, 2 bad input)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "table":
            text = make_table([load_results(p) for p in args.files], args.measure, args.format, args.labels,
                              args.baseline, args.alpha, args.max_singles, args.out and full_table_path(args.out))
            if args.out:
                args.out.write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
        elif args.command == "snapshot":
            snapshot(args.file, args.out)
        elif args.command == "digest":
            sys.stdout.write(digest(args.file, args.skip))
        elif args.command == "compare":
            records = compare(args.file, args.baseline, args.measure, args.system, args.permutations, args.seed)
            if args.json:
                sys.stdout.write("".join(json.dumps(r) + "\n" for r in records))
            else:
                sys.stdout.write(_compare_table(records, args.alpha))
        elif args.command == "provenance":
            record = provenance(args.file, args.verify)
            sys.stdout.write(json.dumps(record, indent=1) + "\n" if args.json else _provenance_text(record))
            if args.verify and any(row["now"] != "same" for row in record["inputs"]):
                return 1
        elif args.command == "export-trec":
            for path in export_trec(args.file, args.out, args.router):
                print(path)
        else:
            results = [load_results(p, args.train_queries) for p in args.files]
            for path in make_plots(results, args.out, args.max_singles):
                print(path)
    except (OSError, MissingData) as error:
        print(f"rr_analysis.py: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
