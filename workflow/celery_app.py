"""The Celery application and its reliability settings; tasks are nudges, the database decides."""

from __future__ import annotations

from celery import Celery

from workflow.config import Settings, get_settings


def make_celery(settings: Settings) -> Celery:
    app = Celery("zielflow", include=["workflow.tasks"])
    schedule: dict[str, dict[str, object]] = {
        "sweep": {"task": "zielflow.sweep", "schedule": float(settings.sweep_interval_seconds)},
        # Retries with backoff and expired leases need a regular look even when nothing new
        # was queued.
        "send": {"task": "zielflow.send", "schedule": float(settings.send_interval_seconds)},
    }
    if settings.bounce_imap_host:
        # Reports arrive at any time; reading them with the send interval keeps a bouncing
        # address from getting many more reminders than the one that bounced.
        schedule["bounces"] = {
            "task": "zielflow.bounces",
            "schedule": float(settings.send_interval_seconds),
        }
    transport_options: dict[str, object] = {}
    if settings.broker_url.startswith("redis"):
        # Only short-lived nudges travel through Redis, never month-long countdowns, so a
        # redelivery after this timeout cannot resurrect an old reminder (celery #2599, #4400).
        transport_options["visibility_timeout"] = 3600
    app.conf.update(
        broker_url=settings.broker_url,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue="zielflow",
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
        beat_schedule=schedule,
    )
    return app


app = make_celery(get_settings())
