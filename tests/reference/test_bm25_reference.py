"""rr's BM25 (`routerretriever bm25`, the evaluate stage's lexical row) against references that share no code
with it, on the classic collections in ../shared/data (Cranfield, CISI, MED):

1. an independent Python implementation of the formula written in src/search/bm25.h (its own BERT basic
   tokenizer from unicodedata; contributions accumulated in float32 as the header states): every query's
   top-100 documents identical and scores equal to 1e-5;
2. Xapian's BM25Weight (python3-xapian) on the same terms with matched k1 and b: Xapian's idf is
   ln((N - df + 0.5) / (df + 0.5)) (not Lucene's) and it weighs repeated query terms by k3, so rankings differ;
   nDCG@10 of both (trec_eval-exact, `routerretriever measure`) are printed side by side and must agree within
   REPORT_GAP.

Needs RR_EXECUTABLE (set by CTest) and ../shared (skipped when absent)."""
import math
import os
import subprocess
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("RR_SHARED", ROOT.parent / "shared"))
RR = os.environ.get("RR_EXECUTABLE", str(ROOT / "build" / "mpi" / "routerretriever"))
K1, B, DEPTH = 0.9, 0.4, 100
REPORT_GAP = 0.03  # nDCG@10 points (0..1) between rr's BM25 and Xapian's with its own idf

COLLECTIONS = {
    "cranfield": ["cran.all.1400", "cran.qry", "cranqrel", "--relevance", "rank"],
    "cisi": ["CISI.ALL", "CISI.QRY", "CISI.REL"],
    "med": ["MED.ALL", "MED.QRY", "MED.REL"],
}


# --- BERT's basic tokenizer, written from its description (not rr's code) --------------------------------------
def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return any(lo <= cp <= hi for lo, hi in ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
                                             (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF),
                                             (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def basic_tokens(text):
    cleaned = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
            continue
        if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
            cleaned.append(" ")
        elif is_cjk(cp):
            cleaned.append(f" {ch} ")
        else:
            cleaned.append(ch)
    out = []
    for word in "".join(cleaned).split():
        word = "".join(c for c in unicodedata.normalize("NFD", word.lower()) if unicodedata.category(c) != "Mn")
        current = ""
        for ch in word:
            if is_punct(ch):
                if current:
                    out.append(current)
                out.append(ch)
                current = ""
            else:
                current += ch
        if current:
            out.append(current)
    return out


def terms(text):
    return [t for t in basic_tokens(text) if not all(is_punct(c) for c in t)]


# --- the collections as BEIR folders, rr's run ------------------------------------------------------------------
def read_jsonl(path):
    import json
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_run(path):
    run = {}
    with open(path) as f:
        for line in f:
            qid, _, doc, rank, score, _ = line.split()
            run.setdefault(qid, []).append((doc, float(score)))
    return run


def write_run(path, run):
    with open(path, "w") as f:
        for qid, hits in run.items():
            for rank, (doc, score) in enumerate(hits, 1):
                f.write(f"{qid} Q0 {doc} {rank} {score:.9g} ref\n")


def ndcg10(beir, run_file):
    qrels = beir / "qrels" / "test.trec"
    if not qrels.exists():
        with open(beir / "qrels" / "test.tsv") as src, open(qrels, "w") as dst:
            next(src)
            for line in src:
                q, d, r = line.split("\t")
                dst.write(f"{q} 0 {d} {r.strip()}\n")
    out = subprocess.run([RR, "measure", "--qrels", str(qrels), "--run", str(run_file), "-m", "ndcg_cut.10"],
                         check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


@pytest.fixture(scope="module", params=sorted(COLLECTIONS))
def collection(request, tmp_path_factory):
    if not (SHARED / "data" / "classic").is_dir():
        pytest.skip(f"{SHARED}/data/classic is absent (set RR_SHARED)")
    name = request.param
    src = SHARED / "data" / "classic" / name
    docs, queries, qrels, *extra = COLLECTIONS[name]
    out = tmp_path_factory.mktemp(name)
    beir = out / "beir"
    subprocess.run([RR, "convert", "smart", "--docs", str(src / docs), "--queries", str(src / queries),
                    "--qrels", str(src / qrels), *extra, "--out", str(beir)], check=True, capture_output=True)
    run_file = out / "rr.run"
    subprocess.run([RR, "bm25", "--beir", str(beir), "--k", str(DEPTH), "--k1", str(K1), "--b", str(B),
                    "--output", str(run_file)], check=True, capture_output=True)
    corpus = read_jsonl(beir / "corpus.jsonl")
    judged = set()
    with open(beir / "qrels" / "test.tsv") as f:
        next(f)
        judged = {line.split("\t")[0] for line in f}
    qs = [(q["_id"], q["text"]) for q in read_jsonl(beir / "queries.jsonl") if q["_id"] in judged]
    return {"name": name, "beir": beir, "out": out, "corpus": corpus, "queries": qs, "rr": read_run(run_file),
            "rr_file": run_file}


def python_bm25(corpus, queries):
    docs = [Counter(terms((d.get("title") or "") + " " + d["text"] if d.get("title") else d["text"]))
            for d in corpus]
    ids = [str(d["_id"]) for d in corpus]
    lengths = np.array([sum(c.values()) for c in docs], dtype=np.float32)
    n = len(docs)
    avgdl = float(np.sum(lengths.astype(np.float64))) / n
    df = Counter(t for c in docs for t in c)
    postings = {}
    for i, c in enumerate(docs):
        for t, f in c.items():
            postings.setdefault(t, []).append((i, f))
    run = {}
    for qid, text in queries:
        score = np.zeros(n, dtype=np.float32)
        touched = np.zeros(n, dtype=bool)
        for t in terms(text):
            if t not in postings:
                continue
            idf = math.log(1.0 + (n - df[t] + 0.5) / (df[t] + 0.5))
            for i, tf in postings[t]:
                norm = K1 * (1.0 - B + B * float(lengths[i]) / avgdl)
                score[i] = np.float32(score[i] + np.float32(idf * tf * (K1 + 1.0) / (tf + norm)))
                touched[i] = True
        hits = sorted(((float(score[i]), ids[i]) for i in np.flatnonzero(touched)), reverse=True)
        run[qid] = [(doc, s) for s, doc in hits[:DEPTH]]  # trec_eval order: score desc, then doc id desc
    return run


def test_scores_and_rankings_equal_an_independent_implementation(collection):
    ref = python_bm25(collection["corpus"], collection["queries"])
    rr = collection["rr"]
    assert set(rr) <= set(ref)
    worst = 0.0
    for qid, hits in ref.items():
        mine = rr.get(qid, [])
        assert [d for d, _ in mine] == [d for d, _ in hits], f"{collection['name']} query {qid}: rankings differ"
        for (_, a), (_, b) in zip(mine, hits):
            worst = max(worst, abs(a - b))
    print(f"\n{collection['name']}: {len(ref)} queries, top-{DEPTH} identical, max |score diff| {worst:.2e}")
    assert worst <= 1e-5


def xapian_run(corpus, queries):
    import xapian
    db = xapian.WritableDatabase("", xapian.DB_BACKEND_INMEMORY)
    for d in corpus:
        doc = xapian.Document()
        text = (d.get("title") or "") + " " + d["text"] if d.get("title") else d["text"]
        for t, f in Counter(terms(text)).items():
            doc.add_term(t, f)
        doc.set_data(str(d["_id"]))
        db.add_document(doc)
    enquire = xapian.Enquire(db)
    enquire.set_weighting_scheme(xapian.BM25Weight(K1, 0, 1, B, 0.5))
    run = {}
    for qid, text in queries:
        qt = terms(text)
        if not qt:
            continue
        enquire.set_query(xapian.Query(xapian.Query.OP_OR, qt))
        run[qid] = [(m.document.get_data().decode(), m.weight) for m in enquire.get_mset(0, DEPTH)]
    return run


def test_ndcg_beside_xapian(collection):
    pytest.importorskip("xapian")
    xrun = collection["out"] / "xapian.run"
    write_run(xrun, xapian_run(collection["corpus"], collection["queries"]))
    ours, theirs = ndcg10(collection["beir"], collection["rr_file"]), ndcg10(collection["beir"], xrun)
    print(f"\n{collection['name']}: nDCG@10 rr BM25 {100 * ours:.2f}, Xapian BM25Weight {100 * theirs:.2f}")
    assert abs(ours - theirs) <= REPORT_GAP
