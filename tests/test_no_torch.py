"""The runtime installs without torch: `import agent` and the numpy side of models must work
when torch cannot be imported, and `deskact train` must say how to get it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str, tmp_path) -> subprocess.CompletedProcess:
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    # None in sys.modules makes every `import torch` raise ImportError
    (shim / "sitecustomize.py").write_text("import sys\nfor m in ('torch', 'onnx', 'onnxscript'):\n    sys.modules[m] = None\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(shim), str(ROOT)]))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)


def test_shim_really_blocks_torch(tmp_path):
    r = _run("import torch", tmp_path)
    assert r.returncode != 0 and ("ImportError" in r.stderr or "ModuleNotFoundError" in r.stderr)


def test_runtime_imports_without_torch(tmp_path):
    r = _run("import agent, models, models.codec, models.bundle, models.candidates, models.synthetic\n"
             "import sys\n"
             "assert 'torch' not in [m for m, v in sys.modules.items() if v is not None]\n"
             "from models import codec\n"
             "import numpy as np\n"
             "print(codec.preprocess(np.zeros((800, 1280, 3), np.uint8)).shape)", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "(3, 160, 256)"


def test_train_without_torch_says_how_to_fix(tmp_path):
    r = _run("import sys\nfrom agent.cli import main\nsys.exit(main(['train', '.', '--out', 'b']))", tmp_path)
    assert r.returncode == 1
    assert r.stderr.strip() == "Error: training needs the train extra: pip install 'deskact[train]'"
    r = _run("import sys\nfrom agent.cli import main\nsys.exit(main(['--help']))", tmp_path)
    assert r.returncode == 0 and "train" in r.stdout
