#!/usr/bin/env python3
"""PyTorch reference for SpatialNet's training-step benchmark.

Builds the same pre-norm ViT as SpatialNet.Modules.VisionTransformer (class token, learned position
embedding, fused-qkv attention via scaled_dot_product_attention, GELU MLP, final LayerNorm eps 1e-6,
linear classifier on the class token) and times full AdamW training steps on random data.

Prints one line per run, read by benchmarks/gpu/result_table.py beside SpatialNet's own lines:
  RESULT impl=pytorch-<version> device=cuda precision=bf16-pure batch=32 img_s=... step_ms=... tflops=... peak_mib=... mem_mib=...
Precisions: fp32 | bf16-pure (model and data in bf16) | bf16-amp (torch.autocast, fp32 weights).
peak_mib is the caching allocator's peak allocation (CUDA only); mem_mib is measured exactly as
SpatialNet's benchmark measures it (TorchSharp has no allocator statistics): on CUDA the device
memory in use (driver's free-memory reading) after the timed steps minus the reading once the CUDA
context exists, i.e. what the caching allocator reserved; on CPU the process's peak resident set.
"""
import argparse
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, c))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    def __init__(self, img: int, patch: int, dim: int, depth: int, heads: int, classes: int):
        super().__init__()
        n = (img // patch) ** 2
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        t = self.patch_embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], dim=1) + self.pos_embed
        for blk in self.blocks:
            t = blk(t)
        return self.head(self.norm(t)[:, 0])


def train_flops(img, patch, dim, depth, classes):
    """Training FLOPs of one image: 6 x multiply-accumulates (forward 2x, backward 4x).

    Per block: qkv 3D^2N + proj D^2N + MLP 8D^2N = 12 D^2 N, attention QK^T and AV 2 N^2 D;
    patch embedding 3 P^2 D (N-1); classifier D x classes. The C# benchmark uses the same count.
    """
    n = (img // patch) ** 2 + 1
    macs = depth * (12.0 * dim * dim * n + 2.0 * n * n * dim) + 3.0 * patch * patch * dim * (n - 1) + dim * classes
    return 6.0 * macs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16-pure", "bf16-amp"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--img", type=int, default=256)
    p.add_argument("--patch", type=int, default=16)
    p.add_argument("--dim", type=int, default=512)
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--classes", type=int, default=21)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's choice)")
    a = p.parse_args()

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.zeros(1, device=dev)  # create the context first; the memory reading excludes it
        torch.cuda.synchronize()
        free, total = torch.cuda.mem_get_info()
        used_before = total - free
    model = ViT(a.img, a.patch, a.dim, a.depth, a.heads, a.classes).to(dev)
    pure = a.precision == "bf16-pure"
    if pure:
        model = model.to(torch.bfloat16)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
    x = torch.randn(a.batch, 3, a.img, a.img, device=dev, dtype=torch.bfloat16 if pure else torch.float32)
    y = torch.randint(0, a.classes, (a.batch,), device=dev)
    amp = a.precision == "bf16-amp"

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            loss = F.cross_entropy(model(x).float(), y)
        loss.backward()
        opt.step()

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(a.warmup):
        step()
    sync()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    sync()
    s = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else 0.0
    if dev.type == "cuda":
        free, total = torch.cuda.mem_get_info()
        mem = (total - free - used_before) / 2**20
    else:
        mem = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    fl = train_flops(a.img, a.patch, a.dim, a.depth, a.classes)
    print(f"RESULT impl=pytorch-{torch.__version__} device={dev.type} precision={a.precision} batch={a.batch} "
          f"img_s={a.batch * a.steps / s:.1f} step_ms={1000 * s / a.steps:.2f} "
          f"tflops={fl * a.batch * a.steps / s / 1e12:.2f} peak_mib={peak:.0f} mem_mib={mem:.0f}")


if __name__ == "__main__":
    main()
