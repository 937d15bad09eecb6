"""Alerts when a task fails: always the log, plus a webhook and e-mail when configured.

The DAGs pass :func:`task_failure_alert` as ``on_failure_callback``. A failed quality gate
raises with its summary (every failing check with sample bad rows), so the alert names them.

Settings (environment): ``GOVKPI_ALERT_WEBHOOK_URL`` — POST a JSON ``{"subject", "text",
"dag_id", "task_id", "run_id"}`` (Slack/Teams/Mattermost-style incoming webhooks read
``text``); ``GOVKPI_ALERT_EMAIL_TO`` (comma-separated) with ``GOVKPI_SMTP_HOST``,
``GOVKPI_SMTP_PORT`` (25), ``GOVKPI_SMTP_FROM`` (govkpi@localhost), ``GOVKPI_SMTP_USER`` /
``GOVKPI_SMTP_PASSWORD`` (optional, STARTTLS when given). An alert that cannot be delivered is
logged; it never hides the failure that caused it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10


def send_alert(subject: str, text: str, extra: dict[str, Any] | None = None) -> list[str]:
    """Log the alert and deliver it to the configured channels; the channels it reached."""
    # imported here, not at module level: every DAG file imports this module to parse
    import json
    import smtplib
    import urllib.request
    from email.message import EmailMessage

    log.error("ALERT %s\n%s", subject, text)
    reached = ["log"]
    url = os.environ.get("GOVKPI_ALERT_WEBHOOK_URL", "").strip()
    if url:
        body = json.dumps({"subject": subject, "text": f"{subject}\n{text}", **(extra or {})},
                          ensure_ascii=False, default=str).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
                response.read()
            reached.append("webhook")
        except Exception as exc:
            log.error("alert webhook %s failed: %s", url, exc)
    recipients = [a.strip() for a in os.environ.get("GOVKPI_ALERT_EMAIL_TO", "").split(",")
                  if a.strip()]
    host = os.environ.get("GOVKPI_SMTP_HOST", "").strip()
    if recipients and host:
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = os.environ.get("GOVKPI_SMTP_FROM", "govkpi@localhost")
        message["To"] = ", ".join(recipients)
        message.set_content(text)
        try:
            with smtplib.SMTP(host, int(os.environ.get("GOVKPI_SMTP_PORT", "25")),
                              timeout=WEBHOOK_TIMEOUT_S) as smtp:
                user = os.environ.get("GOVKPI_SMTP_USER")
                if user:
                    smtp.starttls()
                    smtp.login(user, os.environ.get("GOVKPI_SMTP_PASSWORD", ""))
                smtp.send_message(message)
            reached.append("email")
        except Exception as exc:
            log.error("alert e-mail via %s failed: %s", host, exc)
    return reached


def task_failure_alert(context: dict[str, Any]) -> None:
    """``on_failure_callback`` of the DAGs' tasks: one alert naming the DAG, run, task and the
    error (for a gate: the failing checks and their sample bad rows)."""
    try:
        ti = context.get("ti") or context.get("task_instance")
        dag_id = getattr(ti, "dag_id", None) or context.get("dag").dag_id
        task_id = getattr(ti, "task_id", "?")
        run_id = getattr(ti, "run_id", None) or getattr(context.get("dag_run"), "run_id", "?")
        error = context.get("exception")
        subject = f"[govkpi] {dag_id}.{task_id} failed (run {run_id})"
        text = f"{type(error).__name__}: {error}" if error is not None else "no error given"
        send_alert(subject, text, {"dag_id": dag_id, "task_id": task_id, "run_id": run_id})
    except Exception:
        log.exception("could not send the failure alert")


def run_succeeded(context: dict[str, Any]) -> None:
    """DAG-level ``on_success_callback``: one log line per successful run (DAG, run, how it
    was triggered, how long it took), so the scheduler log shows each run's end."""
    try:
        run = context.get("dag_run")
        dag_id = getattr(run, "dag_id", None) or context.get("dag").dag_id
        started, ended = getattr(run, "start_date", None), getattr(run, "end_date", None)
        took = f" in {(ended - started).total_seconds():.0f}s" if started and ended else ""
        log.info("[govkpi] %s run %s (%s) succeeded%s", dag_id, getattr(run, "run_id", "?"),
                 getattr(run, "run_type", "?"), took)
    except Exception:
        log.exception("could not log the successful run")
