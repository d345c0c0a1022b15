"""Open notebooks in JupyterLab in headless Chromium and say whether each shows as modified; optionally run them.

Course staff run it by hand, and ``tests/test_notebooks_in_browser.py`` (slow; skipped where the browser is
missing) runs it on the student bundle: it needs Debian's ``chromium`` and ``chromium-driver`` and
``pip install selenium``. Each notebook is copied into a temporary folder served by a fresh JupyterLab, so
autosave never touches the tree. For every notebook it prints whether it is marked modified once its kernel is
ready (idle, its info reply landed), which metadata JupyterLab changed, and saves a screenshot. With ``--run`` it
runs every cell (the Run menu's "Run All Cells") and prints errors, stderr, and cells that took longer than
``--slow`` seconds. Exit status 0 when every notebook opened unmodified with its kernel ready, 1 otherwise.

    python scripts/check_notebooks_in_browser.py notebooks/homework4_stub.ipynb notebooks/lab_stub.ipynb runner.ipynb
    python scripts/check_notebooks_in_browser.py --lab-python .venv/bin/python --run build/homework4_solution.ipynb --out /tmp/shots
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1400,1000")
# JupyterLab settings: time every cell, and no news pop-up over the screenshots.
LAB_SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"recordTiming": True},
                "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"}}
STATE_JS = """
const app = window.jupyterapp; if (!app) return null;
const w = Array.from(app.shell.widgets('main')).find(x => x.context && x.context.path === arguments[0]);
if (!w || !w.context.model) return null;
return {dirty: w.context.model.dirty, status: w.sessionContext.kernelDisplayStatus,
        tab_marked: document.querySelectorAll('.lm-TabBar-tab.jp-mod-dirty').length > 0,
        model: w.context.model.toJSON()};
"""

# Resolves once the kernel's info reply has been handled: JupyterLab's own handler (which writes language_info) was
# registered on the same promise before this one, so it has run by the time this one's timeout fires.
INFO_JS = """
const done = arguments[arguments.length - 1], app = window.jupyterapp;
const w = app && Array.from(app.shell.widgets('main')).find(x => x.context && x.context.path === arguments[0]);
const kernel = w && w.sessionContext.session && w.sessionContext.session.kernel;
if (!kernel) { done(false); } else { kernel.info.then(() => setTimeout(() => done(true), 0), () => done(false)); }
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(python: str, folder: Path, settings: Path, port: int) -> subprocess.Popen:
    """A JupyterLab serving ``folder`` without a token, exposing ``window.jupyterapp``, this tree first on the path."""
    for name, value in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(settings / "workspaces"),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    lab = subprocess.Popen([python, "-m", "jupyterlab", "--no-browser", "--ServerApp.token=",
                            f"--port={port}", "--allow-root", f"--ServerApp.root_dir={folder}",
                            "--LabApp.expose_app_in_browser=True"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=1)
            return lab
        except OSError:
            time.sleep(0.5)
    lab.terminate()
    raise SystemExit("JupyterLab did not start within 60 s")


def wait_for(driver: webdriver.Chrome, name: str, done, timeout: float) -> dict:
    """Poll the notebook's state until ``done(state)`` holds (or ``timeout`` passes); the last state."""
    end, state = time.time() + timeout, None
    while time.time() < end:
        state = driver.execute_script(STATE_JS, name)
        if state and done(state):
            break
        time.sleep(0.5)
    return state or {}


def changed_metadata(saved: dict, model: dict) -> dict:
    """The top-level metadata keys whose values JupyterLab changed, with the file's value and the model's."""
    a, b = saved.get("metadata", {}), model.get("metadata", {})
    return {k: (a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)}


def cell_report(model: dict, slow: float) -> list[str]:
    """Errors, stderr and slow cells of a run notebook, one line each."""
    lines = []
    for i, cell in enumerate(model["cells"]):
        if cell["cell_type"] != "code":
            continue
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if start and end:
            from datetime import datetime
            seconds = (datetime.fromisoformat(end.replace("Z", "+00:00"))
                       - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
            if seconds > slow:
                lines.append(f"  cell {i}: {seconds:.1f} s  {cell['source'].splitlines()[0][:70]!r}")
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                lines.append(f"  cell {i}: ERROR {out['ename']}: {out['evalue'][:200]}")
            elif out["output_type"] == "stream" and out["name"] == "stderr":
                lines.append(f"  cell {i}: stderr {''.join(out['text'])[:300]!r}")
    return lines


def check(driver: webdriver.Chrome, port: int, name: str, saved: dict, args: argparse.Namespace) -> bool:
    """Open ``name``, report its modified state (and, with ``--run``, its run); whether it opened unmodified with its
    kernel ready."""
    driver.get(f"http://127.0.0.1:{port}/lab/workspaces/w{uuid.uuid4().hex[:8]}/tree/{name}?reset")
    # Ready: the kernel is idle and its info reply has landed (JupyterLab has then written the reply's language_info).
    state = wait_for(driver, name, lambda s: s["status"] == "idle", args.open_timeout)
    driver.set_script_timeout(args.open_timeout)
    ready = state.get("status") == "idle" and driver.execute_async_script(INFO_JS, name)
    state = wait_for(driver, name, lambda s: True, 5)
    print(f"{name}: {'MODIFIED' if state.get('dirty') else 'unmodified'} after opening "
          f"(kernel {state.get('status')}{'' if ready else ', NOT READY'}, tab marked: {state.get('tab_marked')})")
    for key, (before, after) in changed_metadata(saved, state.get("model", {})).items():
        print(f"  metadata.{key}: file {json.dumps(before)}\n  {' ' * len(key)}          now  {json.dumps(after)}")
    driver.save_screenshot(str(args.out / f"{Path(name).stem}-opened.png"))
    unmodified = ready and not state.get("dirty") and not state.get("tab_marked")
    if args.run:
        started = time.time()
        driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        n_code = sum(c["cell_type"] == "code" for c in saved["cells"])
        state = wait_for(driver, name, lambda s: s["status"] == "idle" and sum(
            c.get("execution_count") is not None for c in s["model"]["cells"] if c["cell_type"] == "code") == n_code,
            args.timeout)
        print(f"  ran in {time.time() - started:.0f} s")
        print("\n".join(cell_report(state["model"], args.slow)) or "  no errors, no stderr, no slow cell")
        (args.out / f"{Path(name).stem}-run.ipynb").write_text(json.dumps(state["model"], indent=1))
        driver.execute_script("window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0")
        driver.save_screenshot(str(args.out / f"{Path(name).stem}-run.png"))
    return unmodified


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--run", action="store_true", help="run every cell and report errors and slow cells")
    parser.add_argument("--slow", type=float, default=10.0, help="seconds above which a cell is reported")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds a whole run may take")
    parser.add_argument("--open-timeout", type=float, default=120.0,
                        help="seconds a notebook's kernel may take to be ready after opening")
    parser.add_argument("--lab-python", default=sys.executable,
                        help="the Python whose JupyterLab and kernel to use (e.g. .venv/bin/python)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "hw4-browser")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hw4-browser-"))
    folder, settings, profile = work / "root", work / "settings", work / "chromium"
    folder.mkdir()
    for path in args.notebooks:
        shutil.copy(path, folder / path.name)
    port = free_port()
    lab = start_lab(args.lab_python, folder, settings, port)
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS + (f"--user-data-dir={profile}",):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                              options=options)
    try:
        results = [check(driver, port, p.name, json.loads(p.read_text()), args) for p in args.notebooks]
    finally:
        driver.quit()
        lab.terminate()
        lab.wait(30)
        shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots in {args.out}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
