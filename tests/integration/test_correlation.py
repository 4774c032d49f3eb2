"""The correlation id belongs to the invocation in progress: two execution environments of
the local platform (threads of one process: the gateway's, the consumers', the relays') never
see each other's, so an event carries the request id of the request that caused it even
while a consumer is processing another event at the same moment."""

from __future__ import annotations

import threading
import uuid

from inkwell.observability import correlation_id, set_correlation_id
from local.dispatch import ExecutionEnvironment
from tests.conftest import Api
from tests.integration.events_support import outbox
from tests.integration.support import PASSWORD, USERS


def test_each_execution_environment_keeps_its_own_correlation_id() -> None:
    gateway, consumers = ExecutionEnvironment("t-gateway"), ExecutionEnvironment("t-consumers")
    try:
        gateway.run(lambda: set_correlation_id("request-1"))
        consumers.run(lambda: set_correlation_id("event-of-request-0"))
        assert gateway.run(correlation_id) == "request-1"
        assert consumers.run(correlation_id) == "event-of-request-0"
        gateway.run(lambda: set_correlation_id(None))
        assert gateway.run(correlation_id) is None
        assert consumers.run(correlation_id) == "event-of-request-0"
    finally:
        gateway.close()
        consumers.close()


def test_events_carry_their_own_request_id_while_another_thread_sets_its_own(
    api: Api,
) -> None:
    stop = threading.Event()

    def busy_consumer() -> None:  # as the bus's consumers do for every event they process
        while not stop.wait(0.0002):
            set_correlation_id(f"consumer-{uuid.uuid4()}")

    other = threading.Thread(target=busy_consumer)
    other.start()
    sent: dict[str, str] = {}
    try:
        for i in range(5):
            request_id = f"request-{i}-{uuid.uuid4()}"
            response = api.call(
                "POST",
                f"{USERS}/register",
                {"username": f"corr{i}", "email": f"corr{i}@example.com", "password": PASSWORD},
                headers={"X-Request-ID": request_id},
            )
            assert response.status == 201, response.body
            sent[response.json()["id"]] = request_id
    finally:
        stop.set()
        other.join(10)
    written = {row["detail"]["data"]["id"]: row["detail"]["correlationId"] for row in outbox()}
    assert written == sent
