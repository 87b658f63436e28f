"""The vectorised reading of nginx `combined` + `$request_time` lines: numpy over a whole piece of log.

Quotes are located once; each line's timestamp, status and $request_time are read at fixed offsets
from them; each distinct minute is parsed once. Any line that does not fit the shape makes the
whole piece return None, and the caller reads it (bisected) line by line instead, so this path
never guesses.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .lines import nginx_minute

_TAIL = 24               # bytes after the user agent's closing quote searched for $request_time and the newline
PAD = 64                 # bytes that must follow the last line given to fast_combined (its windows)
# Window of 32 bytes from '[': compare "[dd/Mon/yyyy:HH:MM" and " +zzzz]" only (not the seconds, not what follows).
_MINUTE_MASK = np.full(32, 0xFF, np.uint8)
_MINUTE_MASK[[19, 20]] = 0
_MINUTE_MASK[28:] = 0
_MASK2, _MASK3 = _MINUTE_MASK.view(np.uint64)[2], _MINUTE_MASK.view(np.uint64)[3]


# The status word ' ddd ': bytes 0 and 4 are spaces, 1-3 have a '3' high nibble and a low nibble of at most 9
# (adding 6 to it carries into bit 4 exactly when it is above 9; no carry crosses a byte).
_STATUS_MASK, _STATUS_SHAPE = np.uint64(0xFF_F0_F0_F0_FF), np.uint64(0x20_30_30_30_20)
_LOW_NIBBLES, _PLUS_6, _CARRIES = np.uint64(0x0F_0F_0F_00), np.uint64(0x06_06_06_00), np.uint64(0x10_10_10_00)


def _words(a: np.ndarray) -> np.ndarray:
    """Every 8-byte little-endian word of `a` by its starting byte (a view: word i is a[i:i+8])."""
    return np.ndarray((len(a) - 7,), np.dtype("<u8"), a, 0, (1,))


def fast_combined(a: np.ndarray, n_bytes: int, scratch: np.ndarray) -> Optional[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(minute, status, duration µs or -1) for every line of a[:n_bytes] (whole lines, with at least _PAD
    more bytes after them in `a`), or None unless every line validates. `scratch`: n_bytes booleans."""
    scratch = scratch[:n_bytes]
    quotes = np.flatnonzero(np.equal(a[:n_bytes], 34, out=scratch))
    n = len(quotes) // 6
    if n == 0 or len(quotes) != 6 * n or quotes[0] < 29:
        return None
    quotes = quotes.reshape(n, 6)
    q0, q1, q5 = quotes[:, 0], quotes[:, 1], quotes[:, 5]
    windows = np.lib.stride_tricks.sliding_window_view
    tw = windows(a, 32)[q0 - 29]          # '[' + time + ']' + ' "' + 2 bytes
    sw = _words(a)[q1 + 1]                # ' ddd ' and 3 more bytes, as one little-endian word
    tail = windows(a, _TAIL)[q5 + 1]      # ' 0.123' [more fields] '\n'
    is_nl = tail == 10
    nl = q5 + 1 + is_nl.argmax(axis=1)
    # Each group of six quotes owns exactly one line: its newline comes before the next group, and no other exists.
    if (a[nl] != 10).any() or (n > 1 and not (nl[:-1] < q0[1:]).all()) or nl[-1] != n_bytes - 1 \
            or np.count_nonzero(np.equal(a[:n_bytes], 10, out=scratch)) != n:
        return None
    digit = lambda col: (col - 48) <= 9  # noqa: E731 - uint8 wraps below '0'
    ok = ((tw[:, 0] == 91) & (tw[:, 27] == 93) & (tw[:, 28] == 32) & (tw[:, 3] == 47) & (tw[:, 7] == 47)
          & (tw[:, 12] == 58) & (tw[:, 15] == 58) & (tw[:, 18] == 58) & (tw[:, 21] == 32)
          & digit(tw[:, 19]) & digit(tw[:, 20]) & ((sw & _STATUS_MASK) == _STATUS_SHAPE)
          & (((sw & _LOW_NIBBLES) + _PLUS_6) & _CARRIES == 0))
    if not ok.all():
        return None
    status = (((sw >> 8) & 15) * 100 + ((sw >> 16) & 15) * 10 + ((sw >> 24) & 15)).astype(np.int64)
    # The minute: parsed once per run of equal "[dd/Mon/yyyy:HH:MM .. +zzzz]" windows.
    words = tw.view(np.uint64)            # 4 words: bytes 0-7, 8-15 all time; 16-23 and 24-31 masked
    w2, w3 = words[:, 2] & _MASK2, words[:, 3] & _MASK3
    change = np.ones(n, bool)
    change[1:] = (words[1:, 0] != words[:-1, 0]) | (words[1:, 1] != words[:-1, 1]) | (w2[1:] != w2[:-1]) \
        | (w3[1:] != w3[:-1])
    firsts = np.flatnonzero(change)
    minutes = np.empty(len(firsts), np.int64)
    for j, row in enumerate(firsts.tolist()):
        value = nginx_minute(tw[row].tobytes())
        if value is None:
            return None
        minutes[j] = value
    minute = minutes[np.cumsum(change) - 1]
    dur = _fast_request_time(tail)
    if dur is None:
        return None
    return minute, status, dur


def _fast_request_time(tail: np.ndarray) -> Optional[np.ndarray]:
    """$request_time as nginx writes it (`d+.ddd`, the first field after the agent) in µs; -1 where absent."""
    first = tail[:, 0]
    present = first == 32
    if not (present | (first == 10)).all():
        return None
    # Most requests take under 10 s: " d.ddd" then a space or the newline, read column by column.
    t6 = tail[:, 6]
    common = present & (tail[:, 2] == 46) & ((t6 == 10) | (t6 == 32))
    everyone = bool(common.all())
    c = tail if everyone else tail[common]
    if not (((c[:, 1] - 48) <= 9) & ((c[:, 3] - 48) <= 9) & ((c[:, 4] - 48) <= 9) & ((c[:, 5] - 48) <= 9)).all():
        return None
    us = ((c[:, 1].astype(np.int64) * 1000 + c[:, 3].astype(np.int64) * 100 + c[:, 4].astype(np.int64) * 10
           + c[:, 5]) - 48 * 1111) * 1000
    if everyone:
        return us
    dur = np.full(len(tail), -1, np.int64)
    dur[common] = us
    rows = np.flatnonzero(present & ~common)
    if len(rows):
        rest = _general_request_time(tail[rows])
        if rest is None:
            return None
        dur[rows] = rest
    return dur


def _general_request_time(t: np.ndarray) -> Optional[np.ndarray]:
    """`d+.ddd` of any width up to the window, starting after a space, in µs."""
    end = (t == 32) | (t == 10)
    end[:, 0] = False
    e = end.argmax(axis=1)            # offset of the terminator; the field is t[1:e]
    if (e < 6).any():                 # no terminator in the window (argmax 0), or shorter than "0.000"
        return None
    r = np.arange(len(t))
    d1, d2, d3, dot = t[r, e - 1], t[r, e - 2], t[r, e - 3], t[r, e - 4]
    if not ((dot == 46) & ((d1 - 48) <= 9) & ((d2 - 48) <= 9) & ((d3 - 48) <= 9)).all():
        return None
    ms = d3.astype(np.int64) * 100 + d2.astype(np.int64) * 10 + d1 - 48 * 111
    whole = np.zeros(len(t), np.int64)
    width = e - 5                     # digits before the '.'
    for k in range(1, int(width.max()) + 1):
        has = width >= k
        d = t[r, np.maximum(e - 4 - k, 0)]
        if (has & ((d - 48) > 9)).any():
            return None
        whole += np.where(has, d.astype(np.int64) - 48, 0) * 10 ** (k - 1)
    return (whole * 1000 + ms) * 1000
