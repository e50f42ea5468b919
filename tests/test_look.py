"""models/look.py: the words of the demos' first screens tell whether a run's screen draws text as
the demos did. Drawn screens (OpenCV text), no display needed."""
import cv2
import numpy as np

from models import look

WORDS = [("Preferences", 120, 90), ("Username", 120, 160), ("Remember", 120, 230), ("Password", 420, 160),
         ("Cancel", 420, 230), ("Export", 700, 90)]


def screen(words=WORDS, font=cv2.FONT_HERSHEY_SIMPLEX, size=0.6, shift=(0, 0), fields=True):
    g = np.full((600, 960), 236, np.uint8)
    if fields:  # empty entry fields: bare frames, the same under every font
        for y in (140, 210):
            cv2.rectangle(g, (600, y), (880, y + 30), 60, 2)
    for text, x, y in words:
        cv2.putText(g, text, (x + shift[0], y + shift[1]), font, size, 20, 1, cv2.LINE_AA)
    return g


def test_words_are_text_not_frames():
    assert look.words(screen(words=[])) == []  # empty fields alone: nothing to tell a font by
    boxes = look.words(screen())
    assert len(boxes) == len(WORDS)
    assert max(w for _, _, w, _ in boxes) == boxes[0][2]  # widest first


def test_the_demos_shared_words_tell_another_font_apart():
    typed = screen(words=WORDS + [("alice", 700, 230)])  # a typed text in one demo only
    firsts = [(typed, 1.0), (screen(), 1.0), (screen(), 1.0)]
    kept = look.common_words(firsts)
    assert 4 <= len(kept) <= look.WORDS
    assert all(look.found(screen(), img) >= look.SAME for img, _ in kept)  # not "alice": one demo typed it
    assert look.drawn_alike(screen(shift=(90, 40)), kept)  # moved (layout, window): the same font
    assert not look.drawn_alike(screen(font=cv2.FONT_HERSHEY_TRIPLEX), kept)  # another family
    assert not look.drawn_alike(screen(size=0.8), kept)  # another size
    assert not look.drawn_alike(screen(words=[]), kept)  # nothing but the empty fields


def test_a_popup_over_some_words_still_looks_alike():
    kept = look.common_words([(screen(), 1.0), (screen(), 1.0)])
    half = screen()
    cv2.rectangle(half, (100, 60), (300, 180), 200, -1)  # a dialog hides Preferences and Username
    assert look.drawn_alike(half, kept)
    cv2.rectangle(half, (100, 60), (960, 600), 200, -1)  # ... and then all of them
    assert not look.drawn_alike(half, kept)


def test_words_scale_with_the_screen():
    kept = look.common_words([(screen(), 1.0)])
    big = cv2.resize(screen(), None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)  # Retina: 2 px per logical px
    assert look.drawn_alike(big, kept, scale=2.0)


def test_line_offset_leads_a_click_at_a_rows_edge_to_the_middle_of_its_line():
    import cv2

    img = np.full((40, 128), 255, np.uint8)
    for y in (12, 30):  # two rows of text 18 px apart, their ink on rows 3-14 and 21-32
        cv2.putText(img, "budget 2022.xlsx", (2, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 0, 1, cv2.LINE_AA)
    off = look.line_offset(img)  # the middle (19.5) is the top edge of the second row
    assert 4 <= off <= 9, off
    assert look.line_offset(img[:-6]) < 0  # the middle nearer to the first row now
    assert look.line_offset(np.full((40, 128), 255, np.uint8)) is None  # no text: leave it
    blank_end = np.full((40, 128), 255, np.uint8)
    blank_end[:4] = img[11:15]  # a click beside the text: the nearest line is far off
    assert look.line_offset(blank_end) is None
