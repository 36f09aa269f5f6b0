#!/usr/bin/python3
"""Peer of bench_train_step: the same expert-training step in PyTorch from Python (Debian python3-torch): BERT
with LoRA (r 8, alpha 32, dropout 0.1 on query and value), frozen base, InfoNCE on precomputed document vectors,
AdamW; fp32, then bf16 autocast where the CPU has avx512_bf16 or amx_bf16. Usage: pytorch_train_step.py [threads=2] [batch=64] [seq=32] [steps=20] [layers hidden heads inter]"""
import math, sys, time
import torch

defaults = [2, 64, 32, 20, 12, 768, 12, 3072]
given = [int(x) for x in sys.argv[1:9]]
threads, B, T, steps, L, H, nh, I = given + defaults[len(given):]
torch.set_num_threads(threads)
torch.manual_seed(1)
V = 30522
W = lambda *s: torch.randn(*s) * 0.02
base = {"word": W(V, H), "pos": W(512, H), "type": W(2, H), "ln": (torch.ones(H), torch.zeros(H))}
layers = []
for _ in range(L):
    layers.append({n: (W(o, i), torch.zeros(o)) for n, o, i in
                   [("q", H, H), ("k", H, H), ("v", H, H), ("o", H, H), ("i", I, H), ("out", H, I)]}
                  | {"ln1": (torch.ones(H), torch.zeros(H)), "ln2": (torch.ones(H), torch.zeros(H))})
lora = []
for _ in range(L):
    pair = {}
    for n in ("q", "v"):
        A = torch.empty(8, H).uniform_(-1 / math.sqrt(H), 1 / math.sqrt(H)).requires_grad_()
        Bm = torch.zeros(H, 8).requires_grad_()
        pair[n] = (A, Bm)
    lora.append(pair)
params = [t for p in lora for ab in p.values() for t in ab]
opt = torch.optim.AdamW(params, lr=1e-4)
F = torch.nn.functional

def embed(ids, mask):
    h = base["word"][ids] + base["pos"][:T] + base["type"][0]
    h = F.layer_norm(h, (H,), *base["ln"], 1e-12)
    h = F.dropout(h, 0.1, True)
    bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for lw, lo in zip(layers, lora):
        def proj(x, n):
            y = F.linear(x, *lw[n])
            if n in lo:
                A, Bm = lo[n]
                y = y + F.linear(F.linear(F.dropout(x, 0.1, True), A), Bm) * 4.0
            return y
        heads = lambda t: t.view(B, T, nh, H // nh).transpose(1, 2)
        q, k, v = heads(proj(h, "q")), heads(proj(h, "k")), heads(proj(h, "v"))
        p = F.dropout(torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(H // nh) + bias, -1), 0.1, True)
        ctx = (p @ v).transpose(1, 2).reshape(B, T, H)
        h = F.layer_norm(F.dropout(F.linear(ctx, *lw["o"]), 0.1, True) + h, (H,), *lw["ln1"], 1e-12)
        f = F.linear(F.gelu(F.linear(h, *lw["i"])), *lw["out"])
        h = F.layer_norm(F.dropout(f, 0.1, True) + h, (H,), *lw["ln2"], 1e-12)
    m = mask.unsqueeze(-1).float()
    return (h * m).sum(1) / m.sum(1)

ids = torch.randint(1000, 20000, (B, T))
mask = torch.ones(B, T, dtype=torch.long)
docs = torch.randn(B, H)
labels = torch.arange(B)
def step():
    loss = F.cross_entropy(embed(ids, mask) @ docs.t() / 0.05, labels)
    opt.zero_grad()
    loss.backward()
    opt.step()
flags = open("/proc/cpuinfo").read()
for bf16 in (False, True):
    if bf16 and "avx512_bf16" not in flags and "amx_bf16" not in flags:
        break
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        step()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        s = time.perf_counter() - t0
    print(f"pytorch {'bf16' if bf16 else 'fp32'}: {steps} steps of {B} examples (seq {T}, {L} layers x {H}) "
          f"in {s:.2f} s = {steps * B / s:.1f} examples/s")
