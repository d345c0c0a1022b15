"""``autograder.sandbox``: each promise of the sandbox, proved by the attack it stops.

Every probe below is a small Python program run through ``sandbox.run``; it prints what it managed to do.
Where a probe's attack would work without the sandbox, a control run with ``mechanism="unsandboxed"`` shows
that the probe itself is not broken. A mechanism this machine lacks is skipped with the reason, except on CI
(``CI`` set, running as root), where nothing may be skipped.
"""

from __future__ import annotations

import os
import socket
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import processes_with

from autograder import sandbox

ROOT = Path(__file__).resolve().parents[1]
MECHANISMS = (sandbox.ROOT, sandbox.USERNS)


def _usable(mechanism: str) -> str | None:
    """Why ``mechanism`` cannot run here, or None."""
    if not sandbox._bwrap():
        return "bubblewrap (bwrap) is not installed"
    if mechanism == sandbox.ROOT and os.geteuid() != 0:
        return "not running as root"
    if mechanism == sandbox.USERNS and not sandbox._userns_works():
        return "user namespaces are not available"
    return None


@pytest.fixture(params=MECHANISMS)
def mechanism(request) -> str:
    why = _usable(request.param)
    if why:
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(f"the {request.param} sandbox must work on CI, but {why}")
        pytest.skip(f"{request.param} sandbox unavailable: {why}")
    return request.param


def probe(tmp_path: Path, code: str, mechanism: str, limits: sandbox.Limits | None = None,
          readable=(), env=None) -> tuple[sandbox.Outcome, str]:
    """Run ``code`` in the sandbox; return the outcome and what it printed."""
    script = tmp_path / f"probe-{mechanism}.py"
    script.write_text(textwrap.dedent(code))
    outcome, _ = sandbox.run([sys.executable, "/probe/probe.py"], readable=[(script, "/probe/probe.py"), *readable],
                             env=env, limits=limits or sandbox.Limits(wall_s=60), mechanism=mechanism)
    return outcome, outcome.log.decode("utf-8", "replace")


def test_runs_as_a_dedicated_user_that_is_not_the_graders(tmp_path, mechanism):
    outcome, out = probe(tmp_path, "import os; print('uid', os.getuid(), os.geteuid())", mechanism)
    assert outcome.returncode == 0, out
    if mechanism == sandbox.ROOT:
        uid = int(out.split()[1])
        assert uid >= sandbox.UID_RANGE[0] and uid != os.getuid()
    else:
        assert out.split()[1] == "65534"


@pytest.mark.slow
def test_sees_none_of_the_graders_files(tmp_path, mechanism, monkeypatch):
    other_student = tmp_path / "students" / "bob" / "homework4.pkl"
    other_student.parent.mkdir(parents=True)
    other_student.write_bytes(b"bob's answers")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "references.pkl").write_bytes(b"references")
    secrets_in = [str(ROOT / "solutions" / "homework4.py"), str(ROOT / "autograder" / "grade.py"),
                  str(cache / "references.pkl"), str(other_student), str(ROOT / "README.md")]
    outcome, out = probe(tmp_path, f"""
        import importlib
        for path in {secrets_in!r}:
            try:
                open(path, "rb").read(); print("READ", path)
            except OSError as err:
                print("blocked", type(err).__name__)
        for module in ("solutions.homework4", "autograder.grade", "hw4.answers"):
            try:
                importlib.import_module(module); print("IMPORTED", module)
            except ImportError:
                print("no", module)
        """, mechanism)
    assert outcome.returncode == 0, out
    assert "READ" not in out and out.count("blocked") == len(secrets_in)
    assert "IMPORTED hw4.answers" in out  # the student-side package is there ...
    assert "IMPORTED solutions" not in out and "IMPORTED autograder" not in out  # ... and nothing of staff's


def test_the_graders_environment_and_processes_are_out_of_reach(tmp_path, mechanism, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "grader-secret-token")
    monkeypatch.setenv("HW4_CACHE_DIR", str(tmp_path))
    grader = os.getpid()
    outcome, out = probe(tmp_path, f"""
        import os
        print("env", sorted(os.environ.items()))
        print("secret" if "grader-secret-token" in str(os.environ) else "clean")
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        print("pids", len(pids))
        for pid in pids + ["{grader}"]:
            try:
                if b"grader-secret-token" in open(f"/proc/{{pid}}/environ", "rb").read():
                    print("FOUND in", pid)
            except OSError:
                pass
        try:
            os.kill({grader}, 9); print("KILLED")
        except OSError as err:
            print("kill", type(err).__name__)
        """, mechanism)
    assert outcome.returncode == 0, out
    assert "clean" in out and "FOUND" not in out and "KILLED" not in out
    assert str(tmp_path) not in out  # the grader's HW4_CACHE_DIR is not passed on
    assert int(out.split("pids ")[1].split()[0]) <= 3  # its own processes only


def test_no_network_not_even_the_graders_loopback(tmp_path, mechanism):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    port = server.getsockname()[1]
    accepted: list[object] = []

    def accept() -> None:
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    code = f"""
        import socket
        try:
            socket.create_connection(("127.0.0.1", {port}), timeout=3); print("CONNECTED")
        except OSError as err:
            print("refused", type(err).__name__)
        """
    try:
        outcome, out = probe(tmp_path, code, mechanism)
        assert "refused" in out and "CONNECTED" not in out, out
        control, control_out = probe(tmp_path, code, sandbox.UNSANDBOXED)
        assert "CONNECTED" in control_out  # the probe does connect when nothing stops it
    finally:
        server.close()
        listener.join(5)


def test_writes_nowhere_but_its_own_tmp(tmp_path, mechanism):
    """Read-only mounts refuse writes; paths of the grader's machine, even where the sandbox's private /tmp
    mirrors them (a checkout under /tmp), never receive the file."""
    blocked = ["/planted.txt", "/opt/hw4/hw4/planted.py", "/probe/planted.txt", f"{sys.prefix}/planted.txt"]
    real = [tmp_path / "planted.txt", ROOT / "planted.txt"]
    outcome, out = probe(tmp_path, f"""
        for path in {blocked!r}:
            try:
                open(path, "w").write("x"); print("WROTE", path)
            except OSError:
                print("blocked")
        for path in {[str(p) for p in real]!r} + ["/tmp/ok.txt"]:
            try:
                open(path, "w").write("x")
            except OSError:
                pass
        print("private tmp", open("/tmp/ok.txt").read())
        """, mechanism)
    assert outcome.returncode == 0, out
    assert "WROTE" not in out and out.count("blocked") == len(blocked) and "private tmp x" in out
    assert not any(p.exists() for p in real)


def test_shared_memory_cannot_escape_the_memory_limit(tmp_path, mechanism):
    code = """
        import mmap
        try:
            block = mmap.mmap(-1, 8 << 30, flags=mmap.MAP_SHARED)
            for offset in range(0, 1 << 30, 4096):
                block[offset] = 1
            print("ESCAPED")
        except (OSError, MemoryError, ValueError) as err:
            print("stopped", type(err).__name__)
        """
    outcome, out = probe(tmp_path, code, mechanism, sandbox.Limits(wall_s=60, memory_mb=512))
    assert "ESCAPED" not in out, out
    assert outcome.returncode != 0 or "stopped" in out


def test_process_count_is_limited(tmp_path, mechanism):
    outcome, out = probe(tmp_path, """
        import os, time
        started = 0
        for _ in range(200):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(30)
                os._exit(0)
            started += 1
        print("started", started)
        """, mechanism, sandbox.Limits(wall_s=60, processes=32))
    started = int(out.split("started ")[1].split()[0])
    assert started < 32, out


def test_file_size_is_limited(tmp_path, mechanism):
    outcome, out = probe(tmp_path, """
        import os
        chunk = b"x" * (1 << 20)
        written = 0
        try:
            with open("/tmp/big", "wb") as f:
                for _ in range(64):
                    f.write(chunk); f.flush(); written += 1
        except OSError as err:
            print("stopped", type(err).__name__)
        print("megabytes", written)
        """, mechanism, sandbox.Limits(wall_s=60, file_mb=16))
    assert outcome.returncode != 0 or int(out.split("megabytes ")[1].split()[0]) <= 16, out


def test_a_double_forked_setsid_daemon_does_not_survive(tmp_path, mechanism):
    marker = f"hw4-daemon-marker-{os.getpid()}-{mechanism}"
    outcome, out = probe(tmp_path, f"""
        import os, subprocess, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                subprocess.Popen(["/bin/sh", "-c", "sleep 60 # {marker}"], start_new_session=True)
                os._exit(0)
            os._exit(0)
        time.sleep(1)
        print("daemon started")
        """, mechanism)
    assert "daemon started" in out, out
    assert processes_with(marker) == []


def test_wall_clock_limit_ends_a_hang(tmp_path, mechanism):
    outcome, _ = probe(tmp_path, "import time\nwhile True:\n    time.sleep(1)\n", mechanism,
                       sandbox.Limits(wall_s=3))
    assert outcome.timed_out and outcome.returncode is None
    started, _ = probe(tmp_path, "pass\n", mechanism)  # the start-up and clean-up of a run, on this machine now
    assert outcome.seconds < 3 + max(12, 3 * started.seconds)


def test_output_is_read_back_only_from_its_file(tmp_path, mechanism):
    outcome, data = sandbox.run([sys.executable, "-c", f"open({sandbox.OUTPUT!r}, 'wb').write(b'answers')"],
                                limits=sandbox.Limits(wall_s=60), mechanism=mechanism)
    assert outcome.returncode == 0 and data == b"answers"


def test_without_any_mechanism_it_refuses_in_one_sentence(monkeypatch):
    monkeypatch.setattr(sandbox, "available", lambda: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="bubblewrap.*--unsandboxed"):
        sandbox.choose()
    assert sandbox.choose(unsandboxed=True) == sandbox.UNSANDBOXED


def test_an_installation_under_tmp_stays_visible(tmp_path):
    """A venv or checkout under /tmp (CI clones there) is bound after the sandbox's own /tmp, not hidden by it."""
    venv_like = tmp_path / "venv" / "lib"
    venv_like.mkdir(parents=True)
    args = sandbox.bwrap_command(["true"], sandbox.USERNS, 0, tmp_path / "out", {}, [(venv_like, str(venv_like))],
                                 sandbox.Limits())
    tmpfs = args.index("/tmp", args.index("--tmpfs"))
    bound = max(i for i, a in enumerate(args) if a == str(venv_like))
    assert tmpfs < bound
    parents = {args[i + 1]: i for i, a in enumerate(args) if a == "--dir"}
    assert parents[str(venv_like.parent)] > tmpfs  # its parents are made inside the sandbox's /tmp, 0755
