"""The names read again after creates: shared by creates that finish together, never older than the create."""

from __future__ import annotations

import asyncio

from reconciler.apply.create_races import LiveObject, ReadsAfter, older_copy
from reconciler.crm.live import LiveConnector


def test_creates_that_finish_together_share_a_read_and_none_gets_a_read_begun_before_it_asked() -> None:
    async def scenario() -> tuple[list[int], int]:
        reads = 0

        async def read() -> list[LiveObject]:
            nonlocal reads
            reads += 1
            number = reads
            await asyncio.sleep(0.05)
            return [LiveConnector(id=number, name="read", url="")]

        names = ReadsAfter(read)
        first = [asyncio.ensure_future(names.after_now()) for _ in range(3)]
        await asyncio.sleep(0.01)  # the first read is under way
        later = [asyncio.ensure_future(names.after_now()) for _ in range(2)]
        results = await asyncio.gather(*first, *later)
        return [objects[0].id for objects in results], reads

    seen, reads = asyncio.run(scenario())
    assert seen == [1, 1, 1, 2, 2]
    assert reads == 2


def test_only_an_older_live_copy_of_the_name_wins() -> None:
    objects = [
        LiveConnector(id=3, name="Visma.net", url="", deleted=True),
        LiveConnector(id=5, name="Visma.net", url=""),
        LiveConnector(id=7, name="Visma.net", url=""),
        LiveConnector(id=1, name="Tripletex", url=""),
    ]
    assert older_copy(objects, "Visma.net", own_id=7) == 5
    assert older_copy(objects, "Visma.net", own_id=5) is None
    assert older_copy(objects, "Visma.net", own_id=4) is None  # the deleted id 3 does not count
