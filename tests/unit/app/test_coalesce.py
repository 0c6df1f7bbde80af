"""Notification coalescing: the first notice at once, the rest of the window merged into one."""

from __future__ import annotations

import threading

from osint_desktop.app.coalesce import Notice, NotificationCoalescer, describe


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_first_notice_is_shown_at_once() -> None:
    coalescer = NotificationCoalescer(60.0, FakeClock())
    shown = coalescer.add("watch:1", 2, ["Acme buys Initech", "Acme sued"], "Watch 'Acme'")
    assert shown == [Notice("watch:1", "Watch 'Acme'", 2, ("Acme buys Initech", "Acme sued"))]
    assert coalescer.pending() == 0
    assert coalescer.due() == []


def test_adds_within_the_window_are_merged_into_one_notice_after_it() -> None:
    clock = FakeClock()
    coalescer = NotificationCoalescer(60.0, clock)
    assert coalescer.add("watch:1", 1, ["first"], "Watch 'Acme'") != []
    for second in range(5):
        clock.now += 10
        held = coalescer.add("watch:1", 2, [f"title {second}", "title 0"], "Watch 'Acme'")
        assert held == []
    assert coalescer.pending() == 1
    clock.now = 1059.0
    assert coalescer.due() == []
    clock.now = 1060.0
    assert coalescer.due() == [Notice("watch:1", "Watch 'Acme'", 10, ("title 0", "title 1", "title 2"))]
    assert coalescer.pending() == 0
    assert coalescer.due() == []


def test_a_merged_notice_starts_a_new_window() -> None:
    clock = FakeClock()
    coalescer = NotificationCoalescer(60.0, clock)
    coalescer.add("watch:1", 1, ["a"], "Watch 'Acme'")
    clock.now += 30
    coalescer.add("watch:1", 1, ["b"], "Watch 'Acme'")
    clock.now += 30
    assert [notice.count for notice in coalescer.due()] == [1]
    clock.now += 30
    assert coalescer.add("watch:1", 1, ["c"], "Watch 'Acme'") == []
    clock.now += 30
    assert [notice.titles for notice in coalescer.due()] == [("c",)]


def test_keys_are_independent() -> None:
    clock = FakeClock()
    coalescer = NotificationCoalescer(60.0, clock)
    assert len(coalescer.add("watch:1", 1, ["a"], "Watch 'Acme'")) == 1
    assert len(coalescer.add("watch:2", 1, ["b"], "Watch 'Globex'")) == 1
    assert len(coalescer.add("health", 1, ["feed failing"], "Source health")) == 1
    clock.now += 5
    assert coalescer.add("watch:1", 3, ["c"], "Watch 'Acme'") == []
    assert len(coalescer.add("watch:3", 1, ["d"], "Watch 'Umbrella'")) == 1
    assert coalescer.pending() == 1
    clock.now += 60
    assert [(notice.key, notice.count) for notice in coalescer.due()] == [("watch:1", 3)]


def test_after_a_quiet_window_an_add_is_immediate_again() -> None:
    clock = FakeClock()
    coalescer = NotificationCoalescer(60.0, clock)
    coalescer.add("watch:1", 1, ["a"], "Watch 'Acme'")
    clock.now += 60
    assert [notice.titles for notice in coalescer.add("watch:1", 1, ["b"], "Watch 'Acme'")] == [("b",)]


def test_an_expired_held_notice_goes_out_with_the_next_add_when_due_was_not_polled() -> None:
    clock = FakeClock()
    coalescer = NotificationCoalescer(60.0, clock)
    coalescer.add("watch:1", 1, ["a"], "Watch 'Acme'")
    clock.now += 10
    coalescer.add("watch:1", 2, ["b"], "Watch 'Acme'")
    clock.now += 70
    shown = coalescer.add("watch:1", 1, ["c"], "Watch 'Acme (renamed)'")
    assert shown == [Notice("watch:1", "Watch 'Acme (renamed)'", 3, ("b", "c"))]
    assert coalescer.pending() == 0


def test_adds_from_several_threads_are_all_counted() -> None:
    clock = FakeClock()
    coalescer = NotificationCoalescer(60.0, clock)
    shown: list[Notice] = []
    shown_lock = threading.Lock()
    threads_count, adds_per_thread = 8, 250
    start = threading.Barrier(threads_count)

    def add_many(index: int) -> None:
        start.wait()
        for number in range(adds_per_thread):
            notices = coalescer.add(f"watch:{number % 3}", 1, [f"t{index}-{number}"], "Watch")
            with shown_lock:
                shown.extend(notices)

    threads = [threading.Thread(target=add_many, args=(index,)) for index in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(shown) == 3  # one immediate notice per key
    clock.now += 60
    merged = coalescer.due()
    assert len(merged) == 3
    assert sum(notice.count for notice in [*shown, *merged]) == threads_count * adds_per_thread
    assert all(len(notice.titles) == 3 for notice in merged)


def test_describe_words_a_notice_by_its_label_and_noun() -> None:
    notice = Notice("watch:1", "Watch 'Acme'", 3, ("First title", "Second title", "Third title"))
    assert describe(notice) == ("Watch 'Acme': 3 new matches", "First title\nSecond title\nThird title")
    assert describe(Notice("watch:1", "Watch 'Acme'", 1, ("Only",))) == ("Watch 'Acme': 1 new match", "Only")
    title, body = describe(Notice("health", "Source health", 5, ("a", "b")), noun="change")
    assert title == "Source health: 5 new changes"
    assert body == "a\nb\n… and 3 more"
    assert describe(Notice("k", "Feeds", 2, ()), noun="entry", plural="entries") == (
        "Feeds: 2 new entries",
        "",
    )
