"""A minimal HTTP server standing in for jupyterhub-singleuser in the spawn benchmark.

The hub only needs an HTTP answer on the pod's address to call a server ready; a real
jupyter-server per user would make the benchmark measure Jupyter's start-up on 2 cores,
not the spawner.
"""

import argparse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--ip", required=True)
    parser.add_argument("--port", type=int, default=8888)
    args, _ = parser.parse_known_args()
    ThreadingHTTPServer((args.ip, args.port), Answer).serve_forever()
