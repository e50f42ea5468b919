"""ONNX export: single file, dynamic batch, ONNX Runtime agrees with PyTorch (batch 1 and 8),
and a disagreement is an error, not a warning."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from models import codec  # noqa: E402
from models.critic import Critic, CriticConfig  # noqa: E402
from models.export import ExportError, export_and_check, export_policy, parity, policy_inputs  # noqa: E402
from models.policy import Policy, PolicyConfig  # noqa: E402

V = 11


def _models():
    torch.manual_seed(0)
    p = Policy(PolicyConfig(vocab_size=V, chunk_size=3, d_model=32, n_heads=2, channels=(8, 16, 16, 32)))
    c = Critic(CriticConfig(vocab_size=V, chunk_size=3, crop_slots=2, d_model=32, n_heads=2))
    for m, args in ((p, (torch.rand(4, 3, codec.INPUT_H, codec.INPUT_W), torch.rand(4, 2), torch.randint(0, V + 1, (4, codec.HISTORY)))),):
        m.train()
        m(*args)  # batch-norm statistics that are not the defaults
    return p, c


def test_export_parity_and_dynamic_batch(tmp_path):
    torch.set_num_threads(1)
    p, c = _models()
    res = export_and_check(p, c, tmp_path, V)
    assert set(res) == {"policy", "critic", "critic_shared_screen"}
    assert all(0 <= v <= 1e-4 for v in res.values())
    assert sorted(f.name for f in tmp_path.iterdir()) == ["critic.onnx", "policy.onnx"]  # no .data sidecar
    for name, inputs in (("policy", ["image", "cursor", "prev_actions"]),
                         ("critic", ["image", "prev_actions", "kinds", "pos", "crops", "crop_index"])):
        m = onnx.load(str(tmp_path / f"{name}.onnx"))
        assert [i.name for i in m.graph.input] == inputs
        assert all(i.type.tensor_type.shape.dim[0].dim_param for i in m.graph.input)  # batch is symbolic
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "policy.onnx"), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(5)
    outs = sess.run(None, {k: v.numpy() for k, v in policy_inputs(3, V, gen).items()})
    n = codec.GRID_H * codec.GRID_W
    assert [o.shape for o in outs] == [(3, 3, V), (3, 3, n), (3, 3, n, 2), (3, 3, n), (3, 3, n, 2)]


def test_parity_failure_is_loud(tmp_path):
    torch.set_num_threads(1)
    p, _ = _models()
    export_policy(p, tmp_path / "policy.onnx", V)
    with torch.no_grad():
        p.kind.bias += 0.01  # the PyTorch model no longer matches the exported file
    with pytest.raises(ExportError, match=r"differs from PyTorch by .* on kind_logits at batch 1"):
        parity(p, tmp_path / "policy.onnx", lambda b, g: policy_inputs(b, V, g))
    assert np.isfinite(parity(p, tmp_path / "policy.onnx", lambda b, g: policy_inputs(b, V, g), tol=1.0))
