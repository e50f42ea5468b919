"""The agent's judgment on one screen: a bundle's policy proposes candidate chunks, the critic
scores them in one batched call, and the best is taken only if it clears the bundle's abstain
threshold. The candidate logic itself lives in models/candidates.py (shared with the trainer's
offline evaluation, so the numbers there measure this path); this module adapts it to live
frames and to the runtime loop (timings, re-checks, run-time variables)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from models import bundle as bundle_mod
from models import codec
from models.candidates import Candidate, Decider
from recorder.errors import DeskactError


@dataclass
class Decision:
    chosen: list[dict] | None  # the chunk to execute, or None: abstain
    score: float
    candidates: list[dict] = field(default_factory=list)  # [{"actions", "score", "source"}] best first
    timings: dict = field(default_factory=dict)
    note: str = ""


class Agent:
    """`Agent.load(bundle)`; `decide(frame_bgr, cursor, done_tokens)` -> Decision."""

    def __init__(self, bundle, candidates: int = 16, threads: int = 1, pixel_scale: float = 1.0,
                 critic: bool = True):
        """critic=False: the policy alone (its greedy chunk; it never abstains, only the runner's
        own stops apply): the benchmark's imitation-only baseline."""
        self.bundle = bundle
        self.use_critic = critic
        self.vocab = bundle.vocab
        self.n = candidates
        self.threshold = bundle.abstain_threshold
        self.min_actions = bundle.min_actions  # `done` before this many workflow actions is not believed
        self.scroll_clicks = int(bundle.meta.get("scroll_clicks", 3))
        self.pixel_scale = pixel_scale
        self.decider = Decider(bundle, threads=threads)
        self.variables: dict[str, str] = {}
        self.explore = 0.0  # practice: sample candidates with this temperature, never abstain
        self.rng = np.random.default_rng(0)
        # does this run's first screen draw labels as the demos' did? (Decider.familiar; asked only
        # when the label check would refuse a click: it costs about 30 ms)
        self.readable: bool | None = None
        self.first_gray: np.ndarray | None = None

    @classmethod
    def load(cls, path, **kw) -> "Agent":
        return cls(bundle_mod.load(path), **kw)

    def history(self, done_tokens) -> np.ndarray:
        return codec.history(done_tokens, self.vocab.start)

    def token_of(self, action: dict) -> int:
        if action.get("kind") == "type" and action.get("text_id") is not None:  # a --var replaced it
            action = {"kind": "type", "text": self.vocab.texts[action["text_id"]]}
        t = self.vocab.token(action)
        return self.vocab.start if t is None else t

    def resolve_vars(self, variables: dict[str, str]) -> dict[str, str]:
        """--var NAME=VALUE, NAME being a demonstrated text or text<i> -> {demonstrated text: value}."""
        out = {}
        for name, value in variables.items():
            if name in self.vocab.texts:
                out[name] = value
            elif name.startswith("text") and name[4:].isdigit() and int(name[4:]) < len(self.vocab.texts):
                out[self.vocab.texts[int(name[4:])]] = value
            else:
                known = ", ".join(f"text{i}={t!r}" for i, t in enumerate(self.vocab.texts)) or "none"
                raise DeskactError(f"--var {name}: the bundle has no such typed text (its texts: {known})")
        return out

    def _actions(self, c: Candidate) -> list[dict]:
        acts = c.actions(self.vocab, self.scroll_clicks)
        for a in acts:
            if a["kind"] == "type" and a["text"] in self.variables:
                a["text"] = self.variables[a["text"]]
        return acts

    def decide(self, frame_bgr: np.ndarray, cursor, done_tokens, skip: int = 0, avoid=()) -> Decision:
        """done_tokens: the tokens executed so far in this run (oldest first); avoid: normalised
        points where a click of this run changed nothing at this point of the workflow."""
        t0 = time.perf_counter()
        rgb = codec.to_rgb(frame_bgr, "BGR")
        if not self.use_critic:
            (greedy, *_), _ = self.decider.propose(codec.preprocess(rgb), cursor, self.history(done_tokens))
            acts = self._actions(greedy)
            return Decision(acts, 1.0, [{"actions": acts, "score": None, "source": "policy"}],
                            {"policy": time.perf_counter() - t0}, "policy alone (no critic)")
        gray = codec.to_gray(rgb)
        if not done_tokens or self.first_gray is None:  # a run's first screen: its theme holds for the run
            self.first_gray, self.readable = gray, None
        cands = self.decider.decide(rgb, cursor, self.history(done_tokens), scale=self.pixel_scale,
                                   phase=len(done_tokens), n=self.n, readable=self.labels_readable, gray=gray,
                                   avoid=avoid)
        t1 = time.perf_counter()
        listed = [{"actions": self._actions(c), "score": c.score, "source": c.source} for c in cands]
        timings = {"policy+critic": t1 - t0}
        pick = min(skip, len(listed) - 1)
        if self.explore > 0 and listed:
            return self._explore(listed, timings)
        best = listed[pick] if listed else None
        if best is None or best["score"] < self.threshold:
            score = best["score"] if best else 0.0
            return Decision(None, score, listed, timings,
                            f"abstained: the best candidate scores {score:.2f}, under the bundle's "
                            f"threshold {self.threshold:.2f}")
        return Decision(best["actions"], best["score"], listed, timings)

    def _explore(self, listed: list[dict], timings: dict) -> Decision:
        """Sample a candidate with p ~ score^(1/T): practice must make the mistakes the critic
        has to learn from, so it does not abstain."""
        scores = np.clip(np.array([c["score"] for c in listed], dtype=np.float64), 1e-6, 1.0)
        logits = np.log(scores) / self.explore
        p = np.exp(logits - logits.max())
        c = listed[int(self.rng.choice(len(listed), p=p / p.sum()))]
        return Decision(c["actions"], c["score"], listed, timings, f"exploring (T={self.explore:g}): {c['source']}")

    def recheck(self, frame_bgr: np.ndarray, rest: list[dict], cursor, done_tokens) -> float:
        """Critic score, on the current screen, of the rest of a chunk being executed.

        The critic only ever saw whole chunks (padded with `done` at the end of a workflow),
        so the rest is completed with what the policy now proposes after it, not with `done`;
        where the rest ends the workflow as a demonstration did, with `done` as well, and the
        better of the two counts (as cut_at_end offers it when deciding)."""
        if not self.use_critic:
            return 1.0
        K = self.bundle.chunk_size
        rest = rest[:K]
        rgb = codec.to_rgb(frame_bgr, "BGR")
        image, gray = codec.preprocess(rgb), codec.to_gray(rgb)
        history = self.history(done_tokens)
        (greedy, *_), _ = self.decider.propose(image, cursor, history)
        tokens = [self.token_of(a) for a in rest]
        tokens = [codec.DONE if t == self.vocab.start else t for t in tokens]
        kinds, pos = codec.encode_chunk(tokens, [codec.action_pos(a) for a in rest], K)
        cands = [Candidate(kinds, pos, "recheck")]
        if codec.DONE not in tokens:  # nothing follows `done`: it stays padded with `done`
            lo, hi = self.bundle.meta.get("workflow_actions") or (0, -1)
            if lo <= len(done_tokens) + len(rest) <= hi:
                cands.append(Candidate(kinds.copy(), pos.copy(), "recheck:end"))
            kinds[len(rest):] = greedy.kinds[len(rest):]
            pos[len(rest):] = greedy.pos[len(rest):]
        c = max(self.decider.score(image, gray, history, cands, self.pixel_scale), key=lambda c: c.score)
        if self.decider.refusal(gray, c, len(done_tokens), self.pixel_scale, lambda: self.labels_readable(gray)):
            return 0.0  # a menu entry the chunk was chosen for before the menu was drawn
        return c.score

    def labels_readable(self, gray: np.ndarray | None = None) -> bool:
        """Does this run draw text as the demos did (not another theme)? Only then does the label
        check judge (models.candidates.Decider.familiar). Judged on the run's first screen, and
        where that one did not show it (a popup over the window from the start), on the screen
        being judged, `gray`."""
        if self.readable is None:
            self.readable = self.first_gray is not None and self.decider.familiar(self.first_gray, self.pixel_scale)
        if not self.readable and gray is not None and gray is not self.first_gray:
            self.readable = self.decider.familiar(gray, self.pixel_scale)
        return self.readable

    def agrees(self, decision: Decision, action: dict, frame_bgr: np.ndarray, tol_px: float = 12.0) -> bool:
        """Would the agent's first action be the person's? Same kind (and key/text), and for
        pointer actions within `tol_px` logical pixels."""
        if not decision.chosen:
            return False
        a = decision.chosen[0]
        if self.vocab.token(a) != self.vocab.token(action):
            return False
        if action.get("x") is None:
            return True
        h, w = frame_bgr.shape[:2]
        s = self.pixel_scale
        return np.hypot((a["x"] - action["x"]) * w / s, (a["y"] - action["y"]) * h / s) <= tol_px
