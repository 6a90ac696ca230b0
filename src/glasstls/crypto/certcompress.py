"""TLS certificate compression (RFC 8879): zlib, brotli and zstd, decompressed within bounds.

What is compressed is the body of a TLS 1.3 Certificate message, without its
4-byte header (RFC 8879, Section 4; BoringSSL and OpenSSL do the same), and
``uncompressed_length`` is that body's length. The receiving side's rules:

* the algorithm must be one the receiver offered in its compress_certificate
  extension (Section 4). One it did not offer, or one glasstls cannot
  decompress (glasstls offers only what it can), is illegal_parameter, as
  OpenSSL (``SSL_R_BAD_COMPRESSION_ALGORITHM``) and BoringSSL
  (``SSL_R_UNKNOWN_CERT_COMPRESSION_ALG``) answer it;
* an ``uncompressed_length`` over the limit on a Certificate message is
  refused before any byte is decompressed (Section 5: the limit must be the one
  an uncompressed Certificate has). glasstls bounds every handshake message by
  ``Limits.max_handshake_message`` (256 KiB by default; OpenSSL's and
  BoringSSL's ``SSL_MAX_CERT_LIST_DEFAULT`` is 100 KiB), so that is the default
  here too. illegal_parameter, as BoringSSL (``SSL_R_UNCOMPRESSED_CERT_TOO_LARGE``);
* decompression is bounded (Section 5): it stops as soon as the output passes
  ``uncompressed_length``, so a small message that claims a small length cannot
  make glasstls inflate megabytes (a "compression bomb");
* data that does not decompress, or whose output is not exactly
  ``uncompressed_length`` bytes, is bad_certificate (Section 4), and so are
  bytes after the end of the compressed stream and a stream cut short.

Memory beyond the output: zlib's window is 32 KiB; brotli's decoder may
allocate its stream's window (up to 16 MiB, RFC 7932, Section 9.1) and
returns output in blocks of about 32 KiB, so it may pass the bound by one
block; zstd's window is capped at 8 MiB, the size RFC 8878, Section 3.1.1.1.2
recommends decoders support.

The message level (:func:`compress_certificate`, :func:`decompress_certificate`)
is what the handshake states call; :func:`compress` and :func:`decompress`
work on bytes.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Collection, Iterable

import brotli  # type: ignore[import-untyped]  # no type information ships with it
import zstandard

from ..enums import AlertDescription, CertificateCompressionAlgorithm
from ..errors import AlertError
from ..limits import DEFAULT_LIMITS
from ..wire.codec import Reader, Writer
from ..wire.handshake import Certificate, CompressedCertificate

Algorithm = CertificateCompressionAlgorithm

# What glasstls compresses and decompresses, in its order of preference: brotli makes the
# smallest certificate chains (its built-in dictionary knows X.509's strings), zstd is next.
SUPPORTED: tuple[CertificateCompressionAlgorithm, ...] = (Algorithm.brotli, Algorithm.zstd, Algorithm.zlib)

# RFC 8879, Section 5: the same limit as an uncompressed Certificate message.
DEFAULT_LIMIT = DEFAULT_LIMITS.max_handshake_message
LIMIT_NAME = "Limits.max_handshake_message"

# RFC 8878, Section 3.1.1.1.2: decoders should support windows up to 8 MB; larger ones are refused.
ZSTD_MAX_WINDOW = 1 << 23
_ZLIB_LEVEL = 9
_ZSTD_LEVEL = 19
_BROTLI_BLOCK = 1  # output_buffer_limit: one output block (about 32 KiB) per call, never more


class _Broken(Exception):
    """The compressed data does not decompress cleanly; the text says why."""


# -- bytes ---------------------------------------------------------------------------------------


# A server sends the same chain on every connection, and brotli and zstd at their best ratios
# take milliseconds per chain, several times a whole handshake: compress each chain once per
# algorithm, as BoringSSL's servers do. Bounded: 64 chains (a staple in the leaf's entry makes
# another chain each time it is refreshed).
@functools.lru_cache(maxsize=64)
def compress(algorithm: int, data: bytes) -> bytes:
    """``data`` compressed with ``algorithm``, deterministically (RFC 8879, Section 5).

    ValueError for an algorithm glasstls cannot compress with: choosing one the
    peer offered and glasstls supports is the caller's job (:func:`choose`).
    """
    alg = Algorithm(algorithm)
    if alg == Algorithm.zlib:
        return zlib.compress(data, _ZLIB_LEVEL)  # RFC 1950 format, as RFC 8879, Section 4 requires
    if alg == Algorithm.brotli:
        out: bytes = brotli.compress(data)
        return out
    if alg == Algorithm.zstd:
        return zstandard.ZstdCompressor(level=_ZSTD_LEVEL).compress(data)  # writes the content size
    raise ValueError(f"glasstls cannot compress a certificate with {alg.name} ({int(alg)})")


def decompress(
    algorithm: int,
    data: bytes,
    uncompressed_length: int,
    limit: int = DEFAULT_LIMIT,
    *,
    offered: Collection[int] | None = None,
    limit_name: str = LIMIT_NAME,
) -> bytes:
    """The ``uncompressed_length`` bytes ``data`` decompresses to, or an AlertError (see the module doc).

    ``limit``: the most bytes a Certificate message's body may have (named
    ``limit_name`` in the reason). ``offered``: the algorithms this side sent in
    its compress_certificate extension (None: any glasstls supports).
    """
    alg = Algorithm(algorithm)
    if offered is not None and alg not in offered:
        listed = ", ".join(Algorithm(a).name for a in offered) or "none"
        raise AlertError(
            AlertDescription.illegal_parameter,
            f"CompressedCertificate uses {alg.name} ({int(alg)}), which was not offered in compress_certificate "
            f"(offered: {listed}; RFC 8879, Section 4)",
        )
    inflate = _INFLATE.get(alg)
    if inflate is None:
        raise AlertError(
            AlertDescription.illegal_parameter,
            f"CompressedCertificate uses {alg.name} ({int(alg)}), which glasstls cannot decompress "
            f"(it supports {', '.join(a.name for a in SUPPORTED)})",
        )
    if uncompressed_length > limit:
        raise AlertError(
            AlertDescription.illegal_parameter,
            f"CompressedCertificate claims an uncompressed_length of {uncompressed_length} bytes, over the "
            f"{limit}-byte limit on a Certificate message (limit {limit_name} = {limit}); not decompressed "
            "(RFC 8879, Section 5)",
        )
    if uncompressed_length <= _KEEP_INFLATED_UP_TO:
        return _inflate_kept(alg, data, uncompressed_length)
    return _inflate(alg, data, uncompressed_length)


# A client meets the same compressed chain on every connection to a server: data that inflated
# cleanly to exactly its claimed length is kept with what it gave (decompression is a function of
# the bytes). The offered-algorithm and length-limit checks above run for every message. Bounded:
# 32 chains of at most 16 KiB; a failure is never kept.
_KEEP_INFLATED_UP_TO = 1 << 14


@functools.lru_cache(maxsize=32)
def _inflate_kept(alg: CertificateCompressionAlgorithm, data: bytes, uncompressed_length: int) -> bytes:
    return _inflate(alg, data, uncompressed_length)


def _inflate(alg: CertificateCompressionAlgorithm, data: bytes, uncompressed_length: int) -> bytes:
    """``data`` inflated with ``alg`` (supported), exactly ``uncompressed_length`` bytes or an AlertError."""
    inflate = _INFLATE[alg]
    try:
        out = inflate(data, uncompressed_length + 1)
    except _Broken as exc:
        raise AlertError(
            AlertDescription.bad_certificate,
            f"CompressedCertificate does not decompress with {alg.name}: {exc} (RFC 8879, Section 4)",
        ) from None
    if len(out) > uncompressed_length:
        raise AlertError(
            AlertDescription.bad_certificate,
            f"CompressedCertificate's {alg.name} data inflates past the uncompressed_length it claims "
            f"({uncompressed_length} bytes); decompression stopped there (RFC 8879, Sections 4 and 5)",
        )
    if len(out) != uncompressed_length:
        raise AlertError(
            AlertDescription.bad_certificate,
            f"CompressedCertificate's {alg.name} data inflates to {len(out)} bytes, not the {uncompressed_length} "
            "its uncompressed_length claims (RFC 8879, Section 4)",
        )
    return bytes(out)


def choose(
    peer_algorithms: Iterable[int], preference: Iterable[int] = SUPPORTED
) -> CertificateCompressionAlgorithm | None:
    """The first algorithm of ``preference`` the peer listed in its compress_certificate, or None."""
    return _first_listed(tuple(peer_algorithms), tuple(preference))


@functools.lru_cache(maxsize=64)
def _first_listed(listed: tuple[int, ...], preference: tuple[int, ...]) -> CertificateCompressionAlgorithm | None:
    """choose()'s answer, kept: a peer's list and a configuration's come back alike in every handshake."""
    return next((Algorithm(a) for a in preference if a in listed and Algorithm(a) in _INFLATE), None)


# -- messages ------------------------------------------------------------------------------------


def compress_certificate(cert: Certificate, algorithm: int) -> CompressedCertificate:
    """The CompressedCertificate that replaces ``cert`` (RFC 8879, Section 4); ``encode()`` it to send.

    The transcript then hashes the CompressedCertificate's bytes, not the
    Certificate's: it is the message that was sent.
    """
    w = Writer()
    cert.write_body(w)
    body = w.getvalue()
    return CompressedCertificate(Algorithm(algorithm), len(body), compress(algorithm, body))


def decompress_certificate(
    msg: CompressedCertificate,
    offered: Collection[int],
    limit: int = DEFAULT_LIMIT,
    *,
    limit_name: str = LIMIT_NAME,
) -> Certificate:
    """The Certificate ``msg`` carries, parsed as strictly as one that came uncompressed (RFC 8879, Section 5).

    Its ``raw`` is ``msg.raw``: what was received, and so what the transcript
    hashes. ``offered``: the algorithms this side listed in its own
    compress_certificate extension.
    """
    body = decompress(
        msg.algorithm,
        msg.compressed_certificate_message,
        msg.uncompressed_length,
        limit,
        offered=offered,
        limit_name=limit_name,
    )
    r = Reader(body, "Certificate (decompressed from a CompressedCertificate)")
    cert = Certificate.parse(r)
    r.finish()
    cert.raw = msg.raw
    return cert


# -- bounded decompressors: at most ``cap`` bytes out (brotli: one block more) ----------------------


def _zlib(data: bytes, cap: int) -> bytes:
    d = zlib.decompressobj()  # wbits 15: the zlib format of RFC 1950
    try:
        out = d.decompress(data, cap)
    except zlib.error as exc:
        raise _Broken(f"not a valid zlib stream ({exc})") from None
    if len(out) >= cap:
        return out
    if not d.eof:
        raise _Broken("the zlib stream is cut short")
    if d.unused_data:
        raise _Broken(f"{len(d.unused_data)} bytes follow the end of the zlib stream")
    return out


def _brotli(data: bytes, cap: int) -> bytes:
    d = brotli.Decompressor()
    out = bytearray()
    try:
        chunk: bytes = d.process(data, output_buffer_limit=_BROTLI_BLOCK)
        out += chunk
        while chunk and len(out) < cap and not d.is_finished():
            chunk = d.process(b"", output_buffer_limit=_BROTLI_BLOCK)
            out += chunk
    except brotli.error as exc:  # corrupt data, or bytes after the end of the stream
        raise _Broken(f"not a valid brotli stream ({exc})") from None
    if len(out) < cap and not d.is_finished():
        raise _Broken("the brotli stream is cut short")
    return bytes(out)


def _zstd(data: bytes, cap: int) -> bytes:
    if not data:
        raise _Broken("there is no zstd frame")
    dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    out = bytearray()
    try:
        # First the bound: read across frames (RFC 8878, Section 3.1: the data may hold several), at most cap.
        with dctx.stream_reader(data, read_across_frames=True) as reader:
            while len(out) < cap:
                chunk = reader.read(cap - len(out))
                if not chunk:
                    break
                out += chunk
        if len(out) >= cap:
            return bytes(out)
        # The output is known to be small now; decode again frame by frame to see each one end
        # (the reader ends silently on data cut short).
        rest, again = data, bytearray()
        while rest:
            frame = dctx.decompressobj()
            again += frame.decompress(rest)
            if not frame.eof:
                raise _Broken("the zstd data is cut short")
            rest = frame.unused_data
    except zstandard.ZstdError as exc:  # corrupt data, bytes after the last frame, a window over the cap
        raise _Broken(f"not valid zstd data ({exc})") from None
    if again != out:  # the same decoder on the same bytes: never, unless the library changes under us
        raise _Broken("zstd gave two different outputs for the same data")
    return bytes(out)


_INFLATE = {Algorithm.zlib: _zlib, Algorithm.brotli: _brotli, Algorithm.zstd: _zstd}
