"""Reads a QR code from its module matrix, as a camera app would once it has found the
modules: format information, unmasking, the codewords in their zigzag order, the
Reed-Solomon check of every block, and the byte-mode text. Versions 1 to 10 (up to
about 270 bytes at level M), enough for invite links.

Written from ISO/IEC 18004 for the tests: no QR decoder is installed here, and a code
read back by an independent reader says more than one compared with its own encoder.
"""

from __future__ import annotations

# Error correction blocks per version and level: (count, total codewords, data codewords).
_BLOCKS: dict[tuple[int, str], list[tuple[int, int, int]]] = {
    (1, "L"): [(1, 26, 19)],
    (1, "M"): [(1, 26, 16)],
    (1, "Q"): [(1, 26, 13)],
    (1, "H"): [(1, 26, 9)],
    (2, "L"): [(1, 44, 34)],
    (2, "M"): [(1, 44, 28)],
    (2, "Q"): [(1, 44, 22)],
    (2, "H"): [(1, 44, 16)],
    (3, "L"): [(1, 70, 55)],
    (3, "M"): [(1, 70, 44)],
    (3, "Q"): [(2, 35, 17)],
    (3, "H"): [(2, 35, 13)],
    (4, "L"): [(1, 100, 80)],
    (4, "M"): [(2, 50, 32)],
    (4, "Q"): [(2, 50, 24)],
    (4, "H"): [(4, 25, 9)],
    (5, "L"): [(1, 134, 108)],
    (5, "M"): [(2, 67, 43)],
    (5, "Q"): [(2, 33, 15), (2, 34, 16)],
    (5, "H"): [(2, 33, 11), (2, 34, 12)],
    (6, "L"): [(2, 86, 68)],
    (6, "M"): [(4, 43, 27)],
    (6, "Q"): [(4, 43, 19)],
    (6, "H"): [(4, 43, 15)],
    (7, "L"): [(2, 98, 78)],
    (7, "M"): [(4, 49, 31)],
    (7, "Q"): [(2, 32, 14), (4, 33, 15)],
    (7, "H"): [(4, 39, 13), (1, 40, 14)],
    (8, "L"): [(2, 121, 97)],
    (8, "M"): [(2, 60, 38), (2, 61, 39)],
    (8, "Q"): [(4, 40, 18), (2, 41, 19)],
    (8, "H"): [(4, 40, 14), (2, 41, 15)],
    (9, "L"): [(2, 146, 116)],
    (9, "M"): [(3, 58, 36), (2, 59, 37)],
    (9, "Q"): [(4, 36, 16), (4, 37, 17)],
    (9, "H"): [(4, 36, 12), (4, 37, 13)],
    (10, "L"): [(2, 86, 68), (2, 87, 69)],
    (10, "M"): [(4, 69, 43), (1, 70, 44)],
    (10, "Q"): [(6, 43, 19), (2, 44, 20)],
    (10, "H"): [(6, 43, 15), (2, 44, 16)],
}

# Centres of the alignment patterns, per version (in both directions).
_ALIGNMENT = {
    1: [],
    2: [6, 18],
    3: [6, 22],
    4: [6, 26],
    5: [6, 30],
    6: [6, 34],
    7: [6, 22, 38],
    8: [6, 24, 42],
    9: [6, 26, 46],
    10: [6, 28, 50],
}

# The two format bits of each error correction level.
_LEVEL_BITS = {"L": 1, "M": 0, "Q": 3, "H": 2}

_MASKS = [
    lambda r, c: (r + c) % 2 == 0,
    lambda r, c: r % 2 == 0,
    lambda r, c: c % 3 == 0,
    lambda r, c: (r + c) % 3 == 0,
    lambda r, c: (r // 2 + c // 3) % 2 == 0,
    lambda r, c: (r * c) % 2 + (r * c) % 3 == 0,
    lambda r, c: ((r * c) % 2 + (r * c) % 3) % 2 == 0,
    lambda r, c: ((r + c) % 2 + (r * c) % 3) % 2 == 0,
]

Matrix = list[list[bool]]


class QrError(ValueError):
    """The matrix is not a QR code this reader can read."""


def _format_bits(level: str, mask: int) -> int:
    data = _LEVEL_BITS[level] << 3 | mask
    remainder = data
    for _ in range(10):
        remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537)
    return (data << 10 | remainder) ^ 0x5412


def _format_positions(size: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(row, col) of format bits 0..14, in the copy by the top-left finder and in the
    copy split between the other two."""
    first = [(r, 8) for r in range(6)] + [(7, 8), (8, 8), (8, 7)]
    first += [(8, c) for c in (5, 4, 3, 2, 1, 0)]
    second = [(8, size - 1 - i) for i in range(8)]
    second += [(size - 7 + i, 8) for i in range(7)]
    return first, second


def _read_format(matrix: Matrix) -> tuple[str, int]:
    size = len(matrix)
    for positions in _format_positions(size):
        bits = 0
        for i, (r, c) in enumerate(positions):
            bits |= int(matrix[r][c]) << i
        for level in "LMQH":
            for mask in range(8):
                if _format_bits(level, mask) == bits:
                    return level, mask
    raise QrError("no valid format information")


def _function_modules(version: int) -> Matrix:
    size = 17 + 4 * version
    taken = [[False] * size for _ in range(size)]

    def mark(top: int, left: int, height: int, width: int) -> None:
        for r in range(max(top, 0), min(top + height, size)):
            for c in range(max(left, 0), min(left + width, size)):
                taken[r][c] = True

    # Finders with their separators and the format bits beside them.
    mark(0, 0, 9, 9)
    mark(0, size - 8, 9, 8)
    mark(size - 8, 0, 8, 9)
    # Timing patterns.
    mark(6, 0, 1, size)
    mark(0, 6, size, 1)
    centres = _ALIGNMENT[version]
    for r in centres:
        for c in centres:
            if (r, c) in ((6, 6), (6, centres[-1]), (centres[-1], 6)):
                continue
            mark(r - 2, c - 2, 5, 5)
    if version >= 7:
        mark(0, size - 11, 6, 3)
        mark(size - 11, 0, 3, 6)
    return taken


def _codeword_bits(matrix: Matrix, version: int, mask: int) -> list[int]:
    """The data area's bits, unmasked, in the order they were placed."""
    size = len(matrix)
    taken = _function_modules(version)
    bits: list[int] = []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5
        upward = (right + 1) & 2 == 0
        for step in range(size):
            r = size - 1 - step if upward else step
            for c in (right, right - 1):
                if taken[r][c]:
                    continue
                bits.append(int(matrix[r][c] != _MASKS[mask](r, c)))
        right -= 2
    return bits


# GF(256) with the QR polynomial, for the Reed-Solomon check.
_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def _syndromes_are_zero(block: list[int], ec_count: int) -> bool:
    """Whether ``block`` (data then error correction codewords) is a valid RS codeword."""
    for i in range(ec_count):
        value = 0
        for codeword in block:
            value = codeword ^ (0 if value == 0 else _EXP[_LOG[value] + i])
        if value:
            return False
    return True


def _blocks(codewords: list[int], layout: list[tuple[int, int, int]]) -> list[list[int]]:
    """Undo the interleaving: each block's data codewords then its EC codewords."""
    shapes = [(total, data) for count, total, data in layout for _ in range(count)]
    data = [[0] * d for _, d in shapes]
    ec = [[0] * (t - d) for t, d in shapes]
    at = 0
    for i in range(max(d for _, d in shapes)):
        for b, (_, d) in enumerate(shapes):
            if i < d:
                data[b][i] = codewords[at]
                at += 1
    for i in range(max(t - d for t, d in shapes)):
        for b, (t, d) in enumerate(shapes):
            if i < t - d:
                ec[b][i] = codewords[at]
                at += 1
    return [d + e for d, e in zip(data, ec, strict=True)]


def read_qr(matrix: Matrix) -> bytes:
    """The bytes a QR code in byte mode holds; ``matrix[row][col]`` is True when dark.

    Raises :class:`QrError` when the matrix is not such a code, or a block fails its
    Reed-Solomon check.
    """
    size = len(matrix)
    if any(len(row) != size for row in matrix) or (size - 17) % 4 or not 21 <= size <= 57:
        raise QrError(f"a {size}-module matrix is no QR code of versions 1 to 10")
    version = (size - 17) // 4
    for top, left in ((0, 0), (0, size - 7), (size - 7, 0)):
        for r in range(7):
            for c in range(7):
                ring = max(abs(r - 3), abs(c - 3))
                if matrix[top + r][left + c] != (ring != 2):
                    raise QrError(f"no finder pattern at row {top}, column {left}")
    level, mask = _read_format(matrix)
    bits = _codeword_bits(matrix, version, mask)
    layout = _BLOCKS[(version, level)]
    total = sum(count * t for count, t, _ in layout)
    codewords = [int("".join(map(str, bits[i * 8 : i * 8 + 8])), 2) for i in range(total)]
    data: list[int] = []
    for block, (_, d) in zip(
        _blocks(codewords, layout),
        [(t, d) for count, t, d in layout for _ in range(count)],
        strict=True,
    ):
        if not _syndromes_are_zero(block, len(block) - d):
            raise QrError("a block fails its Reed-Solomon check")
        data += block[:d]
    stream = "".join(f"{b:08b}" for b in data)
    mode = stream[:4]
    if mode != "0100":
        raise QrError(f"mode {mode} is not byte mode")
    length_bits = 8 if version < 10 else 16
    length = int(stream[4 : 4 + length_bits], 2)
    start = 4 + length_bits
    return bytes(int(stream[start + 8 * i : start + 8 * i + 8], 2) for i in range(length))
