#!/usr/bin/env python3
"""A loopback HTTP/1.1 proxy that adds a fixed delay to every request: a real AWS region answers
in tens of milliseconds, moto_server in a few, so a benchmark puts each client behind this proxy
to give both the same round trip. Standard library only.

Usage: scripts/delay-proxy.py --upstream http://127.0.0.1:5000 [--delay-ms 20] [--port 0]

Listens on 127.0.0.1:PORT (0: a free one) and prints `PORT <n>` as its first line of stdout,
then serves until killed. Every request (any method, path, headers and body) is forwarded
unchanged to the upstream after sleeping --delay-ms; the Host header too, since SigV4 signs it
(the client signs for the proxy's host:port; moto does not check signatures). One thread per
client connection, each with its own upstream connection, so the delays of concurrent requests
overlap instead of adding up. Keep-alive towards the client, and towards the upstream when it
allows: moto_server (werkzeug) closes after every response, so each request reconnects to it,
a fraction of a millisecond on loopback. The client's own connection stays open, as with AWS.
"""
import argparse
import http.client
import http.server
import socket
import sys
import time
import urllib.parse

# Hop-by-hop headers (RFC 9110 7.6.1): about one connection, not passed on.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
              "te", "trailer", "transfer-encoding", "upgrade"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive towards the client
    upstream_host = "127.0.0.1"
    upstream_port = 80
    delay = 0.02
    upstream = None  # this connection's (this thread's) http.client.HTTPConnection

    def log_message(self, format, *args):
        pass

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self):
        try:
            super().finish()
        finally:
            if self.upstream is not None:
                self.upstream.close()

    def _connect(self):
        if self.upstream is None:
            self.upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=300)
        self.upstream.connect()
        self.upstream.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _read_body(self):
        """The request body: Content-Length bytes, or a chunked body decoded (and then
        forwarded with a Content-Length)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _forward(self, path, headers, body):
        """One request upstream on this thread's connection. A kept-alive connection the
        upstream has closed meanwhile gets one retry on a fresh one; a fresh one none (the
        request may have been acted on)."""
        while True:
            fresh = self.upstream is None or self.upstream.sock is None
            if fresh:
                self._connect()  # moto_server (werkzeug) closes after every response
            try:
                self.upstream.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
                for name, value in headers:
                    self.upstream.putheader(name, value)
                self.upstream.endheaders(body)
                response = self.upstream.getresponse()
                return response, response.read()
            except (http.client.HTTPException, OSError):
                self.upstream.close()
                if fresh:
                    raise

    def _proxy(self):
        started = time.monotonic()
        body = self._read_body()
        path = self.path
        if path.startswith(("http://", "https://")):
            # absolute-form (a client using this as HTTP_PROXY): the origin-form part only
            parts = urllib.parse.urlsplit(path)
            path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() != "expect"]
        if body is not None and "content-length" not in (k.lower() for k, _ in headers):
            headers.append(("Content-Length", str(len(body))))
        remaining = self.delay - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        try:
            response, payload = self._forward(path, headers, body)
        except (http.client.HTTPException, OSError) as e:
            message = f"delay-proxy: upstream error: {e}\n".encode()
            self.send_response_only(502)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(message)))
            self.end_headers()
            self.wfile.write(message)
            return
        self.send_response_only(response.status, response.reason)
        no_body = self.command == "HEAD" or response.status in (204, 304) or 100 <= response.status < 200
        for name, value in response.getheaders():
            lower = name.lower()
            if lower in HOP_BY_HOP or (lower == "content-length" and not no_body):
                continue
            self.send_header(name, value)
        if not no_body:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if not no_body:
            self.wfile.write(payload)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _proxy


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024  # the default 5 drops connections when many clients start at once

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):  # a client gone mid-request: nothing to say
            print(f"delay-proxy: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="http://HOST:PORT to forward to")
    parser.add_argument("--delay-ms", type=float, default=20.0, help="added to every request (default 20)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on, on 127.0.0.1 (default: a free one)")
    args = parser.parse_args()
    upstream = urllib.parse.urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname:
        parser.error("--upstream must be http://HOST[:PORT]")
    Handler.upstream_host = upstream.hostname
    Handler.upstream_port = upstream.port or 80
    Handler.delay = args.delay_ms / 1000
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
