"""The HTML report in a real browser: no console errors, bounded size and height, usable at 800 px.

    python bench/report_browser.py make-input --data ../shared/datasets/orangesum --n 1000 --to /tmp/os1000
    pipeline run /tmp/os1000/articles.jsonl --out /tmp/os1000/run --references /tmp/os1000/references
    python bench/report_browser.py check /tmp/os1000/run/report.html

``make-input`` writes N OrangeSum validation articles as one JSONL input file and their
abstracts as reference summaries (dev data, never the seeds).  ``check`` opens the report
in headless Chromium (Debian's ``chromium``) through the DevTools protocol on a pipe (no
extra package, no network: the browser runs with networking features off) at 800 px wide,
and prints key=value lines: file size, page height, horizontal overflow, console
messages, CSP violations.  Exit 1 when a limit is broken (size >= 2 MB, console errors,
content wider than the window).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAX_BYTES = 2_000_000
WIDTH = 800
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--remote-debugging-pipe",
)


def make_input(data: Path, n: int, to: Path) -> None:
    """N articles of the validation split as ``articles.jsonl`` + references (their abstracts)."""
    rows = []
    with gzip.open(data / "articles.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("split") == "valid" and row.get("article", "").strip():
                rows.append(row)
                if len(rows) == n:
                    break
    to.mkdir(parents=True, exist_ok=True)
    refs = to / "references"
    refs.mkdir(exist_ok=True)
    with (to / "articles.jsonl").open("w", encoding="utf-8") as out:
        for row in rows:
            item = {"text": row["article"], "title": row["title"], "date": row["date"], "source": "orange"}
            out.write(json.dumps(item, ensure_ascii=False) + "\n")
    names = [f"articles#{i}" for i in range(1, len(rows) + 1)]
    with (refs / "summaries.jsonl").open("w", encoding="utf-8") as out:
        for name, row in zip(names, rows, strict=True):
            out.write(
                json.dumps({"kind": "article", "target": name, "fr": row["abstract"]}, ensure_ascii=False)
            )
            out.write("\n")
    # No clusters.jsonl: OrangeSum has no gold events, and "every article alone" would score
    # real same-day re-reports as errors (F1 0); the score stage notes the missing file instead.
    (refs / "clusters.jsonl").unlink(missing_ok=True)
    (refs / "translations.jsonl").write_text("", encoding="utf-8")
    print(f"articles={len(rows)} input={to / 'articles.jsonl'} references={refs}")


class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe`` (fds 3 and 4)."""

    def __init__(self, browser: str, profile: str):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        self.proc = subprocess.Popen(
            [browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            # The browser reads commands on fd 3 and writes replies on fd 4: the pipe ends are
            # moved there in the child, and those numbers are kept open through exec.
            pass_fds=(3, 4),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: (os.dup2(to_browser_r, 3), os.dup2(from_browser_w, 4)),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.append(self._read())
        raise TimeoutError(method)

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def check(report: Path, browser: str, screenshot: Path | None = None) -> int:
    size = report.stat().st_size
    with tempfile.TemporaryDirectory() as profile:
        tools = DevTools(browser, profile)
        try:
            target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for domain in ("Page", "Runtime", "Log"):
                tools.send(f"{domain}.enable", session=session)
            tools.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            started = time.monotonic()
            tools.send("Page.navigate", {"url": report.resolve().as_uri()}, session=session)
            tools.wait_for("Page.loadEventFired")
            load_s = time.monotonic() - started
            metrics = tools.send(
                "Runtime.evaluate",
                {
                    "expression": "JSON.stringify({height: document.documentElement.scrollHeight,"
                    " width: document.documentElement.scrollWidth, images: document.images.length,"
                    " broken: [...document.images].filter(i => !i.complete || !i.naturalWidth).length,"
                    " details: document.querySelectorAll('details').length,"
                    " open_details: document.querySelectorAll('details[open]').length})",
                    "returnByValue": True,
                },
                session=session,
            )["result"]["value"]
            time.sleep(0.5)  # late console messages
            tools.send("Runtime.evaluate", {"expression": "1"}, session=session)
            if screenshot:  # the first screen, as a reader sees it
                shot = tools.send("Page.captureScreenshot", {"format": "png"}, session=session)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
        finally:
            tools.close()
    page = json.loads(metrics)
    console = [
        e["params"]
        for e in tools.events
        if e.get("method") in ("Runtime.consoleAPICalled", "Log.entryAdded", "Runtime.exceptionThrown")
    ]
    errors = [
        c
        for c in console
        if c.get("type") == "error" or c.get("entry", {}).get("level") == "error" or "exceptionDetails" in c
    ]
    print(f"report={report} bytes={size} load_s={load_s:.2f}")
    print(
        f"viewport_width={WIDTH} page_height_px={page['height']} page_width_px={page['width']} "
        f"images={page['images']} broken_images={page['broken']} "
        f"details={page['details']} open_details={page['open_details']}"
    )
    print(f"console_messages={len(console)} console_errors={len(errors)}")
    for c in errors:
        text = c.get("entry", {}).get("text") or json.dumps(c)[:300]
        print(f"console_error={text}")
    problems = []
    if size >= MAX_BYTES:
        problems.append(f"size {size} >= {MAX_BYTES}")
    if errors:
        problems.append(f"{len(errors)} console error(s)")
    if page["width"] > WIDTH:
        problems.append(f"content {page['width']} px wide in a {WIDTH} px window")
    if page["broken"]:
        problems.append(f"{page['broken']} broken image(s)")
    print("ok" if not problems else "FAILED: " + "; ".join(problems))
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make-input", help="N OrangeSum validation articles + their abstracts as references")
    p.add_argument("--data", type=Path, default=Path("../shared/datasets/orangesum"))
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--to", type=Path, required=True)
    p = sub.add_parser("check", help="open a report in headless Chromium and check it")
    p.add_argument("report", type=Path)
    p.add_argument("--browser", default=shutil.which("chromium") or "chromium")
    p.add_argument("--screenshot", type=Path, help="save the first screen (800 px wide) as PNG")
    args = parser.parse_args(argv)
    if args.command == "make-input":
        make_input(args.data, args.n, args.to)
        return 0
    if not shutil.which(args.browser) and not Path(args.browser).is_file():
        print(f"no browser at {args.browser!r}: apt-get install chromium", file=sys.stderr)
        return 2
    return check(args.report, args.browser, args.screenshot)


if __name__ == "__main__":
    sys.exit(main())
