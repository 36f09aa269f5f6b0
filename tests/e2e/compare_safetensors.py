#!/usr/bin/env python3
"""Max abs difference of two safetensors files with the same tensors. Usage: compare_safetensors.py A B TOL"""
import json, struct, sys
import numpy as np

def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=np.float32).reshape(info["shape"])
    return out

a, b, tol = load(sys.argv[1]), load(sys.argv[2]), float(sys.argv[3])
assert a.keys() == b.keys(), "different tensors"
worst = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
scale = max(float(np.max(np.abs(a[k]))) for k in a)
print(f"{len(a)} tensors, max abs diff {worst:.3g} (largest |value| {scale:.3g}), tolerance {tol}")
sys.exit(0 if worst <= tol else 1)
