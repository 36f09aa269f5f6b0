#!/usr/bin/env python3
"""Writes three tiny BEIR folders with distinct vocabularies (deterministic), for the end-to-end tests.
Usage: make_tiny_data.py OUT_DIR [DOCUMENTS_PER_DOMAIN (default 60)]"""
import json, os, random, sys

out = sys.argv[1]
size = int(sys.argv[2]) if len(sys.argv) > 2 else 60
common = "the of and to in is was for on with as by at from that this which are be".split()
domains = {
    "astro": "star planet orbit comet galaxy nebula telescope moon solar lunar eclipse meteor cosmic quasar pulsar".split(),
    "cook": "bake oven flour sugar butter recipe knife boil simmer spice garlic onion pepper sauce dough".split(),
    "law": "court judge appeal statute contract tort plaintiff verdict jury counsel motion brief clause treaty".split(),
}
for name, words in domains.items():
    rng = random.Random(name)
    d = os.path.join(out, name)
    os.makedirs(os.path.join(d, "qrels"), exist_ok=True)
    with open(os.path.join(d, "corpus.jsonl"), "w") as c, open(os.path.join(d, "queries.jsonl"), "w") as q, \
         open(os.path.join(d, "qrels", "all.tsv"), "w") as r:
        r.write("query-id\tcorpus-id\tscore\n")
        for i in range(size):
            key = rng.sample(words, 4) + [f"{name}{i}"]
            body = [rng.choice(words if rng.random() < 0.5 else common) for _ in range(30)]
            c.write(json.dumps({"_id": f"{name}-d{i}", "title": " ".join(key[:2]), "text": " ".join(key + body)}) + "\n")
            q.write(json.dumps({"_id": f"{name}-q{i}", "text": " ".join(rng.sample(key, 3))}) + "\n")
            r.write(f"{name}-q{i}\t{name}-d{i}\t1\n")
