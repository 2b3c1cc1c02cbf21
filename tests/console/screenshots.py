"""`make screenshots`: a small synthetic county served over loopback, its main console pages saved as
PNG under docs/screenshots/ (the README shows them). Uses the system chromium, like the tests."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from browser import launched, log_in, open_page  # noqa: E402
from console_county import PASSWORDS, build  # noqa: E402

PAGES = [  # (file, user, path)
    ("overview", "steward", "/console/overview"),
    ("quarantine", "steward", "/console/quarantine"),
    ("review", "steward", "/console/review/{rid}"),
    ("quality", "steward", "/console/quality"),
    ("map", "grid", "/console/map"),
    ("township-map", "steward", "/console/map?grid={township}&figure=elderly_alone"),
    ("grid", "grid", "/console/grids/{village}"),
    ("events", "steward", "/console/events"),
    ("assessment", "steward", "/console/assessment"),
    ("docs", "steward", "/docs"),
]


def main(out: Path) -> None:
    import uvicorn
    from sqlalchemy import select

    from hub.api.main import create_app
    from hub.db.models import MatchReview
    from hub.db.session import transaction

    os.environ.setdefault("HUB_SECRET_KEY", "screenshots-secret")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        county = build(Path(folder) / "county")
        with transaction(county.ctx.db_url) as s:
            rid = s.scalar(select(MatchReview.id).order_by(MatchReview.id))
        app = create_app(county.ctx)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        ids = {"rid": rid, "township": county.township, "village": county.village}
        with launched() as browser:
            pages = {}
            for user in ("steward", "grid"):
                context, page, _ = open_page(browser, f"http://127.0.0.1:{port}")
                log_in(page, user, PASSWORDS[user])
                pages[user] = page
            for name, user, path in PAGES:
                page = pages[user]
                page.goto(path.format(**ids))
                page.wait_for_load_state("networkidle")
                if "/map" in path:
                    page.locator("#map.drawn").wait_for()
                if path == "/console/quarantine":
                    page.locator("#queue tbody tr a").first.click()
                    page.locator("#detail .row-detail").wait_for()
                page.screenshot(path=str(out / f"{name}.png"))  # the first screenful: what a user sees on opening
                print(f"saved {out / f'{name}.png'}")
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
