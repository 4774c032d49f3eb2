"""The reference for cold-start budgets: a bare FastAPI + Mangum hello-world Lambda.

One GET route returning ``{"hello": "world"}``, served by Mangum with lifespan off, as the
FastAPI documentation shows it. The endpoint is ``async`` like Inkwell's adapter makes every
endpoint, so both take the same path through Starlette (no worker-thread hop).
"""

from fastapi import FastAPI
from mangum import Mangum

PATH = "/hello"

app = FastAPI()


@app.get(PATH)
async def hello() -> dict[str, str]:
    return {"hello": "world"}


handler = Mangum(app, lifespan="off")
