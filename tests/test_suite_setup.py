"""The suite's own setup (tests/conftest.py): what keeps ``make test`` fast must stay in force."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_http_clients_load_a_trust_store_of_one_certificate() -> None:
    """Every SDK client builds an SSL context even for http: one certificate to load, not 140."""
    import openai

    bundle = Path(os.environ["SSL_CERT_FILE"])
    assert bundle.read_text().count("-----BEGIN CERTIFICATE-----") == 1
    client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="sk-test")
    pool = client._client._transport._pool  # httpx's transport and httpcore's pool (private)
    assert pool._ssl_context.cert_store_stats()["x509_ca"] == 1
    # The suite's subprocesses (example apps, opentelemetry-instrument) inherit it.
    code = "import os, ssl; print(ssl.create_default_context(cafile=os.environ['SSL_CERT_FILE']).cert_store_stats())"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "'x509_ca': 1" in done.stdout
