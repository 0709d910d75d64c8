"""JupyterHub's own pages (login, home, spawn, spawn progress, stop, errors) in Japanese.

Add ``TEMPLATE_DIR`` to ``c.JupyterHub.template_paths``.  Its ``page.html`` extends JupyterHub's
and adds one script: when the browser's language is Japanese (``navigator.language``, as the
spawn form decides), the texts JupyterHub renders or later writes into the page (progress
messages, the stop button's states) are replaced by their Japanese versions from
``templates/hybridhub-hub-ja.json``; any other language leaves the page as JupyterHub made it.
"""

from __future__ import annotations

from pathlib import Path

TEMPLATE_DIR = str(Path(__file__).parent / "templates")
CATALOG = Path(TEMPLATE_DIR) / "hybridhub-hub-ja.json"
