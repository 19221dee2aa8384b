"""Headless Chromium for the report tests: a page's DOM after load, what went wrong in it, a screenshot."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "chromium"
INSTALL_HINT = "headless Chromium is required: apt-get update && apt-get install -y chromium (.ci/run does)"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Any host name resolves to nothing: a page that tried to fetch from the network would fail loudly.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--enable-logging=stderr",
    "--v=0",
)
TIMEOUT_SECONDS = 120
PROBE_ID = "browser-probe"
# Runs before the page's own Content-Security-Policy is parsed, so the policy does not block it; it records
# every error, failed load, policy violation and console error, and measures the drawn shapes of each SVG.
PROBE = """<script>
(function () {
  var problems = [];
  function note(kind, text) { problems.push(kind + ": " + text); }
  window.addEventListener("error", function (e) {
    var t = e.target;
    note("error", e.message || (t && (t.src || t.href || t.tagName)) || "unknown");
  }, true);
  window.addEventListener("unhandledrejection", function (e) { note("rejection", String(e.reason)); });
  document.addEventListener("securitypolicyviolation", function (e) {
    note("csp", e.violatedDirective + " " + e.blockedURI);
  });
  var consoleError = console.error;
  console.error = function () {
    note("console.error", Array.prototype.join.call(arguments, " "));
    consoleError.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    var charts = Array.prototype.map.call(document.querySelectorAll("svg"), function (svg) {
      var shapes = 0;
      svg.querySelectorAll("rect, path, circle, line, polyline, polygon").forEach(function (shape) {
        var box = shape.getBBox();
        if (box.width > 0 && box.height > 0) { shapes += 1; }
      });
      var box = svg.getBoundingClientRect();
      return {id: svg.id, shapes: shapes, width: box.width, height: box.height};
    });
    // Policy violations are reported in tasks queued after load: written a little later, within the
    // virtual time that --virtual-time-budget lets pass before --dump-dom serializes the page.
    setTimeout(function () {
      var out = document.createElement("pre");
      out.id = "PROBE_ID";
      out.textContent = JSON.stringify({problems: problems, charts: charts});
      document.body.appendChild(out);
    }, 200);
  });
})();
</script>""".replace("PROBE_ID", PROBE_ID)


@dataclass(frozen=True)
class Rendered:
    dom: str
    problems: list[str]
    charts: list[dict[str, object]]
    console: list[str]


def chromium() -> str:
    path = shutil.which(CHROMIUM)
    assert path, INSTALL_HINT
    return path


def _run(arguments: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={profile}", *arguments],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=True,
    )


def render(page: Path, work: Path) -> Rendered:
    """Open a copy of the page with the probe in it and read back the DOM after load."""
    html = page.read_text(encoding="utf-8")
    assert "<head>" in html
    probed = work / f"probed-{page.name}"
    probed.write_text(html.replace("<head>", "<head>" + PROBE, 1), encoding="utf-8")
    result = _run(["--virtual-time-budget=5000", "--dump-dom", probed.as_uri()], work / "profile-dom")
    found = re.search(rf'<pre id="{PROBE_ID}">(.*?)</pre>', result.stdout, re.S)
    assert found, f"the probe did not report; stderr:\n{result.stderr[-4000:]}"
    report = json.loads(
        found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return Rendered(dom=result.stdout, problems=report["problems"], charts=report["charts"], console=console)


def screenshot(page: Path, target: Path, work: Path, size: str = "1280,2000") -> Path:
    _run(
        [f"--screenshot={target}", f"--window-size={size}", "--hide-scrollbars", page.as_uri()],
        work / "profile-shot",
    )
    return target
