"""Tests for hw4.safe_pickle: round trips, hostile payloads, resource limits, broken files and fuzzing.

Files of the current format are written with the stock pickler from ``to_plain`` (what ``dump_answers`` pickles),
so that a test can also write what ``dump_answers`` would refuse; ``pickle.dumps`` of numpy objects gives the
previous format (numpy's own pickling), which the loader refuses as a whole.
"""

from __future__ import annotations

import codecs
import functools
import io
import os
import pickle
import pickletools
import shlex
import struct
import subprocess
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hw4.plain_data import DTYPES, to_plain
from hw4.safe_pickle import (
    MAX_BYTES,
    AnswerFileError,
    UnsafePickleError,
    dump_answers,
    load_answers,
    validate_answers,
)

PROTOCOLS = (3, 4, 5)  # protocol 2 has no bytes opcode: it pickles bytes through a global (_codecs.encode)

# ----------------------------------------------------------------------------------------- helpers


def realistic_answers() -> dict:
    """An answers dict shaped like what the runner writes."""
    rng = np.random.default_rng(0)
    return {
        "meta": {
            "student": "Ada Lovelace",
            "numpy": np.__version__,
            "seed": 1234,
            "device": None,
            "ok": True,
        },
        "q1": {
            "latents": rng.standard_normal((2, 64, 32)).astype(np.float32),
            "sigmas": np.linspace(1.0, 0.0, 11, dtype=np.float32),
        },
        "q2": {
            "steps": [rng.standard_normal((4, 8)).astype(np.float32) for _ in range(3)],
            "loss": 0.125,
            "shape": (2, 64, 32),
        },
        "q3": {
            "mask": rng.random(16) > 0.5,
            "ids": np.arange(10, dtype=np.int64),
            "small": np.arange(5, dtype=np.uint8),
            "half": np.ones(4, np.float16),
            "spectrum": (rng.standard_normal(8) + 1j).astype(np.complex64),
            "big_endian": np.arange(3, dtype=">f8"),
            "fortran": np.asfortranarray(rng.standard_normal((3, 5))),
            "strided": np.arange(20.0)[::3],
            "zero_d": np.array(2.5, dtype=np.float64),
            "empty": np.zeros((0, 3), np.float32),
            "scalar": np.float32(0.5),
            "count": np.int64(7),
            "flag": np.bool_(True),
        },
    }


def assert_same(got: object, want: object) -> None:
    """Deep equality that also compares exact types, dtypes and shapes."""
    if isinstance(want, np.ndarray):
        assert type(got) is np.ndarray
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.array_equal(got, want)
        assert got.flags.writeable
        return
    assert type(got) is type(want), (type(got), type(want))
    if isinstance(want, dict):
        assert list(got) == list(want)
        for key in want:
            assert_same(got[key], want[key])
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert_same(a, b)
    else:
        assert got == want


def current(answers: object, protocol: int = 4) -> bytes:
    """``answers`` in the current format (arrays as records), pickled by the stock pickler without any check."""
    return pickle.dumps(to_plain(answers, MAX_BYTES), protocol=protocol)


# Raw pickle building blocks, so hostile and malformed files can be written without the objects.
def proto(n: int) -> bytes:
    return pickle.PROTO + bytes([n])


def glob(module: str, name: str) -> bytes:
    return pickle.GLOBAL + f"{module}\n{name}\n".encode()


def ustr(text: str) -> bytes:
    data = text.encode()
    return pickle.BINUNICODE + struct.pack("<I", len(data)) + data


def raw_bytes(data: bytes) -> bytes:
    return pickle.BINBYTES + struct.pack("<I", len(data)) + data


def num(n: int) -> bytes:
    if -(2**31) <= n < 2**31:
        return pickle.BININT + struct.pack("<i", n)
    body = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return pickle.LONG1 + bytes([len(body)]) + body


def tup(*parts: bytes) -> bytes:
    return pickle.MARK + b"".join(parts) + pickle.TUPLE


def raw_dtype(spec: str, endian: str = "<") -> bytes:
    state = tup(num(3), ustr(endian), pickle.NONE * 3, num(-1), num(-1), num(0))
    return (
        glob("numpy", "dtype")
        + tup(ustr(spec), pickle.NEWFALSE, pickle.NEWTRUE)
        + pickle.REDUCE
        + state
        + pickle.BUILD
    )


def raw_reconstruct(
    core: str, data: bytes, shape: tuple[int, ...], spec: str = "f4", endian: str = "<"
) -> bytes:
    """``_reconstruct(ndarray, (0,), b'b')`` then BUILD with (1, shape, dtype, False, data), as numpy writes."""
    call = glob(f"{core}.multiarray", "_reconstruct") + tup(
        glob("numpy", "ndarray"), tup(num(0)), raw_bytes(b"b")
    )
    state = tup(
        num(1), tup(*(num(d) for d in shape)), raw_dtype(spec, endian), pickle.NEWFALSE, raw_bytes(data)
    )
    return call + pickle.REDUCE + state + pickle.BUILD


def raw_frombuffer(core: str, data: bytes, shape: tuple[int, ...], spec: str = "f4") -> bytes:
    """``_frombuffer(buf, dtype, shape, 'C')``, the protocol 5 path."""
    args = tup(raw_bytes(data), raw_dtype(spec), tup(*(num(d) for d in shape)), ustr("C"))
    return glob(f"{core}.numeric", "_frombuffer") + args + pickle.REDUCE


def raw_scalar(core: str, data: bytes, spec: str = "f8") -> bytes:
    return glob(f"{core}.multiarray", "scalar") + tup(raw_dtype(spec), raw_bytes(data)) + pickle.REDUCE


def raw_dict(**items: bytes) -> bytes:
    return pickle.EMPTY_DICT + pickle.MARK + b"".join(ustr(k) + v for k, v in items.items()) + pickle.SETITEMS


def whole(body: bytes, protocol: int = 3) -> bytes:
    return proto(protocol) + body + pickle.STOP


# Written by numpy 2.4 (`pickle.dumps({'a': arange(3, f4), 's': float64(.5), 'e': zeros((0, 2), i2)}, p)`).
NUMPY2_P2 = (
    b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01cnumpy._core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03"
    b"K\x00\x85q\x04c_codecs\nencode\nq\x05X\x01\x00\x00\x00bq\x06X\x06\x00\x00\x00latin1q\x07\x86q\x08Rq\t\x87q\n"
    b"Rq\x0b(K\x01K\x03\x85q\x0ccnumpy\ndtype\nq\rX\x02\x00\x00\x00f4q\x0e\x89\x88\x87q\x0fRq\x10(K\x03X\x01\x00\x00"
    b"\x00<q\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x12b\x89h\x05X\r\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    b"\xc2\x80?\x00\x00\x00@q\x13h\x07\x86q\x14Rq\x15tq\x16bX\x01\x00\x00\x00sq\x17cnumpy._core.multiarray\nscalar\n"
    b"q\x18h\rX\x02\x00\x00\x00f8q\x19\x89\x88\x87q\x1aRq\x1b(K\x03h\x11NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq"
    b"\x1cbh\x05X\t\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc3\xa0?q\x1dh\x07\x86q\x1eRq\x1f\x86q Rq!X\x01\x00\x00\x00e"
    b"q\"h\x02h\x03K\x00\x85q#h\t\x87q$Rq%(K\x01K\x00K\x02\x86q&h\rX\x02\x00\x00\x00i2q'\x89\x88\x87q(Rq)(K\x03h\x11"
    b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq*b\x89c__builtin__\nbytes\nq+)Rq,tq-bu."
)
NUMPY2_P5 = (
    b"\x80\x05\x95$\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94\x8c\x13numpy._core.numeric\x94\x8c\x0b_frombuffer"
    b"\x94\x93\x94(\x96\x0c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80?\x00\x00\x00@\x94\x8c\x05numpy"
    b"\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff"
    b"\xff\xff\xffK\x00t\x94bK\x03\x85\x94\x8c\x01C\x94t\x94R\x94\x8c\x01s\x94\x8c\x16numpy._core.multiarray\x94\x8c"
    b"\x06scalar\x94\x93\x94h\x08\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03h\x0cNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff"
    b"K\x00t\x94bC\x08\x00\x00\x00\x00\x00\x00\xe0?\x94\x86\x94R\x94\x8c\x01e\x94h\x04(\x96\x00\x00\x00\x00\x00\x00"
    b"\x00\x00\x94h\x08\x8c\x02i2\x94\x89\x88\x87\x94R\x94(K\x03h\x0cNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94"
    b"bK\x00K\x02\x86\x94h\x0ft\x94R\x94u."
)


# -------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_round_trip_realistic_answers(protocol: int, tmp_path: Path) -> None:
    answers = realistic_answers()
    path = tmp_path / "homework4.pkl"
    path.write_bytes(current(answers, protocol))
    loaded = load_answers(path)
    assert_same(loaded, answers)
    assert loaded["q3"]["big_endian"].dtype.str == ">f8"
    validate_answers(loaded)
    assert_same(load_answers(path.read_bytes()), answers)


@pytest.mark.parametrize(
    "module_name",
    [("numpy", "ndarray"), ("numpy", "dtype"), ("numpy._core.multiarray", "_reconstruct"), ("builtins", "dict"),
     ("builtins", "bytes"), ("__builtin__", "set"), ("_codecs", "encode"), ("collections", "OrderedDict")],
)
def test_no_global_name_is_admitted(module_name: tuple[str, str]) -> None:
    """Even the harmless names numpy, protocol 2 and dicts pickle with are refused, by name."""
    with pytest.raises(UnsafePickleError) as info:
        load_answers(whole(glob(*module_name) + pickle.EMPTY_TUPLE + pickle.REDUCE, 2))
    assert info.value.requested.rpartition(".")[2] == module_name[1]


def test_protocol2_pickles_bytes_through_a_global_and_is_refused() -> None:
    with pytest.raises(UnsafePickleError, match="_codecs.encode"):
        load_answers(current({"x": np.ones(2, np.float32)}, 2))
    assert load_answers(current({"x": [1, "a"]}, 2)) == {"x": [1, "a"]}


def test_dtypes_are_the_numeric_kinds_in_either_byte_order() -> None:
    kinds = ("b1", "i1", "u1", "i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16")
    assert DTYPES == {np.dtype(k).newbyteorder(order).str for k in kinds for order in "<>"}


OLD_FORMAT = {
    "numpy2_protocol2": NUMPY2_P2,
    "numpy2_protocol5": NUMPY2_P5,
    "numpy1_names": whole(raw_dict(a=raw_reconstruct("numpy.core", bytes(8), (2,)))),
    **{f"realistic_protocol{p}": pickle.dumps(realistic_answers(), protocol=p) for p in (2, 3, 4, 5)},
}


@pytest.mark.parametrize("name", sorted(OLD_FORMAT))
def test_files_in_the_previous_format_get_one_sentence(name: str) -> None:
    """What the runner wrote before arrays became records (numpy's own pickling): asked to run it again."""
    with pytest.raises(UnsafePickleError) as info:
        load_answers(OLD_FORMAT[name])
    message = str(info.value)
    assert info.value.reason == "old_format"
    assert message.startswith("homework4.pkl was written by an older version of runner.ipynb")
    assert message.endswith("run runner.ipynb again and submit the file it writes.") and "\n" not in message


def test_dump_answers_round_trip(tmp_path: Path) -> None:
    answers = realistic_answers()
    path = tmp_path / "homework4.pkl"
    dump_answers(answers, path)
    assert path.read_bytes()[:2] == b"\x80\x04"
    names = {op.name for op, _, _ in pickletools.genops(path.read_bytes())}
    assert not names & {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "BUILD"}
    assert_same(load_answers(path), answers)
    assert [p.name for p in tmp_path.iterdir()] == ["homework4.pkl"]


# --------------------------------------------------------------------------------- hostile payloads


class Reduce:
    """Pickles as ``fn(*args)``: the classic way to make pickle.loads run something."""

    def __init__(self, fn: Callable[..., object], args: tuple) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple:
        return self.fn, self.args


def _touch_cmd(marker: Path) -> str:
    return f"touch {shlex.quote(str(marker))}"


def _touch_py(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


def _getattr_chain(marker: Path) -> bytes:
    """getattr(__import__('os'), 'system')('touch MARKER'), built opcode by opcode."""
    imported = glob("builtins", "__import__") + ustr("os") + pickle.TUPLE1 + pickle.REDUCE
    system = glob("builtins", "getattr") + tup(imported, ustr("system")) + pickle.REDUCE
    return whole(system + ustr(_touch_cmd(marker)) + pickle.TUPLE1 + pickle.REDUCE, 2)


def _torch_style(marker: Path) -> bytes:
    """The shape of a torch.save pickle (a GLOBAL to torch._utils._rebuild_tensor_v2), plus a command."""
    storage = glob("torch", "FloatStorage") + ustr(_touch_cmd(marker)) + pickle.TUPLE1 + pickle.REDUCE
    rebuild = glob("torch._utils", "_rebuild_tensor_v2") + tup(storage, num(0), tup(num(2)), tup(num(1)))
    return whole(raw_dict(weights=rebuild + pickle.REDUCE), 2)


class _PersistentPickler(pickle.Pickler):
    def persistent_id(self, obj: object) -> object:
        return obj.args[0] if isinstance(obj, Reduce) else None


def _persistent(marker: Path) -> bytes:
    buffer = io.BytesIO()
    _PersistentPickler(buffer, protocol=2).dump({"q1": Reduce(os.system, (_touch_cmd(marker),))})
    return buffer.getvalue()


def _reduce_payloads() -> dict[str, Callable[[Path], object]]:
    return {
        "os.system": lambda m: Reduce(os.system, (_touch_cmd(m),)),
        "subprocess.Popen": lambda m: Reduce(subprocess.Popen, (["touch", str(m)],)),
        "subprocess.call": lambda m: Reduce(subprocess.call, (["touch", str(m)],)),
        "builtins.eval": lambda m: Reduce(eval, (_touch_py(m),)),
        "builtins.exec": lambda m: Reduce(exec, (_touch_py(m),)),
        "object_array": lambda m: np.array([Reduce(os.system, (_touch_cmd(m),)), 1], dtype=object),
        "nested_pickle": lambda m: Reduce(pickle.loads, (pickle.dumps(Reduce(os.system, (_touch_cmd(m),))),)),
        "functools.partial": lambda m: Reduce(functools.partial(os.system, _touch_cmd(m)), ()),
        "codecs_rot13": lambda m: Reduce(
            os.system, (Reduce(codecs.encode, (codecs.encode(_touch_cmd(m), "rot13"), "rot13")),)
        ),
        "numpy.save": lambda m: Reduce(np.save, (str(m), np.zeros(1))),
    }


def _raw_payloads() -> dict[str, Callable[[Path], bytes]]:
    return {
        "getattr_chain": _getattr_chain,
        "torch": _torch_style,
        "INST": lambda m: proto(2) + pickle.MARK + ustr(_touch_cmd(m)) + b"ios\nsystem\n" + pickle.STOP,
        "OBJ": lambda m: (
            proto(2) + pickle.MARK + glob("os", "system") + ustr(_touch_cmd(m)) + pickle.OBJ + pickle.STOP
        ),
        "protocol0_text": lambda m: f"cos\nsystem\n(S{_touch_cmd(m)!r}\ntR.".encode(),
        "persistent_id": _persistent,
        "extension_code": lambda m: whole(
            pickle.EXT1 + b"\x01" + ustr(_touch_cmd(m)) + pickle.TUPLE1 + pickle.REDUCE, 2
        ),
        "stack_global_system": lambda m: pickle.dumps({"q": Reduce(os.system, (_touch_cmd(m),))}, protocol=5),
    }


HOSTILE: dict[str, Callable[[Path, int], bytes]] = {}
for _name, _make in _reduce_payloads().items():
    for _protocol in (2, 4):
        HOSTILE[f"{_name}-p{_protocol}"] = lambda m, mk=_make, p=_protocol: pickle.dumps(
            {"q1": mk(m)}, protocol=p
        )
for _name, _make_raw in _raw_payloads().items():
    HOSTILE[_name] = lambda m, mk=_make_raw: mk(m)

# Payloads that plain pickle.loads would run synchronously (used to prove the payloads are live).
LIVE = [
    "os.system-p2",
    "builtins.eval-p4",
    "builtins.exec-p2",
    "object_array-p4",
    "nested_pickle-p2",
    "functools.partial-p4",
    "codecs_rot13-p2",
    "getattr_chain",
    "INST",
    "OBJ",
    "protocol0_text",
    "stack_global_system",
]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_payload_is_refused_and_never_runs(name: str, tmp_path: Path) -> None:
    marker = tmp_path / "MARKER"
    data = HOSTILE[name](marker)
    path = tmp_path / "homework4.pkl"
    path.write_bytes(data)
    with pytest.raises(UnsafePickleError) as info:
        load_answers(path)
    with pytest.raises(UnsafePickleError):
        load_answers(data)
    message = str(info.value)
    assert message.startswith("homework4.pkl ") and message.endswith(".") and "\n" not in message
    assert not marker.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["homework4.pkl"]


@pytest.mark.parametrize("name", LIVE)
def test_control_plain_pickle_does_run_the_payload(name: str, tmp_path: Path) -> None:
    """Sanity check of the fixtures: the same bytes *do* create the marker under pickle.loads."""
    marker = tmp_path / "MARKER"
    try:
        pickle.loads(HOSTILE[name](marker))
    except Exception:
        pass  # some payloads fail after having run (e.g. os.system's int result in an object array)
    assert marker.exists()


@pytest.mark.parametrize(
    ("payload", "requested"),
    [
        (lambda m: Reduce(os.system, (_touch_cmd(m),)), "posix.system"),
        (lambda m: Reduce(subprocess.Popen, (["true"],)), "subprocess.Popen"),
        (lambda m: Reduce(eval, ("1",)), "builtins.eval"),
    ],
)
@pytest.mark.parametrize("protocol", (2, 4))
def test_unsafe_error_names_the_global(
    payload: Callable, requested: str, protocol: int, tmp_path: Path
) -> None:
    with pytest.raises(UnsafePickleError) as info:
        load_answers(pickle.dumps(payload(tmp_path / "MARKER"), protocol=protocol))
    assert info.value.requested == requested
    assert f"'{requested}'" in str(info.value)


def test_torch_global_is_named(tmp_path: Path) -> None:
    with pytest.raises(UnsafePickleError, match=r"torch\._utils\._rebuild_tensor_v2|torch\.FloatStorage"):
        load_answers(_torch_style(tmp_path / "MARKER"))


@pytest.mark.parametrize(
    "body",
    [
        # numpy.ndarray itself must not be callable (it would allocate any shape).
        glob("numpy", "ndarray") + tup(tup(num(10**9))) + pickle.REDUCE,
        # ... nor usable as a class for NEWOBJ.
        glob("numpy", "ndarray") + tup(tup(num(10))) + pickle.NEWOBJ,
        # _reconstruct with a real shape instead of numpy's placeholder (0,).
        glob("numpy.core.multiarray", "_reconstruct")
        + tup(glob("numpy", "ndarray"), tup(num(10**9)), raw_bytes(b"b"))
        + pickle.REDUCE,
        # bytes(n) would allocate n bytes; protocol 2 only ever writes bytes().
        glob("builtins", "bytes") + tup(num(10**12)) + pickle.REDUCE,
        # BUILD on an allowed helper (to change its behaviour for later loads).
        glob("numpy", "dtype")
        + pickle.EMPTY_DICT
        + ustr("__call__")
        + ustr("x")
        + pickle.SETITEM
        + pickle.BUILD,
        # a dtype state that turns a float into a sub-array dtype.
        glob("numpy", "dtype")
        + tup(ustr("f4"), pickle.NEWFALSE, pickle.NEWTRUE)
        + pickle.REDUCE
        + tup(
            num(3),
            ustr("<"),
            tup(raw_dtype("f8"), tup(num(10**6))),
            pickle.NONE * 2,
            num(-1),
            num(-1),
            num(0),
        )
        + pickle.BUILD,
        # structured and string dtypes are not numeric.
        raw_reconstruct("numpy.core", b"\x00" * 8, (1,), "V8"),
        raw_reconstruct("numpy.core", b"a\x00\x00\x00", (1,), "U1"),
        # an array that was never given its state.
        glob("numpy.core.multiarray", "_reconstruct")
        + tup(glob("numpy", "ndarray"), tup(num(0)), raw_bytes(b"b"))
        + pickle.REDUCE,
        # BUILD aimed at an array rebuilt by _frombuffer (never reaches ndarray.__setstate__).
        raw_frombuffer("numpy._core", b"\x00" * 8, (2,))
        + tup(num(1), tup(num(4)), pickle.NONE)
        + pickle.BUILD,
        # a bare helper object in the answers.
        raw_dict(x=glob("numpy", "dtype")),
        # _codecs.encode with a non-latin-1 codec.
        glob("_codecs", "encode") + tup(ustr("x"), ustr("zlib")) + pickle.REDUCE,
    ],
)
def test_old_format_numpy_helpers_cannot_be_repurposed(body: bytes) -> None:
    with pytest.raises(AnswerFileError):
        load_answers(whole(body))


def test_object_arrays_are_refused_even_when_harmless() -> None:
    with pytest.raises(UnsafePickleError):
        load_answers(pickle.dumps({"x": np.array([1, "a"], dtype=object)}, protocol=4))
    with pytest.raises(AnswerFileError, match="Python objects"):
        dump_answers({"x": np.array([1, "a"], dtype=object)}, "never-written.pkl")
    with pytest.raises(AnswerFileError) as info:
        load_answers(pickle.dumps({"x": (b"\x00" * 8, "|O8", (1,))}))
    assert info.value.reason == "dtype"


@pytest.mark.parametrize(
    "record",
    [
        (bytes(8),), (bytes(8), "<f4"), (bytes(8), "<f4", (2,), "C"),  # not three items
        (bytes(8), b"<f4", (2,)), (bytes(8), "f4", (2,)), (bytes(8), "<U1", (2,)), (bytes(8), "|V8", (1,)),
        (bytes(8), "<M8[D]", (1,)), (bytes(8), "<f4", [2]), (bytes(8), "<f4", (2.0,)), (bytes(8), "<f4", (True, 2)),
        (bytes(8), "<f4", (-2, -1)), (bytes(0), "<f4", (1,) * 65 + (0,)), (bytes(0), "<f4", (2**40, 0)),
        (bytes(8), "<f4", (3,)), (bytes(4), "<f8", None),
    ],
)
def test_array_records_are_checked(record: tuple) -> None:
    with pytest.raises(AnswerFileError) as info:
        load_answers(pickle.dumps({"x": record}))
    assert info.value.reason in ("array", "dtype")
    assert str(info.value).startswith("homework4.pkl holds a ") and "answers['x']" in str(info.value)


# ------------------------------------------------------------------------------- resource limits


def test_billion_laughs_by_shared_references_is_refused() -> None:
    laugh: object = 0
    for _ in range(9):
        laugh = [laugh] * 10  # 10**9 leaves reached through 90 list objects
    data = pickle.dumps({"q1": laugh}, protocol=4)
    assert len(data) < 2000
    start = time.perf_counter()
    with pytest.raises(AnswerFileError) as info:
        load_answers(data)
    assert info.value.reason == "too_many"
    assert time.perf_counter() - start < 10


def test_shared_references_within_limits_are_fine() -> None:
    row = np.ones(3, np.float32)
    loaded = load_answers(current({"a": row, "b": row, "c": [row] * 10}))
    assert_same(loaded["c"][9], row)


@pytest.mark.parametrize(
    "body",
    [
        pickle.EMPTY_LIST * 10_000 + pickle.APPEND * 9_999,  # [[[...]]]
        pickle.MARK * 10_000 + pickle.EMPTY_TUPLE + pickle.TUPLE * 10_000,  # ((((),),),)
        (pickle.EMPTY_DICT + ustr("k")) * 10_000 + pickle.NONE + pickle.SETITEM * 10_000,  # {'k': {'k': ...}}
    ],
    ids=["lists", "tuples", "dicts"],
)
def test_deep_nesting_is_refused_without_crashing(body: bytes) -> None:
    with pytest.raises(AnswerFileError) as info:
        load_answers(whole(body, 2))
    assert info.value.reason == "too_deep"


def test_self_containing_structures_are_refused() -> None:
    loop: list = [1]
    loop.append(loop)
    with pytest.raises(AnswerFileError) as info:
        load_answers(pickle.dumps({"q": loop}, protocol=2))
    assert info.value.reason == "cycle"
    mapping: dict = {}
    mapping["self"] = mapping
    with pytest.raises(AnswerFileError):
        load_answers(pickle.dumps(mapping, protocol=4))


def test_file_larger_than_max_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "homework4.pkl"
    path.write_bytes(current({"x": np.zeros(1000)}))
    with pytest.raises(AnswerFileError) as info:
        load_answers(path, max_bytes=1000)
    assert info.value.reason == "too_large"
    with pytest.raises(AnswerFileError):
        load_answers(path.read_bytes(), max_bytes=1000)
    assert load_answers(path, max_bytes=100_000)["x"].shape == (1000,)


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "homework4.pkl"
    with path.open("wb") as handle:  # sparse: nothing is written to disk
        handle.truncate(4 * MAX_BYTES)
    tracemalloc.start()
    try:
        with pytest.raises(AnswerFileError) as info:
            load_answers(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.reason == "too_large"
    assert peak < 1024 * 1024


@pytest.mark.parametrize(
    "shape", [(10**12,), (2**32, 2**32), (2**40, 0), (-2, -1)], ids=["huge", "overflows_int64", "empty", "negative"]
)
def test_array_with_enormous_declared_shape_is_refused_without_allocating(shape: tuple[int, ...]) -> None:
    data = pickle.dumps({"x": (b"\x00" * 8, "<f4", shape)})
    tracemalloc.start()
    try:
        with pytest.raises(AnswerFileError):
            load_answers(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024


def test_array_whose_shape_does_not_match_its_bytes_is_refused() -> None:
    with pytest.raises(AnswerFileError) as info:
        load_answers(pickle.dumps({"x": (b"\x00" * 8, "<f4", (3,))}))
    assert info.value.reason == "array"


@pytest.mark.parametrize(
    "data",
    [
        proto(2)
        + pickle.NONE
        + pickle.LONG_BINPUT
        + struct.pack("<I", 50_000_000)
        + pickle.STOP,  # memo table bomb
        proto(4) + pickle.FRAME + struct.pack("<Q", 2**62) + pickle.NONE + pickle.STOP,  # frame claims 4 EiB
        proto(4) + b"\x8e" + struct.pack("<Q", 2**62) + pickle.STOP,  # BINBYTES8 claims 4 EiB
        proto(5) + b"\x97" + pickle.STOP,  # NEXT_BUFFER (out-of-band data)
        proto(2) + pickle.LONG4 + struct.pack("<i", 1000) + b"\x01" * 1000 + pickle.STOP,  # 8000-bit int
    ],
    ids=["memo_bomb", "frame_bomb", "bytes8_bomb", "out_of_band", "huge_int"],
)
def test_opcode_level_bombs_are_refused(data: bytes) -> None:
    with pytest.raises(AnswerFileError):
        load_answers(data)


# ------------------------------------------------------------------------------------ broken inputs


def test_broken_inputs_get_distinct_messages(tmp_path: Path) -> None:
    good = current(realistic_answers())
    rng = np.random.default_rng(1)
    random_bytes = b"\x13" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    cases = {
        "empty": b"",
        "truncated": good[: len(good) // 2],
        "not_pickle": random_bytes,
        "text": b"q1: my answer is 42\nq2: see the notebook\n",
    }
    messages = {}
    for reason, data in cases.items():
        path = tmp_path / "homework4.pkl"
        path.write_bytes(data)
        with pytest.raises(AnswerFileError) as info:
            load_answers(path)
        assert type(info.value) is AnswerFileError
        assert info.value.reason == reason
        message = str(info.value)
        assert message.startswith("homework4.pkl ") and "\n" not in message
        messages[reason] = message
    assert len(set(messages.values())) == len(cases)
    assert "empty" in messages["empty"]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AnswerFileError) as info:
        load_answers(tmp_path / "homework4.pkl")
    assert info.value.reason == "missing"
    with pytest.raises(AnswerFileError) as info:
        load_answers(tmp_path)
    assert info.value.reason == "not_file"


def test_every_prefix_of_a_valid_file_is_refused() -> None:
    good = current({"x": np.arange(4, dtype=np.float32), "s": "text", "n": None})
    for cut in range(len(good)):
        with pytest.raises(AnswerFileError):
            load_answers(good[:cut])


def test_trailing_data_and_old_protocols_are_refused() -> None:
    with pytest.raises(AnswerFileError) as info:
        load_answers(pickle.dumps({"a": 1}, protocol=4) + b"junk")
    assert info.value.reason == "trailing"
    for protocol in (0, 1):
        with pytest.raises(AnswerFileError) as info:
            load_answers(pickle.dumps({"a": 1}, protocol=protocol))
        assert info.value.reason == "protocol"


@pytest.mark.parametrize(
    "value",
    [b"raw bytes", {1, 2}, frozenset(), bytearray(b"x"), {1: "int key"}, 2**300, 1 + 2j],
    ids=["bytes", "set", "frozenset", "bytearray", "int_key", "big_int", "complex"],
)
def test_plain_but_unexpected_types_are_refused(value: object) -> None:
    with pytest.raises(AnswerFileError):
        load_answers(pickle.dumps({"q": value}, protocol=5))


# ---------------------------------------------------------------------------------------- fuzzing

_FUZZ_BASES = [
    current(
        {
            "meta": {"name": "x", "seed": 3, "none": None},
            "a": np.arange(6, dtype=np.float32).reshape(2, 3),
            "b": [np.float32(1.5), (1, 2.0), True],
            "c": np.arange(3, dtype=">i2"),
        },
        protocol,
    )
    for protocol in PROTOCOLS
] + [pickle.dumps({"meta": {"name": "x", "seed": 3}, "b": [1.5, (1, 2.0), True]}, protocol=2)]

_mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 8)),
    st.tuples(st.just("set"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
)


def _mutate(data: bytes, mutations: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for kind, where, value in mutations:
        pos = where % (len(buf) + 1)
        if kind == "flip" and pos < len(buf):
            buf[pos] ^= 1 << value
        elif kind == "insert":
            buf.insert(pos, value)
        elif kind == "delete":
            del buf[pos : pos + value]
        elif kind == "set" and pos < len(buf):
            buf[pos] = value
        elif kind == "truncate":
            del buf[pos:]
    return bytes(buf)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(_FUZZ_BASES), mutations=st.lists(_mutation, min_size=1, max_size=4))
def test_mutated_files_load_cleanly_or_raise_answer_file_error(base: bytes, mutations: list) -> None:
    data = _mutate(base, mutations)
    try:
        loaded = load_answers(data)
    except AnswerFileError:
        return
    validate_answers(loaded)


# -------------------------------------------------------------------------------------- dump_answers


@pytest.mark.parametrize(
    "answers",
    [
        {"q": np.array([1, "a"], dtype=object)},
        {"q": Reduce(os.system, ("true",))},
        {"q": {1, 2}},
        {"q": np.array(["text"])},
        {"q": np.zeros(2, dtype=[("a", "f4")])},
        {"q": np.zeros(2).view(np.matrix)},
        {1: "non-str key"},
        {"q": np.datetime64("2024-01-01")},
    ],
    ids=["object_array", "object", "set", "str_array", "structured", "matrix", "int_key", "datetime"],
)
def test_dump_answers_refuses_what_the_grader_would_refuse(answers: dict, tmp_path: Path) -> None:
    path = tmp_path / "homework4.pkl"
    with pytest.raises(AnswerFileError):
        dump_answers(answers, path)
    assert list(tmp_path.iterdir()) == []


def test_dump_answers_refuses_cycles(tmp_path: Path) -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(AnswerFileError, match="contains itself"):
        dump_answers({"q": loop}, tmp_path / "homework4.pkl")
