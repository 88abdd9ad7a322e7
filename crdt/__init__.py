"""Sans-I/O Yjs: y-protocol framing, a server-side document and an awareness registry.

Nothing in this package performs I/O or imports asyncio: bytes go in, bytes and
values come out.
"""
