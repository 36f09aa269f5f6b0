#!/usr/bin/python3
"""The peer of bench_encoder_flops: the same BERT forward in plain PyTorch (pytorch_embed.Bert, random BERT-base
weights), B x T tokens, fp32 and under bf16 CPU autocast (PyTorch's own mixed precision: the fair peer of rr's
precision bf16). Prints achieved GFLOP/s with the bench's FLOP count. Run it with tcmalloc preloaded to compare
allocators fairly. Usage: pytorch_encoder_flops.py THREADS B T LAYERS"""
import sys, time
import torch
from pytorch_embed import Bert

def best_seconds(fn, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best

def main():
    threads, B, T, layers = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    H, I = 768, 3072
    cfg = {"hidden_size": H, "num_attention_heads": 12, "num_hidden_layers": layers, "layer_norm_eps": 1e-12}
    w = {"embeddings.word_embeddings.weight": torch.randn(30522, H) * 0.02,
         "embeddings.position_embeddings.weight": torch.randn(512, H) * 0.02,
         "embeddings.token_type_embeddings.weight": torch.randn(2, H) * 0.02,
         "embeddings.LayerNorm.weight": torch.ones(H), "embeddings.LayerNorm.bias": torch.zeros(H)}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name, (o, n) in {"attention.self.query": (H, H), "attention.self.key": (H, H),
                             "attention.self.value": (H, H), "attention.output.dense": (H, H),
                             "intermediate.dense": (I, H), "output.dense": (H, I)}.items():
            w[p + name + ".weight"], w[p + name + ".bias"] = torch.randn(o, n) * 0.02, torch.zeros(o)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + name + ".weight"], w[p + name + ".bias"] = torch.ones(H), torch.zeros(H)
    model = Bert(cfg, w).eval()
    ids, mask = torch.randint(1000, 20000, (B, T)), torch.ones((B, T), dtype=torch.long)
    flops = layers * (8 * B * T * H * H + 4 * B * T * H * I + 4 * B * T * T * H)
    with torch.inference_mode():
        fp32 = best_seconds(lambda: model(ids, mask), 3)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16 = best_seconds(lambda: model(ids, mask), 3)
    print(f"pytorch fp32 forward: {flops / fp32 / 1e9:.1f} GFLOP/s")
    print(f"pytorch bf16 autocast forward: {flops / bf16 / 1e9:.1f} GFLOP/s")

if __name__ == "__main__":
    main()
