"""Voice broadcasts: campaigns, store, scheduler, webhooks, statistics and reports."""
