"""Webhook delivery: the organisation's event stream posted to the endpoints its admins
registered, signed (Standard Webhooks), in order per endpoint, retried on a schedule, to
public addresses only. Run by `sync`'s schedulers; the endpoints and the record of every
attempt are kept by `directory.webhooks`, which never imports this package."""
