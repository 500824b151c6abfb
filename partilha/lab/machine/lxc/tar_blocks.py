"""A tar stream read member by member as its raw 512-byte blocks (ustar and GNU headers, GNU
long names, pax extended headers), so that a member can be passed on to GNU tar exactly as it
came, or skipped, without being decoded and encoded again.

What a member is made of: the blocks before its data (long-name and pax headers, then its own
header), kept in `Member.head`, and its data padded to whole blocks, which `Stream.data` yields.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

BLOCK = 512
END = bytes(2 * BLOCK)  # the end-of-archive marker
_READ = 1 << 20
_LONG_NAME, _LONG_LINK, _PAX, _GLOBAL_PAX = b"L", b"K", b"x", b"g"
_DAMAGED = "not a tar archive, or a damaged one"
REGULAR, HARD_LINK, SYMLINK, DIRECTORY, FIFO = (b"0", b"\0", b"7"), b"1", b"2", b"5", b"6"


class TarFormatError(ValueError):
    """The stream is not a tar archive, or it ends in the middle of one."""


@dataclass
class Member:
    name: str
    type: bytes
    mode: int
    uid: int
    gid: int
    size: int  # bytes of data the archive holds for it (for a sparse file, its map and data)
    mtime_ns: int
    ctime_ns: int | None
    linkname: str
    pax: dict[str, str] = field(repr=False)
    head: bytes = field(repr=False)

    @property
    def sparse(self) -> bool:
        return self.type == b"S" or any(k.startswith("GNU.sparse.") for k in self.pax)

    @property
    def xattrs(self) -> bool:
        """Whether the archive gives it xattrs or ACLs (which tar restores)."""
        return any(k.startswith("SCHILY.") for k in self.pax)


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _text(field_: bytes) -> str:
    return _decode(field_.split(b"\0", 1)[0])


def _number(field_: bytes) -> int:
    if field_[0] & 0x80:  # GNU base-256
        value = int.from_bytes(field_[1:], "big")
        return value - (1 << (8 * len(field_) - 8)) if field_[0] & 0x40 else value
    digits = field_.split(b"\0", 1)[0].strip()
    try:
        return int(digits, 8) if digits else 0
    except ValueError:
        raise TarFormatError(f"{_DAMAGED}: a header field is not a number") from None


def _ns(value: str) -> int:
    """A pax time (`1796484999.717360867`, maybe negative) in nanoseconds."""
    whole, _, fraction = value.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return int(whole) * 10**9 + sign * int((fraction + "000000000")[:9])


def _pax_records(data: bytes) -> dict[str, str]:
    records, pos = {}, 0
    try:
        while pos < len(data) and data[pos] != 0:
            space = data.index(b" ", pos)
            length = int(data[pos:space])
            key, _, value = data[space + 1:pos + length - 1].partition(b"=")
            records[_decode(key)] = _decode(value)
            pos += length
    except ValueError:
        raise TarFormatError(f"{_DAMAGED}: a pax header is not key=value records") from None
    return records


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


class Stream:
    """The members of the tar stream read from `fd`; what of a member's data is not read
    (`data`) before the next member is skipped."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buf = b""
        self._pos = 0
        self._left = 0  # bytes of the current member's data not read yet
        self.global_headers = b""  # pax global headers, which apply to the whole archive

    def _fill(self, n: int) -> None:
        while len(self._buf) - self._pos < n:
            chunk = os.read(self._fd, _READ)
            if not chunk:
                raise TarFormatError("unexpected end of archive")
            self._buf = self._buf[self._pos:] + chunk if self._pos < len(self._buf) else chunk
            self._pos = 0

    def _take(self, n: int) -> bytes:
        self._fill(n)
        out = self._buf[self._pos:self._pos + n]
        self._pos += n
        return out

    def members(self) -> Iterator[Member]:
        head, pax, long_name, long_link = b"", {}, None, None
        while True:
            self._discard()
            header = self._take(BLOCK)
            if header == bytes(BLOCK):
                return
            stored = _number(header[148:156])
            if stored != sum(header) - sum(header[148:156]) + 8 * 32:  # the field counts as spaces
                raise TarFormatError(f"{_DAMAGED}: a header's checksum does not match")
            kind, size = header[156:157], _number(header[124:136])
            if kind in (_LONG_NAME, _LONG_LINK, _PAX, _GLOBAL_PAX):
                data = self._take(_padded(size))
                if kind == _GLOBAL_PAX:
                    self.global_headers += header + data
                    continue
                head += header + data
                if kind == _PAX:
                    pax.update(_pax_records(data[:size]))
                elif kind == _LONG_NAME:
                    long_name = _text(data[:size])
                else:
                    long_link = _text(data[:size])
                continue
            name = _text(header[:100])
            if header[257:265] == b"ustar\x0000" and header[345] != 0:
                name = f"{_text(header[345:500])}/{name}"
            member = Member(
                name=pax.get("GNU.sparse.name") or pax.get("path") or long_name or name,
                type=kind, mode=_number(header[100:108]) & 0o7777,
                uid=int(pax.get("uid") or _number(header[108:116])),
                gid=int(pax.get("gid") or _number(header[116:124])),
                size=int(pax["size"]) if "size" in pax else size,
                mtime_ns=_ns(pax["mtime"]) if "mtime" in pax else _number(header[136:148]) * 10**9,
                ctime_ns=_ns(pax["ctime"]) if "ctime" in pax else None,
                linkname=pax.get("linkpath") or long_link or _text(header[157:257]),
                pax=pax, head=head + header)
            self._left = _padded(member.size)
            yield member
            head, pax, long_name, long_link = b"", {}, None, None

    def data(self) -> Iterator[bytes]:
        """The current member's data blocks as archived (the last one padded with zeros)."""
        while self._left:
            self._fill(min(self._left, BLOCK))
            chunk = self._buf[self._pos:self._pos + self._left]
            self._pos += len(chunk)
            self._left -= len(chunk)
            yield chunk

    def _discard(self) -> None:
        """Pass over what is left of the current member's data."""
        while self._left:
            if self._pos == len(self._buf):
                self._fill(min(self._left, BLOCK))
            step = min(self._left, len(self._buf) - self._pos)
            self._pos += step
            self._left -= step

    def drain(self) -> None:
        """Read what follows the end-of-archive marker (tar's zero-filled last record)."""
        while os.read(self._fd, _READ):
            pass
