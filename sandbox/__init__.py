"""The practice desktop: private Xvfb displays, built-in Tk task apps with perturbation knobs
and success signals, and a scripted demonstrator that drives them through real X input.

Imports nothing of deskact but `recorder` (to record demonstrations)."""
