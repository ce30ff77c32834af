"""Outside channels (SMS, WeChat…). The helper building the inbox completes this module."""

from __future__ import annotations


def deliver(notifications) -> None:
    return None
