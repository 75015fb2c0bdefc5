"""A small OpenAI-compatible chat server for tests: the openai backend's peer.

It answers /v1/chat/completions deterministically from the request (so a test can tell which
request an answer came from), and a test can script failures: a status, a malformed body, a
delay, or closing the connection, for the first N requests or all of them.
"""
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def expected_text(body):
    """The answer the peer gives to a request body: depends on the messages, seed and model."""
    digest = hashlib.sha256(json.dumps([body["messages"], body.get("seed"), body["model"]]).encode()).hexdigest()
    return f"answer {digest[:12]} to: {body['messages'][-1]['content']}"


class Peer:
    def __init__(self):
        self.requests = []  # request bodies, in arrival order
        self.script = []  # per request, in order: None (answer) or a failure dict; then `then`
        self.then = None
        self.delay = 0.0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def next_failure(self, body):
        with self.lock:
            self.requests.append(body)
            return self.script.pop(0) if self.script else self.then

    def _handler(self):
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/version":
                    self._send(200, {"version": "peer-1.0"})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                failure = peer.next_failure(body)
                time.sleep((failure or {}).get("delay", peer.delay))
                if failure and failure.get("drop"):
                    self.connection.close()
                    return
                if failure and "status" in failure:
                    self._send(failure["status"], failure.get("body", {"error": "scripted"}),
                               headers=failure.get("headers", {}))
                    return
                self._send(200, completion(body))

            def _send(self, status, payload, headers=()):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in dict(headers).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def completion(body):
    text = expected_text(body)
    tokens = text.split(" ")
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    if body.get("logprobs"):
        k = body.get("top_logprobs", 0)
        choice["logprobs"] = {"content": [
            {"token": t, "logprob": -0.5 * i, "top_logprobs": [{"token": f"{t}#{j}", "logprob": -0.5 * i - j}
                                                            for j in range(k)]}
            for i, t in enumerate(tokens)]}
    return {"id": "x", "object": "chat.completion", "model": body["model"], "choices": [choice],
            "usage": {"prompt_tokens": len(json.dumps(body["messages"])) // 4, "completion_tokens": len(tokens)}}
