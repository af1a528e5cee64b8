"""A scrolling form that is never a Tab stop itself: Tab goes from field to field."""

from __future__ import annotations

from textual.containers import VerticalScroll


class Form(VerticalScroll, can_focus=False):
    """Its fields are the Tab stops; the form scrolls when they do not fit."""
