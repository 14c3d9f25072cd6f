"""The bare endpoints ``tools.bench api`` compares the service with: the same framework (FastAPI on
uvicorn), a validated JSON body, a JSON answer — and nothing else (no key, no database, no call).

``python -m tools.bench._bare_api PORT`` serves them on 127.0.0.1:PORT."""

from __future__ import annotations

import sys
import uuid
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

app = FastAPI(title="bare")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flow_id: str = Field(max_length=64)
    to: str = Field(max_length=256)
    caller_id: str = Field(max_length=256)
    mode: str = "poll"


@app.post("/bare/calls", status_code=202)
def create(body: Body) -> dict[str, Any]:
    return {"id": "call_" + uuid.uuid4().hex[:20], "status": "queued", **body.model_dump()}


@app.get("/bare/calls/{call_id}")
def get(call_id: str) -> dict[str, Any]:
    return {"id": call_id, "status": "completed", "final": True}


#: the CallBroadcastStats fields the service answers (their values do not matter here)
STATS = (
    "totalCount", "totalOutboundCount", "remainingOutboundCount", "callsAttempted",
    "callsPlaced", "dialedCount", "callsRemaining", "callsAwaitingRedial", "callsLiveAnswer",
    "liveCount", "answeringMachineCount", "busyCount", "noAnswerCount", "doNotCallCount",
    "errorCount", "miscCount", "transferCount", "callsDuration", "billedDuration",
    "responseRatePercent", "respondedCount",
)  # fmt: skip


@app.get("/bare/stats/{broadcast_id}")
def stats(broadcast_id: int) -> dict[str, Any]:
    return {**dict.fromkeys(STATS, broadcast_id), "billedAmount": 0.0}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
