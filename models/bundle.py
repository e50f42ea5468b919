"""A trained bundle: load and check it (numpy + onnxruntime; no torch).

BUNDLE/
    bundle.json     see below
    policy.onnx     single-file ONNX, dynamic batch (signatures in models/codec.py)
    critic.onnx
    policy.pt       the policy's PyTorch weights: `deskact train --policy-from` keeps the policy
                    (not used at run time; no torch needed to run)
    critic.pt       the critic's PyTorch weights: `--policy-from` fine-tunes them
    exemplars/      NNN.png: native-resolution grayscale crops around each demonstrated pointer
                    action (CROP of the demo screen: they can show what was on it; privacy)
    labels/         NNN.png: the line each exemplar's click was on (a list row: the row's text),
                    for the runtime's label check (models.candidates.Decider.unlike);
                    NNN-line.png: that row's part around the click, where both must match;
                    failed-NNN.png: what practice clicked when it failed (Decider.failed_before);
                    sibling-NNN.png: a button beside a demonstrated press (Decider.dismisses_a_step)

bundle.json:
    format_version   BUNDLE_FORMAT_VERSION
    created_at, deskact_version
    input            {"width": 256, "height": 160, "channels": "RGB", "range": [0, 1],
                      "resize": "cv2.INTER_AREA", "grid": [rows, cols], "cell": 8}
    chunk_size       K
    crop             {"window": [w, h] logical px, "size": [w, h], "slots": P}
    vocab            {"tokens": [...], "keys": [...], "texts": [...]}   (models.codec.Vocab)
    scroll_clicks    wheel clicks per scroll action
    abstain_threshold critic probability under which the agent stops instead of acting
    models           {"policy": {"file", "sha256", "inputs", "outputs", "config"}, "critic": {...}}
    exemplars        [{"file", "token", "phase", "size": [w, h], "scale", "episode", "label", "row",
                       "label_stable", "line_label"?}]
                     phase = index of the action in its demonstration; label: its labels/ file;
                     row: a list row (matched anywhere along the line); label_stable: do the
                     demos of the phase agree on the label (None: a phase no demo had);
                     line_label (optional): a row label's part around the click, which must
                     match too (a menu entry over a list: the row is mostly the list)
    failure_labels   [{"label", "phase", "scale"}] (optional): the widgets failed practice rollouts
                     clicked first wrong, refused at that point of the workflow
    sibling_labels   [{"label", "phase", "scale"}] (optional): the buttons beside a demonstrated
                     button press (a dialog's other answers), never dismissed at that point
    look             [{"file", "scale"}] (optional): words the demos' first screens share
                     (models/look.py); the label check judges only a run whose screens draw
                     them the same (older bundles: judged by the labels instead)
    evaluation       offline evaluation on held-out episodes (click/kind accuracy, critic AUC...)
    training         seed, steps, episodes used / held out / skipped, losses, seconds
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recorder.errors import DeskactError

from .codec import Vocab

BUNDLE_FORMAT_VERSION = 3  # 2: the critic takes crops only of pointer slots; 3: the dismiss token
MODEL_NAMES = ("policy", "critic")


class BundleError(DeskactError):
    """A bundle folder that cannot be used (missing, corrupt, other version)."""


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Bundle:
    path: Path
    meta: dict
    vocab: Vocab
    exemplars: list[dict] = field(default_factory=list)

    @property
    def chunk_size(self) -> int:
        return int(self.meta["chunk_size"])

    @property
    def abstain_threshold(self) -> float:
        return float(self.meta["abstain_threshold"])

    @property
    def min_actions(self) -> int:
        """The fewest workflow actions any demonstration took (0: not recorded, older bundle)."""
        return int((self.meta.get("workflow_actions") or [0])[0])

    @property
    def crop_slots(self) -> int:
        return int(self.meta["crop"]["slots"])

    def model_path(self, name: str) -> Path:
        return self.path / self.meta["models"][name]["file"]

    def session(self, name: str, threads: int = 1):
        """An onnxruntime InferenceSession for "policy" or "critic" (CPU)."""
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            return ort.InferenceSession(str(self.model_path(name)), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise BundleError(f"{self.model_path(name)}: onnxruntime cannot load it ({str(e).splitlines()[0]})") from None

    def exemplar_image(self, ex: dict) -> np.ndarray:
        return self.image(ex["file"])

    def image(self, name: str) -> np.ndarray:
        """A grayscale image of the bundle (an exemplar, a label)."""
        import cv2

        img = cv2.imread(str(self.path / name), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise BundleError(f"{self.path / name}: missing or unreadable image (corrupt bundle)")
        return img


def load(path, verify: bool = True) -> Bundle:
    """Read BUNDLE/bundle.json, check format version and the sha256 of each model file."""
    path = Path(path)
    meta_path = path / "bundle.json"
    if not path.is_dir():
        raise BundleError(f"{path}: no such bundle folder")
    if not meta_path.exists():
        raise BundleError(f"{path}: not a bundle (no bundle.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BundleError(f"{meta_path}: corrupt bundle (bundle.json is not valid JSON)") from None
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if version != BUNDLE_FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format version {version!r} is not supported "
                          f"(this deskact reads version {BUNDLE_FORMAT_VERSION}); train it again")
    try:
        vocab = Vocab.from_json(meta["vocab"])
        models = meta["models"]
        for name in MODEL_NAMES:
            models[name]["file"], models[name]["sha256"]
        int(meta["chunk_size"]), float(meta["abstain_threshold"]), meta["crop"]["slots"]
    except (KeyError, TypeError, ValueError) as e:
        raise BundleError(f"{meta_path}: corrupt bundle (missing or bad field {e})") from None
    for name in MODEL_NAMES:
        f = path / models[name]["file"]
        if not f.exists():
            raise BundleError(f"{path}: missing model file {models[name]['file']}")
        if verify and sha256_file(f) != models[name]["sha256"]:
            raise BundleError(f"{f}: corrupt bundle (sha256 does not match bundle.json)")
    return Bundle(path=path, meta=meta, vocab=vocab, exemplars=list(meta.get("exemplars", [])))
