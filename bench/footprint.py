"""Install footprint of the suite; prints one table and writes it to bench/results/footprint-latest.md.

    .venv/bin/python bench/footprint.py [--repeat 3]

Measures the suite's ``.venv`` on disk (and the torch + CUDA part of it), ``scripts/setup.sh`` on an
up-to-date environment (median of ``--repeat`` runs), and what a plain ``pip install stable-audio-tools==0.0.19``
resolves to in a fresh venv (packages, download size, what it adds to the suite's environment). It uses pip and
the network (or this machine's wheel mirror); the timings are ``bench/run.py``'s.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run import RESULTS, ROOT, Table, checked, log, machine, median, run_child

TORCH_STACK = re.compile(r"^(torch|torchaudio|torchvision|triton|nvidia-.*|cuda-.*)$")


def du_bytes(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0])


def gb(n: float) -> str:
    return f"{n / 1e9:.2f} GB"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def bench_footprint(table: Table, repeat: int, work: Path) -> None:
    venv = ROOT / ".venv"
    site = next((venv / "lib").glob("python*/site-packages"))
    log("footprint: du of .venv")
    stack_dirs = [d for d in site.iterdir()
                  if d.is_dir() and d.name in ("torch", "torchvision", "torchaudio", "triton", "nvidia", "functorch",
                                               "torchgen", "torchvision.libs", "torchaudio.libs")]
    stack = sum(du_bytes(d) for d in stack_dirs)
    table.add("1", "suite environment on disk: `du -sb .venv`", gb(du_bytes(venv)), "", "",
              f"site-packages alone {gb(du_bytes(site))}, of which torch/torchvision/torchaudio/triton/nvidia "
              f"(CUDA) {gb(stack)}")
    installed = json.loads(subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json",
                                           "--disable-pip-version-check"], capture_output=True, text=True,
                                          check=True).stdout)
    suite_names = {canonical(p["name"]) for p in installed}
    heavy = [n for n in ("torch", "nvidia-cudnn-cu12", "nvidia-cublas-cu12", "triton") if n in suite_names]
    table.notes.append(f"The suite's .venv holds {len(installed)} distributions, including {', '.join(heavy)} "
                       "(the PyPI torch wheel brings the CUDA libraries even on a CPU machine).")

    # scripts/setup.sh on an up-to-date environment (only when its stamp matches: otherwise it would reinstall)
    stamp = venv / ".hw4-installed"
    want = subprocess.run("cat pyproject.toml requirements-nodeps.txt scripts/setup.sh | sha256sum | cut -c1-16",
                          shell=True, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if stamp.exists() and stamp.read_text().strip() == want:
        walls = []
        for i in range(repeat):
            log(f"footprint: scripts/setup.sh (reuse) run {i + 1}/{repeat}")
            walls.append(checked(run_child(["bash", "scripts/setup.sh"]), "setup.sh").wall_s)
        table.add("1", "`bash scripts/setup.sh` on an up-to-date .venv (reuse check)", f"{median(walls):.2f} s", "",
                  "", f"runs {', '.join(f'{x:.2f}' for x in walls)}")
    else:
        # The stamp no longer matches (pyproject/pins changed since the install): running setup.sh would
        # reinstall into the shared .venv, so time what its reuse path does instead: hash + import check.
        walls = []
        for i in range(repeat):
            log(f"footprint: setup.sh's reuse check (hash + import) run {i + 1}/{repeat}")
            walls.append(checked(run_child(["bash", "-c", "cat pyproject.toml requirements-nodeps.txt scripts/setup.sh "
                                            "| sha256sum >/dev/null && .venv/bin/python -c 'import hw4, k_diffusion, "
                                            "stable_audio_tools'"]), "setup.sh reuse check").wall_s)
        table.add("1", "`scripts/setup.sh` reuse path (its hash + import check, run directly)", f"{median(walls):.2f} s",
                  "", "", f"runs {', '.join(f'{x:.2f}' for x in walls)}; setup.sh itself not run: its stamp is out "
                          "of date (pyproject/pins changed since .venv was made), so it would reinstall")

    scratch = work / "scratch_venv"
    log("footprint: scratch venv + `pip install --dry-run --report` stable-audio-tools==0.0.19")
    base_python = Path(sys.base_prefix) / "bin" / "python3"
    t0 = time.perf_counter()
    subprocess.run([str(base_python), "-m", "venv", str(scratch)], check=True)
    venv_s = time.perf_counter() - t0
    report = work / "report.json"
    t0 = time.perf_counter()
    dry = subprocess.run([str(scratch / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "install",
                          "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
                          "stable-audio-tools==0.0.19"], capture_output=True, text=True)
    dry_s = time.perf_counter() - t0
    if dry.returncode != 0 or not report.exists():
        table.add("1", "`pip install --dry-run stable-audio-tools==0.0.19`", f"failed ({dry.returncode})", "", "",
                  dry.stderr.strip().splitlines()[-1][:200] if dry.stderr.strip() else "")
        return
    packages = json.loads(report.read_text())["install"]
    sizes: dict[str, int | None] = {}
    remote: dict[str, str] = {}
    for p in packages:
        name, version, url = p["metadata"]["name"], p["metadata"]["version"], p["download_info"]["url"]
        if url.startswith("file://"):
            local = Path(url[len("file://"):])
            sizes[name] = local.stat().st_size if local.is_file() else None
        else:
            sizes[name] = None
            remote[name] = f"{name}=={version}"
    # Sizes of the files pip would fetch from the index: `pip download --no-deps`, within 5 minutes.
    downloads = work / "downloads"
    downloads.mkdir()
    log(f"footprint: `pip download --no-deps` of {len(remote)} remote files (5 minute budget)")
    t0 = time.perf_counter()
    partial = False
    try:
        subprocess.run([str(scratch / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "download",
                        "--no-deps", "--quiet", "-d", str(downloads), *remote.values()],
                       capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        partial = True
    download_s = time.perf_counter() - t0
    files = {}
    for f in downloads.iterdir():
        m = re.match(r"(.+?)-\d", f.name)
        if f.is_file() and m:
            files[canonical(m.group(1))] = files.get(canonical(m.group(1)), 0) + f.stat().st_size
    for name in remote:
        key = canonical(name)
        sizes[name] = files.get(key)
    known = {n: s for n, s in sizes.items() if s is not None}
    missing = sorted(n for n, s in sizes.items() if s is None)
    total = sum(known.values())
    in_stack = [n for n in sizes if TORCH_STACK.match(canonical(n))]
    rest = [n for n in sizes if n not in in_stack and canonical(n) not in suite_names]
    extra = {n: known[n] for n in rest if n in known}
    versions = {p["metadata"]["name"]: p["metadata"]["version"] for p in packages}
    suite_torch = next((p["version"] for p in installed if canonical(p["name"]) == "torch"), "?")
    top = sorted(known.items(), key=lambda kv: -kv[1])[:12]
    table.add("1", "plain `pip install stable-audio-tools==0.0.19` (fresh venv): packages it resolves", str(len(packages)),
              "", "", f"resolved in {dry_s:.0f} s (`pip install --dry-run --report`; venv made in {venv_s:.1f} s)")
    table.add("1", "... their download size (wheels, compressed)", gb(total) + (" (partial)" if partial or missing else ""),
              "", "", f"remote files fetched in {download_s:.0f} s" + (f"; size unknown: {', '.join(missing)}" if missing else ""))
    table.add("1", "... of which the torch + CUDA stack (torch*, triton, nvidia-*, cuda-*)",
              f"{len(in_stack)} packages, {gb(sum(known.get(n, 0) for n in in_stack))}", "", "",
              f"resolves torch {versions.get('torch', '?')} (the suite pins {suite_torch}); the suite's .venv has "
              "an equivalent stack, so this part is not an addition")
    table.add("1", "... of which other packages the suite's .venv does not have (what stable-audio-tools adds)",
              f"{len(rest)} packages, {gb(sum(extra.values()))}", "", "",
              "heaviest: " + ", ".join(f"{n} {s / 1e6:.0f} MB" for n, s in sorted(extra.items(), key=lambda kv: -kv[1])[:10]))
    named = [n for n in ("gradio", "wandb", "laion-clap", "pandas", "pytorch-lightning", "tensorboard", "librosa",
                         "numba", "scikit-learn", "pedalboard", "descript-audio-codec", "webdataset", "s3fs")
             if any(canonical(n) == canonical(k) for k in sizes)]
    table.notes.append("A plain install of stable-audio-tools 0.0.19 also pulls training/UI packages the suite never "
                       f"imports: {', '.join(named)}. Largest downloads of the whole set: "
                       + ", ".join(f"{n} {s / 1e6:.0f} MB" for n, s in top) + ".")
    table.notes.append("The footprint resolution follows this machine's pip configuration (a local wheel mirror plus "
                       "PyPI; the local files' sizes were read from disk, the others downloaded with "
                       "`pip download --no-deps`). Installed size on disk is larger than the compressed wheels.")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=3, help="runs of setup.sh's reuse check (the median is reported)")
    args = p.parse_args(argv)
    table = Table()
    with tempfile.TemporaryDirectory(prefix="hw4-footprint-") as tmp:
        bench_footprint(table, max(1, args.repeat), Path(tmp))
    text = "\n".join([
        "# hw4 install footprint",
        "",
        *machine(),
        f"- command: `{' '.join([Path(sys.executable).name, 'bench/footprint.py', *(argv if argv is not None else sys.argv[1:])])}`",
        "",
        table.markdown(),
        "",
        "Notes:",
        *(f"- {n}" for n in table.notes),
        "",
    ])
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "footprint-latest.md").write_text(text)
    log(f"wrote {RESULTS / 'footprint-latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
