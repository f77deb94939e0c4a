"""The one place HTTP policy lives: retries, backoff, throttling, redaction, pagination.

Every httpx client glcr uses is built by `factory.build_async_client`, and python-gitlab's
requests session gets the same CA, retries and --debug lines from `requests_policy`; commands
never sleep or retry by hand.
"""
