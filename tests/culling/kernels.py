"""Run a cell in a real kernel of a user server, through the proxy, as JupyterLab does."""

from __future__ import annotations

import json
import time
import uuid

import requests
import websocket


def start_kernel(base_url: str, user: str, token: str) -> str:
    response = requests.post(
        f"{base_url}user/{user}/api/kernels", json={"name": "python3"}, headers={"Authorization": f"token {token}"}, timeout=30
    )
    response.raise_for_status()
    return response.json()["id"]


def execute(base_url: str, user: str, token: str, kernel_id: str, code: str, timeout: float = 30) -> None:
    """Send ``code`` and return once the kernel reports it busy with it (the cell keeps running)."""
    ws_url = base_url.replace("http", "ws", 1) + f"user/{user}/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4().hex}"
    ws = websocket.create_connection(ws_url, header=[f"Authorization: token {token}"], timeout=timeout)
    try:
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex, "msg_type": "execute_request", "version": "5.3", "date": ""},
            "parent_header": {},
            "metadata": {},
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
            "channel": "shell",
            "buffers": [],
        }))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(ws.recv())
            if message.get("parent_header", {}).get("msg_id") == msg_id and message.get("msg_type") == "execute_input":
                return
        raise AssertionError("the kernel did not start executing the cell")
    finally:
        ws.close()
