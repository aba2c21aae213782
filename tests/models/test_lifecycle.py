from __future__ import annotations

from models.lifecycle import stop_services


class _Recorder:
    def __init__(self, name: str, log: list[str], fail: bool = False) -> None:
        self.name, self.log, self.fail = name, log, fail

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self, timeout: float) -> None:
        assert timeout > 0
        self.log.append(f"stop {self.name}")
        if self.fail:
            raise RuntimeError("boom")


def test_services_stop_in_reverse_order_even_when_one_fails() -> None:
    log: list[str] = []
    services = [_Recorder("store-writer", log), _Recorder("receiver", log, fail=True),
                _Recorder("workers", log)]  # fmt: skip
    stop_services(services)
    assert log == ["stop workers", "stop receiver", "stop store-writer"]
