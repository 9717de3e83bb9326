#!/usr/bin/env python3
"""egress_server.py PORTFILE LOGFILE - a loopback HTTP server for tests/cli/test_egress.sh.

Binds 127.0.0.1 on a port from the kernel (written to PORTFILE), and answers:
  /data        4096 bytes of 'x'          /echo (POST, PUT)  the request body back
  /big         2 MiB                      /slow              sleeps 5 s before answering
  /redirect?to=URL  302 to URL            /headers           "ok" (every request's headers go to LOGFILE)
  /quote       the X-Api-Key header back  /quote-redirect     302 to /data?k=<the X-Api-Key header>
Every request line and its headers are appended to LOGFILE.
"""
import http.server, socketserver, sys, time, urllib.parse


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def _log(self):
        with open(sys.argv[2], "a") as f:
            f.write("%s %s\n%s\n" % (self.command, self.path, str(self.headers)))

    def _send(self, code, body, extra=()):
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        self._log()
        u = urllib.parse.urlparse(self.path)
        if u.path == "/data":
            self._send(200, b"x" * 4096)
        elif u.path == "/big":
            self._send(200, b"y" * (2 << 20))
        elif u.path == "/slow":
            time.sleep(5)
            self._send(200, b"late")
        elif u.path == "/loop":  # redirects to itself
            self._send(302, b"", [("Location", "http://%s/loop" % self.headers["Host"])])
        elif u.path == "/quote":  # as some APIs do when they refuse a key
            self._send(200, b"key was: " + self.headers.get("X-Api-Key", "").encode())
        elif u.path == "/quote-redirect":
            k = urllib.parse.quote(self.headers.get("X-Api-Key", ""))
            self._send(302, b"", [("Location", "http://%s/data?k=%s" % (self.headers["Host"], k))])
        elif u.path == "/redirect":
            to = urllib.parse.parse_qs(u.query)["to"][0]
            self._send(302, b"", [("Location", to)])
        else:
            self._send(200, b"ok")

    do_HEAD = do_GET

    def do_POST(self):
        self._log()
        n = int(self.headers.get("Content-Length", "0"))
        self._send(200, b"got:" + self.rfile.read(n))

    do_PUT = do_POST


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up on purpose (max_bytes, timeout_ms) is expected


s = S(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
