"""Drive Debian's headless Chromium over the DevTools protocol through a pipe
(`--remote-debugging-pipe`: the browser reads commands from fd 3 and writes answers to fd 4,
each a JSON document ended by a NUL byte), so a test can press keys, read the focus and take a
screenshot of one element — what `--dump-dom` cannot — without a websocket client or a browser
automation package."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

CHROMIUM = Path("/usr/bin/chromium")


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, profile: Path, *, width: int = 1280, height: int = 1000) -> None:
        self.profile = profile
        self.width, self.height = width, height
        self._next_id = 0
        self._buffer = b""
        self._session = ""

    def __enter__(self) -> Self:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_fds() -> None:  # in the child: the protocol's fds 3 and 4
            # Moved above 9 first, so that neither end is overwritten by the other's dup2.
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self._process = subprocess.Popen(
            [
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds,
            pass_fds=(3, 4),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._session = ""
            self.call("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command (to the page's session once attached) and wait for its answer."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self._session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise BrowserError("the browser closed its pipe")
            self._buffer += chunk
        document, _, self._buffer = self._buffer.partition(b"\0")
        found: dict[str, Any] = json.loads(document)
        return found

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, *, ready: str, timeout: float = 60.0) -> None:
        """Navigate and wait until the expression `ready` is true."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not self.evaluate(
            f"(() => {{ try {{ return !!({ready}); }} catch (e) {{ return false; }} }})()"
        ):
            if time.monotonic() > deadline:
                raise BrowserError(f"not ready after {timeout} s: {ready}")
            time.sleep(0.2)

    def press(self, key: str, *, shift: bool = False) -> None:
        """A real key press (down and up), as the keyboard would send it."""
        codes = {"Tab": 9, "Enter": 13, " ": 32}
        code = "Space" if key == " " else key
        for kind in ("keyDown", "keyUp"):
            self.call(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                code=code,
                windowsVirtualKeyCode=codes[key],
                modifiers=8 if shift else 0,
                **({"text": key} if key in (" ", "Enter") and kind == "keyDown" else {}),
            )

    def focus_path(self, presses: int) -> Sequence[str]:
        """The id (or tag) of the focused element after each of `presses` Tab presses."""
        path = []
        for _ in range(presses):
            self.press("Tab")
            path.append(
                self.evaluate(
                    "(e => e.id || (e.closest('section') ? e.closest('section').id + ':' : '')"
                    " + e.tagName.toLowerCase())(document.activeElement)"
                )
            )
        return path

    def screenshot(self, selector: str, path: Path) -> tuple[int, int]:
        """A PNG of one element (scrolled into view); returns its size in CSS pixels."""
        box = self.evaluate(
            f"(e => {{ e.scrollIntoView(); const r = e.getBoundingClientRect();"
            f" return [r.left + scrollX, r.top + scrollY, r.width, r.height]; }})"
            f"(document.querySelector({json.dumps(selector)}))"
        )
        x, y, width, height = (float(v) for v in box)
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": x, "y": y, "width": width, "height": height, "scale": 1},
        )
        path.write_bytes(base64.b64decode(shot["data"]))
        return round(width), round(height)
