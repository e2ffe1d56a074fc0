"""Rules every numba kernel follows (ocean/kernels.py), checked on the sources."""
import ast
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ocean.kernels import kernel, prange

ROOT = Path(__file__).resolve().parents[1]
DECORATORS = {"kernel", "serial_kernel", "inline_kernel"}


class _Pair(NamedTuple):
    a: np.ndarray
    b: np.ndarray


@kernel
def _store_through_local(x, pair):
    a = pair.a
    for k in prange(x.shape[0]):
        a[k] = 2.0 * x[k]


def test_a_kernel_stores_into_a_named_tuple_array_through_a_local_name():
    x, pair = np.arange(5.0), _Pair(np.zeros(5), np.zeros(5))
    _store_through_local(x, pair)
    assert np.array_equal(pair.a, 2.0 * x)


def _stores_through_attributes(path: Path) -> list[str]:
    """'file:line function' of each store ``name.attr[...] (op)= ...`` inside a kernel."""
    found = []
    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    for fn in ast.walk(ast.parse(path.read_text())):
        if not isinstance(fn, ast.FunctionDef):
            continue
        names = {d.id for d in fn.decorator_list if isinstance(d, ast.Name)}
        if not names & DECORATORS:
            continue
        for node in ast.walk(fn):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AugAssign) else []
            for t in targets:
                if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Attribute):
                    found.append(f"{where}:{node.lineno} {fn.name}")
    return found


def test_no_kernel_stores_through_an_attribute(tmp_path):
    """numba 0.68 drops such stores inside prange loops without a word (found when fusing
    ldf_iso.add_fluxes: the fluxes came out unchanged)."""
    files = sorted((ROOT / "ocean").glob("*.py")) + sorted((ROOT / "closures").rglob("*.py"))
    bad = [s for f in files for s in _stores_through_attributes(f)]
    assert bad == []
    probe = tmp_path / "probe.py"             # the check itself finds the pattern
    probe.write_text("@kernel\ndef f(x, p):\n    for k in prange(3):\n        p.a[k] -= x[k]\n")
    assert _stores_through_attributes(probe) == ["probe.py:4 f"]
