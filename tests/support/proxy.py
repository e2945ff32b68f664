"""A TCP relay in front of a real server that can cut the connection half-way through."""

from __future__ import annotations

import socket
import threading

from servers import HOST


class CuttingProxy:
    """A TCP relay to a server that cuts the connection after `cut_after` bytes from it,
    so a test can break a FETCH half-way through; cut_after = None relays everything."""

    def __init__(self, upstream_port: int, cut_after: int | None = None):
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.cuts = 0
        self._open: list[socket.socket] = []
        self._gone = False
        self._listener = socket.create_server((HOST, 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def cut_all(self) -> None:
        """Cut every connection relayed now and accept no new one: the server is gone."""
        self._gone = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way
        except OSError:
            pass
        self.close()
        for sock in self._open:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._gone:
                client.close()
                return
            upstream = socket.create_connection((HOST, self.upstream_port))
            self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, counted: bool) -> None:
        relayed, limit = 0, self.cut_after
        try:
            while data := source.recv(65536):
                if counted and limit is not None and relayed + len(data) > limit:
                    target.sendall(data[: limit - relayed])
                    self.cuts += 1
                    break
                target.sendall(data)
                relayed += len(data)
        except OSError:
            pass
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
