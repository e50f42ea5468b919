"""The critic: (screen, candidate chunk) -> probability that doing the chunk keeps the workflow
on track.

    image (1|B,3,160,256) -> small CNN -> screen features (160 cells x C) and a global token;
        one screen is shared by all candidates (expanded to B) so the runtime pays for it once
    each action k: token embedding + screen features gathered around its pointer (Gaussian
        weights over the cells: what lies under it at low resolution; a drag's drop point too);
        no absolute position, so that a moved widget is judged by what it is, not where
        + for slots < crop_slots: a CNN over the native-resolution crop of the row around its
        pointer (448x32 logical px, 1:1: a field's label beside it is readable there; features
        max- and mean-pooled over the crop, because the label may sit left or right at any
        distance, plus the centre cells: what is right under the pointer)
    transformer over [global, last action, K actions] -> logit of the first token

Trained with binary cross-entropy plus a ranking term (a demonstrated chunk must outscore the
negatives made from the same screen), see models/train.py.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from . import codec
from .layers import Block, conv_bn

__all__ = ["CriticConfig", "Critic"]


@dataclass
class CriticConfig:
    vocab_size: int  # V
    chunk_size: int = 4  # K
    crop_slots: int = 2  # P: slots 0..P-1 get a native crop
    history: int = codec.HISTORY  # H executed tokens seen
    d_model: int = 64
    n_heads: int = 4
    layers: int = 2
    ff_mult: int = 2
    channels: tuple = (16, 32, 64, 64)  # screen CNN widths (strides 2, 4, 8, 16)
    crop_channels: tuple = (16, 32, 48, 48)  # crop CNN widths (strides 2, 4, 8, 16)
    sample_sigma: float = 0.8  # cells (of the 10x16 grid): how wide "under the pointer" is

    def __post_init__(self):
        self.channels = tuple(int(c) for c in self.channels)
        self.crop_channels = tuple(int(c) for c in self.crop_channels)
        for name in ("vocab_size", "chunk_size", "crop_slots", "d_model", "n_heads", "layers", "ff_mult"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"CriticConfig.{name} must be a positive integer, got {v!r}")
        if self.crop_slots > self.chunk_size:
            raise ValueError(f"CriticConfig.crop_slots must be <= chunk_size ({self.chunk_size}), got {self.crop_slots}")
        if self.d_model % self.n_heads:
            raise ValueError(f"CriticConfig.d_model {self.d_model} is not divisible by n_heads {self.n_heads}")
        for name in ("channels", "crop_channels"):
            v = getattr(self, name)
            if len(v) != 4 or min(v) < 1:
                raise ValueError(f"CriticConfig.{name} must be 4 positive widths, got {v!r}")
        if not self.sample_sigma > 0:
            raise ValueError(f"CriticConfig.sample_sigma must be > 0, got {self.sample_sigma!r}")

    def to_json(self) -> dict:
        d = asdict(self)
        d["channels"], d["crop_channels"] = list(self.channels), list(self.crop_channels)
        return d


class Critic(nn.Module):
    INPUTS = ("image", "prev_actions", "kinds", "pos", "crops", "crop_index")
    OUTPUTS = ("score",)

    def __init__(self, cfg: CriticConfig, export: bool = False):
        super().__init__()
        self.cfg = cfg
        self.export = export  # True: forward returns probabilities (the ONNX output)
        d = cfg.d_model
        c = cfg.channels
        self.cnn = nn.Sequential(conv_bn(3, c[0], 2), conv_bn(c[0], c[1], 2), conv_bn(c[1], c[2], 2), conv_bn(c[2], c[3], 2))
        self.screen_tok = nn.Linear(c[3], d)
        self.global_tok = nn.Linear(c[3], d)
        k = cfg.crop_channels
        self.crop_cnn = nn.Sequential(conv_bn(1, k[0], 2), conv_bn(k[0], k[1], 2), conv_bn(k[1], k[2], 2), conv_bn(k[2], k[3], 2),
                                      conv_bn(k[3], k[3], 1))
        # what is anywhere in the crop (max and mean over it: a label may sit left or right of its
        # field, at any distance) + what is right under the pointer (the centre cells)
        self.crop_tok = nn.Linear(3 * k[3], d)
        self.crop_head = nn.Linear(3 * k[3], 1)  # training only: is the crop alone the right target?
        self.aux_crop_logit = None
        self.kind = nn.Embedding(cfg.vocab_size, d)
        self.prev = nn.Embedding((cfg.vocab_size + 1) * cfg.history, d)
        self.register_buffer("prev_offset", torch.arange(cfg.history) * (cfg.vocab_size + 1), persistent=False)
        self.drop_tok = nn.Linear(c[3], d)
        self.slot = nn.Parameter(torch.randn(cfg.chunk_size + 2, d))  # as large as the tokens: order matters
        self.blocks = nn.ModuleList(Block(d, cfg.n_heads, cfg.ff_mult) for _ in range(cfg.layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, 1))
        gh, gw = codec.GRID_H // 2, codec.GRID_W // 2
        cy = ((torch.arange(gh, dtype=torch.float32) + 0.5) / gh).repeat_interleave(gw)
        cx = ((torch.arange(gw, dtype=torch.float32) + 0.5) / gw).repeat(gh)
        self.register_buffer("cells", torch.stack([cx, cy], dim=1), persistent=False)  # (160, 2)
        self.register_buffer("cell_scale", torch.tensor([gw, gh], dtype=torch.float32), persistent=False)

    def forward(self, image, prev_actions, kinds, pos, crops, crop_index, image_index=None):
        """image_index (B,): training only, which of the Bi screens each chunk is on (the screen
        CNN runs once per screen, not once per chunk)."""
        B, K = kinds.shape
        P = self.cfg.crop_slots
        f = self.cnn(image)  # (Bi, C, 10, 16)
        cells = f.flatten(2).transpose(1, 2)  # (Bi, 160, C)
        if image_index is not None:
            cells = cells[image_index]  # (B, 160, C)
        else:
            cells = cells.expand(B, -1, -1)  # (B, 160, C): one screen shared by all candidates
        glob = self.global_tok(cells.mean(dim=1))  # (B, D)
        # what lies under each pointer (low resolution)
        diff = (pos[..., None, :2] - self.cells) * self.cell_scale  # (B, K, 160, 2) in cells
        w = torch.softmax(-(diff * diff).sum(-1) / (2 * self.cfg.sample_sigma ** 2), dim=-1)  # (B, K, 160)
        under = self.screen_tok(w @ cells)  # (B, K, D)
        diff = (pos[..., None, 2:] - self.cells) * self.cell_scale  # a drag's drop point
        w = torch.softmax(-(diff * diff).sum(-1) / (2 * self.cfg.sample_sigma ** 2), dim=-1)
        under_end = self.drop_tok(w @ cells) * (kinds == codec.DRAG).unsqueeze(-1).float()  # (B, K, D)
        is_ptr = ((kinds >= 1) & (kinds <= max(codec.POINTER_TOKENS))).unsqueeze(-1).float()  # (B, K, 1)
        # No absolute position: what a click lands on (its crop, the screen under it) is what
        # survives a changed layout; where it lands is what a macro gets wrong.
        # Slots with a native crop are judged by it alone: the low-resolution screen around a
        # pointer also holds its neighbours (the row above, below), which a layout change reorders.
        has_crop = (torch.arange(K, device=kinds.device) < P).float().view(1, K, 1)
        act = self.kind(kinds) + under * is_ptr * (1 - has_crop) + under_end  # (B, K, D)
        # native-resolution crops: one per pointer slot < P (crops[0] blank), gathered per slot
        feats = self._crop_feats(crops)[crop_index]  # (B, P, 3C)
        if self.training:  # deep supervision of the crop path (train.py): slot 0's crop alone
            self.aux_crop_logit = self.crop_head(feats[:, 0]).squeeze(-1)  # (B,)
        cr = self.crop_tok(feats) * is_ptr[:, :P]  # (B, P, D)
        if P < K:
            cr = torch.cat([cr, torch.zeros_like(act[:, P:])], dim=1)  # (B, K, D)
        act = act + cr
        x = torch.cat([glob.unsqueeze(1), self.prev(prev_actions + self.prev_offset).sum(1, keepdim=True), act], dim=1) + self.slot  # (B, K+2, D)
        for blk in self.blocks:
            x = blk(x)
        logit = self.head(self.norm(x[:, 0])).squeeze(-1)  # (B,)
        return torch.sigmoid(logit) if self.export else logit

    def _crop_feats(self, crops):
        """(N, 1, h, w) native crops -> (N, 3C): max and mean over the crop, and its centre."""
        cr = self.crop_cnn(crops)  # (N, C, 2, 16)
        w2 = cr.shape[-1] // 2
        return torch.cat([cr.amax(dim=(2, 3)), cr.mean(dim=(2, 3)), cr[..., w2 - 1:w2 + 1].mean(dim=(2, 3))], dim=1)
