#!/usr/bin/python3
"""Writes a miniature of the paper's seven BEIR datasets with their exact structure, from real text (the
definitions of a dictd database Debian ships), and a small BERT checkpoint as transformers saves a
BertForMaskedLM (pytorch_model.bin, "bert." prefixes, a head rr must ignore).

Usage: make_beir_miniature.py OUT_DIR [DICT.dict.dz] [SEED]

OUT_DIR/data/beir/<name>/ for msmarco, quora, arguana, hotpotqa, nfcorpus, scifact, fiqa:
  corpus.jsonl   {"_id", "title", "text", "metadata": {...}}   (MS MARCO: every title empty)
  queries.jsonl  {"_id", "text", "metadata": {...}}
  qrels/<split>.tsv with the header "query-id<TAB>corpus-id<TAB>score", splits as BEIR ships them:
    msmarco train/dev/test (test: TREC DL 2019 style, graded 0-3 with judged-irrelevant 0s), quora dev/test,
    arguana test, hotpotqa train/dev/test, nfcorpus train/dev/test (grades 1-2), scifact train/test,
    fiqa train/dev/test.
  ArguAna and Quora query ids are also corpus ids (the query is itself a document; BEIR drops that hit).
OUT_DIR/generated/<name>-train.jsonl.gz: Hugging Face BeIR/<name>-generated-queries rows
  {"_id": document id, "title", "text", "query"} for quora and arguana (their training data in the paper).
OUT_DIR/released/fiqa-{train,dev}.json: the released RouterRetriever code's training files for fiqa.
OUT_DIR/models/contriever-mini/: config.json (512 positions), pytorch_model.bin; vocab.txt is learned by the
  test with `routerretriever vocab`.
"""
import gzip
import json
import random
import re
import sys
from pathlib import Path

import torch

out = Path(sys.argv[1])
source = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/dictd/foldoc.dict.dz"
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 7
rng = random.Random(seed)

# Real text: the dictionary's entries, whitespace-normalised, cut into passages of 25-60 words.
raw = gzip.open(source, "rt", encoding="utf-8", errors="replace").read()
passages = []
for para in re.split(r"\n\s*\n", raw):
    words = re.sub(r"[{}\\<>\[\]]", " ", para).split()
    while len(words) >= 25:
        n = min(len(words), rng.randint(25, 60))
        passages.append(words[:n])
        words = words[n:]
rng.shuffle(passages)
if len(passages) < 1500:
    sys.exit(f"{source}: only {len(passages)} passages of 25+ words")
pool = iter(passages)


def take(n):
    return [next(pool) for _ in range(n)]


def span(words, lo=5, hi=9):
    """A query: a contiguous span of the relevant passage."""
    n = min(len(words), rng.randint(lo, hi))
    s = rng.randint(0, len(words) - n)
    return " ".join(words[s:s + n])


def write_jsonl(path, rows, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")


def write_qrels(folder, split, judgments):
    path = folder / "qrels" / f"{split}.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, d, s in judgments:
            f.write(f"{q}\t{d}\t{s}\n")


def make(name, doc_id, query_id, splits, docs=150, titled=True, graded=None, self_ids=False, generated=False):
    """One dataset: `splits` maps split -> number of judged queries."""
    folder = out / "data" / "beir" / name
    texts = take(docs)
    corpus = []
    for i, words in enumerate(texts):
        title = " ".join(words[:rng.randint(2, 5)]) if titled else ""
        corpus.append({"_id": doc_id(i), "title": title, "text": " ".join(words), "metadata": {"source": name}})
    queries, used = [], 0
    for split, n in splits.items():
        judgments = []
        for _ in range(n):
            d = used % docs
            used += 1
            if self_ids:
                # The query is a corpus document itself; its relevant document is the next one.
                qid, text, rel = corpus[d]["_id"], corpus[d]["text"], corpus[(d + 1) % docs]["_id"]
            else:
                qid, text, rel = query_id(len(queries)), span(texts[d]), corpus[d]["_id"]
            queries.append({"_id": qid, "text": text, "metadata": {}})
            grade = graded(rng) if graded else 1
            judgments.append((qid, rel, grade))
            if split == "test" and name == "msmarco":  # judged non-relevant documents (grade 0)
                judgments.append((qid, corpus[(d + 7) % docs]["_id"], 0))
            if name == "nfcorpus":  # a second, partly relevant document
                judgments.append((qid, corpus[(d + 3) % docs]["_id"], 1))
        write_qrels(folder, split, judgments)
    write_jsonl(folder / "corpus.jsonl", corpus)
    write_jsonl(folder / "queries.jsonl", queries)
    if generated:  # BeIR/<name>-generated-queries: rows keyed by the document id
        rows = [{"_id": c["_id"], "title": c["title"], "text": c["text"], "query": span(c["text"].split())}
                for c in corpus for _ in range(2)]
        write_jsonl(out / "generated" / f"{name}-train.jsonl.gz", rows, gz=True)
    return corpus


make("msmarco", str, str, {"train": 120, "dev": 40, "test": 20}, titled=False, graded=lambda r: r.randint(1, 3))
make("quora", str, str, {"dev": 30, "test": 40}, titled=False, self_ids=True, generated=True)
make("arguana", lambda i: f"test-topic-{i:04d}-pro{i % 3:02d}a", None, {"test": 40}, self_ids=True,
     generated=True)
make("hotpotqa", lambda i: f"{i * 7919:08x}", lambda i: f"5a{i:06x}", {"train": 100, "dev": 30, "test": 40})
make("nfcorpus", lambda i: f"MED-{i + 10}", lambda i: f"PLAIN-{i + 1}", {"train": 90, "dev": 25, "test": 35},
     graded=lambda r: r.randint(1, 2))
make("scifact", lambda i: str(4983 + i * 13), lambda i: str(i + 1), {"train": 90, "test": 35})
fiqa = make("fiqa", str, lambda i: str(5000 + i), {"train": 90, "dev": 25, "test": 35})

# The released code's training files for fiqa (DPR layout); positives are corpus passages verbatim.
for split, rows in (("train", range(0, 60)), ("dev", range(60, 80))):
    data = [{"question": span(fiqa[i]["text"].split()),
             "positive_ctxs": [{"title": fiqa[i]["title"], "text": fiqa[i]["text"]}],
             "negative_ctxs": [], "hard_negative_ctxs": [{"title": "", "text": "not in the corpus"}]}
            for i in rows]
    path = out / "released" / f"fiqa-{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))

# A small BERT as BertForMaskedLM.save_pretrained writes it: "bert." prefixes and an MLM head.
model = out / "models" / "contriever-mini"
model.mkdir(parents=True, exist_ok=True)
H, F, V, P = 32, 64, 2000, 512
config = {"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": H, "num_hidden_layers": 1,
          "num_attention_heads": 2, "intermediate_size": F, "max_position_embeddings": P, "vocab_size": V,
          "type_vocab_size": 2, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "pad_token_id": 0,
          "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}
(model / "config.json").write_text(json.dumps(config, indent=1))
g = torch.Generator().manual_seed(seed)
state = {"bert.embeddings.word_embeddings.weight": torch.randn(V, H, generator=g) * 0.02,
         "bert.embeddings.position_embeddings.weight": torch.randn(P, H, generator=g) * 0.02,
         "bert.embeddings.token_type_embeddings.weight": torch.randn(2, H, generator=g) * 0.02,
         "bert.embeddings.LayerNorm.weight": torch.ones(H), "bert.embeddings.LayerNorm.bias": torch.zeros(H),
         "bert.embeddings.position_ids": torch.arange(P).unsqueeze(0)}
layer = "bert.encoder.layer.0."
for m, shape in (("attention.self.query", (H, H)), ("attention.self.key", (H, H)), ("attention.self.value", (H, H)),
                 ("attention.output.dense", (H, H)), ("intermediate.dense", (F, H)), ("output.dense", (H, F))):
    state[layer + m + ".weight"] = torch.randn(*shape, generator=g) * 0.02
    state[layer + m + ".bias"] = torch.zeros(shape[0])
for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
    state[layer + ln + ".weight"] = torch.ones(H)
    state[layer + ln + ".bias"] = torch.zeros(H)
state["cls.predictions.bias"] = torch.zeros(V)
state["cls.predictions.transform.dense.weight"] = torch.randn(H, H, generator=g) * 0.02
torch.save(state, model / "pytorch_model.bin")
print(f"wrote the miniature under {out}")
