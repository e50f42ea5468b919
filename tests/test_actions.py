"""events_to_actions on hand-written event lists: the rules a person would expect."""
from recorder.actions import DOUBLE_CLICK_TIME, DRAG_THRESHOLD, SCROLL_GAP, STILL_AFTER, events_to_actions

META = {"screen": {"width": 1000, "height": 500}}


def key(t, name, pressed, code, char=None, mods=None):
    ev = {"t": t, "kind": "key", "key": name, "keycode": code, "pressed": pressed, "char": char}
    if mods is not None:
        ev["mods"] = mods
    return ev


def tap(t, name, code, char=None, mods=None):
    return [key(t, name, True, code, char, mods), key(t + 0.01, name, False, code, None, mods)]


def btn(t, x, y, pressed, button="left"):
    return {"t": t, "kind": "button", "x": x, "y": y, "button": button, "pressed": pressed}


def click(t, x, y, button="left"):
    return [btn(t, x, y, True, button), btn(t + 0.02, x, y, False, button)]


def move(t, x, y):
    return {"t": t, "kind": "move", "x": x, "y": y}


def scroll(t, x, y, dy, dx=0):
    return {"t": t, "kind": "scroll", "x": x, "y": y, "dx": dx, "dy": dy}


def kinds(actions):
    return [a["kind"] for a in actions]


def test_click_coordinates_are_normalised_to_the_screen():
    (a,) = events_to_actions(click(1.0, 250, 100), META, {})
    assert a["kind"] == "click" and a["button"] == "left" and a["count"] == 1
    assert (a["x"], a["y"]) == (0.25, 0.2)
    assert a["t"] == 1.0 and a["frame"] is None


def test_double_click_needs_both_presses_within_the_time_and_distance():
    fast = click(1.0, 100, 100) + click(1.0 + DOUBLE_CLICK_TIME - 0.1, 102, 101)
    slow = click(1.0, 100, 100) + click(1.0 + DOUBLE_CLICK_TIME + 0.1, 100, 100)
    far = click(1.0, 100, 100) + click(1.2, 140, 100)
    assert kinds(events_to_actions(fast, META)) == ["double_click"]
    assert events_to_actions(fast, META)[0]["count"] == 2
    assert kinds(events_to_actions(slow, META)) == ["click", "click"]
    assert kinds(events_to_actions(far, META)) == ["click", "click"]
    triple = fast + click(1.6, 100, 100)
    assert [(a["kind"], a["count"]) for a in events_to_actions(triple, META)] == [("double_click", 3)]


def test_a_key_between_two_clicks_breaks_the_double_click():
    evs = click(1.0, 100, 100) + tap(1.05, "enter", 36) + click(1.1, 100, 100)
    assert kinds(events_to_actions(evs, META)) == ["click", "key", "click"]


def test_right_and_middle_clicks():
    evs = click(1.0, 10, 10, "right") + click(2.0, 10, 10, "middle") + click(2.2, 10, 10, "right")
    assert kinds(events_to_actions(evs, META)) == ["right_click", "middle_click", "right_click"]


def test_drag_only_past_the_threshold():
    small = [btn(1.0, 100, 100, True), move(1.1, 100 + DRAG_THRESHOLD - 1, 100),
             btn(1.2, 100 + DRAG_THRESHOLD - 1, 100, False)]
    big = [btn(1.0, 100, 100, True), move(1.1, 150, 120), move(1.2, 300, 200), btn(1.3, 300, 200, False)]
    assert kinds(events_to_actions(small, META)) == ["click"]
    (d,) = events_to_actions(big, META)
    assert d["kind"] == "drag" and (d["x"], d["y"], d["x2"], d["y2"]) == (0.1, 0.2, 0.3, 0.4)
    assert d["t"] == 1.0 and d["t_end"] == 1.3


def test_scroll_bursts_merge_but_not_across_a_gap_or_a_reversal():
    evs = [scroll(1.0, 50, 50, -1), scroll(1.1, 52, 50, -1), scroll(1.2, 53, 51, -1),
           scroll(1.2 + SCROLL_GAP + 0.1, 53, 51, -1), scroll(2.5, 53, 51, 1), scroll(2.55, 53, 51, 1)]
    acts = events_to_actions(evs, META)
    assert [(a["kind"], a["dy"]) for a in acts] == [("scroll", -3), ("scroll", -1), ("scroll", 2)]
    assert (acts[0]["x"], acts[0]["y"]) == (0.05, 0.1)  # where the burst started


def test_typed_text_merges_with_shift_and_non_ascii():
    evs = [key(1.0, "shift", True, 50), key(1.01, "h", True, 43, "H", ["shift"]),
           key(1.02, "shift", False, 50, None, ["shift"]), key(1.03, "h", False, 43)]
    evs += tap(1.1, "é", 200, "é") + tap(1.2, "space", 65, " ") + tap(1.3, "€", 201, "€")
    (a,) = events_to_actions(evs, META)
    assert a["kind"] == "type" and a["text"] == "Hé €"


def test_backspace_edits_text_being_typed_and_is_a_key_otherwise():
    evs = (tap(1.0, "a", 38, "a") + tap(1.1, "b", 56, "b") + tap(1.2, "c", 54, "c")
           + tap(1.3, "backspace", 22) + tap(1.4, "backspace", 22) + tap(1.5, "x", 53, "x"))
    (a,) = events_to_actions(evs, META)
    assert a["text"] == "ax"
    after_click = click(2.0, 10, 10) + tap(2.1, "backspace", 22)
    assert kinds(events_to_actions(after_click, META)) == ["click", "key"]


def test_enter_and_tab_are_keys_that_end_the_text():
    evs = tap(1.0, "a", 38, "a") + tap(1.1, "tab", 23, "\t") + tap(1.2, "b", 56, "b") + tap(1.3, "enter", 36, "\n")
    acts = events_to_actions(evs, META)
    assert [(a["kind"], a.get("text") or a.get("combo")) for a in acts] == [
        ("type", "a"), ("key", "tab"), ("type", "b"), ("key", "enter")]


def test_combos_use_the_unshifted_key_and_ordered_modifiers():
    evs = [key(1.0, "ctrl", True, 37), key(1.01, "shift", True, 50),
           key(1.02, "s", True, 39, "S", ["ctrl", "shift"]), key(1.03, "s", False, 39),
           key(1.04, "shift", False, 50), key(1.05, "ctrl", False, 37)]
    evs += [key(2.0, "alt", True, 64), key(2.01, "f4", True, 70, None, ["alt"]), key(2.02, "f4", False, 70),
            key(2.03, "alt", False, 64)]
    acts = events_to_actions(evs, META)
    assert [a["combo"] for a in acts] == ["ctrl+shift+s", "alt+f4"]
    assert acts[0]["t"] == 1.02


def test_release_is_paired_to_its_press_by_keycode():
    # shift+a: pressed as "A", shift released first, then the key is released as "a"
    evs = [key(1.0, "shift", True, 50), key(1.01, "A", True, 38, "A"), key(1.02, "shift", False, 50),
           key(1.03, "a", False, 38), key(1.1, "b", True, 56, "b"), key(1.11, "b", False, 56)]
    (a,) = events_to_actions(evs, META)
    assert a["text"] == "Ab"


def test_a_modifier_held_when_recording_started_does_not_stick():
    # No "mods" in the events (tracked state only): ctrl was down before the start, so only its
    # release is seen. Later keys must not come out as ctrl combos.
    evs = [key(0.5, "ctrl", False, 37)] + tap(1.0, "a", 38, "a") + tap(1.1, "s", 39, "s")
    (a,) = events_to_actions(evs, META)
    assert a == {**a, "kind": "type", "text": "as"}


def test_x_state_mods_win_over_tracked_presses():
    # ctrl was held before the start (its press unseen): the X state on the event still says so.
    evs = [key(1.0, "s", True, 39, "s", ["ctrl"]), key(1.01, "s", False, 39, None, ["ctrl"])]
    (a,) = events_to_actions(evs, META)
    assert a["kind"] == "key" and a["combo"] == "ctrl+s"


def test_release_of_a_button_pressed_before_the_start_is_ignored():
    evs = [btn(0.5, 10, 10, False)] + click(1.0, 20, 20)
    assert kinds(events_to_actions(evs, META)) == ["click"]


def test_each_action_gets_the_latest_frame_before_its_first_event():
    frames = {"a.png": 0.5, "b.png": 0.99, "c.png": 1.0, "d.png": 1.5}
    evs = click(1.0, 10, 10) + [key(1.6, "shift", True, 50), key(1.8, "h", True, 43, "H", ["shift"])]
    acts = events_to_actions(evs, META, frames)
    assert acts[0]["frame"] == "b.png"  # c.png was grabbed at the same instant: not "before"
    assert acts[1]["frame"] == "d.png"  # typing starts with the shift press at 1.6


def test_pointer_actions_keep_the_frame_from_before_the_pointer_set_off():
    frames = {"a.png": 0.1, "b.png": 0.5, "c.png": 0.9, "d.png": 1.45, "e.png": 2.0}
    evs = (click(0.2, 10, 10)  # ends at 0.22; c.png is the first frame grabbed STILL_AFTER later
           + [move(0.95, 20, 20), move(1.0, 30, 30)] + click(1.5, 30, 30)  # set off at 0.95
           + [move(1.53, 40, 40)] + click(1.6, 40, 40)  # set off too soon after: no still frame
           + tap(1.7, "enter", 36)
           + [move(2.1, 50, 50)] + [btn(2.2, 50, 50, True), move(2.3, 90, 50), btn(2.4, 90, 50, False)])
    acts = events_to_actions(evs, META, frames)
    assert kinds(acts) == ["click", "click", "click", "key", "drag"]
    assert acts[0]["frame_still"] == "a.png"  # the first action: no action before it
    assert (acts[1]["frame"], acts[1]["frame_still"]) == ("d.png", "c.png")
    assert acts[2]["frame"] == "d.png" and "frame_still" not in acts[2]
    assert 1.45 < 1.52 + STILL_AFTER
    assert "frame_still" not in acts[3]  # keys: nothing to hover
    assert acts[4]["frame_still"] == "e.png"  # set off at 2.1; moves with the button held are the drag


def test_pause_flushes_and_forgets_held_state():
    evs = (tap(1.0, "a", 38, "a") + [key(1.5, "ctrl", True, 37), {"t": 2.0, "kind": "mark", "what": "pause"},
                                      {"t": 3.0, "kind": "mark", "what": "resume"}] + tap(3.1, "b", 56, "b"))
    acts = events_to_actions(evs, META)
    assert [(a["kind"], a.get("text")) for a in acts] == [("type", "a"), ("type", "b")]


def test_ctrl_c_that_stopped_the_recorder_is_dropped():
    evs = click(1.0, 10, 10) + [key(2.0, "ctrl", True, 37), key(2.01, "c", True, 54, "c", ["ctrl"]),
                                {"t": 2.1, "kind": "mark", "what": "stop", "reason": "sigint"}]
    assert kinds(events_to_actions(evs, META)) == ["click"]
    evs[-1]["reason"] = "hotkey"
    assert kinds(events_to_actions(evs, META)) == ["click", "key"]


def test_redacted_meta_masks_text_even_if_events_were_not():
    meta = {**META, "recorder": {"redact_typing": True}}
    (a,) = events_to_actions(tap(1.0, "p", 33, "p") + tap(1.1, "w", 25, "w"), meta)
    assert a["text"] == "**"


def test_modifier_click_records_the_modifiers():
    evs = [key(1.0, "ctrl", True, 37), btn(1.1, 10, 10, True), btn(1.12, 10, 10, False), key(1.2, "ctrl", False, 37)]
    (a,) = events_to_actions(evs, META)
    assert a["kind"] == "click" and a["mods"] == ["ctrl"]


def test_altgr_and_caps_lock_make_no_action_of_their_own():
    # AltGr+q typing "@" (German layout), Caps Lock then "AB": one type action "x@AB".
    evs = (tap(1.0, "x", 53, "x") + [key(1.1, "altright", True, 108), key(1.11, "q", True, 24, "@"),
                                      key(1.12, "q", False, 24), key(1.13, "altright", False, 108)]
           + tap(1.2, "capslock", 66) + tap(1.3, "a", 38, "A") + tap(1.4, "b", 56, "B"))
    (a,) = events_to_actions(evs, META)
    assert a["kind"] == "type" and a["text"] == "x@AB"
