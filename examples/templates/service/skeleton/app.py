"""${{ values.name }}: ${{ values.description }}"""

from http.server import BaseHTTPRequestHandler, HTTPServer

PORT = ${{ values.port }}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"Hello from ${{ values.name }}\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    HTTPServer(("", PORT), Handler).serve_forever()
