"""Benchmark of the suite against its performance targets; prints one table and writes it to bench/results/.

    .venv/bin/python bench/run.py [--repeat 3] [--quick]

Every figure is the median of ``--repeat`` runs, each a fresh child process (so Python start-up and
imports are included) whose wall time is measured here and whose peak resident memory comes from
``os.wait4``'s rusage (ru_maxrss: the largest of the child and the descendants it waited for, not a sum).
All children share one private reference cache (``HW4_CACHE_DIR`` under a temporary folder), so the
user's ``~/.cache/hw4`` is never read or written.

Rows:
 1. ``hw4 answers solutions/homework4.py`` over every graded case with the embedded model.
 2. One notebook self-check, ``check(simple_sample_inpaint)``: the whole process and the call alone.
 3. ``hw4 grade`` of the solution's pickle with a warm and with a cold (empty) reference cache.
 4. ``hw4 grade-all`` over N generated submissions (exact / noise below tolerance / wrong answers), ``--jobs 2``:
    with only the references cached (the mistake catalogue is then built as wrong answers need it), and
    again with the catalogue cached too.
 5. The anchor: one CFG denoiser call (the DiT on batch 2) of a model with SAO 1.0's full-size DiT built
    from ``bench/sao_1_0_config.json`` with random weights; x (graded generations x 50 steps) gives the
    original design's runner time.

The install footprint is measured by ``bench/footprint.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
SAO_CONFIG = BENCH / "sao_1_0_config.json"
PY = sys.executable
SAO_DOWNSAMPLING = 2048  # samples per latent frame, SAO's and the embedded model's
STEPS = 50  # the graded cases' sampling steps (hw4.cases.DEFAULT_STEPS)

TARGETS = {
    "runner_wall": 15.0,  # issue 13: the whole runner, start-up included, with the trained embedded model
    "runner_rss_gb": 2.0,
    "selfcheck": 5.0,
    "grade_warm": 3.0,
    "grade_cold": 30.0,
    "grade_all": 60.0,
    "speedup": 100.0,
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------ children


@dataclass
class Child:
    """One finished child process."""

    wall_s: float
    maxrss_kb: int
    rc: int
    stdout: str
    stderr: str


def run_child(cmd: list[str], env: dict | None = None, timeout_s: float = 1800, cwd: Path = ROOT) -> Child:
    """Run ``cmd`` to completion: wall time, peak RSS (os.wait4), exit status and output."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        timer = threading.Timer(timeout_s, lambda: os.kill(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(wall, usage.ru_maxrss, proc.returncode, out.read(), err.read())


def checked(child: Child, what: str) -> Child:
    if child.rc != 0:
        raise RuntimeError(f"{what} failed with exit status {child.rc}:\n{child.stdout[-3000:]}\n{child.stderr[-3000:]}")
    return child


def child_env(cache_dir: Path) -> dict:
    env = dict(os.environ)
    env["HW4_CACHE_DIR"] = str(cache_dir)
    env.pop("OMP_NUM_THREADS", None)  # torch's default thread count, as a user gets it
    return env


def hw4(*args: str) -> list[str]:
    return [PY, "-m", "hw4", *args]


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else ""


# ------------------------------------------------------------------------------------------ table


@dataclass
class Row:
    item: str
    measurement: str
    figure: str
    target: str = ""
    result: str = ""
    detail: str = ""


@dataclass
class Table:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, item: str, measurement: str, figure: str, target: str = "", result: str = "",
            detail: str = "") -> None:
        self.rows.append(Row(item, measurement, figure, target, result, detail))
        log(f"{item} {measurement}: {figure} {target} {result} {detail}".rstrip())

    def markdown(self) -> str:
        head = ["#", "measurement", "figure", "target", "result", "runs / detail"]
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        for r in self.rows:
            cells = [r.item, r.measurement, r.figure, r.target, r.result, r.detail]
            lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
        return "\n".join(lines)


def verdict(value: float, limit: float, at_most: bool = True) -> str:
    ok = value <= limit if at_most else value >= limit
    return "PASS" if ok else "MISS"


# ------------------------------------------------------------------------------------------ 1. runner


def bench_runner(table: Table, repeat: int, work: Path, env: dict) -> Path:
    walls, rss = [], []
    pickle = work / "solution.pkl"
    for i in range(repeat):
        log(f"runner: run {i + 1}/{repeat}")
        target = work / f"runner_{i}.pkl"
        c = checked(run_child(hw4("answers", "solutions/homework4.py", "-o", str(target), "--quiet"), env), "hw4 answers")
        walls.append(c.wall_s)
        rss.append(c.maxrss_kb / 1024 / 1024)
        shutil.copy(target, pickle)
    w, m = median(walls), median(rss)
    table.add("1", "runner `hw4 answers solutions/homework4.py` (fresh process, all graded cases), wall",
              f"{w:.2f} s", f"<= {TARGETS['runner_wall']:g} s", verdict(w, TARGETS["runner_wall"]),
              f"runs {', '.join(f'{x:.2f}' for x in walls)}")
    table.add("1", "runner peak memory (max RSS)", f"{m:.2f} GB", f"<= {TARGETS['runner_rss_gb']:g} GB",
              verdict(m, TARGETS["runner_rss_gb"]), f"runs {', '.join(f'{x:.2f}' for x in rss)}")
    table.runner_wall = w  # type: ignore[attr-defined]
    return pickle


# ------------------------------------------------------------------------------------------ 2. self-check

SELFCHECK_CHILD = r"""
import time
t0 = time.perf_counter()
from hw4.selfcheck import check
import solutions.homework4 as s
t1 = time.perf_counter()
import contextlib, io
first = io.StringIO()
with contextlib.redirect_stdout(first):
    check(s.simple_sample_inpaint)  # returns a bool or None depending on the version: judge the printed line
t2 = time.perf_counter()
second = io.StringIO()
with contextlib.redirect_stdout(second):
    check(s.simple_sample_inpaint)
t3 = time.perf_counter()
ok = all(out.getvalue().startswith("PASS") and "FAIL" not in out.getvalue() for out in (first, second))
print(first.getvalue().strip())
print(f"BENCH import_s={t1 - t0:.6f} check_s={t2 - t1:.6f} again_s={t3 - t2:.6f} ok={ok}")
"""


def bench_selfcheck(table: Table, repeat: int, env: dict) -> None:
    walls, calls, again, imports = [], [], [], []
    for i in range(repeat):
        log(f"self-check: run {i + 1}/{repeat}")
        c = checked(run_child([PY, "-c", SELFCHECK_CHILD], env), "self-check")
        m = re.search(r"BENCH import_s=([\d.]+) check_s=([\d.]+) again_s=([\d.]+) ok=(\w+)", c.stdout)
        if not m or m.group(4) != "True":
            raise RuntimeError(f"self-check did not pass:\n{c.stdout}\n{c.stderr[-2000:]}")
        walls.append(c.wall_s)
        imports.append(float(m.group(1)))
        calls.append(float(m.group(2)))
        again.append(float(m.group(3)))
    call = median(calls)
    table.add("2", "self-check `check(simple_sample_inpaint)`: the call alone (first in the process, loads the model)",
              f"{call:.2f} s", f"<= {TARGETS['selfcheck']:g} s", verdict(call, TARGETS["selfcheck"]),
              f"runs {', '.join(f'{x:.2f}' for x in calls)}")
    table.add("2", "self-check: whole fresh process (start-up + imports + check)", f"{median(walls):.2f} s", "", "",
              f"imports {median(imports):.2f} s; a second check in the same process {median(again):.2f} s")


# ------------------------------------------------------------------------------------------ 3. grade


def bench_grade(table: Table, repeat: int, pickle: Path, work: Path, warm_cache: Path) -> None:
    colds = []
    for i in range(repeat):
        log(f"grade, cold cache: run {i + 1}/{repeat}")
        cache = work / f"cold_cache_{i}"
        c = checked(run_child(hw4("grade", str(pickle)), child_env(cache)), "hw4 grade (cold)")
        if "total: 100 / 100" not in c.stdout:
            raise RuntimeError(f"the solution did not grade 100/100:\n{c.stdout}")
        colds.append(c.wall_s)
        if i == 0:  # the first cold run fills the shared warm cache
            shutil.copytree(cache, warm_cache, dirs_exist_ok=True)
        shutil.rmtree(cache, ignore_errors=True)
    warms, rss = [], []
    for i in range(repeat):
        log(f"grade, warm cache: run {i + 1}/{repeat}")
        c = checked(run_child(hw4("grade", str(pickle)), child_env(warm_cache)), "hw4 grade (warm)")
        if "total: 100 / 100" not in c.stdout:
            raise RuntimeError(f"the solution did not grade 100/100:\n{c.stdout}")
        warms.append(c.wall_s)
        rss.append(c.maxrss_kb / 1024 / 1024)
    w, cold = median(warms), median(colds)
    table.add("3", "`hw4 grade` of the solution's pickle, warm reference cache (fresh process)", f"{w:.2f} s",
              f"<= {TARGETS['grade_warm']:g} s", verdict(w, TARGETS["grade_warm"]),
              f"runs {', '.join(f'{x:.2f}' for x in warms)}; max RSS {median(rss):.2f} GB")
    table.add("3", "`hw4 grade`, cold cache (empty HW4_CACHE_DIR: builds the references)", f"{cold:.2f} s",
              f"<= {TARGETS['grade_cold']:g} s", verdict(cold, TARGETS["grade_cold"]),
              f"runs {', '.join(f'{x:.2f}' for x in colds)}")


# ------------------------------------------------------------------------------------------ 4. grade-all


def make_class(solution: Path, directory: Path, count: int, seed: int = 4) -> dict[str, int]:
    """``count`` submissions ``student_NNN/homework4.pkl`` derived from the solution's answers.

    Per student and question: exact (60 %), noise with relative size 1e-7..1e-5 below the 1e-4 tolerance
    (25 %), or wrong (15 %): some cases scaled by 1.05, given noise of relative size 1e-2, or replaced by an
    error message. Returns how many questions of each kind were made.
    """
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from hw4.safe_pickle import dump_answers, load_answers

    base = load_answers(solution)
    kinds = {"exact": 0, "small_noise": 0, "wrong": 0}
    for n in range(count):
        rng = np.random.default_rng(seed * 100003 + n)
        answers = load_answers(solution) if n else base
        for entry in answers["questions"].values():
            kind = str(rng.choice(["exact", "small_noise", "wrong"], p=[0.6, 0.25, 0.15]))
            kinds[str(kind)] += 1
            names = sorted(entry["answers"])
            if kind == "small_noise":
                for name in names:
                    a = entry["answers"][name]
                    noise = rng.standard_normal(a.shape)
                    scale = 10 ** rng.uniform(-7, -5) * np.linalg.norm(a) / max(np.linalg.norm(noise), 1e-30)
                    entry["answers"][name] = (a + noise * scale).astype(a.dtype)
            elif kind == "wrong":
                how = str(rng.choice(["scale", "noise", "error"]))
                for name in map(str, rng.choice(names, size=rng.integers(1, len(names) + 1), replace=False)):
                    a = entry["answers"][name]
                    if how == "scale":
                        entry["answers"][name] = (a * 1.05 + (a == 0) * 0.05).astype(a.dtype)
                    elif how == "noise":
                        noise = rng.standard_normal(a.shape)
                        scale = 1e-2 * max(np.linalg.norm(a), 1.0) / np.linalg.norm(noise)
                        entry["answers"][name] = (a + noise * scale).astype(a.dtype)
                    else:
                        del entry["answers"][name]
                        entry["errors"][name] = "RuntimeError: shape mismatch (line 12: x = x + d * dt)"
        folder = directory / f"student_{n:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        dump_answers(answers, folder / "homework4.pkl")
    return kinds


def bench_grade_all(table: Table, repeat: int, count: int, pickle: Path, work: Path, warm_cache: Path) -> None:
    if not (ROOT / "autograder" / "batch.py").exists():
        table.add("4", f"`hw4 grade-all` over {count} submissions", "n/a (grade-all not available)",
                  f"<= {TARGETS['grade_all']:g} s")
        return
    log(f"grade-all: writing {count} submissions")
    directory = work / "class"
    kinds = make_class(pickle, directory, count)
    refs_only = work / "refs_only_cache"
    for ref in warm_cache.rglob("references.pkl"):
        target = refs_only / ref.relative_to(warm_cache)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ref, target)

    def once(cache: Path, tag: str) -> tuple[float, float, str]:
        csv = work / f"grades_{tag}.csv"
        csv.unlink(missing_ok=True)
        c = checked(run_child(hw4("grade-all", str(directory), "--csv", str(csv), "--jobs", "2"),
                              child_env(cache)), "hw4 grade-all")
        rows = csv.read_text().strip().splitlines()[1:]
        if len(rows) != count or f"graded {count} students" not in c.stdout:
            raise RuntimeError(f"grade-all wrote {len(rows)} rows for {count} students:\n{c.stdout}\n{c.stderr[-2000:]}")
        return c.wall_s, c.maxrss_kb / 1024 / 1024, c.stdout.strip().splitlines()[-1].split(" -> ")[0]

    cold_walls, last_cache, summary = [], None, ""
    for i in range(repeat):
        log(f"grade-all, references cached, mistake catalogue not: run {i + 1}/{repeat}")
        cache = work / f"grade_all_cache_{i}"
        shutil.copytree(refs_only, cache)
        wall, _, summary = once(cache, f"a{i}")
        cold_walls.append(wall)
        if last_cache is not None:
            shutil.rmtree(last_cache, ignore_errors=True)
        last_cache = cache
    warm_walls, rss = [], []
    for i in range(repeat):
        log(f"grade-all, references and mistake catalogue cached: run {i + 1}/{repeat}")
        wall, peak, _ = once(last_cache, f"b{i}")
        warm_walls.append(wall)
        rss.append(peak)
    a, b = median(cold_walls), median(warm_walls)
    mix = ", ".join(f"{v} {k}" for k, v in kinds.items())
    table.add("4", f"`hw4 grade-all` over {count} submissions, --jobs 2, warm reference cache "
                   "(mistake catalogue built on demand)", f"{a:.2f} s", f"<= {TARGETS['grade_all']:g} s",
              verdict(a, TARGETS["grade_all"]), f"runs {', '.join(f'{x:.2f}' for x in cold_walls)}; "
                                                f"question answers: {mix}; {summary}")
    table.add("4", f"`hw4 grade-all` over {count} submissions, references and mistake catalogue cached",
              f"{b:.2f} s", f"<= {TARGETS['grade_all']:g} s", verdict(b, TARGETS["grade_all"]),
              f"runs {', '.join(f'{x:.2f}' for x in warm_walls)}; largest process max RSS {median(rss):.2f} GB")


# ------------------------------------------------------------------------------------------ 5. anchor


def anchor_child(calls: int) -> None:
    """(In a child process.) Time one CFG denoiser call of a full-size SAO 1.0 DiT with random weights."""
    import contextlib
    import io
    import warnings

    sys.path.insert(0, str(ROOT))
    import torch
    from k_diffusion.external import VDenoiser

    from hw4.assignments import HOMEWORK4
    from hw4.model import load_model
    from hw4.sampling import LATENT_FRAMES, conditioning_args, initial_noise

    config = json.loads(SAO_CONFIG.read_text())
    for conditioner in config["model"]["conditioning"]["configs"]:
        name = conditioner["config"].get("tokenizer_name")
        if name and not Path(name).is_dir():  # the file names /work/main/...; follow this checkout
            conditioner["config"]["tokenizer_name"] = str(ROOT / "hw4" / "embedded" / "tokenizer")
    # The anchor is the DiT step: the full-size Oobleck autoencoder plays no part in it, so it is left out.
    del config["model"]["pretransform"]

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from stable_audio_tools.models.factory import create_model_from_config

        torch.manual_seed(0)
        t0 = time.perf_counter()
        model = create_model_from_config(config)
        build_s = time.perf_counter() - t0
    model = model.to("cpu", torch.float32).eval().requires_grad_(False)
    dit_params = sum(p.numel() for p in model.model.parameters())

    def step_times(model: torch.nn.Module, n: int, threads: int | None) -> list[float]:
        previous = torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)
        try:
            denoiser = VDenoiser(model.model)  # what hw4.sampling.make_denoiser builds
            seconds = LATENT_FRAMES * SAO_DOWNSAMPLING / model.sample_rate
            extra = conditioning_args(model, "warm ambient pad with soft reverb", seconds_total=seconds, cfg_scale=7.0)
            x = initial_noise(0, LATENT_FRAMES, 500.0)
            sigma = torch.tensor([14.6])
            times = []
            with torch.no_grad():
                denoiser(x, sigma, **extra)  # warm-up
                for _ in range(n):
                    t = time.perf_counter()
                    out = denoiser(x, sigma, **extra)
                    times.append(time.perf_counter() - t)
            assert out.shape == x.shape and torch.isfinite(out).all()
            return times
        finally:
            torch.set_num_threads(previous)

    threads = torch.get_num_threads()
    sao = step_times(model, calls, None)
    del model
    embedded, _ = load_model("embedded")
    small = step_times(embedded, max(calls, 5), 1)
    generations = sum(len(HOMEWORK4.graded_cases[q]) for q in ("q1_sample", "q3_inpaint", "q4_variable_inpaint", "q5_style_transfer"))
    print("BENCH_JSON " + json.dumps({
        "threads": threads, "build_s": build_s, "dit_params": dit_params, "sao_step_s": sao,
        "embedded_step_s": small, "generations": generations, "latent_frames": LATENT_FRAMES,
    }))


def bench_anchor(table: Table, calls: int, env: dict) -> None:
    log(f"anchor: building the full-size SAO 1.0 DiT (random weights) and timing {calls} CFG calls")
    c = checked(run_child([PY, str(Path(__file__).resolve()), "--anchor-child", str(calls)], env), "anchor")
    data = json.loads(next(line for line in c.stdout.splitlines() if line.startswith("BENCH_JSON "))[11:])
    step = median(data["sao_step_s"])
    gens = data["generations"]
    original = gens * STEPS * step
    suite = getattr(table, "runner_wall", None)
    table.add("5", f"anchor: one denoiser call of SAO 1.0's DiT ({data['dit_params'] / 1e9:.2f} B params, "
                   f"random weights) with CFG (batch 2), {data['latent_frames']} latent frames, "
                   f"{data['threads']} torch threads", f"{step:.2f} s", "", "",
              f"calls {', '.join(f'{x:.2f}' for x in data['sao_step_s'])} after 1 warm-up; "
              f"model built in {data['build_s']:.1f} s; child max RSS {c.maxrss_kb / 1024 / 1024:.2f} GB")
    table.add("5", f"original design's runner: {gens} graded generations x {STEPS} steps x step time",
              f"{original:.0f} s ({original / 3600:.2f} h)", "", "", "")
    table.add("5", "for comparison: one denoiser call of the embedded model (1 thread, as graded)",
              f"{median(data['embedded_step_s']) * 1000:.2f} ms", "", "",
              f"{step / median(data['embedded_step_s']):.0f}x cheaper than the SAO-size call")
    if suite is not None:
        ratio = original / suite
        table.add("5", "suite's runner (item 1) vs the original design", f"{suite:.2f} s vs {original:.0f} s = "
                  f"{ratio:.0f}x faster", f">= {TARGETS['speedup']:g}x", verdict(ratio, TARGETS["speedup"], False),
                  f"with 24 generations (the brief's count) {24 * STEPS * step / suite:.0f}x")
    else:
        table.add("5", "suite's runner vs the original design", "n/a (item 1 not run)", f">= {TARGETS['speedup']:g}x")


# ------------------------------------------------------------------------------------------ machine


def machine() -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    versions = subprocess.run([PY, "-c", "import sys, torch, numpy; print(sys.version.split()[0], torch.__version__, "
                                         "numpy.__version__, torch.get_num_threads())"],
                              capture_output=True, text=True).stdout.split()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"- date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        f"- CPU: {cpu}; {cores} cores usable (os.cpu_count() = {os.cpu_count()}); RAM {mem}; no GPU used",
        f"- OS: {platform.platform()}",
        f"- python {versions[0] if versions else '?'}, torch {versions[1] if len(versions) > 1 else '?'}, "
        f"numpy {versions[2] if len(versions) > 2 else '?'}, torch default threads {versions[3] if len(versions) > 3 else '?'}",
        f"- repository: commit {commit}{' + uncommitted changes' if dirty else ''}",
    ]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is reported)")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 run per figure and 20 submissions")
    p.add_argument("--submissions", type=int, help="submissions for grade-all (default 200, 20 with --quick)")
    p.add_argument("--anchor-child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.anchor_child:
        anchor_child(args.anchor_child)
        return 0
    repeat = 1 if args.quick else max(1, args.repeat)
    count = args.submissions or (20 if args.quick else 200)
    table = Table()
    started = time.perf_counter()
    load_before = loadavg()
    with tempfile.TemporaryDirectory(prefix="hw4-bench-") as tmp:
        work = Path(tmp)
        warm_cache = work / "warm_cache"
        env = child_env(work / "unused_cache")

        def item(number: str, fn, *fn_args):
            """Run one item; a failure becomes an error row instead of ending the benchmark."""
            try:
                return fn(*fn_args)
            except Exception as err:  # noqa: BLE001 - report and go on with the other items
                log(f"item {number} failed: {err}")
                table.add(number, f"{fn.__name__} failed", "error", "", "ERROR", " ".join(str(err).split())[:300])
                return None

        pickle = item("1", bench_runner, table, repeat, work, env)
        item("2", bench_selfcheck, table, repeat, env)
        if pickle is not None:
            item("3", bench_grade, table, repeat, pickle, work, warm_cache)
            item("4", bench_grade_all, table, repeat, count, pickle, work, warm_cache)
        item("5", bench_anchor, table, max(3, repeat) if not args.quick else 2, env)
    load_after = loadavg()
    total = time.perf_counter() - started
    misses = [r for r in table.rows if r.result in ("MISS", "ERROR")]
    table.notes.insert(0, f"Load average (1/5/15 min) at start {load_before}, at end {load_after}: other work shared "
                          "this machine's CPU during the run, so the figures may be noisy (slower than on an idle "
                          "machine).")
    text = "\n".join([
        f"# hw4 benchmark ({'quick, ' if args.quick else ''}median of {repeat} run{'s' if repeat > 1 else ''} per figure)",
        "",
        *machine(),
        f"- command: `{' '.join([Path(PY).name, 'bench/run.py', *(argv if argv is not None else sys.argv[1:])])}`; "
        f"whole benchmark took {total / 60:.1f} min",
        "",
        table.markdown(),
        "",
        f"Targets missed: {len(misses)}" + (" (" + "; ".join(r.measurement.split(':')[0].split(',')[0] for r in misses) + ")"
                                             if misses else "") + ".",
        "",
        "Notes:",
        *(f"- {n}" for n in table.notes),
        "- Wall times are of fresh child processes (Python start-up and imports included); memory is the child's "
        "ru_maxrss from os.wait4 (for grade-all: the largest single process, workers included, not their sum).",
        "- Item 5 builds `bench/sao_1_0_config.json` (SAO 1.0's published model config, with the T5 prompt "
        "conditioner replaced by a `lut` conditioner on hw4/embedded/tokenizer, cond_dim 768, max_length 128, so "
        "nothing is downloaded) without its Oobleck pretransform, because the anchor is the DiT step only. Weights are "
        "random (no download).",
        "",
    ])
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(text)
    (RESULTS / f"{dt.date.today().isoformat()}.md").write_text(text)
    log(f"wrote {RESULTS / 'latest.md'} and {RESULTS / (dt.date.today().isoformat() + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
