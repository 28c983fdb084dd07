#!/usr/bin/env python3
"""The web console, end to end in a real browser (Debian's chromium through Playwright).

Run by scripts/browser.sh against a fresh server (WEBHOOK_ALLOW_PRIVATE=true, a short retry
schedule). A CRM developer's day: sign in as an app, point the popup at a local receiver, add an
agent, ring a simulated call and watch popup and hangup arrive in its timeline, make the receiver
fail and read the attempt's response code, find the failing app as the operator, recover. Writes the
main screens to <screenshots>/console-*.png and prints how soon each page became interactive.
"""

import argparse
import html
import json
import re
import shutil
import sys
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

from playwright.sync_api import expect, sync_playwright

VIEWPORT = {"width": 1280, "height": 860}


class Receiver:
    """A CRM's webhook endpoint on 127.0.0.1: answers 200, or 500 while `failing`; `/broken` always 503."""

    def __init__(self, port=0):
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

            def do_GET(self):
                # A CRM's page framing the console: /crm?src=<console link>.
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                src = html.escape(query.get("src", [""])[0], quote=True)
                page = f'<!doctype html><title>CRM</title><h1>CRM</h1><iframe id="console" title="Console" src="{src}" width="1000" height="700"></iframe>'
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, fmt, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
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
        # The CRM whose origin CONSOLE_FRAME_ANCESTORS allows (scripts/browser.sh starts the server so).
        self.crm = Receiver(args.crm_port)
        self.timings = []
        self.context = browser.new_context(viewport=VIEWPORT)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.errors = []
        self.watch(self.page)

    # -- helpers ---------------------------------------------------------------------------------

    def watch(self, page):
        """Fails the run on an uncaught script error or anything the Content-Security-Policy blocked."""
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on(
            "console",
            lambda message: "Content Security Policy" in message.text and self.errors.append(f"CSP: {message.text}"),
        )

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

    def configure_webhooks(self):
        page = self.page
        self.tab("Settings", "settings")
        popup = page.locator('form[data-key="popup"]')
        popup.get_by_label("Popup (popup)").fill("not a url")
        popup.get_by_role("button", name="Save").click()
        expect(popup.get_by_role("alert")).to_contain_text("Value for popup must be a http or https URL")
        for key, label, path in [
            ("popup", "Popup (popup)", "/popup"),
            ("incomingCallHangup", "Incoming call hangup (incomingCallHangup)", "/hangup"),
            ("missedCall", "Missed call (missedCall)", "/broken/missed"),
        ]:
            form = page.locator(f'form[data-key="{key}"]')
            form.get_by_label(label).fill(self.receiver.url + path)
            form.get_by_role("button", name="Save").click()
            expect(form.locator(".ok")).to_have_text(f"Saved {key}.")
        popup.get_by_role("button", name="Send test").click()
        expect(popup.locator(".response-code")).to_have_text("200")
        expect(popup.locator(".test-result")).to_contain_text('{"ok":true}')
        assert any(path == "/popup" and b'"CallSid":"test' in body for path, body in self.receiver.received), "the receiver got the test"
        self.shot("settings")

    def add_agent(self):
        page = self.page
        self.tab("Agents", "agents")
        page.get_by_role("button", name="Add agent").click()
        expect(page.get_by_role("alert")).to_contain_text("AppUserId, AppUsername, Email, ExotelUserName, VirtualNumber are required")
        page.get_by_label("AppUserId").fill("agent-asha")
        page.get_by_label("Agent name").fill("Asha Kumar")
        page.get_by_label("Email").fill("asha@acme.example")
        page.get_by_label("Exotel user name").fill("Asha Kumar")
        page.get_by_label("Agent number (optional)").fill("+919876543210")
        page.get_by_label("Virtual number").fill("+918047112233")
        page.get_by_role("button", name="Add agent").click()
        row = page.locator('tr[data-user="agent-asha"]')
        expect(row).to_contain_text("Asha Kumar")
        expect(row.locator(".device")).to_have_text("off")
        row.get_by_role("button", name="Use phone").click()
        expect(row.locator(".device")).to_have_text("phone")
        row.get_by_role("button", name="Use SIP").click()
        expect(row.locator(".device")).to_have_text("sip")
        app_token = self.app_token()
        user = self.api.call("GET", "/usermapping?user_id=agent-asha", app_token)
        assert user["SipSecret"] not in page.content(), "the SIP secret is never shown"
        self.shot("agents")

    def app_token(self):
        return self.api.call("POST", "/token", body={"Id": self.app["AppID"], "Secret": self.app["AppSecret"], "Entity": "app"})

    def simulate_an_answered_call(self):
        page = self.page
        self.tab("Sandbox", "sandbox")
        page.get_by_label("Outcome").select_option("answered")
        page.get_by_label("Talk seconds").fill("42")
        page.get_by_role("button", name="Ring").click()
        link = page.locator("#simulated-call")
        expect(link).to_be_visible()
        self.shot("sandbox")
        self.answered_sid = link.inner_text()
        link.click()
        self.ready("call")
        timeline = page.locator("#timeline")
        for event_type in ["popup", "incomingcallhungup"]:
            event = timeline.locator(f'li[data-event-type="{event_type}"]').last
            expect(event.locator('.delivery[data-status="delivered"]')).to_be_visible()
            expect(event.locator(".attempt .response-code").first).to_have_text("200")
        expect(timeline.locator("li.event")).to_have_count(3)
        self.shot("call")
        hangup = timeline.locator('li[data-event-type="incomingcallhungup"] .delivery')
        hangup.get_by_role("button", name="Retry").click()
        expect(hangup.locator(".attempt")).to_have_count(2)
        expect(hangup).to_have_attribute("data-status", "delivered")

    def place_an_outbound_call(self):
        page = self.page
        self.tab("Sandbox", "sandbox")
        page.get_by_label("Number to call").fill("+919800000042")
        page.get_by_role("button", name="Call").click()
        page.locator("#simulated-call").click()
        self.ready("call")
        timeline = page.locator("#timeline")
        expect(timeline.locator('li[data-event-type="outbound_call"]')).to_have_count(1)
        expect(timeline.locator('li[data-event-type="terminal"]')).to_have_count(1, timeout=15_000)

    def calls_appear_live(self):
        page = self.page
        self.tab("Calls", "calls")
        expect(page.locator(f'tr[data-call-sid="{self.answered_sid}"]')).to_be_visible()
        call = self.api.call("POST", "/sandbox/inbound_call", self.app_token(), {"from": "+919800000009", "outcome": "missed"})
        started = time.monotonic()
        expect(page.locator(f'tr[data-call-sid="{call["CallSid"]}"]')).to_be_visible(timeout=2000)
        print(f"  a new call showed {time.monotonic() - started:.2f} s after it was made, without a reload")
        first = page.locator("#calls tbody tr").first
        expect(first).to_have_attribute("data-call-sid", call["CallSid"])
        self.shot("calls")

    def a_failing_receiver_shows_its_answer(self):
        page = self.page
        self.receiver.failing = True
        call = self.api.call("POST", "/sandbox/inbound_call", self.app_token(), {"from": "+919800000011", "talk_seconds": 5})
        self.failed_sid = call["CallSid"]
        page.locator(f'tr[data-call-sid="{self.failed_sid}"] a').click()
        self.ready("call")
        hangup = page.locator('#timeline li[data-event-type="incomingcallhungup"]')
        expect(hangup.locator('.delivery[data-status="dead"]')).to_be_visible(timeout=15_000)
        expect(hangup.locator(".attempt .response-code")).to_have_text(["500", "500", "500"])
        expect(hangup.locator(".attempt pre.body").first).to_have_text('{"error":"crm database is down"}')
        self.shot("call-failing")

    def the_operator_finds_the_failing_app(self):
        context = self.browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(self.console())
        self.ready("signin", page, "signin (operator, page load)")
        self.watch(page)
        # By keyboard only: back from the first field to the kinds, arrows pick one, Enter submits.
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        expect(page.get_by_label("Operator")).to_be_checked()
        page.keyboard.press("Tab")
        expect(page.get_by_label("Admin token")).to_be_focused()
        page.keyboard.type(self.args.admin_token)
        page.keyboard.press("Enter")
        self.ready("operator", page, "operator (after sign-in)")
        failing = page.locator(f'#failing-apps tr[data-app-id="{self.app["AppID"]}"]')
        expect(failing).to_be_visible()
        expect(failing.locator(".dead")).not_to_have_text("0")
        self.shot("operator", page)
        # Its dead deliveries open in a new tab, signed in as the app through the operator's console
        # link (no AppSecret); this tab stays the operator's.
        with context.expect_page() as opened:
            failing.get_by_role("button", name="Deliveries").click()
        app_tab = opened.value
        app_tab.set_default_timeout(10_000)
        self.watch(app_tab)
        self.ready("deliveries", app_tab, "deliveries (the operator's console link)")
        expect(app_tab.locator('#deliveries .delivery[data-status="dead"]').first).to_be_visible()
        assert "link=" not in app_tab.url, app_tab.url
        app_tab.close()
        expect(page.get_by_label("Admin token")).to_have_count(0)
        self.operator_page = page

    def the_operator_manages_customers_and_apps(self):
        page = self.operator_page
        page.on("dialog", lambda dialog: dialog.accept())
        page.locator(f'#failing-apps tr[data-app-id="{self.app["AppID"]}"]').get_by_role("link", name=self.customer["CustomerID"]).click()
        self.ready("operator-customer", page)
        row = page.locator(f'#apps tr[data-app-id="{self.app["AppID"]}"]')
        row.get_by_role("button", name="Switch off").click()
        expect(row.locator(".active")).to_have_text("off")
        assert self.api.call("GET", "/app?entity=app", self.app_token())["IsActive"] is False
        row.get_by_role("button", name="Switch on").click()
        expect(row.locator(".active")).to_have_text("on")
        self.shot("operator-customer", page)
        page.get_by_role("link", name="← Operator").click()
        self.ready("operator", page)
        page.get_by_label("Customer name").fill("Short-lived Ltd")
        page.get_by_label("Customer email").fill("owner@short-lived.example")
        page.get_by_role("button", name="Create customer").click()
        expect(page.locator("#customer-created")).to_contain_text("CustomerSecret")
        page.get_by_role("link", name="Open Short-lived Ltd").click()
        self.ready("operator-customer", page)
        page.get_by_role("button", name="Delete customer").click()
        self.ready("operator", page)
        expect(page.get_by_role("link", name="Short-lived Ltd")).to_have_count(0)
        page.context.close()

    def the_customer_sees_its_apps_and_creates_one(self):
        context = self.browser.new_context(
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            locale="en-US",
            timezone_id="America/New_York",
        )
        page = context.new_page()
        self.watch(page)
        page.set_default_timeout(10_000)
        page.goto(self.console())
        self.ready("signin", page, "signin (phone, page load)")
        page.get_by_label("Customer").check()
        page.get_by_label("CustomerID").fill(self.customer["CustomerID"])
        page.get_by_label("CustomerSecret").fill(self.customer["CustomerSecret"])
        page.get_by_role("button", name="Sign in").click()
        self.ready("customer", page, "customer (after sign-in)")
        row = page.locator(f'#apps tr[data-app-id="{self.app["AppID"]}"]')
        expect(row).to_contain_text("Acme Sandbox")
        # Times in the browser's zone: the API's +05:30 shown as New York time.
        created = row.locator("time")
        shown = datetime.fromisoformat(created.get_attribute("datetime")).astimezone(ZoneInfo("America/New_York"))
        hour = shown.hour % 12 or 12
        expected = f"{shown:%b} {shown.day}, {shown.year}, {hour}:{shown:%M:%S}[\\s\u202f]{'AM' if shown.hour < 12 else 'PM'}"
        expect(created).to_have_text(re.compile(expected))
        page.get_by_label("App name").fill("Acme Second")
        page.get_by_label("Exotel account SID").fill("acme2")
        page.get_by_label("Exotel API key").fill("key-2")
        page.get_by_label("Exotel API token").fill("token-2")
        page.get_by_role("button", name="Create app").click()
        expect(page.locator("#created-app-secret")).not_to_be_empty()
        self.shot("customer", page)
        page.get_by_role("button", name="Open this app").click()
        self.ready("overview", page, "overview (new app, phone)")
        expect(page.get_by_role("heading", level=1)).to_have_text("Acme Second")
        self.shot("overview-phone", page)
        context.close()

    def recover(self):
        page = self.page
        self.receiver.failing = False
        page.goto(self.console("#/app/deliveries?status=dead"))
        self.ready("deliveries", label="deliveries (page load)")
        expect(page.locator('#deliveries .delivery[data-status="dead"]').first).to_be_visible()
        page.get_by_label("expired").check()
        page.get_by_role("button", name="Recover").click()
        expect(page.locator("#recover-result")).to_contain_text("again.")
        queued = int(page.locator("#recover-result .ok").inner_text().split()[1])
        assert queued >= 3, f"the popup, the hangup and the missed call are queued again (got {queued})"
        page.get_by_label("Status").select_option("")
        page.get_by_label("CallSid").fill(self.failed_sid)
        page.get_by_role("button", name="Apply").click()
        self.ready("deliveries")
        for _ in range(30):
            page.get_by_role("button", name="Apply").click()
            self.ready("deliveries")
            if page.locator('#deliveries .delivery[data-status="delivered"]').count() == 3:
                break
            time.sleep(0.5)
        # Two popups (ringing, answered) and the hangup.
        expect(page.locator('#deliveries .delivery[data-status="delivered"]')).to_have_count(3)
        page.get_by_role("button", name="Attempts and body").first.click()
        expect(page.locator("#deliveries .attempt .response-code").last).to_have_text("200")
        self.shot("deliveries")

    def a_console_link_opens_the_console_once(self):
        page = self.page
        self.tab("Overview", "overview")
        # The webhooks of the last 24 hours: the recovered ones delivered, the /broken one failing again.
        delivered = int(page.locator('#webhook-health dd[data-status="delivered"]').inner_text().rstrip("+"))
        dead = int(page.locator('#webhook-health dd[data-status="dead"]').inner_text().rstrip("+"))
        pending = int(page.locator('#webhook-health dd[data-status="pending"]').inner_text().rstrip("+"))
        assert delivered >= 8 and dead + pending >= 1, f"delivered {delivered}, dead {dead}, pending {pending}"
        page.get_by_role("button", name="Create a console link").click()
        url = page.locator("#console-link-url").input_value()
        assert url.startswith(self.console("/#link=")), url
        context = self.browser.new_context(viewport=VIEWPORT)
        admin = context.new_page()
        admin.goto(url)
        self.ready("overview", admin, "overview (console link, page load)")
        expect(admin.get_by_role("heading", level=1)).to_have_text("Acme Sandbox")
        assert "#link=" not in admin.url, "the code leaves the address bar"
        # A token the server no longer knows: the next call signs the tab out, saying why.
        admin.evaluate(
            """() => {
                const key = "integrations-core.console";
                sessionStorage.setItem(key, JSON.stringify({ ...JSON.parse(sessionStorage.getItem(key)), token: "revoked" }));
            }"""
        )
        admin.get_by_role("navigation", name="Sections").get_by_role("link", name="Calls").click()
        self.ready("signin", admin, "signin (after a 401)")
        expect(admin.get_by_role("alert")).to_contain_text("Signed out: Authorization token is unknown or expired")
        assert admin.evaluate("() => sessionStorage.length") == 0, "the dead token is gone"
        used = context.new_page()
        used.goto(url)
        self.ready("signin", used, "signin (used console link)")
        expect(used.get_by_role("alert")).to_contain_text("already used")
        context.close()

    def only_the_allowed_crm_may_frame_the_console(self):
        page = self.page
        self.tab("Overview", "overview")
        page.get_by_role("button", name="Create a console link").click()
        link = page.locator("#console-link-url").input_value()
        context = self.browser.new_context(viewport=VIEWPORT)
        crm = context.new_page()
        crm.goto(f"{self.crm.url}/crm?src={urllib.parse.quote(link, safe='')}")
        framed = crm.frame_locator("#console")
        expect(framed.get_by_role("heading", level=1)).to_have_text("Acme Sandbox")
        self.shot("framed", crm)
        # Another origin (the webhook receiver's port) is refused by frame-ancestors.
        other = context.new_page()
        blocked = []
        other.on("console", lambda message: "frame-ancestors" in message.text and blocked.append(message.text))
        other.goto(f"{self.receiver.url}/crm?src={urllib.parse.quote(self.console(), safe='')}")
        other.wait_for_timeout(1500)
        assert blocked, "the browser did not report the console's frame-ancestors refusal"
        expect(other.frame_locator("#console").get_by_role("heading")).to_have_count(0)
        context.close()

    def report(self):
        print("\nInteractive within N ms of navigation:")
        for label, ms in self.timings:
            print(f"  {label:<40} interactive within {ms:.0f} ms of navigation")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--crm-port", type=int, required=True, help="the port of the origin in CONSOLE_FRAME_ANCESTORS")
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
            ("set the popup URL to a local receiver and send a test", flow.configure_webhooks),
            ("add an agent and switch its device", flow.add_agent),
            ("simulate an answered call: popup and hangup arrive in its timeline", flow.simulate_an_answered_call),
            ("place an outbound call from the sandbox panel and watch it end", flow.place_an_outbound_call),
            ("a new call appears in the list within 2 s, without a reload", flow.calls_appear_live),
            ("the receiver fails: the attempts show its 500 and its answer", flow.a_failing_receiver_shows_its_answer),
            ("the operator finds the failing app", flow.the_operator_finds_the_failing_app),
            ("the operator switches an app off and on, creates and deletes a customer", flow.the_operator_manages_customers_and_apps),
            ("the customer, on a phone, sees its apps, creates one and opens it", flow.the_customer_sees_its_apps_and_creates_one),
            ("recover the dead deliveries once the receiver is back", flow.recover),
            ("a console link opens the console as the app, once", flow.a_console_link_opens_the_console_once),
            ("the CRM's origin frames the console through a link; another origin cannot", flow.only_the_allowed_crm_may_frame_the_console),
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
