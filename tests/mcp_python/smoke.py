"""An outside MCP client: the official MCP Python SDK (mcp 2.x) drives `proxmox-mcp serve`.

Usage: smoke.py BINARY  (the PROXMOX_* variables come from the environment)
Prints one JSON object: the server's name, the tool names, and proxmox_guest_list's result.
"""
import asyncio
import json
import os
import sys

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client


async def main(binary):
    params = StdioServerParameters(command=binary, args=["serve"], env=dict(os.environ))
    async with stdio_client(params, errlog=sys.stderr) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = await session.list_tools()
            result = await session.call_tool("proxmox_guest_list", {"fields": ["vmid", "name", "type"]})
            bad = await session.call_tool("proxmox_guest_status", {"vmid": 999})
            print(json.dumps({
                "server": init.server_info.name,
                "protocol": init.protocol_version,
                "tools": [t.name for t in tools.tools],
                "guest_list": {
                    "is_error": result.is_error,
                    "structured": result.structured_content,
                    "text": [c.text for c in result.content if getattr(c, "type", "") == "text"],
                },
                "not_found": {
                    "is_error": bad.is_error,
                    "text": [c.text for c in bad.content if getattr(c, "type", "") == "text"],
                },
            }))


asyncio.run(main(sys.argv[1]))
