#!/usr/bin/env python3
"""ai_server.py - a minimal OpenAI-compatible chat-completions server for the tests of the
elastos://ai/ provider (no model server with a small model could be installed from the package
registries within CI's budget; see docs/agent-capsules.md).

    ai_server.py PORT_FILE LOG_FILE API_KEY [LIFETIME_SECONDS]

Listens on 127.0.0.1 (a free port, written to PORT_FILE), answers POST /v1/chat/completions,
and appends one JSON line per request to LOG_FILE: {"path", "authorization", "body"}. It exits by
itself after LIFETIME_SECONDS (default 300).

The "model" is deterministic: it answers from the system message (the document) the first line
sharing a word of 4+ letters with the last user message, and says how many earlier user turns
the conversation holds and what the previous question was - so a test can see the document, the
question and the agent's memory all reached it. Questions containing these words misbehave:
SLOW (answers after 5 s), HUGE (a 5 MiB answer), BROKEN (not JSON), ERROR500 (HTTP 500),
NOCONTENT (a choice without text). A wrong or missing key gets HTTP 401 whose message quotes the
key it received, as some hosted APIs do (the runtime must not pass that on).
"""
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port_file, log_file, api_key = sys.argv[1], sys.argv[2], sys.argv[3]
lifetime = float(sys.argv[4]) if len(sys.argv) > 4 else 300.0
log_lock = threading.Lock()

def answer_for(messages):
    system = next((m["content"] for m in messages if m.get("role") == "system"), "")
    users = [m["content"] for m in messages if m.get("role") == "user"]
    question = users[-1] if users else ""
    words = {w.lower() for w in re.findall(r"[A-Za-z]{4,}", question)}
    doc = system.split("--- document ---", 1)[-1]
    found = next((ln.strip() for ln in doc.splitlines()
                  if ln.strip() and words & {w.lower() for w in re.findall(r"[A-Za-z]{4,}", ln)}), None)
    text = "From the document: %s" % found if found else "The document does not say."
    text += " (earlier questions: %d" % (len(users) - 1)
    if len(users) > 1:
        text += "; the last one was: %s" % users[-2]
    return text + ")"

class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, ctype="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        auth = self.headers.get("Authorization", "")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with log_lock, open(log_file, "a") as f:
            f.write(json.dumps({"path": self.path, "authorization": auth, "body": body}) + "\n")
        if self.path != "/v1/chat/completions":
            return self.reply(404, {"error": {"message": "no such path"}})
        if auth != "Bearer " + api_key:
            return self.reply(401, {"error": {"message": "Incorrect API key provided: %s" % auth}})
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return self.reply(400, {"error": {"message": "messages required"}})
        question = [m for m in body["messages"] if m.get("role") == "user"][-1]["content"]
        if "SLOW" in question:
            time.sleep(5)
        if "BROKEN" in question:
            return self.reply(200, b"this is not json", "text/plain")
        if "ERROR500" in question:
            return self.reply(500, {"error": {"message": "internal"}})
        content = "x" * (5 << 20) if "HUGE" in question else answer_for(body["messages"])
        choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        if "NOCONTENT" in question:
            choice["message"] = {"role": "assistant", "tool_calls": []}
        self.reply(200, {"id": "chatcmpl-test", "object": "chat.completion", "model": "tiny-test",
                         "choices": [choice],
                         "usage": {"prompt_tokens": len(raw) // 4, "completion_tokens": len(content) // 4,
                                   "total_tokens": (len(raw) + len(content)) // 4}})

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))

os.rename(port_file + ".tmp", port_file)
threading.Timer(lifetime, server.shutdown).start()
server.serve_forever()
