#!/usr/bin/env python3
"""Print a per-skill queue snapshot from NICE CXone, polling through cxone-auth-proxy.

The job holds no credentials and no token code: the proxy on localhost obtains, refreshes and
attaches the bearer. Point it elsewhere with CXONE_AUTH_PROXY_URL (default http://127.0.0.1:8080); if the
proxy was started with PROXY_API_KEYS, put one of those keys in CXONE_AUTH_PROXY_KEY.

    python3 queue_snapshot.py --once
    python3 queue_snapshot.py --interval 10
"""

import argparse
import os
import re
import sys
import time
from datetime import datetime, timezone

import requests

DEFAULT_PROXY_URL = "http://127.0.0.1:8080"
COLUMNS = ("SKILL", "NAME", "IN QUEUE", "LONGEST WAIT", "AVAILABLE", "SERVICE LEVEL")
MAX_PAGES = 1000


class JobError(Exception):
    """A failure worth one clear line on stderr and a non-zero exit."""


def parse_time(value):
    """CXone timestamps end in Z and may carry 7 fractional digits: keep 6 so any Python 3 parses them."""
    if not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.replace("Z", "+00:00"))
    return datetime.fromisoformat(text)


def describe_failure(response):
    """The proxy answers {"error": {"code", "message"}}; CXone itself {"error", "error_description"}."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return "cxone-auth-proxy answered {} {}: {}".format(response.status_code, error.get("code"), error.get("message"))
    if error is not None:
        detail = body.get("error_description") or body.get("errorDescription")
        return "CXone answered {} {}{}".format(response.status_code, error, ": " + detail if detail else "")
    return "{} answered {} {}".format(response.url, response.status_code, response.text[:200].strip())


def get_json(session, url, params=None, timeout=30):
    """One GET: the decoded JSON, None for 204 (nothing changed), or JobError."""
    try:
        response = session.get(url, params=params, timeout=timeout)
    except requests.ConnectionError as err:
        raise JobError("cannot reach cxone-auth-proxy at {}: is it running? Set CXONE_AUTH_PROXY_URL if it "
                       "listens elsewhere ({})".format(url, err.__class__.__name__)) from err
    except requests.Timeout as err:
        raise JobError("no answer from {} within {} s".format(url, timeout)) from err
    if response.status_code == 204:
        return None
    if not response.ok:
        raise JobError(describe_failure(response))
    try:
        return response.json()
    except ValueError as err:
        raise JobError("{} answered {} with a body that is not JSON".format(url, response.status_code)) from err


def poll_skills(session, base, updated_since, top):
    """All pages of skills/activity changed since `updated_since`: (lastPollTime, items, pages), or None."""
    body = get_json(session, base + "/skills/activity", params=poll_params(updated_since, top))
    if body is None:
        return None
    # The first page's time: anything that changes while the later pages load is picked up next poll.
    poll_time = body.get("lastPollTime")
    items = list(body.get("skillActivity") or [])
    pages = 1
    # The proxy rewrites _links to itself, so `next` is followed as given: the query is already in it.
    next_url = (body.get("_links") or {}).get("next")
    while next_url and pages < MAX_PAGES:
        body = get_json(session, next_url)
        if body is None:
            break
        items.extend(body.get("skillActivity") or [])
        pages += 1
        next_url = (body.get("_links") or {}).get("next")
    return poll_time, items, pages


def poll_params(updated_since, top):
    params = {"top": top}
    if updated_since is not None:
        params["updatedSince"] = updated_since
    return params


def format_wait(skill, now):
    earliest = parse_time(skill.get("earliestQueueTime"))
    if not skill.get("queueCount") or earliest is None or now is None:
        return "-"
    seconds = max(0, int((now - earliest).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return "{}:{:02}:{:02}".format(hours, minutes, seconds) if hours else "{}:{:02}".format(minutes, seconds)


def table(skills, now):
    rows = []
    ordered = sorted(skills.values(), key=lambda s: (-(s.get("queueCount") or 0), s.get("skillId") or 0))
    for s in ordered:
        level = s.get("serviceLevel")
        rows.append((
            str(s.get("skillId", "")),
            str(s.get("skillName", "")),
            str(s.get("queueCount", 0)),
            format_wait(s, now),
            str(s.get("agentsAvailable", 0)),
            "-" if level is None else "{}%".format(level),
        ))
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(COLUMNS)]
    lines = []
    for row in [COLUMNS] + rows:
        cells = [row[i].ljust(widths[i]) if i < 2 else row[i].rjust(widths[i]) for i in range(len(row))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def run(args):
    base = "{}/inContactAPI/services/v{}".format(args.proxy_url.rstrip("/"), args.api_version)
    skills = {}
    updated_since = None
    polls = 0
    with requests.Session() as session:
        session.headers["Accept"] = "application/json"
        if args.proxy_key:
            session.headers["X-Proxy-Key"] = args.proxy_key
        while True:
            result = poll_skills(session, base, updated_since, args.top)
            polls += 1
            if result is None:
                print("No change since {}".format(updated_since) if updated_since else "No skill activity")
            else:
                poll_time, items, pages = result
                for item in items:
                    skills[item.get("skillId")] = item
                print("Queue snapshot at {}: {} skills, {} updated ({} page{})".format(
                    poll_time, len(skills), len(items), pages, "" if pages == 1 else "s"))
                print(table(skills, parse_time(poll_time)))
                updated_since = poll_time or updated_since
            sys.stdout.flush()
            if args.count and polls >= args.count:
                return
            time.sleep(args.interval)


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy-url", default=os.environ.get("CXONE_AUTH_PROXY_URL") or DEFAULT_PROXY_URL,
                        help="the proxy's URL (env CXONE_AUTH_PROXY_URL, default %(default)s)")
    parser.add_argument("--api-version", default="31.0", help="CXone API version (default %(default)s)")
    parser.add_argument("--top", type=positive_int, default=100, help="skills per page (default %(default)s)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between polls (default %(default)s)")
    parser.add_argument("--count", type=int, default=0, help="stop after this many polls (default: never)")
    parser.add_argument("--once", dest="count", action="store_const", const=1, help="poll once and exit")
    args = parser.parse_args(argv)
    # A key is not a command-line option: it would show in `ps`.
    args.proxy_key = os.environ.get("CXONE_AUTH_PROXY_KEY")
    try:
        run(args)
    except JobError as err:
        print("queue_snapshot: {}".format(err), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
