"""The deskact runtime: screen, ONNX inference, candidates, critic, executor, safety, reports, CLI.

Must import without torch (`pip install deskact` is the runtime only)."""
