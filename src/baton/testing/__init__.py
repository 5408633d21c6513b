"""Testing a project: conversation stories, a settable clock, pytest helpers."""

from baton.testing.clock import TestClock
from baton.testing.runner import StoryResult, run_stories

__all__ = ["StoryResult", "TestClock", "run_stories"]
