#!/usr/bin/env python3
"""regproxy.py - a misbehaving front for a real registry, for hutch's tests.

It relays every request to the registry given with --upstream and can, as
asked on its command line:
  --truncate N   cut the body of the first N blob GETs in half (-1: all)
  --min-size B   ... only of blobs larger than B bytes in all
  --fail N       answer the first N blob GETs with 503
  --corrupt N    flip a byte in the body of the first N blob GETs
  --redirect     answer blob GETs with a 307 to /cdn/... on itself, as
                 registries send clients to object storage
  --bearer U:P   demand bearer tokens from its own /token realm, handed out
                 for the credentials U:P (and anonymously with --anonymous)
  --hold D:FILE  answer GETs of blob D only once FILE exists (a pull held
                 half-way, for a test to act in the middle)
  --log FILE     one line per request: method, path, auth scheme, range
It is also a forward HTTP proxy (requests with an absolute URI go to the
upstream, whatever host they name), to check that HTTP_PROXY is honoured.
Prints "listening PORT" when ready.
"""
import argparse
import base64
import http.client
import http.server
import json
import os
import secrets
import sys
import threading
import time

ARGS = None
LOCK = threading.Lock()
COUNT = {"truncate": 0, "fail": 0, "corrupt": 0}
TOKENS = set()


def take(kind, limit):
    with LOCK:
        if limit < 0 or COUNT[kind] < limit:
            COUNT[kind] += 1
            return True
    return False


def log(line):
    if ARGS.log:
        with LOCK, open(ARGS.log, "a") as f:
            f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def reply(self, code, headers, data=b""):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def upstream(self, method, path, body, headers):
        c = http.client.HTTPConnection(ARGS.upstream, timeout=60)
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read() if method != "HEAD" else b""
        hdrs = [(k, v) for k, v in r.getheaders()
                if k.lower() not in ("transfer-encoding", "connection")]
        c.close()
        return r.status, hdrs, data

    def token(self):
        auth = self.headers.get("Authorization", "")
        ok = ARGS.anonymous and not auth
        if auth.startswith("Basic "):
            ok = base64.b64decode(auth[6:]).decode() == ARGS.bearer
        if not ok:
            return self.reply(401, [("Content-Type", "application/json")],
                              b'{"details":"incorrect username or password"}')
        t = secrets.token_hex(16)
        with LOCK:
            TOKENS.add(t)
        log("TOKEN scope=%s" % self.path.partition("?")[2])
        data = json.dumps({"token": t, "expires_in": 300}).encode()
        self.reply(200, [("Content-Type", "application/json")], data)

    def authorised(self):
        if not ARGS.bearer:
            return True
        auth = self.headers.get("Authorization", "")
        with LOCK:
            if auth.startswith("Bearer ") and auth[7:] in TOKENS:
                return True
        host = self.headers.get("Host")
        chal = ('Bearer realm="http://%s/token",service="hutch-test"' % host)
        self.reply(401, [("WWW-Authenticate", chal),
                         ("Content-Type", "application/json")],
                   b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
        return False

    def handle_any(self):
        path = self.path
        forward = path.startswith("http://")
        if forward:
            path = "/" + path.split("/", 3)[3]
        auth = self.headers.get("Authorization", "")
        log("%s %s%s auth=%s range=%s" % (
            self.command, "PROXY " if forward else "", path,
            auth.split(" ")[0] or "none", self.headers.get("Range", "")))
        body = self.body()
        if path.startswith("/token"):
            return self.token()
        if path.startswith("/cdn/"):
            return self.blob("/v2/" + path[5:].split("?")[0], body, cdn=True)
        if not self.authorised():
            return
        if "/blobs/sha256:" in path and self.command == "GET":
            if ARGS.redirect:
                # Another host name for the same place, as object storage
                # is another host: credentials must not follow.
                host = self.headers.get("Host").replace("127.0.0.1", "localhost")
                loc = "http://%s/cdn/%s?sig=abc" % (host, path[4:])
                return self.reply(307, [("Location", loc)])
            return self.blob(path, body)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("authorization", "proxy-connection")}
        st, hdrs, data = self.upstream(self.command, path, body, headers)
        self.reply(st, hdrs, data)

    def blob(self, path, body, cdn=False):
        if cdn:
            log("CDN auth=%s" % ("yes" if "Authorization" in self.headers else "no"))
        if take("fail", ARGS.fail):
            return self.reply(503, [("Content-Type", "application/json")],
                              b'{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}')
        if ARGS.hold:
            alg, hexd, gate = ARGS.hold.split(":", 2)
            digest = alg + ":" + hexd
            while path.endswith("/" + digest) and not os.path.exists(gate):
                time.sleep(0.02)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("authorization", "proxy-connection")}
        st, hdrs, data = self.upstream("GET", path, body, headers)
        if st in (200, 206) and take("corrupt", ARGS.corrupt) and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        total = len(data)
        for k, v in hdrs:
            if k.lower() == "content-range" and "/" in v:
                total = int(v.rsplit("/", 1)[1])
        if (st in (200, 206) and total > ARGS.min_size
                and take("truncate", ARGS.truncate)):
            # Promise everything, send half, hang up.
            self.send_response(st)
            for k, v in hdrs:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.reply(st, hdrs, data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

    def do_CONNECT(self):
        log("CONNECT %s" % self.path)
        self.reply(405, [])


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--truncate", type=int, default=0)
    p.add_argument("--min-size", type=int, default=0)
    p.add_argument("--fail", type=int, default=0)
    p.add_argument("--corrupt", type=int, default=0)
    p.add_argument("--redirect", action="store_true")
    p.add_argument("--bearer")
    p.add_argument("--anonymous", action="store_true")
    p.add_argument("--hold")
    p.add_argument("--log")
    ARGS = p.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    print("listening %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
