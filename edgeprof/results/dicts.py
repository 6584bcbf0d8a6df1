"""The JSON boundary of the typed record: how a frozen dataclass becomes a dict and back.

``_Dict`` serves the flat types (fields in order, then ``extra`` merged back). ``Open`` serves the
typed views of open JSON objects whose keys vary by writer (a runtime's resolved placement, the
conditions a case ran under): the known keys are typed fields, unknown keys stay in ``extra``,
and a known key that the object did not have is written back absent, not as ``null`` — so a
record read and written again is the record that was read (history identities hash these dicts).
JSON never holds NaN or Infinity: ``finite`` turns them into ``None``.
"""
from __future__ import annotations

import math
from dataclasses import fields
from typing import Any, ClassVar, Mapping

def finite(x: Any) -> Any:
    """``x`` with every NaN/±inf float replaced by None (recursively): JSON has no such numbers."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    return x


def _split(cls, d: Mapping[str, Any] | None) -> tuple[dict, dict]:
    """(known fields, extra keys) of a dict for dataclass ``cls``; each known field holds its
    declared type (``typed``)."""
    if d is not None and not isinstance(d, Mapping):
        raise ValueError(f"{cls.__name__} is {type(d).__name__}, not an object")
    d = dict(d or {})
    types = {f.name: f.type for f in fields(cls) if f.name != "extra"}
    known = {k: typed(cls.__name__, k, types[k], d.pop(k)) for k in list(d) if k in types}
    # a null where the type admits none (``note: str``) is the field left out: its default, or
    # "missing" when it has none — never a None that a reader far away takes for a string
    return {k: v for k, v in known.items() if v is not None or str(types[k]).endswith("| None")
            or str(types[k]) in ("Any", "object")}, d


def typed(owner: str, name: str, declared: str, v: Any) -> Any:
    """``v`` as field ``name`` of ``owner`` declares it, or ValueError: a record file is untrusted
    input (a NaN, a number where text belongs, an object where a number belongs), and a reader that
    lets a wrong type through fails later, far from the file, as a traceback. A non-finite number
    in an optional float field reads as None (not measured)."""
    optional = declared.endswith("| None")
    base = declared.replace(" | None", "").strip()
    if v is None:
        return None  # a required field's default is the dataclass's business
    ok: Any = _NO
    if base == "str":
        ok = v if isinstance(v, str) else _NO
    elif base == "int":
        if isinstance(v, bool):
            ok = _NO
        elif isinstance(v, int):
            ok = v
        elif isinstance(v, float) and math.isfinite(v) and v.is_integer():
            ok = int(v)
    elif base == "float":
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            ok = v if math.isfinite(v) else (None if optional else _NO)
    elif base == "bool":
        ok = v if isinstance(v, bool) else _NO
    elif base == "dict":
        ok = v if isinstance(v, dict) else _NO
    elif base.startswith("tuple"):
        ok = tuple(v) if isinstance(v, (list, tuple)) else _NO
    else:
        ok = v
    if ok is _NO:
        raise ValueError(f"{owner}.{name} is {type(v).__name__} {str(v)[:30]!r}, not {base}")
    return ok


_NO = object()


class _Dict:
    """to_dict for the flat dataclasses: fields in order, then ``extra`` merged back."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
            elif isinstance(v, Open):  # a typed open object inside (RuntimeInfo.placement)
                out[k] = v.to_dict()
        return {**out, **getattr(self, "extra", {})}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None):
        known, extra = _split(cls, d)
        for f in fields(cls):
            if f.name in known and isinstance(known[f.name], list) and f.type.startswith("tuple"):
                known[f.name] = tuple(known[f.name])
        return cls(**known, **({"extra": extra} if "extra" in {f.name for f in fields(cls)} else {}))


class Open(_Dict):
    """Typed known keys of an open JSON object. Subclasses declare ``absent: frozenset`` (the known
    keys the object lacked; a None field named there is not written) and ``extra``; ``NESTED``
    maps a field to the type its dict is read into."""

    __slots__ = ()
    NESTED: ClassVar[dict[str, Any]] = {}

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        skip = getattr(self, "absent", frozenset())
        for f in fields(self):
            if f.name in ("extra", "absent"):
                continue
            v = getattr(self, f.name)
            if v is None and f.name in skip:
                continue
            out[f.name] = v.to_dict() if hasattr(v, "to_dict") else list(v) if isinstance(v, tuple) else v
        return {**out, **self.extra}

    @classmethod
    def none(cls):
        """Nothing known: every known key absent (the default where the record holds one)."""
        return cls.from_dict({})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None):
        known, extra = _split(cls, d)
        if "absent" in known:  # a key of that name in the file is the file's own, not ours
            extra["absent"] = known.pop("absent")
        for name, typ in cls.NESTED.items():
            v = known.get(name)
            if v is None:
                continue
            try:
                if not isinstance(v, Mapping):
                    raise TypeError(name)
                known[name] = typ.from_dict(v)
            except (TypeError, ValueError):  # not what this version writes there: kept as it was
                extra[name] = known.pop(name)
        for f in fields(cls):
            if isinstance(known.get(f.name), list) and str(f.type).startswith("tuple"):
                known[f.name] = tuple(known[f.name])
        names = {f.name for f in fields(cls)} - {"extra", "absent"}
        return cls(**known, extra=extra, absent=frozenset(names - set(known)))
