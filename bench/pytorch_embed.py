#!/usr/bin/python3
"""The peer of `rr embed`: BERT in plain PyTorch (Debian python3-torch) built from the same safetensors, fed
pre-tokenized ids and batched as BEIR's exact search does (sorted by length, fixed batch size, padded to the
batch maximum), masked mean pooling. Prints texts/s of the forward passes alone (tokenization not counted).
PRECISION bf16 runs the forward under PyTorch's bf16 CPU autocast (the peer of rr's --precision bf16).
Usage: pytorch_embed.py MODEL_DIR IDS.jsonl BATCH THREADS [PRECISION fp32|bf16 [OUT.npy]]"""
import json, math, struct, sys, time
import numpy as np
import torch

def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: torch.from_numpy(np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np.float32)
                                .reshape(v["shape"]).copy())
            for k, v in header.items() if k != "__metadata__"}

class Bert(torch.nn.Module):
    def __init__(self, cfg, w):
        super().__init__()
        self.cfg, self.w = cfg, w
    def forward(self, ids, mask):
        c, w = self.cfg, self.w
        H, nh = c["hidden_size"], c["num_attention_heads"]
        B, T = ids.shape
        ln = lambda x, p: torch.nn.functional.layer_norm(x, (H,), w[p + ".weight"], w[p + ".bias"], c["layer_norm_eps"])
        lin = lambda x, p: torch.nn.functional.linear(x, w[p + ".weight"], w[p + ".bias"])
        h = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:T] \
            + w["embeddings.token_type_embeddings.weight"][0]
        h = ln(h, "embeddings.LayerNorm")
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for i in range(c["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            heads = lambda t: t.view(B, T, nh, H // nh).transpose(1, 2)
            q, k, v = (heads(lin(h, p + "attention.self." + n)) for n in ("query", "key", "value"))
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(H // nh) + bias, -1) @ v
            h = ln(lin(a.transpose(1, 2).reshape(B, T, H), p + "attention.output.dense") + h, p + "attention.output.LayerNorm")
            h = ln(lin(torch.nn.functional.gelu(lin(h, p + "intermediate.dense")), p + "output.dense") + h, p + "output.LayerNorm")
        m = mask.unsqueeze(-1).float()
        return (h * m).sum(1) / m.sum(1)

def main():
    model_dir, ids_path, batch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    cfg = json.load(open(f"{model_dir}/config.json"))
    model = Bert(cfg, load_safetensors(f"{model_dir}/model.safetensors")).eval()
    rows = [json.loads(l)["input_ids"] for l in open(ids_path)]
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
    out = np.zeros((len(rows), cfg["hidden_size"]), dtype=np.float32)
    bf16 = len(sys.argv) > 5 and sys.argv[5] == "bf16"
    t0 = time.perf_counter()
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            T = len(rows[idx[0]])
            ids = torch.zeros((len(idx), T), dtype=torch.long)
            mask = torch.zeros((len(idx), T), dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, :len(rows[i])] = torch.tensor(rows[i])
                mask[r, :len(rows[i])] = 1
            out[idx] = model(ids, mask).float().numpy()
    el = time.perf_counter() - t0
    print(f"pytorch: {len(rows)} texts in {el:.1f} s = {len(rows) / el:.1f} texts/s")
    if len(sys.argv) > 6:
        np.save(sys.argv[6], out)

if __name__ == "__main__":
    main()
