#!/usr/bin/env python3
"""The notes' chat server with rooms (asyncio streams, a bounded queue and a writer task per
client), speaking the same IRC subset as the exercise: the benchmark's Python peer.

    python3 notes_asyncio_chat.py --port 6667
"""
import argparse
import asyncio

NAME = "notes.py"
rooms: dict[str, set["Client"]] = {}
nicks: dict[str, "Client"] = {}


class Client:
    def __init__(self, writer: asyncio.StreamWriter):
        self.writer, self.nick, self.user = writer, "", ""
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=1024)
        self.rooms: set[str] = set()

    def send(self, line: str) -> None:
        try:
            self.queue.put_nowait(line + "\r\n")
        except asyncio.QueueFull:  # the slow-consumer policy: drop the client
            self.writer.close()

    def prefix(self) -> str:
        return f"{self.nick}!{self.user}@127.0.0.1"


async def write_loop(client: Client) -> None:
    while (line := await client.queue.get()) is not None:
        client.writer.write(line.encode())
        await client.writer.drain()


def handle(client: Client, line: str) -> bool:
    words, _, trailing = line.partition(" :")
    command, *params = words.split()
    if trailing or " :" in line:
        params.append(trailing)
    command = command.upper()
    if command == "NICK" and params and params[0].lower() not in nicks:
        client.nick = params[0]
        nicks[client.nick.lower()] = client
    elif command == "USER" and client.nick:
        client.user = params[0]
        for numeric in ("001", "422"):
            client.send(f":{NAME} {numeric} {client.nick} :Welcome")
    elif command == "JOIN":
        room = params[0].lower()
        rooms.setdefault(room, set()).add(client)
        client.rooms.add(room)
        for member in rooms[room]:
            member.send(f":{client.prefix()} JOIN {params[0]}")
        names = " ".join(member.nick for member in rooms[room])
        client.send(f":{NAME} 353 {client.nick} = {params[0]} :{names}")
        client.send(f":{NAME} 366 {client.nick} {params[0]} :End of /NAMES list")
    elif command == "PRIVMSG":
        for member in rooms.get(params[0].lower(), ()):
            if member is not client:
                member.send(f":{client.prefix()} PRIVMSG {params[0]} :{params[1]}")
    elif command == "PING":
        client.send(f":{NAME} PONG {NAME} :{params[0] if params else ''}")
    elif command == "QUIT":
        return False
    return True


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    client = Client(writer)
    task = asyncio.create_task(write_loop(client))
    try:
        while (raw := await reader.readline()) and handle(client, raw.decode(errors="replace").strip()):
            pass
    except (ConnectionError, ValueError):  # a reset, or a line over the reader's limit
        pass
    finally:
        for room in client.rooms:
            rooms[room].discard(client)
        nicks.pop(client.nick.lower(), None)
        client.queue.put_nowait(None) if not client.queue.full() else None
        task.cancel()
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=6667)
    args = parser.parse_args()
    server = await asyncio.start_server(serve, "127.0.0.1", args.port, limit=4096, backlog=4096)
    print(f"listening on 127.0.0.1:{args.port}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
