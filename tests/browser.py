"""Debian's chromium driven by Playwright, as every browser test launches it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]


def launch(pw: Any) -> Any:
    """A headless chromium from ``sync_playwright()``'s handle."""
    return pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


def watched_page(browser: Any) -> tuple[Any, list[str]]:
    """A new page and the list its console errors and uncaught exceptions go to."""
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, problems
