"""`reconcile emulator serve` answers without the ~40 ms Nagle/delayed-ACK stall.

asyncio turns TCP_NODELAY on for accepted connections only when the listening
socket says proto=IPPROTO_TCP; a socket made as socket(AF_INET, SOCK_STREAM)
has proto 0, and then every response over loopback waited for a delayed ACK.
"""

from __future__ import annotations

import asyncio
import socket

from reconciler.commands.emulator import _bind


def test_connections_accepted_by_the_serve_socket_have_tcp_nodelay():
    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            sock = writer.get_extra_info("socket")
            seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        listening = _bind("127.0.0.1", 0)
        server = await asyncio.start_server(on_connect, sock=listening)
        async with server:
            port = listening.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(seen, timeout=5)
            writer.close()
        return value

    assert asyncio.run(accepted_nodelay()) != 0
