"""Capture of human demonstrations (pynput events + mss frames) into episode folders."""
from .capture import Recorder
from .episode import FORMAT_VERSION, Episode, find_episodes
from .errors import DeskactError, DisplayError, EpisodeError, RecorderError

__all__ = ["FORMAT_VERSION", "Episode", "Recorder", "find_episodes", "DeskactError", "DisplayError",
           "EpisodeError", "RecorderError"]
