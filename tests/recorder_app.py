"""A small Tk app the recorder tests drive with real XTEST input.

python tests/recorder_app.py STATE.json: a fullscreen-sized window at (0, 0) with a button that
turns from grey "Press me" to green "Pressed" when clicked, an entry, a canvas for drags and
scrolls. It writes STATE.json (widget centres in root coordinates, then what it received:
entry text, clicks, keys) after every change, atomically.
"""
import json
import os
import subprocess
import sys
import time


class ProbeApp:
    """Runs this app in a subprocess on $DISPLAY: `with ProbeApp(tmp_path) as app: app.widgets`."""

    def __init__(self, tmp_path, busy=False, env=None):
        self.state_path = os.path.join(str(tmp_path), "probe-state.json")
        self.busy, self.env = busy, env
        self.proc = None
        self.widgets = {}

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, __file__, self.state_path] + (["--busy"] if self.busy else []),
                                     env=self.env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"probe app exited with {self.proc.returncode}")
            st = self.state()
            if st.get("ready"):
                self.widgets = st["widgets"]
                time.sleep(0.3)  # first paint done
                return self
            time.sleep(0.05)
        raise RuntimeError("probe app did not start")

    def state(self) -> dict:
        try:
            with open(self.state_path, encoding="utf-8") as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def wait_state(self, pred, timeout=3.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.state()
            if pred(st):
                return st
            time.sleep(0.05)
        return self.state()

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def main(state_path, busy=False):
    import tkinter as tk

    busy_text = []

    root = tk.Tk()
    root.geometry("1280x800+0+0")
    root.title("recorder probe")
    state = {"ready": False, "clicks": 0, "keys": [], "entry": "", "saves": 0, "canvas": []}

    button = tk.Button(root, text="Press me", bg="#808080", activebackground="#808080", width=20, height=3)
    button.place(x=100, y=80)
    hover = tk.Button(root, text="Hover me", bg="#808080", activebackground="#c00000", width=20)
    hover.place(x=100, y=170)  # turns red under the pointer, like a menu entry or a themed button
    entry = tk.Entry(root, width=40, font=("TkFixedFont", 14))
    entry.place(x=100, y=250)
    entry2 = tk.Entry(root, width=40, font=("TkFixedFont", 14))
    entry2.place(x=100, y=320)
    canvas = tk.Canvas(root, width=600, height=350, bg="white")
    canvas.place(x=600, y=80)

    def save():
        state["entry"] = entry.get()
        state["entry2"] = entry2.get()
        tmp = state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f, ensure_ascii=False)
        os.replace(tmp, state_path)

    def pressed():
        state["clicks"] += 1
        button.config(bg="#00c000", activebackground="#00c000", text="Pressed")
        save()

    button.config(command=pressed)
    root.bind_all("<Key>", lambda e: (state["keys"].append(e.keysym), root.after_idle(save)))
    root.bind_all("<Control-s>", lambda e: (state.__setitem__("saves", state["saves"] + 1), save()))
    canvas.bind("<ButtonRelease-1>", lambda e: (state["canvas"].append(["release", e.x, e.y]), save()))
    canvas.bind("<Button-4>", lambda e: (state["canvas"].append(["up"]), save()))
    canvas.bind("<Button-5>", lambda e: (state["canvas"].append(["down"]), save()))

    def ready():
        root.update_idletasks()

        def centre(w):
            return [w.winfo_rootx() + w.winfo_width() // 2, w.winfo_rooty() + w.winfo_height() // 2]

        state["widgets"] = {"button": centre(button), "entry": centre(entry), "entry2": centre(entry2),
                            "canvas": centre(canvas), "hover": centre(hover)}
        if busy_text:
            state["widgets"]["text"] = centre(busy_text[0])
        state["ready"] = True
        save()

    if busy:  # a text-heavy, colourful screen: PNGs of it are larger than of a flat form
        import random

        rnd = random.Random(1)
        text = tk.Text(root, width=120, height=16, font=("TkFixedFont", 11), wrap="word")
        text.place(x=20, y=440)
        words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()
        text.insert("1.0", "\n".join(" ".join(rnd.choice(words) for _ in range(18)) for _ in range(200)))
        for _ in range(300):
            x, y = rnd.randrange(0, 600), rnd.randrange(0, 350)
            canvas.create_rectangle(x, y, x + rnd.randrange(5, 60), y + rnd.randrange(5, 40),
                                    fill="#%06x" % rnd.randrange(0xFFFFFF), outline="")
        state["busy"] = True
        busy_text.append(text)

    root.after(300, ready)
    root.mainloop()


if __name__ == "__main__":
    main(sys.argv[1], busy="--busy" in sys.argv[2:])
