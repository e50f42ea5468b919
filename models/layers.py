"""Small building blocks shared by the policy and the critic (torch). Attention is written out
(matmul + softmax) so both exporters turn it into plain ONNX ops."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def conv_bn(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def sincos_2d(h: int, w: int, d: int) -> torch.Tensor:
    """Fixed 2-D sine/cosine position encodings -> (h * w, d), row-major like the cell grid."""
    if d % 4:
        raise ValueError(f"d_model must be a multiple of 4 for 2-D position encodings, got {d}")
    q = d // 4
    freq = torch.exp(-math.log(100.0) * torch.arange(q, dtype=torch.float32) / q)  # (q,)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    ys, xs = ys.reshape(-1, 1) / h * 2 * math.pi, xs.reshape(-1, 1) / w * 2 * math.pi
    return torch.cat([torch.sin(xs * freq * 4), torch.cos(xs * freq * 4), torch.sin(ys * freq * 4), torch.cos(ys * freq * 4)], dim=1)


class Attention(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        if d % heads:
            raise ValueError(f"d_model {d} is not divisible by n_heads {heads}")
        self.h = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x: torch.Tensor, mem: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape  # x (B, T, D), mem (B, S, D)
        S, h = mem.shape[1], self.h
        q = self.q(x).reshape(B, T, h, D // h).transpose(1, 2)  # (B, h, T, d)
        k = self.k(mem).reshape(B, S, h, D // h).transpose(1, 2)  # (B, h, S, d)
        v = self.v(mem).reshape(B, S, h, D // h).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-2, -1) * (1.0 / math.sqrt(D // h)), dim=-1)  # (B, h, T, S)
        return self.o((att @ v).transpose(1, 2).reshape(B, T, D))


class Block(nn.Module):
    """Pre-norm transformer block: self-attention, optional cross-attention, MLP."""

    def __init__(self, d: int, heads: int, ff_mult: int = 2, cross: bool = False):
        super().__init__()
        self.n1, self.att = nn.LayerNorm(d), Attention(d, heads)
        self.cross = cross
        if cross:
            self.n2, self.xatt = nn.LayerNorm(d), Attention(d, heads)
        self.n3 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, ff_mult * d), nn.GELU(), nn.Linear(ff_mult * d, d))

    def forward(self, x: torch.Tensor, mem: torch.Tensor | None = None) -> torch.Tensor:
        y = self.n1(x)
        x = x + self.att(y, y)
        if self.cross:
            x = x + self.xatt(self.n2(x), mem)
        return x + self.mlp(self.n3(x))


def soft_cell_targets(xy: torch.Tensor, grid_h: int, grid_w: int, sigma: float = 0.6) -> torch.Tensor:
    """Normalised points (..., 2) -> a Gaussian distribution over the cells (..., grid_h * grid_w)."""
    cy = (torch.arange(grid_h, dtype=xy.dtype) + 0.5) / grid_h
    cx = (torch.arange(grid_w, dtype=xy.dtype) + 0.5) / grid_w
    dy = (xy[..., 1:2] - cy) * grid_h  # (..., gh) in cells
    dx = (xy[..., 0:1] - cx) * grid_w  # (..., gw)
    logits = -(dy[..., :, None] ** 2 + dx[..., None, :] ** 2) / (2 * sigma * sigma)  # (..., gh, gw)
    return F.softmax(logits.flatten(-2), dim=-1)
