"""A webhook receiver on 127.0.0.1 that records every POST (the `hook` fixture), and the secrets a test seeds into
what is posted: the URL's token, a header's token. Neither may show up in any report, log or notice."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET_TOKEN = "T0AAAA/B0BBBB/s3cr3tW3bh00kT0k3nXYZ"   # in the webhook URL's path, as Slack's are
HEADER_TOKEN = "hdr-s3cr3t-0123456789"                 # in an Authorization header the config names


class Hook:
    """A webhook receiver on 127.0.0.1 that records every POST; tests set status and hang."""

    def __init__(self) -> None:
        self.status, self.hang_s, self.received = 200, 0.0, []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.received.append({"path": self.path, "headers": dict(self.headers), "raw": body.decode(),
                                      "json": json.loads(body)})
                if hook.hang_s:
                    time.sleep(hook.hang_s)
                try:
                    self.send_response(hook.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the client gave up (the hanging case)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/{SECRET_TOKEN}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
