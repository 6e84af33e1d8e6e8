"""A Retry-After pauses the whole client: no request of it goes out before the time is up."""

from __future__ import annotations

import asyncio

import httpx

from _crm_fake import erp_carrier, run, small_tenant


class FakeTime:
    """Time that runs 100 times faster than the event loop's: a 5 s Retry-After takes 50 ms."""

    SCALE = 100.0

    def clock(self) -> float:
        return asyncio.get_running_loop().time() * self.SCALE

    @property
    def now(self) -> float:
        return self.clock()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.SCALE)


def test_a_429_with_retry_after_pauses_every_request_of_the_client():
    tenant = small_tenant()
    tenant.erp_connections = [erp_carrier(i, 1, f"c{i}", None) for i in range(1, 21)]
    tenant.erp_config = {i: {"CompanyId": str(i)} for i in range(1, 21)}
    fake = FakeTime()
    sent_at: list[float] = []
    refused_at: list[float] = []
    handle = tenant._handle

    async def recording(request: httpx.Request) -> httpx.Response:
        sent_at.append(fake.now)
        if len(sent_at) == 4:  # one of the config reads is refused
            refused_at.append(fake.now)
            return httpx.Response(429, headers={"Retry-After": "5"}, json={"Message": "slow down"})
        await asyncio.sleep(0)
        return await handle(request)

    tenant._handle = recording  # type: ignore[method-assign]
    client = tenant.client(sleep=fake.sleep, clock=fake.clock, parallelism=4)

    async def go():  # type: ignore[no-untyped-def]
        async with client:
            return await client.get_all_connections()

    assert len(run(go())) == 20
    [refused] = refused_at
    later = sent_at[4:]
    assert later and all(t >= refused + 4.9 for t in later), (refused, later)
