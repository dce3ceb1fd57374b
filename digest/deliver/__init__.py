"""Delivery after publish: notifications of a published day through Apprise (digest.deliver.notify),
their text (digest.deliver.message) and the sent ledger (digest.deliver.ledger)."""
