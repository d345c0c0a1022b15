"""``run(command, ...)``: run a student's code under the operating system's isolation, never in the grader.

The integrity re-run (``hw4 grade --submission``, ``grade-all --integrity``, Gradescope) is the only place
staff-side tools execute a submission, and it goes through ``run``. The boundary is the kernel, built with
bubblewrap (``bwrap``) and, as root, ``setpriv`` and cgroups:

* **who**: as root, the code runs as a dedicated uid with no passwd entry (``setpriv``), different for every
  run; without root, inside a user namespace (``bwrap --unshare-user``).
* **what it sees**: a new mount namespace holding only the system's read-only directories, the Python
  installation, the student-side ``hw4`` package and the paths the caller lists (read-only), a private
  ``/tmp`` (size-limited tmpfs) and one writable output file. Solutions, the autograder, the reference cache,
  other students' files and the grader's environment (``--clearenv``) are simply not there.
* **whom it reaches**: new pid, network, IPC and UTS namespaces; ``/proc`` shows only the sandbox, the
  network has only its own loopback.
* **how much**: a memory cgroup (shared memory included) and a pids cgroup where the grader can create them
  (as root with cgroup v1 or v2), else ``RLIMIT_AS``; ``RLIMIT_NPROC``, ``RLIMIT_FSIZE``, ``RLIMIT_CORE``;
  a wall-clock limit.
* **what is left**: nothing. The sandbox's pid namespace dies with its first process, which takes every
  process it started (``setsid`` daemons included); the cgroup and the dedicated uid are swept as well.

When neither mechanism works, ``run`` raises ``SandboxUnavailable`` instead of running the code unprotected;
``mechanism="unsandboxed"`` (the TA's explicit ``--unsandboxed``) runs it with rlimits only.
"""

from __future__ import annotations

import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from hw4.errors import UserError

ROOT, USERNS, UNSANDBOXED = "root", "userns", "unsandboxed"
MECHANISMS = (ROOT, USERNS, UNSANDBOXED)
SANDBOX_HOME = "/tmp/home"
PACKAGE_MOUNT = "/opt/hw4"  # the student-side package is mounted here, and only it
OUTPUT = "/tmp/output"  # where the command writes its result (a private tmpfs, size-limited)
OUTPUT_MOUNT = "/out/output"  # the one file on disk the sandbox may write: OUTPUT is copied there at the end
UID_RANGE = (1_000_000, 2_000_000)  # dedicated uids: above any real account, no passwd entry needed
SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
CGROUP_ROOT = Path("/sys/fs/cgroup")
LOG_LIMIT = 64 * 1024


class SandboxUnavailable(UserError):
    """No isolation mechanism works on this machine; the message says what to install or pass."""


@dataclass(frozen=True)
class Limits:
    """What one sandboxed run may use."""

    wall_s: float = 600.0
    memory_mb: int = 4000
    processes: int = 64
    file_mb: int = 128
    tmp_mb: int = 256


@dataclass
class Outcome:
    """How a sandboxed run ended: exit status (negative: signal), whether it ran out of time, its output."""

    returncode: int | None
    timed_out: bool
    seconds: float
    log: bytes
    mechanism: str
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- mechanism


@cache
def _bwrap() -> str | None:
    return shutil.which("bwrap")


@cache
def _userns_works() -> bool:
    bwrap = _bwrap()
    if not bwrap:
        return False
    probe = [bwrap, "--unshare-all", "--ro-bind", "/", "/", "--", "/bin/true"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def available() -> str | None:
    """The strongest mechanism this machine offers (``root`` or ``userns``), or None."""
    if _bwrap() and os.geteuid() == 0 and shutil.which("setpriv"):
        return ROOT
    if _userns_works():
        return USERNS
    return None


def choose(unsandboxed: bool = False) -> str:
    """The mechanism to use, or ``SandboxUnavailable`` with the fix in one sentence."""
    if unsandboxed:
        return UNSANDBOXED
    found = available()
    if found is None:
        raise SandboxUnavailable(
            "Cannot run student code safely here: install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) "
            "and run as root or with user namespaces enabled, or pass --unsandboxed to run it without isolation.")
    return found


# ------------------------------------------------------------------------------------------ cgroups


class _Cgroups:
    """Memory and pids cgroups for one run (v1 or v2), when this process may create them; else empty."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.dirs: list[Path] = []
        memory = limits.memory_mb * 1024 * 1024
        if (CGROUP_ROOT / "cgroup.controllers").exists():  # v2: one directory with both controllers
            wanted = {"memory.max": memory, "memory.swap.max": 0, "pids.max": limits.processes}
            self._make(CGROUP_ROOT / name, wanted)
        else:
            self._make(CGROUP_ROOT / "memory" / name,
                       {"memory.limit_in_bytes": memory, "memory.memsw.limit_in_bytes": memory})
            self._make(CGROUP_ROOT / "pids" / name, {"pids.max": limits.processes})

    def _make(self, path: Path, settings: Mapping[str, int]) -> None:
        try:
            path.mkdir()
        except OSError:
            return
        self.dirs.append(path)
        for key, value in settings.items():
            try:
                (path / key).write_text(str(value))
            except OSError:
                continue

    @property
    def limits_memory(self) -> bool:
        return any((d / f).exists() for d in self.dirs for f in ("memory.max", "memory.limit_in_bytes"))

    def enter(self) -> None:
        """Put the calling process in every cgroup (runs between fork and exec)."""
        for path in self.dirs:
            (path / "cgroup.procs").write_text(str(os.getpid()))

    def sweep(self) -> None:
        """Kill whatever is still in the cgroups and remove them."""
        for _ in range(50):
            pids = {int(p) for d in self.dirs for p in _read(d / "cgroup.procs").split()}
            if not pids:
                break
            for pid in pids:
                _kill(pid)
            time.sleep(0.02)
        for path in self.dirs:
            try:
                path.rmdir()
            except OSError:
                pass


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_uid(uid: int) -> None:
    """SIGKILL every process whose real uid is ``uid`` (the dedicated uid of a finished run)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            for line in _read(entry / "status").splitlines():
                if line.startswith("Uid:") and int(line.split()[1]) == uid:
                    _kill(int(entry.name))


# ------------------------------------------------------------------------------------------ command


def _system_binds() -> list[str]:
    args: list[str] = []
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _python_binds() -> list[str]:
    """The interpreter's installation and the environment (venv/conda) it runs in, read-only."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(sys.executable).resolve().parent.parent}
    args: list[str] = []
    for root in sorted(roots):
        if not any(str(root).startswith(d + "/") for d in SYSTEM_DIRS):
            args += ["--ro-bind", str(root), str(root)]
    if Path(sys.prefix) != Path(sys.prefix).resolve():
        args += ["--ro-bind", sys.prefix, sys.prefix]
    return args


def package_dir() -> Path:
    """The student-side ``hw4`` package (code, embedded model, self-check data): all the sandbox may import."""
    import hw4

    return Path(hw4.__file__).resolve().parent


def bwrap_command(command: Sequence[str], mechanism: str, uid: int, output: Path, env: Mapping[str, str],
                  readable: Sequence[tuple[Path, str]], limits: Limits) -> list[str]:
    """The full ``bwrap`` (and, as root, ``setpriv``) command line for one run."""
    args = [_bwrap() or "bwrap", "--die-with-parent", "--new-session", "--clearenv",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if mechanism == USERNS:
        args += ["--unshare-user", "--disable-userns", "--uid", "65534", "--gid", "65534"]
    # /tmp first: what is bound afterwards (a venv or a checkout under /tmp, as on CI) stays visible on top of it.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.tmp_mb * 1024 * 1024), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(16 * 1024 * 1024), "--tmpfs", "/dev/shm"]
    args += _system_binds() + _python_binds()
    args += ["--ro-bind", str(package_dir()), f"{PACKAGE_MOUNT}/hw4"]
    for source, target in readable:
        args += ["--ro-bind", str(source), target]
    args += ["--bind", str(output), OUTPUT_MOUNT, "--remount-ro", "/", "--chdir", "/tmp"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args = _with_parent_dirs(args)
    if mechanism == ROOT:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--",
                 shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all"]
    else:
        args += ["--"]
    return args + ["/bin/sh", "-c", COPY_OUT, "sandbox", *command]


COPY_OUT = f'"$@"; status=$?; if [ -f {OUTPUT} ]; then cat {OUTPUT} > {OUTPUT_MOUNT}; fi; exit $status'
"""Runs the command, then copies its result to the one writable file on disk (bounded by RLIMIT_FSIZE)."""


MOUNT_OPTIONS = {"--ro-bind": 2, "--bind": 2, "--symlink": 2, "--tmpfs": 1, "--proc": 1, "--dev": 1}


MODIFIERS = ("--perms", "--size")  # options that apply to the mount that follows them


def _with_parent_dirs(args: list[str]) -> list[str]:
    """Create each mount point's missing parents just before its mount, traversable (bwrap would make them
    0700, shutting out the sandbox's uid); a parent under a tmpfs is made after that tmpfs is mounted."""
    made: set[str] = {"/"}
    out: list[str] = []
    pending: list[str] = []  # modifiers waiting for their mount
    i = 0
    while i < len(args):
        option = args[i]
        if option in MODIFIERS:
            pending += args[i:i + 2]
            i += 2
            continue
        width = MOUNT_OPTIONS.get(option)
        if width:
            target = args[i + width]
            for parent in reversed(Path(target).parents):
                if str(parent) not in made:
                    made.add(str(parent))
                    out += ["--perms", "0755", "--dir", str(parent)]
            made.add(target)
            out += pending + args[i:i + width + 1]
            pending = []
            i += width + 1
            continue
        out.append(option)
        i += 1
    return out + pending


def sandbox_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A fresh, minimal environment: nothing of the grader's, everything writable under ``/tmp``."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": SANDBOX_HOME,
        "TMPDIR": "/tmp",
        "PYTHONPATH": PACKAGE_MOUNT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": "/tmp",
        "HW4_CACHE_DIR": "/tmp/cache",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "OMP_NUM_THREADS": "1",
    }
    env.update(extra or {})
    return env


def _rlimits(limits: Limits, address_space: bool) -> None:
    """Runs between fork and exec; inherited by everything the sandbox starts."""
    file_bytes = limits.file_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    if address_space:
        cap = (limits.memory_mb + RESERVED_ADDRESS_SPACE_MB) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


RESERVED_ADDRESS_SPACE_MB = 6000
"""Added to the memory limit when ``RLIMIT_AS`` is the only cap: PyPI's CUDA build of torch maps about 5 GB of
address space it never touches (VmPeak 5.3 GB against 0.9 GB resident for a whole run on the embedded model)."""


# ---------------------------------------------------------------------------------------------- run


def run(command: Sequence[str], *, readable: Sequence[tuple[Path, str]] = (), env: Mapping[str, str] | None = None,
        limits: Limits = Limits(), mechanism: str | None = None) -> tuple[Outcome, bytes | None]:
    """Run ``command`` in a sandbox; return how it ended and the bytes it wrote to ``OUTPUT`` (or None).

    ``readable`` lists ``(path on this machine, path in the sandbox)`` pairs mounted read-only. The command
    sees an empty ``/tmp`` as its home and working directory; what it leaves in ``OUTPUT`` is read back only
    after every process of the run has ended, as untrusted bytes.
    """
    mechanism = mechanism or choose()
    uid = UID_RANGE[0] + secrets.randbelow(UID_RANGE[1] - UID_RANGE[0])
    with tempfile.TemporaryDirectory(prefix="hw4-sandbox-") as private:
        os.chmod(private, 0o700)
        output = Path(private) / "output"
        output.touch(mode=0o600)
        cgroups = _Cgroups(f"hw4-{uid}", limits)  # where this process may create them (root), in every mode
        if mechanism == ROOT:
            os.chown(output, uid, uid)
        if mechanism == UNSANDBOXED:  # the same command, pointed at the real paths
            paths = {OUTPUT: str(output), **{target: str(source) for source, target in readable}}
            full = [paths.get(arg, arg) for arg in command]
        else:
            full = bwrap_command(command, mechanism, uid, output, sandbox_environment(env), readable, limits)
        log_path = Path(private) / "log"
        outcome = _execute(full, log_path, limits, mechanism, cgroups, uid, env, Path(private))
        data = output.read_bytes() if output.stat().st_size else None
    return outcome, data


def _execute(full: list[str], log_path: Path, limits: Limits, mechanism: str, cgroups: _Cgroups | None, uid: int,
             env: Mapping[str, str] | None, private: Path) -> Outcome:
    address_space = not (cgroups and cgroups.limits_memory)

    def prepare() -> None:
        os.umask(0o022)  # bwrap creates the mount points' parent directories with it: they must be traversable
        if cgroups:
            cgroups.enter()
        _rlimits(limits, address_space)

    if mechanism == UNSANDBOXED:
        cwd = private / "work"
        cwd.mkdir()
        run_env = {**sandbox_environment(env), "HOME": str(cwd), "TMPDIR": str(cwd), "MPLCONFIGDIR": str(cwd),
                   "HW4_CACHE_DIR": str(cwd / "cache"), "PYTHONPATH": str(package_dir().parent)}
    else:
        cwd, run_env = private, {}
    started = time.monotonic()
    timed_out = False
    try:
        with log_path.open("wb") as log:
            process = subprocess.Popen(full, cwd=cwd, env=run_env, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=prepare)
            try:
                process.wait(timeout=limits.wall_s)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _end(process, cgroups, uid if mechanism == ROOT else None)
    finally:
        if cgroups:
            cgroups.sweep()
    seconds = time.monotonic() - started
    with log_path.open("rb") as written:
        written.seek(max(0, log_path.stat().st_size - LOG_LIMIT))
        tail = written.read()
    notes = [] if mechanism != UNSANDBOXED else ["ran WITHOUT a sandbox (--unsandboxed)"]
    return Outcome(None if timed_out else process.returncode, timed_out, seconds, tail, mechanism, notes)


def _end(process: subprocess.Popen, cgroups: _Cgroups | None, uid: int | None) -> None:
    """Kill the run's whole process tree: its session, its cgroups and its dedicated uid."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()
    if cgroups:
        cgroups.sweep()
    if uid is not None:
        _kill_uid(uid)
