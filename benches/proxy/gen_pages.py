#!/usr/bin/env python3
"""Generates the benchmark pages, from the shared corpus when there is one.

usage: gen_pages.py SHARED_DIR|- OUT_DIR

With `-` (no shared corpus beside the clone) the HTML pages and the dense
page are generated from a fixed seed instead: a product-catalogue page
with the decoys a shop page carries (order and article numbers, prices,
dates, version numbers) and a dense page of published test values, each
used many times. The two sources give pages of the same sizes and
roles; compare figures only between runs that used the same source (the
report says which).

Writes into OUT_DIR:
  api-1k.json    ~1 KB JSON API response (synthetic, no PII)
  page-12k.html  ~12 KB HTML page cut from a corpus-clean document (decoys only)
  page-600k.html a whole ~600 KB corpus-clean HTML document (decoys only)
  pii-12k.json   ~12 KB JSON page whose every record carries a planted PII value
                 (cards, SSNs, IBANs, e-mails, phones, API keys) from the labeled corpus
  stream-block.html  the block the streaming upstream repeats for the 1 GiB check
Prints one line per file: name, size, PII values planted.
"""
import json
import os
import random
import sys


def synthetic_html(target: int) -> bytes:
    """A catalogue page of about `target` bytes: no value any detector masks."""
    rnd = random.Random(17)
    words = ("order shipping account settings profile basket delivery invoice returns "
             "support newsletter catalogue product review size colour cotton linen "
             "wool blue green grey small medium large warranty").split()

    def text(n):
        return " ".join(rnd.choice(words) for _ in range(n))

    parts = ["<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<title>Catalogue</title></head>\n<body>\n<h1>Catalogue</h1>\n"
             "<table>\n<tr><th>Article</th><th>Name</th><th>Price</th><th>Added</th>"
             "<th>Description</th></tr>\n"]
    size = len(parts[0])
    while size < target - 64:
        row = (f"<tr><td>ART-{rnd.randint(100000, 999999)}</td><td>{text(3)}</td>"
               f"<td>{rnd.randint(1, 999)}.{rnd.randint(0, 99):02d} EUR</td>"
               f"<td>2026-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}</td>"
               f"<td>{text(12)} (order {rnd.randint(10**7, 10**8 - 1)}, v{rnd.randint(1, 9)}.{rnd.randint(0, 20)})</td></tr>\n")
        parts.append(row)
        size += len(row)
    return "".join(parts).encode()


# Published test and documentation values only: processors' test card
# numbers, the SSN printed on a 1938 wallet insert, the IBAN registry's
# examples, AWS's documentation key, reserved example addresses and the
# 555-01xx fictional phone range.
SYNTHETIC_PII = [
    ("card", "4111 1111 1111 1111"), ("card", "5555555555554444"),
    ("card", "3782 822463 10005"), ("card", "6011-1111-1111-1117"),
    ("ssn", "078-05-1120"), ("iban", "GB82 WEST 1234 5698 7654 32"),
    ("iban", "DE89370400440532013000"), ("aws_key", "AKIAIOSFODNN7EXAMPLE"),
    ("email", "jane.example@example.com"), ("phone", "+1 415-555-0132"),
]


def main() -> int:
    shared, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    if shared == "-":
        return write(out, from_values(synthetic_html(600 * 1024), SYNTHETIC_PII * 100))
    clean = os.path.join(shared, "corpus-clean")
    corpus = os.path.join(shared, "corpus")
    # 600 KB HTML: the first HTML document of corpus-clean, unchanged.
    htmls = sorted(f for f in os.listdir(clean) if f.endswith(".html"))
    with open(os.path.join(clean, htmls[0]), "rb") as f:
        big = f.read()
    # Dense PII: the planted values of labels.jsonl.
    values = []
    with open(os.path.join(corpus, "labels.jsonl")) as f:
        for line in f:
            for lab in json.loads(line)["labels"]:
                if lab["class"] == "pii":
                    values.append((lab["kind"], lab["value"]))
    return write(out, from_values(big, values))


def from_values(big: bytes, values) -> dict:
    """The pages, from one large clean HTML document and the PII values."""
    made = {}

    # 1 KB JSON: a typical small API answer without anything to find.
    items, body = [], b""
    i = 0
    while True:
        items.append({"id": 1000 + i, "name": f"item-{i}", "status": "active",
                      "tags": ["alpha", "beta"], "score": round(0.5 + i / 7, 3)})
        cand = json.dumps({"page": 1, "per_page": 20, "items": items}, separators=(",", ":")).encode()
        if len(cand) > 1024:
            break
        body = cand
        i += 1
    made["api-1k.json"] = (body, 0)

    made["page-600k.html"] = (big, 0)

    # 12 KB HTML: the head of the same document cut at a line end, closed properly.
    tail = b"</table>\n</body></html>\n"
    cut = big.rfind(b"\n", 0, 12 * 1024 - len(tail)) + 1
    made["page-12k.html"] = (big[:cut] + tail, 0)

    # Dense PII JSON: records shaped like the corpus JSON documents, each with
    # one planted PII value. Round-robin over kinds so every detector is exercised.
    by_kind = {}
    for k, v in values:
        by_kind.setdefault(k, []).append(v)
    order = []
    while any(by_kind.values()):
        for k in sorted(by_kind):
            if by_kind[k]:
                order.append((k, by_kind[k].pop(0)))
    recs, body, n = [], b"", 0
    for idx, (k, v) in enumerate(order):
        recs.append({"id": 500000 + idx, "name": f"Customer {idx}", "field": k, "value": v,
                     "updated": 1700000000000 + idx})
        cand = json.dumps({"data": recs}, separators=(",", ":")).encode()
        if len(cand) > 12 * 1024:
            break
        body, n = cand, idx + 1
    made["pii-12k.json"] = (body, n)

    # The streaming block: clean HTML plus one dense PII page, so the 1 GiB
    # stream keeps the masking path busy too.
    made["stream-block.html"] = (big + b"\n<pre>" + body + b"</pre>\n", n)
    return made


def write(out: str, made: dict) -> int:
    for name, (data, pii) in made.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}\t{len(data)}\t{pii}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
