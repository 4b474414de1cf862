"""An SMTP sink in a process of its own (notifications.sink.start_sink), steered by lines on stdin.

Runs apart from the sender so that the two do not share one interpreter lock, as a real
mail server never would. Commands: ``count``, ``clear``, ``save DIR`` (write every message
as DIR/NNNNN.eml), ``quit``. Keeps messages in memory only.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

from notifications.sink import start_sink


def serve(port: int) -> None:
    controller, handler = start_sink("127.0.0.1", port, None)
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "count":
                print(len(handler.messages), flush=True)
            elif command == "clear":
                handler.messages.clear()
                handler.envelopes.clear()
                print("ok", flush=True)
            elif command == "save":
                target = Path(argument)
                target.mkdir(parents=True, exist_ok=True)
                for i, message in enumerate(list(handler.messages)):
                    (target / f"{i:05d}.eml").write_bytes(message.as_bytes())
                print(len(handler.messages), flush=True)
            elif command == "quit":
                break
    finally:
        controller.stop()


class SinkProcess:
    """The parent's handle on a sink subprocess."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.sink", str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self._read() != "ready":
            raise RuntimeError("SMTP sink did not start")

    def _read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def count(self) -> int:
        return int(self.ask("count"))

    def clear(self) -> None:
        self.ask("clear")

    def save(self, directory: Path) -> int:
        return int(self.ask(f"save {directory}"))

    def stop(self) -> None:
        with contextlib.suppress(BrokenPipeError, ValueError):
            self.ask("quit")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
