"""NAS-Bench-101 cell specifications: pruning, validity and the official module hash.

A cell is a DAG of at most 7 vertices and 9 edges (upper-triangular 0/1 adjacency matrix); vertex 0 is
``input``, the last ``output``, the others one of ``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``
(labels 0, 1, 2). Pruning removes every vertex not on an input->output path; the spec is out of domain when
input cannot reach output, or when the pruned spec has more than 7 vertices or 9 edges, a wrong first/last op
or an unknown op. The module hash (:func:`hash_module`) is the official fingerprint: per vertex the md5 of the
text ``(out_degree, in_degree, label)`` (input -1, output -2), then V rounds replacing each vertex's hash by the
md5 of its sorted in-neighbour hashes, ``|``, its sorted out-neighbour hashes, ``|``, its own hash; finally the
md5 of the text of the sorted list of hashes. Isomorphic specs get the same hash; the 423,624 cells of the space
get distinct ones.

Semantics follow the official ``nasbench.lib.model_spec.ModelSpec`` (this module is what
:func:`~nasbench_bench.nb101.install_alias` serves as ``nasbench.lib.model_spec``): any numeric matrix (int,
bool, float; kept with its dtype) and any op labels (names, or integers as in the official tests) are accepted;
structural problems (not square, ops/matrix size mismatch, not upper-triangular) raise :class:`InvalidSpecError`,
a ``ValueError`` like the official's, at construction. Domain problems make the spec out of domain:
:meth:`ModelSpec.check` raises :class:`OutOfDomainError` and :meth:`ModelSpec.is_valid` is False. One deliberate
difference: a pruned matrix with entries other than 0 and 1 is out of domain here (the official calls it valid,
then fails with ``KeyError`` when it looks the hash up).
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: The middle-vertex operations in label order (label 0, 1, 2), as the official API's ``available_ops``.
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
MAX_VERTICES = 7
MAX_EDGES = 9

__all__ = [
    "MAX_EDGES",
    "MAX_VERTICES",
    "OPS",
    "GraphShapeError",
    "InvalidSpecError",
    "ModelSpec",
    "OutOfDomainError",
    "hash_dag",
    "hash_module",
    "is_upper_triangular",
    "is_valid",
    "prune",
]


class OutOfDomainError(ValueError):
    """A spec or query outside the benchmark's domain (the official API's error of the same name)."""


class InvalidSpecError(ValueError):
    """A matrix/ops pair that is not a well-formed spec at all (the official API raises ValueError)."""


class GraphShapeError(ValueError, AssertionError):
    """Mismatched graph and labels given to a graph helper (the official code asserts: this is both errors)."""


def is_upper_triangular(matrix: Any) -> bool:
    """True if the matrix is 0 on and below the diagonal (the official ``model_spec.is_upper_triangular``)."""
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise GraphShapeError(f"expected a 2-D matrix, got shape {m.shape}")
    return not bool(np.any(np.tril(m) != 0))


def prune(matrix: np.ndarray, ops: Sequence[Any]) -> tuple[np.ndarray, list[Any]] | None:
    """Remove vertices not on an input->output path; ``None`` when input cannot reach output.

    The matrix keeps its dtype; any nonzero entry is an edge (the official ``ModelSpec._prune``).
    """
    n = matrix.shape[0]
    if n < 2:
        return None
    ml = matrix.tolist()
    fwd = {0}
    stack = [0]
    while stack:
        u = stack.pop()
        row = ml[u]
        for v in range(u + 1, n):
            if row[v] and v not in fwd:
                fwd.add(v)
                stack.append(v)
    bwd = {n - 1}
    stack = [n - 1]
    while stack:
        v = stack.pop()
        for u in range(v):
            if ml[u][v] and u not in bwd:
                bwd.add(u)
                stack.append(u)
    keep = [i for i in range(n) if i in fwd and i in bwd]
    if n - len(keep) > n - 2:
        return None
    if len(keep) == n:
        return matrix.copy(), list(ops)
    return matrix[np.ix_(keep, keep)], [ops[i] for i in keep]


# -- the module hash ---------------------------------------------------------------------------------------------

_md5 = hashlib.md5
try:  # CPython's own MD5: the same digests, less overhead per call than OpenSSL's for these short texts
    from _md5 import md5 as _fast_md5
except ImportError:  # pragma: no cover - other Pythons
    _fast_md5 = hashlib.md5
_INIT_HASH: dict[tuple[int, int, int], bytes] = {}


def hash_dag(preds: Sequence[Sequence[int]], succs: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """The official fingerprint of a 0/1 labelled graph given as neighbour lists, integer labels (fast path of
    :func:`hash_module`; degrees are the neighbour counts). Works on the hex digests as ASCII bytes."""
    md5, hexlify, join = _fast_md5, binascii.hexlify, b"".join
    h = []
    for p, s, lab in zip(preds, succs, labels):
        key = (len(s), len(p), int(lab))  # (out-degree, in-degree, label), as the official text
        x = _INIT_HASH.get(key)
        if x is None:
            x = _INIT_HASH[key] = _md5(str(key).encode("utf-8")).hexdigest().encode("ascii")
        h.append(x)
    verts = list(zip(range(len(h)), preds, succs))
    for _ in range(len(h)):
        new = []
        for v, p, s in verts:
            if len(p) > 1:
                a = join(sorted([h[u] for u in p]))
            else:
                a = h[p[0]] if p else b""
            if len(s) > 1:
                b = join(sorted([h[w] for w in s]))
            else:
                b = h[s[0]] if s else b""
            new.append(hexlify(md5(b"%b|%b|%b" % (a, b, h[v])).digest()))
        h = new
    # str(sorted(list of hex str)) is "['..', '..']" ("[]" for no vertex)
    text = b"['" + b"', '".join(sorted(h)) + b"']" if h else b"[]"
    return hexlify(md5(text).digest()).decode("ascii")


def _plain(x: Any) -> Any:
    """A numpy scalar as the Python value the official code (written for numpy 1) printed."""
    return x.item() if isinstance(x, np.generic) else x


def hash_module(matrix: Any, labeling: Sequence[Any]) -> str:
    """The official Weisfeiler-Lehman-style md5 fingerprint of a labelled directed graph (32 hex chars).

    Per vertex, md5 of the text ``(out_degree, in_degree, label)`` (degrees are the row/column sums, as the
    official ``graph_util.hash_module``); then V rounds of md5 over the sorted in-neighbour hashes, ``|``, the
    sorted out-neighbour hashes, ``|``, the own hash; finally md5 of ``str(sorted(hashes))``. Works for any
    square matrix (self-loops, cycles) and any labels; :class:`GraphShapeError` if the sizes disagree.
    """
    m = np.asarray(matrix)
    labels = [_plain(x) for x in labeling]
    if m.ndim != 2 or m.shape[0] != m.shape[1] or len(labels) != m.shape[0]:
        raise GraphShapeError(f"hash_module: matrix of shape {m.shape} with {len(labels)} labels")
    n = m.shape[0]
    ml = m.tolist()
    preds = [[u for u in range(n) if ml[u][v]] for v in range(n)]
    succs = [[w for w in range(n) if ml[v][w]] for v in range(n)]
    binary = m.dtype.kind == "b" or (m.dtype.kind in "iu" and not np.any((m != 0) & (m != 1)))
    if binary and all(type(x) is int for x in labels):
        return hash_dag(preds, succs, labels)
    # general case, text-exact with the official code: degrees are sums (floats print as 1.0, weights count)
    in_deg, out_deg = m.sum(axis=0).tolist(), m.sum(axis=1).tolist()
    h = [_md5(str((o, i, lab)).encode("utf-8")).hexdigest() for o, i, lab in zip(out_deg, in_deg, labels)]
    for _ in range(n):
        h = [
            _md5(("".join(sorted([h[u] for u in p])) + "|" + "".join(sorted([h[w] for w in s])) + "|" + hv)
                 .encode("utf-8")).hexdigest()
            for p, s, hv in zip(preds, succs, h)
        ]
    return _md5(str(sorted(h)).encode("utf-8")).hexdigest()


def structure_hash(matrix: np.ndarray, labels: Sequence[int]) -> str:
    """:func:`hash_module` of a matrix known to hold only 0 and 1 with integer labels (no checks)."""
    n = matrix.shape[0]
    ml = matrix.tolist()
    preds = [[u for u in range(n) if ml[u][v]] for v in range(n)]
    succs = [[w for w in range(n) if ml[v][w]] for v in range(n)]
    return hash_dag(preds, succs, labels)


# -- the spec ----------------------------------------------------------------------------------------------------


class ModelSpec:
    """A cell: adjacency matrix plus one op per vertex, pruned like the official ``ModelSpec``.

    ``original_matrix``/``original_ops`` keep copies of the input (the matrix with its dtype); ``matrix``/``ops``
    are the pruned spec (``None`` when input and output are disconnected, and then ``valid_spec`` is False).
    """

    def __init__(self, matrix: Any, ops: Sequence[Any], data_format: str = "channels_last") -> None:
        m = np.array(matrix)  # a copy: later changes to the caller's matrix are not seen (as the official)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise InvalidSpecError(f"matrix must be square, got shape {m.shape}")
        if m.shape[0] != len(ops):
            raise InvalidSpecError(f"length of ops ({len(ops)}) must match matrix dimensions ({m.shape[0]})")
        if m.dtype.kind not in "biuf":
            raise InvalidSpecError(f"matrix entries must be numbers (0/1, bool), got dtype {m.dtype}")
        if not is_upper_triangular(m):
            raise InvalidSpecError("matrix must be upper triangular (a DAG in topological order)")
        self.original_matrix: np.ndarray = m
        self.original_ops: list[Any] = list(ops)
        self.matrix: np.ndarray | None = None
        self.ops: list[Any] | None = None
        self.valid_spec = True
        self._prune()
        self.data_format = data_format

    def _prune(self) -> None:
        """Set ``matrix``/``ops``/``valid_spec`` from the original ones: delete every vertex that is not on a
        path from input to output (the official method of the same name)."""
        pruned = prune(self.original_matrix, self.original_ops)
        if pruned is None:
            self.matrix, self.ops, self.valid_spec = None, None, False
        else:
            self.matrix, self.ops = pruned
            self.valid_spec = True

    def problem(self) -> str | None:
        """Why the spec is out of domain (message as the official API's), or ``None`` if it is valid."""
        if not self.valid_spec or self.matrix is None or self.ops is None:
            return "invalid spec, provided graph is disconnected."
        n, e = len(self.ops), self.matrix.sum()
        if n > MAX_VERTICES:
            return f"too many vertices, got {n} (max vertices = {MAX_VERTICES})"
        if e > MAX_EDGES:
            return f"too many edges, got {int(e)} (max edges = {MAX_EDGES})"
        if self.ops[0] != INPUT:
            return f"first operation should be 'input', got {self.ops[0]!r}"
        if self.ops[-1] != OUTPUT:
            return f"last operation should be 'output', got {self.ops[-1]!r}"
        for op in self.ops[1:-1]:
            if op not in OPS:
                return f"unsupported op {op!r} (available ops = {list(OPS)})"
        if self.matrix.dtype.kind != "b" and np.any((self.matrix != 0) & (self.matrix != 1)):
            return "matrix entries must be 0 or 1"
        return None

    def check(self) -> None:
        """Raise :class:`OutOfDomainError` naming the problem if the spec is out of domain."""
        msg = self.problem()
        if msg is not None:
            raise OutOfDomainError(msg)

    def is_valid(self) -> bool:
        """True if the spec is inside the NAS-Bench-101 domain; never raises."""
        return self.problem() is None

    def labeling(self, canonical_ops: Sequence[Any] = OPS) -> list[int]:
        """Vertex labels used by the hash: input -1, output -2, middle ops their index in ``canonical_ops``."""
        if self.ops is None:
            raise OutOfDomainError("invalid spec, provided graph is disconnected.")
        canon = list(canonical_ops)
        try:
            return [-1] + [canon.index(op) for op in self.ops[1:-1]] + [-2]
        except ValueError:
            bad = next(op for op in self.ops[1:-1] if op not in canon)
            raise OutOfDomainError(f"unsupported op {bad!r} (canonical ops = {canon})") from None

    def hash_spec(self, canonical_ops: Sequence[Any] = OPS) -> str:
        """The official 32-hex module hash of the pruned spec (the official ``hash_spec``; ``canonical_ops``
        defaults to the dataset's ``available_ops``). Like the official, it does not check the domain (an
        8-vertex spec hashes too); :class:`OutOfDomainError` for a disconnected spec or an op not in
        ``canonical_ops`` (the official fails with TypeError / ValueError there)."""
        labels = self.labeling(canonical_ops)
        assert self.matrix is not None
        return hash_module(self.matrix, labels)

    def lookup_hash(self) -> str:
        """The module hash used to look an in-domain spec up (checks the domain first; any 0/1 dtype)."""
        self.check()
        assert self.matrix is not None
        return structure_hash(self.matrix, self.labeling(OPS))

    def visualize(self) -> Any:
        """A ``graphviz.Digraph`` of the pruned spec, as the official (needs ``pip install graphviz``)."""
        try:
            import graphviz
        except ImportError as exc:
            raise ImportError("ModelSpec.visualize needs the graphviz package: pip install graphviz") from exc
        if self.matrix is None or self.ops is None:
            raise OutOfDomainError("invalid spec, provided graph is disconnected.")
        n = self.matrix.shape[0]
        g = graphviz.Digraph()
        g.node(str(0), "input")
        for v in range(1, n - 1):
            g.node(str(v), str(self.ops[v]))
        g.node(str(n - 1), "output")
        ml = self.matrix.tolist()
        for src in range(n - 1):
            for dst in range(src + 1, n):
                if ml[src][dst]:
                    g.edge(str(src), str(dst))
        return g

    def __repr__(self) -> str:
        return f"ModelSpec(matrix={self.original_matrix.tolist()}, ops={self.original_ops})"


def is_valid(spec: ModelSpec) -> bool:
    """True if ``spec`` is inside the NAS-Bench-101 domain; never raises."""
    return spec.is_valid()
