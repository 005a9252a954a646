"""Drive Debian's headless Chromium through the DevTools protocol over a pipe (stdlib only).

`open_page` starts `chromium --headless --remote-debugging-pipe`, attaches to its page, enables
the Network, Runtime, Log and Page domains, loads a URL and returns what happened: every
request the browser attempted, every console message and exception, and anything a test asks
it to evaluate. Messages on the pipe are JSON texts ended by a NUL byte (fd 3 carries commands
to the browser, fd 4 its answers and events).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]


def chromium() -> str | None:
    """Return the Chromium binary, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageRun:
    """What loading a page did."""

    requests: list[str] = field(default_factory=list)
    console: list[dict[str, Any]] = field(default_factory=list)
    exceptions: list[dict[str, Any]] = field(default_factory=list)
    log_entries: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    screenshot: bytes = b""

    @property
    def errors(self) -> list[str]:
        """Return every console error, uncaught exception and browser log error."""
        found = [str(c.get("args")) for c in self.console if c.get("type") in ("error", "assert")]
        found += [str(e.get("exceptionDetails", e)) for e in self.exceptions]
        found += [str(e.get("text")) for e in self.log_entries if e.get("level") == "error"]
        return found


class _Pipe:
    def __init__(self, write_fd: int, read_fd: int, deadline: float) -> None:
        self.write_fd, self.read_fd, self.deadline = write_fd, read_fd, deadline
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        while True:
            reply = self.receive()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def receive(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 65536)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        decoded: dict[str, Any] = json.loads(message)
        return decoded

    def wait_for(self, method: str) -> None:
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self.receive())


def open_page(
    url: str,
    *,
    evaluate: dict[str, str] | None = None,
    screenshot: bool = False,
    width: int = 1100,
    height: int = 900,
    timeout: float = 60,
) -> PageRun:
    """Load `url` in headless Chromium and return what it requested, logged and evaluated."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed (scripts/setup installs it as root)")
    to_browser_r, to_browser_w = _above_four(os.pipe())
    from_browser_r, from_browser_w = _above_four(os.pipe())

    def pipe_fds() -> None:
        # In the child only: the pipe ends become fd 3 and 4, where --remote-debugging-pipe
        # wants them; close_fds is off so they stay (Python's own fds are not inheritable).
        os.dup2(to_browser_r, 3)
        os.dup2(from_browser_w, 4)

    with tempfile.TemporaryDirectory(prefix="lts-chromium-") as profile:
        argv = [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        child = subprocess.Popen(
            [*argv, "about:blank"],
            close_fds=False,
            preexec_fn=pipe_fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        pipe = _Pipe(to_browser_w, from_browser_r, time.monotonic() + timeout)
        try:
            return _drive(pipe, url, evaluate or {}, screenshot, width, height)
        finally:
            with contextlib.suppress(RuntimeError, TimeoutError, OSError):
                pipe.send("Browser.close")
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            os.close(to_browser_w)
            os.close(from_browser_r)


def _above_four(fds: tuple[int, int]) -> tuple[int, int]:
    """Move a pipe's ends above fd 4: a dup2 onto 3 or 4 then always makes a new, inherited fd."""
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 5) for fd in fds]
    for fd in fds:
        os.close(fd)
    return moved[0], moved[1]


def _drive(
    pipe: _Pipe, url: str, evaluate: dict[str, str], screenshot: bool, width: int, height: int
) -> PageRun:
    targets = pipe.send("Target.getTargets")["targetInfos"]
    page = next(t["targetId"] for t in targets if t["type"] == "page")
    session = pipe.send("Target.attachToTarget", targetId=page, flatten=True)["sessionId"]
    for domain in ("Network", "Runtime", "Log", "Page"):
        pipe.send(f"{domain}.enable", session)
    pipe.events.clear()  # about:blank's own events are not the page's
    pipe.send("Page.navigate", session, url=url)
    pipe.wait_for("Page.loadEventFired")
    # Let late requests (fonts, icons) and console messages arrive.
    settle = time.monotonic() + 1.0
    while time.monotonic() < settle:
        ready, _, _ = select.select([pipe.read_fd], [], [], 0.1)
        if ready:
            pipe.events.append(pipe.receive())
    run = PageRun()
    for name, expression in evaluate.items():
        result = pipe.send("Runtime.evaluate", session, expression=expression, returnByValue=True)
        run.values[name] = result["result"].get("value")
    if screenshot:
        pipe.send(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = pipe.send(
            "Page.captureScreenshot", session, format="png", captureBeyondViewport=True
        )
        run.screenshot = base64.b64decode(shot["data"])
    for event in pipe.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.requestWillBeSent":
            run.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled":
            run.console.append(params)
        elif method == "Runtime.exceptionThrown":
            run.exceptions.append(params)
        elif method == "Log.entryAdded":
            run.log_entries.append(params["entry"])
    return run


def save(path: Path, data: bytes) -> None:
    """Write a screenshot."""
    path.write_bytes(data)
