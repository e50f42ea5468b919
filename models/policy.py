"""The policy: screen (+ cursor, last action) -> a chunk of `chunk_size` actions. ACT-style.

    image (B,3,160,256) -> CNN -> fine features (B,C2,20,32) and coarse tokens (B,160,D)
    encoder:  [cursor token, last-action token, 160 coarse tokens + 2-D sin/cos PE] x enc_layers
    decoder:  chunk_size learned queries, self-attention + cross-attention to the encoder output
    heads:    kind (query -> V tokens); pointer: query . fine tokens (640 cells = coarse memory
              upsampled + fine CNN features + PE) and a small offset inside each cell; the same
              for a drag's drop point.

Pointing by scoring image cells (not regressing x, y) lets the click follow its target when the
window moves: the feasibility probe measured it (design.md). No CVAE: with ten demonstrations
the latent carries next to nothing; the diverse candidates come from the pointer's top peaks,
the kind head's runner-up tokens and the exemplar matches (models/candidates.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from . import codec
from .layers import Block, conv_bn, sincos_2d, soft_cell_targets

__all__ = ["PolicyConfig", "Policy", "policy_loss"]


@dataclass
class PolicyConfig:
    vocab_size: int  # V action tokens (codec.Vocab); prev_actions also take V (= START)
    history: int = codec.HISTORY  # H executed tokens seen
    chunk_size: int = 4  # K actions per chunk
    # --- network ---
    d_model: int = 96
    n_heads: int = 4
    enc_layers: int = 2
    dec_layers: int = 2
    ff_mult: int = 2
    channels: tuple = (16, 32, 64, 96)  # CNN widths at strides 2, 4, 8, 16
    offset_hidden: int = 32
    slot_heatmap: bool = True  # add a per-slot linear heatmap over the fine tokens (learns fast)
    # --- loss ---
    pointer_sigma: float = 0.7  # cells: width of the Gaussian target over cells
    offset_weight: float = 4.0

    def __post_init__(self):
        self.channels = tuple(int(c) for c in self.channels)
        for name in ("vocab_size", "chunk_size", "d_model", "n_heads", "enc_layers", "dec_layers", "ff_mult", "offset_hidden"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"PolicyConfig.{name} must be a positive integer, got {v!r}")
        if self.vocab_size <= len(codec.FIXED_TOKENS) - 1:
            raise ValueError(f"PolicyConfig.vocab_size must include the fixed tokens, got {self.vocab_size}")
        if self.d_model % 4:
            raise ValueError(f"PolicyConfig.d_model must be a multiple of 4, got {self.d_model}")
        if self.d_model % self.n_heads:
            raise ValueError(f"PolicyConfig.d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        if len(self.channels) != 4 or min(self.channels) < 1:
            raise ValueError(f"PolicyConfig.channels must be 4 positive widths, got {self.channels!r}")
        if not self.pointer_sigma > 0:
            raise ValueError(f"PolicyConfig.pointer_sigma must be > 0, got {self.pointer_sigma!r}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d


class Policy(nn.Module):
    INPUTS = ("image", "cursor", "prev_actions")
    OUTPUTS = ("kind_logits", "point_logits", "point_offset", "end_logits", "end_offset")

    def __init__(self, cfg: PolicyConfig):
        super().__init__()
        self.cfg = cfg
        c0, c1, c2, c3 = cfg.channels
        d = cfg.d_model
        self.cnn8 = nn.Sequential(conv_bn(3, c0, 2), conv_bn(c0, c1, 2), conv_bn(c1, c2, 2), conv_bn(c2, c2, 1))
        self.cnn16 = nn.Sequential(conv_bn(c2, c3, 2), conv_bn(c3, c3, 1))
        self.tok16 = nn.Linear(c3, d)
        self.tok8 = nn.Linear(c2, d)
        self.register_buffer("pe16", sincos_2d(codec.GRID_H // 2, codec.GRID_W // 2, d), persistent=False)
        self.register_buffer("pe8", sincos_2d(codec.GRID_H, codec.GRID_W, d), persistent=False)
        self.cursor = nn.Sequential(nn.Linear(2, d), nn.GELU(), nn.Linear(d, d))
        self.prev = nn.Embedding((cfg.vocab_size + 1) * cfg.history, d)  # one table per history position
        self.register_buffer("prev_offset", torch.arange(cfg.history) * (cfg.vocab_size + 1), persistent=False)
        self.encoder = nn.ModuleList(Block(d, cfg.n_heads, cfg.ff_mult) for _ in range(cfg.enc_layers))
        self.queries = nn.Parameter(torch.randn(cfg.chunk_size, d))  # as large as cond: slots must differ
        self.decoder = nn.ModuleList(Block(d, cfg.n_heads, cfg.ff_mult, cross=True) for _ in range(cfg.dec_layers))
        self.out_norm = nn.LayerNorm(d)
        self.kind = nn.Linear(d, cfg.vocab_size)
        self.key8 = nn.Linear(d, d)
        self.fine_norm = nn.LayerNorm(d)
        self.ptr_q, self.end_q = nn.Linear(d, d), nn.Linear(d, d)
        if cfg.slot_heatmap:
            self.heat = nn.Linear(d, 2 * cfg.chunk_size)  # pointer and drop point, per slot
        self.off_t = nn.Linear(d, cfg.offset_hidden)
        self.off_q, self.end_off_q = nn.Linear(d, cfg.offset_hidden), nn.Linear(d, cfg.offset_hidden)
        self.off_out, self.end_off_out = nn.Linear(cfg.offset_hidden, 2), nn.Linear(cfg.offset_hidden, 2)

    def forward(self, image: torch.Tensor, cursor: torch.Tensor, prev_actions: torch.Tensor):
        B = image.shape[0]
        f8 = self.cnn8(image)  # (B, C2, 20, 32)
        f16 = self.cnn16(f8)  # (B, C3, 10, 16)
        cur, prev = self.cursor(cursor), self.prev(prev_actions + self.prev_offset).sum(1)  # (B, D) each
        cond = (cur + prev).unsqueeze(1)  # (B, 1, D): every token and query knows the phase
        t16 = self.tok16(f16.flatten(2).transpose(1, 2)) + self.pe16 + cond  # (B, 160, D)
        x = torch.cat([torch.stack([cur, prev], dim=1), t16], dim=1)  # (B, 162, D)
        for blk in self.encoder:
            x = blk(x)
        mem = x  # (B, 162, D)
        q = self.queries.unsqueeze(0) + cond  # (B, K, D)
        for blk in self.decoder:
            q = blk(q, mem)
        q = self.out_norm(q)
        kind_logits = self.kind(q)  # (B, K, V)
        # fine tokens: coarse memory upsampled x2 + fine CNN features + PE
        D = mem.shape[-1]
        m16 = mem[:, 2:].transpose(1, 2).reshape(B, D, codec.GRID_H // 2, codec.GRID_W // 2)
        up = F.interpolate(m16, scale_factor=2.0, mode="nearest").flatten(2).transpose(1, 2)  # (B, 640, D)
        fine = self.fine_norm(up + self.tok8(f8.flatten(2).transpose(1, 2)) + self.pe8 + cond)  # (B, 640, D)
        keys = self.key8(fine)  # (B, 640, D)
        scale = 1.0 / (D ** 0.5)
        point_logits = self.ptr_q(q) @ keys.transpose(1, 2) * scale  # (B, K, 640)
        end_logits = self.end_q(q) @ keys.transpose(1, 2) * scale
        if self.cfg.slot_heatmap:
            heat = self.heat(fine).transpose(1, 2)  # (B, 2K, 640)
            K = self.cfg.chunk_size
            point_logits = point_logits + heat[:, :K]
            end_logits = end_logits + heat[:, K:]
        ot = self.off_t(fine).unsqueeze(1)  # (B, 1, 640, h)
        point_offset = 0.5 * torch.tanh(self.off_out(F.gelu(ot + self.off_q(q).unsqueeze(2))))  # (B, K, 640, 2)
        end_offset = 0.5 * torch.tanh(self.end_off_out(F.gelu(ot + self.end_off_q(q).unsqueeze(2))))
        return kind_logits, point_logits, point_offset, end_logits, end_offset


def _pointer_loss(logits, offset, xy, mask, cfg: PolicyConfig):
    """logits (B,K,N), offset (B,K,N,2), xy (B,K,2) targets, mask (B,K) bool -> scalar. Slot 0
    (what is done next, on the screen the policy sees) weighs twice the later slots."""
    if not bool(mask.any()):
        return logits.sum() * 0.0
    tgt = soft_cell_targets(xy, codec.GRID_H, codec.GRID_W, cfg.pointer_sigma)  # (B, K, N)
    ce = -(tgt * F.log_softmax(logits, dim=-1)).sum(-1)  # (B, K)
    gx = xy[..., 0].clamp(0, 1 - 1e-6) * codec.GRID_W
    gy = xy[..., 1].clamp(0, 1 - 1e-6) * codec.GRID_H
    cell = (gy.floor() * codec.GRID_W + gx.floor()).long()  # (B, K)
    tgt_off = torch.stack([gx - gx.floor() - 0.5, gy - gy.floor() - 0.5], dim=-1)  # (B, K, 2)
    pred_off = torch.gather(offset, 2, cell[..., None, None].expand(-1, -1, 1, 2)).squeeze(2)  # (B, K, 2)
    off = F.smooth_l1_loss(pred_off, tgt_off, reduction="none", beta=0.1).sum(-1)  # (B, K)
    m = mask.float()
    m = m * torch.cat([torch.full_like(m[:, :1], 2.0), torch.ones_like(m[:, 1:])], dim=1)
    return ((ce + cfg.offset_weight * off) * m).sum() / m.sum()


def policy_loss(out, kinds, pos, cfg: PolicyConfig):
    """out: Policy outputs; kinds (B,K) int64; pos (B,K,4) -> (loss, parts dict)."""
    kind_logits, point_logits, point_offset, end_logits, end_offset = out
    kind = F.cross_entropy(kind_logits.flatten(0, 1), kinds.flatten())
    is_ptr = (kinds >= 1) & (kinds <= max(codec.POINTER_TOKENS))
    ptr = _pointer_loss(point_logits, point_offset, pos[..., :2], is_ptr, cfg)
    end = _pointer_loss(end_logits, end_offset, pos[..., 2:], kinds == codec.DRAG, cfg)
    loss = kind + ptr + 0.5 * end
    return loss, {"kind": float(kind.detach()), "pointer": float(ptr.detach())}
