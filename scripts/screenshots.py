"""Take the README's screenshots from the current app (issue 13 item 8).

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png

It builds the demo on a new SQLite database in a temporary folder, serves the web app on a free
local port, signs in as the demo agent in headless Chromium (Debian's `chromium`, driven by
Playwright, a test dependency: `pip install -e '.[test]'`) and captures the sign-in page, the
orders view and the page of an order with a return. Nothing outside docs/screenshots/ changes.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from postsales.adapters.demo import build_demo
from postsales.adapters.web import create_app
from postsales.core.bootstrap import bootstrap
from postsales.core.services.schema import upgrade_database
from postsales.core.services.search import search_orders
from postsales.core.services.users import get_user

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def main() -> int:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("Debian's chromium is needed: apt-get install chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="pst-shots-") as folder:
        app = bootstrap(None, f"sqlite:///{folder}/demo.db")
        upgrade_database(app)
        build_demo(app, 400)
        agent = get_user(app, "agent")
        returned = search_orders(app, agent, {"return_status": "requested"}).orders
        order_id = returned[0]["id"] if returned else search_orders(app, agent).orders[0]["id"]
        web = create_app(app, secret_key="screenshots-" + "k" * 40)
        httpd = make_server("127.0.0.1", 0, web, threaded=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{httpd.server_port}"
        try:
            shoot(chromium, base, order_id)
        finally:
            httpd.shutdown()
            app.engine.dispose()
    for name in ("login", "orders", "order"):
        print(OUT / f"{name}.png")
    return 0


def shoot(chromium: str, base: str, order_id: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
        page.goto(f"{base}/login")
        page.screenshot(path=OUT / "login.png")
        page.get_by_label("Username").fill("agent")
        page.get_by_label("Password").fill("agent-pass-1")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{base}/**")
        page.goto(f"{base}/orders")
        page.screenshot(path=OUT / "orders.png")
        page.goto(f"{base}/orders/{order_id}")
        page.screenshot(path=OUT / "order.png", full_page=False)
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
