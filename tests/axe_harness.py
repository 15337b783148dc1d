"""axe-core in headless Chromium, for tests/test_accessibility.py (issue 19: WCAG 2.1 AA, 0 violations).

Chromium (Debian's, scripts/install.sh --test) is driven over the DevTools protocol on a pipe
(`--remote-debugging-pipe`: JSON messages ending in NUL on file descriptors 3 and 4), so no WebDriver, no port and
no Python package is needed, and the page under test is opened as it is, never edited: axe-core's own script
(npm's axe-core, which install.sh --test puts in .venv/axe-core/) is evaluated into the loaded page, then
`axe.run()` is awaited there and its result read back as JSON.

    with Browser(tmp_path) as browser:
        result = browser.axe(page.as_uri())
        assert not result.violations, result.report()
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# where scripts/install.sh --test installs axe-core (npm); AXE_CORE_JS names another copy of axe.min.js
AXE_JS = Path(os.environ.get("AXE_CORE_JS") or ROOT / ".venv" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# one generous bound for a hung browser (a step never answering), not a limit on speed
HANG_S = 600
# the rule sets run: every WCAG 2.0 and 2.1 A and AA rule, and axe's best practices (landmarks, one h1, headings)
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


class BrowserError(RuntimeError):
    """Chromium died, hung, or answered a command with an error."""


@dataclass
class AxeResult:
    """What axe-core found on one page: its violations as axe reports them, and how many rules passed."""

    url: str
    version: str
    violations: list[dict[str, Any]] = field(default_factory=list)
    passes: int = 0
    incomplete: list[dict[str, Any]] = field(default_factory=list)

    def report(self) -> str:
        """Each violation with its rule, impact, help and the elements (selector and HTML) that break it."""
        lines = [f"axe-core {self.version}: {len(self.violations)} violation(s) on {self.url}"]
        for v in self.violations:
            lines.append(f"- {v['id']} ({v.get('impact')}): {v.get('help')} [{', '.join(v.get('tags', []))}]")
            for node in v.get("nodes", [])[:8]:
                lines.append(f"    {' '.join(map(str, node.get('target', [])))}: {node.get('html', '')[:200]}")
                summary = (node.get("failureSummary") or "").replace("\n", " ")
                if summary:
                    lines.append(f"      {summary[:300]}")
        return "\n".join(lines)


def _high(fds: tuple[int, int]) -> tuple[int, int]:
    """The pipe's ends moved to descriptors 10 and up: the shell that starts Chromium puts them on 3 and 4, and an
    end already sitting on 3 or 4 (pytest holds fewer descriptors than a plain run) would be overwritten. The
    shell is bash: dash reads only one-digit descriptors in a redirection."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved[0], moved[1]


class Browser:
    """A headless Chromium driven over the DevTools protocol on a pipe; one tab, navigated page after page."""

    def __init__(self, profile: Path) -> None:
        if CHROMIUM is None:
            raise BrowserError("chromium is not installed (scripts/install.sh --test installs Debian's)")
        to_browser, self._to_browser = _high(os.pipe())  # Chromium reads commands on its fd 3
        self._from_browser, from_us = _high(os.pipe())  # and writes answers and events on its fd 4
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--disable-background-networking", "--mute-audio", "--hide-scrollbars",
                f"--user-data-dir={profile}", "--remote-debugging-pipe", "--window-size=1280,1800", "about:blank"]
        self._proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{to_browser} 4>&{from_us}', CHROMIUM, *args],
            pass_fds=(to_browser, from_us), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_us)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=True)
        self.send("Runtime.enable", session=True)

    # --- the protocol
    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], HANG_S)
            if not ready:
                raise BrowserError(f"chromium sent nothing for {HANG_S} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium closed the pipe (exit {self._proc.poll()})")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return dict(json.loads(message))

    def send(self, method: str, params: dict[str, Any] | None = None, session: bool = False) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept for `wait_event`."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        data = json.dumps(message).encode("utf-8") + b"\0"
        while data:
            data = data[os.write(self._to_browser, data):]
        while True:
            answer = self._read_message()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                return dict(answer.get("result") or {})
            if "method" in answer:
                self._events.append(answer)

    def wait_event(self, method: str) -> dict[str, Any]:
        """The first event `method` of the tab not yet consumed (waiting for it)."""
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method and event.get("sessionId") == self._session:
                    return self._events.pop(i)
            message = self._read_message()
            if "method" in message:
                self._events.append(message)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (a promise awaited), as JSON gives it back."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, session=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"the page threw: {json.dumps(result['exceptionDetails'])[:2000]}")
        return result.get("result", {}).get("value")

    # --- what the tests use
    def open(self, url: str, ready: str | None = None) -> None:
        """Load `url` and wait for its load event; `ready`: a JavaScript expression polled until true (a page whose
        script fills it in after loading, as verify.html's result)."""
        for address in ("about:blank", url):  # from a blank page: a new #CODE on the same page loads it again
            self._events.clear()
            self.send("Page.navigate", {"url": address}, session=True)
            self.wait_event("Page.loadEventFired")
        if ready:
            waited = self.evaluate(
                "new Promise(function (done) { var n = 0; (function poll() {"
                f" if ({ready}) done(true); else if (++n > 6000) done(false); else setTimeout(poll, 50); }})(); }})")
            if not waited:
                raise BrowserError(f"{url}: never became ready ({ready})")

    def axe(self, url: str, ready: str | None = None) -> AxeResult:
        """Open `url`, run axe-core on the whole page (TAGS) and return what it found."""
        if not AXE_JS.is_file():
            raise BrowserError(f"axe-core not found at {AXE_JS}: run `bash scripts/install.sh --test` "
                               "(npm install axe-core) or set AXE_CORE_JS")
        self.open(url, ready)
        self.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;true")
        options = json.dumps({"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]})
        raw = self.evaluate(f"axe.run(document, {options}).then(function (r) {{ return JSON.stringify({{"
                            "version: axe.version, violations: r.violations, passes: r.passes.length,"
                            " incomplete: r.incomplete}); })")
        data = json.loads(raw)
        return AxeResult(url=url, version=data["version"], violations=data["violations"], passes=data["passes"],
                         incomplete=data["incomplete"])

    def screenshot(self, path: Path, width: int = 1280) -> Path:
        """The whole page as a PNG (for a person to look at)."""
        import base64

        self.send("Emulation.clearDeviceMetricsOverride", session=True)  # the page's own height, not the last one's
        height = int(self.evaluate("document.documentElement.scrollHeight") or 1000)
        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": min(height, 16000),
                                                         "deviceScaleFactor": 1, "mobile": False}, session=True)
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close")
        try:
            self._proc.wait(timeout=HANG_S)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
