"""`make events`: recent events on the local bus, their deliveries, dead letters.

    make events                      # the last 20 events and what happened to each
    make events ARGS="--limit 50"
    make events ARGS=--dead          # the dead-letter store, with each event in full
    make events ARGS=--json          # machine-readable

It reads the data directory of the platform `make run` is running (local.running), or
the one INKWELL_DATA_DIR names, and says which.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from local import platform, running
from local.bus import BusLog


def summary(log: BusLog, limit: int) -> list[dict[str, Any]]:
    deliveries: dict[str, list[dict[str, Any]]] = {}
    for record in log.read("deliveries"):
        deliveries.setdefault(record["eventId"], []).append(record)
    dead = {record["eventId"]: record for record in log.read("dead-letters")}
    rows = []
    for record in log.read("events")[-limit:]:
        event = record["event"]
        rows.append(
            {
                "at": record["at"],
                "id": event["id"],
                "detailType": event["detail-type"],
                "source": event["source"],
                "correlationId": (event.get("detail") or {}).get("correlationId"),
                "deliveries": [
                    {k: d[k] for k in ("consumer", "attempt", "status") if k in d}
                    for d in deliveries.get(event["id"], [])
                ],
                "deadLettered": event["id"] in dead,
            }
        )
    return rows


def _line(row: dict[str, Any]) -> str:
    outcome = (
        ", ".join(f"{d['consumer']}#{d['attempt']} {d['status']}" for d in row["deliveries"])
        or "no subscriber"
    )
    flag = "  [DEAD-LETTERED]" if row["deadLettered"] else ""
    return (
        f"{row['at']}  {row['detailType']:<20} {row['id']}  "
        f"corr={row['correlationId']}  -> {outcome}{flag}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make events",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--limit", type=int, default=20, help="how many recent events")
    parser.add_argument("--dead", action="store_true", help="show the dead-letter store")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    data_dir, why = running.data_dir(platform.data_dir())
    log = BusLog(data_dir / "bus")
    if not args.json:
        print(f"events of {data_dir} ({why})")
    if args.dead:
        letters = log.read("dead-letters")[-args.limit :]
        if args.json:
            print(json.dumps(letters, indent=2))
        else:
            for letter in letters:
                print(
                    f"{letter['at']}  {letter['consumer']}  {letter['detailType']}"
                    f"  {letter['eventId']}  after {letter['attempt']} attempts:"
                    f" {letter['error']}"
                )
            print(f"{len(letters)} dead letter(s)")
        return 0
    rows = summary(log, args.limit)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(_line(row))
        print(f"{len(rows)} event(s) shown; dead letters: make events ARGS=--dead")
    return 0


if __name__ == "__main__":
    sys.exit(main())
