"""ONNX export of the policy and the critic, and the parity check against PyTorch.

Exporter: the TorchScript-based one (`dynamo=False`). It needs only onnx, exports these
models in about a second, and with `dynamic_axes` keeps the batch dynamic. The example batch is
2 anyway (a batch of 1 can get baked in as a constant, see pitfalls). One file, no external
data. After export, ONNX Runtime is run against PyTorch on random inputs at batch 1 and 8; a
difference above `tol` raises ExportError: a bundle whose models disagree is never written.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch

from recorder.errors import DeskactError

from . import codec

EXPORT_BATCH = 2
OPSET = 17


class ExportError(DeskactError):
    pass


def policy_inputs(batch: int, vocab_size: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    return {
        "image": torch.rand(batch, 3, codec.INPUT_H, codec.INPUT_W, generator=gen),
        "cursor": torch.rand(batch, 2, generator=gen),
        "prev_actions": torch.randint(0, vocab_size + 1, (batch, codec.HISTORY), generator=gen),
    }


def critic_inputs(batch: int, vocab_size: int, chunk_size: int, crop_slots: int, gen: torch.Generator,
                  shared_screen: bool = False) -> dict[str, torch.Tensor]:
    return {
        "image": torch.rand(1 if shared_screen else batch, 3, codec.INPUT_H, codec.INPUT_W, generator=gen),
        "prev_actions": torch.randint(0, vocab_size + 1, (batch, codec.HISTORY), generator=gen),
        "kinds": torch.randint(0, vocab_size, (batch, chunk_size), generator=gen),
        "pos": torch.rand(batch, chunk_size, 4, generator=gen),
        "crops": torch.rand(1 + batch, 1, codec.CROP_SIZE[1], codec.CROP_SIZE[0], generator=gen),
        "crop_index": torch.randint(0, 1 + batch, (batch, crop_slots), generator=gen),
    }


def _export(model: torch.nn.Module, inputs: dict, output_names, path: Path, dynamic: dict) -> None:
    model.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, tuple(inputs.values()), buf, input_names=list(inputs), output_names=list(output_names),
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False, do_constant_folding=True)
    path.write_bytes(buf.getvalue())


def export_policy(model, path, vocab_size: int) -> None:
    gen = torch.Generator().manual_seed(0)
    inputs = policy_inputs(EXPORT_BATCH, vocab_size, gen)
    dyn = {n: {0: "batch"} for n in list(inputs) + list(model.OUTPUTS)}
    _export(model, inputs, model.OUTPUTS, Path(path), dyn)


def export_critic(model, path, vocab_size: int) -> None:
    cfg = model.cfg
    was = model.export
    model.export = True
    try:
        gen = torch.Generator().manual_seed(0)
        inputs = critic_inputs(EXPORT_BATCH, vocab_size, cfg.chunk_size, cfg.crop_slots, gen)
        dyn = {n: {0: "batch"} for n in list(inputs) + list(model.OUTPUTS)}
        dyn["image"] = {0: "screens"}  # 1 (shared by all candidates) or batch
        dyn["crops"] = {0: "crops"}  # one per pointer slot, plus the blank one
        _export(model, inputs, model.OUTPUTS, Path(path), dyn)
    finally:
        model.export = was


def _session(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def parity(model, path, make_inputs, batches=(1, 8), tol: float = 1e-4) -> float:
    """Max abs difference between ONNX Runtime and PyTorch over random inputs at each batch
    size; raises ExportError above `tol` or on a wrong output shape."""
    sess = _session(path)
    model.eval()
    worst = 0.0
    for b in batches:
        gen = torch.Generator().manual_seed(1000 + b)
        inputs = make_inputs(b, gen)
        with torch.no_grad():
            ref = model(*inputs.values())
        ref = ref if isinstance(ref, (tuple, list)) else (ref,)
        got = sess.run(None, {k: v.numpy() for k, v in inputs.items()})
        for name, r, g in zip(model.OUTPUTS, ref, got):
            r = r.numpy()
            if r.shape != g.shape:
                raise ExportError(f"{Path(path).name}: output {name} has shape {g.shape} in ONNX Runtime, "
                                  f"{r.shape} in PyTorch (batch {b})")
            diff = float(np.max(np.abs(r - g))) if r.size else 0.0
            if not np.isfinite(diff) or diff > tol:
                raise ExportError(f"{Path(path).name}: ONNX Runtime differs from PyTorch by {diff:.2e} "
                                  f"(> {tol:g}) on {name} at batch {b}")
            worst = max(worst, diff)
    return worst


def export_and_check(policy, critic, out_dir, vocab_size: int, tol: float = 1e-4) -> dict:
    """Export both models into out_dir and check them; returns {"policy": max_diff, "critic": ...}."""
    out_dir = Path(out_dir)
    pcfg, ccfg = policy.cfg, critic.cfg
    export_policy(policy, out_dir / "policy.onnx", vocab_size)
    export_critic(critic, out_dir / "critic.onnx", vocab_size)
    res = {"policy": parity(policy, out_dir / "policy.onnx", lambda b, g: policy_inputs(b, vocab_size, g), tol=tol)}
    critic.export = True
    try:
        res["critic"] = parity(critic, out_dir / "critic.onnx",
                               lambda b, g: critic_inputs(b, vocab_size, ccfg.chunk_size, ccfg.crop_slots, g), tol=tol)
        res["critic_shared_screen"] = parity(
            critic, out_dir / "critic.onnx",
            lambda b, g: critic_inputs(b, vocab_size, ccfg.chunk_size, ccfg.crop_slots, g, shared_screen=True),
            batches=(8,), tol=tol)
    finally:
        critic.export = False
    del pcfg
    return res
