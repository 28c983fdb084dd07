#!/usr/bin/env python3
"""The web console, end to end in a real browser (Debian's chromium through Playwright).

Run by scripts/browser.sh against a fresh server (WEBHOOK_ALLOW_PRIVATE=true, a short retry
schedule). A CRM developer's day: sign in as an app, point the popup at a local receiver, add an
agent, ring a simulated call and watch popup and hangup arrive in its timeline, make the receiver
fail and read the attempt's response code, find the failing app as the operator, recover. Writes the
main screens to <screenshots>/console-*.png and prints how soon each page became interactive.
"""

import argparse
import json
import shutil
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from playwright.sync_api import expect, sync_playwright

VIEWPORT = {"width": 1280, "height": 860}


class Receiver:
    """A CRM's webhook endpoint on 127.0.0.1: answers 200, or 500 while `failing`; `/broken` always 503."""

    def __init__(self):
        self.failing = False
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                receiver.received.append((self.path, body))
                if self.path.startswith("/broken"):
                    status, answer = 503, b'{"error":"receiver under maintenance"}'
                elif receiver.failing:
                    status, answer = 500, b'{"error":"crm database is down"}'
                else:
                    status, answer = 200, b'{"ok":true}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, fmt, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Api:
    """The public API, for seeding what the console is not being tested on."""

    def __init__(self, server):
        self.base = server + "/v2/integrations"

    def call(self, method, path, token=None, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            request.add_header("Authorization", token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=15) as response:
                envelope = json.load(response)
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: {error.code} {error.read().decode()}") from None
        return envelope["Data"]


class Flow:
    def __init__(self, args, browser):
        self.args = args
        self.browser = browser
        self.api = Api(args.server)
        self.receiver = Receiver()
        self.timings = []
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.errors = []

    # -- helpers ---------------------------------------------------------------------------------

    def console(self, fragment=""):
        return f"{self.args.server}/console{fragment}"

    def ready(self, view, page=None, label=None):
        """Waits until `view` is interactive; records how long after its navigation that was."""
        page = page or self.page
        page.wait_for_selector(f'body[data-ready="{view}"]')
        ms = page.evaluate("v => performance.getEntriesByName('interactive ' + v).at(-1).duration", view)
        self.timings.append((label or view, ms))

    def goto(self, fragment, view, page=None):
        page = page or self.page
        page.goto(self.console(fragment))
        self.ready(view, page, f"{view} (page load)")

    def tab(self, name, view):
        self.page.get_by_role("navigation", name="Sections").get_by_role("link", name=name).click()
        self.ready(view)

    def shot(self, name, page=None):
        (page or self.page).screenshot(path=f"{self.args.screenshots}/console-{name}.png", full_page=True)

    # -- the flow ---------------------------------------------------------------------------------

    def seed(self):
        customer = self.api.call(
            "POST", "/customer", self.args.admin_token, {"CustomerName": "Acme CRM", "Email": "dev@acme.example"}
        )
        self.customer = customer
        self.customer_token = self.api.call(
            "POST", "/token", body={"Id": customer["CustomerID"], "Secret": customer["CustomerSecret"], "Entity": "customer"}
        )
        self.app = self.api.call(
            "POST",
            "/app",
            self.customer_token,
            {
                "AppName": "Acme Sandbox",
                "ExotelAccountSid": "acme1",
                "ExotelApiKey": "key",
                "ExotelApiToken": "token",
                "ExotelDomain": "sandbox",
                "IsActive": True,
            },
        )

    def sign_in_as_app(self):
        page = self.page
        self.goto("", "signin")
        self.shot("signin")
        page.get_by_label("AppID").fill(self.app["AppID"])
        page.get_by_label("AppSecret").fill("wrong-secret")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("wrong")
        page.get_by_label("AppSecret").fill(self.app["AppSecret"])
        page.get_by_role("button", name="Sign in").click()
        self.ready("overview", label="overview (after sign-in)")
        expect(page.get_by_role("heading", level=1)).to_have_text("Acme Sandbox")
        expect(page.locator("#app-domain")).to_have_text("sandbox")
        token = page.evaluate("() => JSON.parse(sessionStorage.getItem('integrations-core.console')).token")
        assert token, "the token lives in sessionStorage"
        assert page.evaluate("() => localStorage.length") == 0, "nothing in localStorage"
        assert page.evaluate("() => document.cookie") == "", "no cookie"
        self.shot("overview")

    def report(self):
        print("\nInteractive within N ms of navigation:")
        for label, ms in self.timings:
            print(f"  {label:<40} interactive within {ms:.0f} ms of navigation")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--failure-screenshot", default="/tmp/console-failure.png")
    args = parser.parse_args()

    executable = shutil.which("chromium")
    if not executable:
        sys.exit("chromium is not on PATH (scripts/browser.sh installs it with apt-get)")
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        flow = Flow(args, browser)
        steps = [
            ("seed a customer and a sandbox app through the API", flow.seed),
            ("sign in as the app (a wrong secret first) and see its overview", flow.sign_in_as_app),
        ]
        failed = False
        for name, step in steps:
            step_started = time.monotonic()
            try:
                step()
            except Exception:
                failed = True
                print(f"not ok - {name}")
                traceback.print_exc()
                try:
                    path = args.failure_screenshot
                    flow.page.screenshot(path=path, full_page=True)
                    print(f"  screenshot of the failure: {path}")
                except Exception:
                    pass
                break
            print(f"ok - {name} ({time.monotonic() - step_started:.1f} s)")
        if flow.errors:
            failed = True
            print("not ok - the page threw:", *flow.errors, sep="\n  ")
        flow.report()
        browser.close()
    print(f"\n{'FAILED' if failed else 'passed'} in {time.monotonic() - started:.1f} s")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
