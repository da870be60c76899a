#!/usr/bin/env python3
"""A stand-in endpoint that answers every request the same broken way (for error-message tests).

    bad_answers.py MODE     prints `READY port=N`, then serves on 127.0.0.1:N until killed

MODE: html404 (an HTML error page), empty500 (an empty 500), truncated (a 200 with cut-off JSON),
xml (an XML error in the other protocol's shape, to JSON services), forbidden (a 403
UnrecognizedClientException, as AWS words it), unknown_op (what a DynamoDB-only endpoint answers
to other services: UnknownOperationException).
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
ANSWERS = {
    "html404": (404, "text/html", b"<html><head><title>404 Not Found</title></head>\n<body><h1>Not Found</h1></body></html>\n", {}),
    "empty500": (500, "text/plain", b"", {}),
    "truncated": (200, "application/x-amz-json-1.0", b'{"Table": {"TableName": "cruddur-mes', {}),
    "xml": (400, "text/xml", b"<ErrorResponse><Error><Code>Throttled</Code><Message>odd</Message></Error></ErrorResponse>", {}),
    "forbidden": (403, "application/x-amz-json-1.0",
                  b'{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token included in the request is invalid."}', {}),
    "unknown_op": (400, "application/x-amz-json-1.0",
                   b'{"__type":"com.amazonaws.dynamodb.v20120810#UnknownOperationException"}', {}),
}


class H(BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        status, ctype, body, headers = ANSWERS[MODE]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # clients that give up mid-answer are expected here


server = Server(("127.0.0.1", 0), H)
print(f"READY port={server.server_port}", flush=True)
server.serve_forever()
