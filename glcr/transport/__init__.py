"""The one place HTTP policy lives: retries, backoff, throttling, redaction, pagination.

Every HTTP client glcr uses is built by `factory.build_async_client`; commands never sleep
or retry by hand.
"""
