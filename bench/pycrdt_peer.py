"""pycrdt-websocket as a peer server for the benchmarks, set up as its documentation shows.

    python -m bench.pycrdt_peer PORT

A `WebsocketServer` behind its `ASGIServer` under Uvicorn (the documentation's ASGI
example), documents in memory, no authentication. Each room is named by the URL path,
so `ws://HOST:PORT/NAME` is document `/NAME`, as the load generator connects. Uvicorn
keeps its defaults (httptools and the `websockets` protocol when installed) and runs on
the event loop `asyncio.run` makes, as in the example.

One addition to the example: the library's own `exception_logger` as the exception
handler. Without a handler, a client that disconnects while its room is still sending
to it raises out of the room's task group and stops the whole server.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
from pycrdt.websocket import ASGIServer, WebsocketServer, exception_logger


async def serve(port: int) -> None:
    websocket_server = WebsocketServer(exception_handler=exception_logger)
    app = ASGIServer(websocket_server)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    async with websocket_server:
        # Returns on SIGTERM or SIGINT, after Uvicorn has closed the sockets.
        await server.serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
