#!/usr/bin/env python3
"""nettool.py - small servers and clients for the hutch-net tests.

  dns PORT NAME IPV4          answer A queries for NAME on 127.0.0.1:PORT
  http ADDR PORT              HTTP/1.1 server, "ok\\n", Connection: close
  echo ADDR PORT              TCP echo server
  churn HOST PORT N CONC      N requests on fresh connections, CONC at once;
                              prints "ok=N errors=M" (exit 1 on any error)
  hold HOST PORT N            open N echo connections at once, check each,
                              print "held=N", close them when stdin ends
  udp HOST PORT MSG           send MSG, print the reply (exit 1: none in 5 s)

Standard library only; every server prints "listening" once bound.
"""
import asyncio
import resource
import socket
import struct
import sys


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def dns(port, name, ip):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(port)))
    print("listening", flush=True)
    want = name.lower().rstrip(".")
    while True:
        q, peer = s.recvfrom(512)
        if len(q) < 12:
            continue
        i, labels = 12, []
        while i < len(q) and q[i] != 0:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += 1 + q[i]
        qend = i + 5
        qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
        found = ".".join(labels).lower() == want
        answer = b""
        if found and qtype == 1:
            answer = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) +
                      socket.inet_aton(ip))
        flags = 0x8180 if found else 0x8183
        hdr = q[:2] + struct.pack("!HHHHH", flags, 1,
                                  1 if answer else 0, 0, 0)
        s.sendto(hdr + q[12:qend] + answer, peer)


async def serve(handler, addr, port):
    raise_nofile()
    server = await asyncio.start_server(handler, addr, int(port),
                                        backlog=4096)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


async def http_handler(reader, writer):
    try:
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                     b"Connection: close\r\n\r\nok\n")
        await writer.drain()
    finally:
        writer.close()


async def echo_handler(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def one_request(host, port):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = await reader.read()
    writer.close()
    if not data.startswith(b"HTTP/1.1 200") or not data.endswith(b"ok\n"):
        raise RuntimeError("bad reply %r" % data[:60])


async def churn(host, port, n, conc):
    raise_nofile()
    sem = asyncio.Semaphore(int(conc))
    errors = []

    async def run():
        async with sem:
            try:
                await asyncio.wait_for(one_request(host, int(port)), 30)
            except Exception as e:  # report every kind of failure
                errors.append(repr(e))

    await asyncio.gather(*(run() for _ in range(int(n))))
    print("ok=%d errors=%d" % (int(n) - len(errors), len(errors)))
    for e in sorted(set(errors))[:5]:
        print("error:", e)
    return 1 if errors else 0


async def hold(host, port, n):
    raise_nofile()
    conns = []
    for i in range(int(n)):
        conns.append(await asyncio.open_connection(host, int(port)))
    for i, (r, w) in enumerate(conns):
        w.write(b"conn %d\n" % i)
    for i, (r, w) in enumerate(conns):
        line = await asyncio.wait_for(r.readline(), 30)
        if line != b"conn %d\n" % i:
            raise RuntimeError("conn %d got %r" % (i, line))
    print("held=%d" % len(conns), flush=True)
    await asyncio.get_running_loop().run_in_executor(None,
                                                     sys.stdin.read)
    for r, w in conns:
        w.close()
    return 0


def udp(host, port, msg):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(msg.encode() + b"\n", (host, int(port)))
    try:
        print(s.recv(65536).decode().strip())
    except (socket.timeout, ConnectionError) as e:
        print("no reply:", e)
        return 1
    return 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "dns":
        return dns(*args)
    if cmd == "http":
        return asyncio.run(serve(http_handler, *args))
    if cmd == "echo":
        return asyncio.run(serve(echo_handler, *args))
    if cmd == "churn":
        return asyncio.run(churn(*args))
    if cmd == "udp":
        return udp(*args)
    if cmd == "hold":
        return asyncio.run(hold(*args))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
