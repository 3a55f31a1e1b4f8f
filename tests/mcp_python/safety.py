"""The official MCP Python SDK (mcp 2.x) confirms or declines destructive calls of proxmox-mcp.

Usage:
    safety.py stdio BINARY            (the PROXMOX_* variables come from the environment)
    safety.py http URL BEARER_TOKEN

For each protocol revision the SDK speaks ("legacy" negotiates 2025-11-25, where the server asks
with an elicitation/create request; "2026-07-28", where it answers with an input-required result
and the SDK sends the call again with the person's answer), it runs:

* a dry run of a stop (nothing is asked, nothing is sent);
* a stop the person declines;
* a stop the person accepts.

Prints one JSON object: per revision, the negotiated version, each call's result and the
questions the person was shown.
"""
import asyncio
import json
import os
import sys

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

# The VMs stopped with the person's consent, per revision: fakepve's log shows which were sent.
ACCEPTED = {"legacy": 100, "2026-07-28": 200}
DECLINED = {"legacy": 101, "2026-07-28": 201}


def server(argv):
    if argv[1] == "stdio":
        return StdioServerParameters(command=argv[2], args=["serve"], env=dict(os.environ))
    url, token = argv[2], argv[3]
    return streamable_http_client(url, http_client=httpx2.AsyncClient(
        headers={"Authorization": "Bearer " + token}, timeout=60))


def result(r):
    return {
        "is_error": r.is_error,
        "structured": r.structured_content,
        "text": [c.text for c in r.content if getattr(c, "type", "") == "text"],
    }


async def run(argv, mode):
    asked = []
    answer = {"action": "accept"}

    async def callback(_context, params):
        asked.append(getattr(params, "message", ""))
        if answer["action"] == "accept":
            return types.ElicitResult(action="accept", content={"confirm": True})
        return types.ElicitResult(action=answer["action"])

    out = {}
    async with Client(server(argv), mode=mode, elicitation_callback=callback) as client:
        out["protocol"] = client.protocol_version
        await client.list_tools()
        out["dry_run"] = result(await client.call_tool(
            "proxmox_guest_stop", {"vmid": ACCEPTED[mode], "dry_run": True}))
        out["asked_after_dry_run"] = len(asked)
        answer["action"] = "decline"
        out["declined"] = result(await client.call_tool(
            "proxmox_guest_stop", {"vmid": DECLINED[mode], "wait": 0}))
        answer["action"] = "accept"
        out["accepted"] = result(await client.call_tool(
            "proxmox_guest_stop", {"vmid": ACCEPTED[mode], "wait": 0}))
    out["asked"] = asked
    return out


async def main(argv):
    report = {}
    for mode in ("legacy", "2026-07-28"):
        report[mode] = await run(argv, mode)
    print(json.dumps(report))


asyncio.run(main(sys.argv))
