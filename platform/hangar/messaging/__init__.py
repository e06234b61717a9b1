"""Messaging: installations' pushes, SMS and email, through per-app providers (docs/messaging.md).

- ``push_spec``: a validated send request (``PushSpec``), what the Parse ``/push`` handler and
  cloud code hand to the campaign engine.
- ``adapters/``: one module per provider (FCM, APNs, Web Push, Twilio, SNS, SES, SMTP, and
  the log provider of a deployment without credentials); ``adapters.base`` is their contract.
- ``credentials`` (each kind's config checks), ``provider_credentials`` (an app's encrypted
  credentials and the log provider's records) and ``providers`` (which adapter serves an app:
  ``push_provider_for`` / ``sms_provider_for`` / ``email_provider_for``).
- the campaign engine: a send becomes a ``_PushStatus`` record and one delivery record per
  (campaign, recipient), fanned out by Celery in batches; a retried batch never sends twice.

The datastore never imports messaging; messaging reads installations through the datastore.
"""
