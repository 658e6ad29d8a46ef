#!/usr/bin/env python3
"""A CXone job as many are written: it does its own token dance. It runs through cxone-auth-proxy unmodified.

It asks the token endpoint for a client_credentials token with a Basic header it builds by hand, reads the tenant
from the token's payload, looks up the API host in cxone-configuration, then calls the API with `requests`.

Against CXone, CXONE_BASE_URL is https://cxone.niceincontact.com and the job holds a real client id and secret.
Behind the proxy (started with PROXY_LOCAL_AUTH=true) only the base URL changes: CXONE_BASE_URL=http://127.0.0.1:8080.
The proxy answers the token call itself with a placeholder; the job never holds a real token, and with no callers
configured it needs no real secret either (docs/local-auth.md).

    CXONE_BASE_URL=http://127.0.0.1:8080 python3 own_auth_job.py
"""

import base64
import json
import os
import sys

import requests

BASE_URL = os.environ.get("CXONE_BASE_URL", "https://cxone.niceincontact.com").rstrip("/")
CLIENT_ID = os.environ.get("JOB_CLIENT_ID", "job-client-id")
CLIENT_SECRET = os.environ.get("JOB_CLIENT_SECRET", "job-client-secret")


def get_token():
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    response = requests.post(f"{BASE_URL}/auth/token", data="grant_type=client_credentials", timeout=30, headers={
        "Authorization": f"Basic {basic}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    })
    if response.status_code != 200:
        sys.exit(f"token request failed: HTTP {response.status_code} {response.text[:200]}")
    return response.json()


def tenant_of(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["tenantId"]


def main():
    token = get_token()
    config = requests.get(f"{BASE_URL}/.well-known/cxone-configuration", params={"tenantId": tenant_of(token["access_token"])}, timeout=30)
    config.raise_for_status()
    api = config.json()["api_endpoint"].rstrip("/") + "/inContactAPI/services/v31.0"
    headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"}
    skills = requests.get(f"{api}/skills/activity", headers=headers, timeout=30)
    agents = requests.get(f"{api}/agents/states", headers=headers, params={"top": 100}, timeout=30)
    for response in (skills, agents):
        if response.status_code != 200:
            sys.exit(f"{response.request.method} {response.url} failed: HTTP {response.status_code} {response.text[:200]}")
    queued = sum(s.get("queueCount", 0) for s in skills.json().get("skillActivity", []))
    print(f"skills: {len(skills.json().get('skillActivity', []))}, contacts in queue: {queued}, agents: {agents.json().get('totalRecords')}")


if __name__ == "__main__":
    main()
