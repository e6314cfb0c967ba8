#!/usr/bin/env python3
"""Generates the benchmark pages from the shared corpus.

usage: gen_pages.py SHARED_DIR OUT_DIR

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
import sys


def main() -> int:
    shared, out = sys.argv[1], sys.argv[2]
    clean = os.path.join(shared, "corpus-clean")
    corpus = os.path.join(shared, "corpus")
    os.makedirs(out, exist_ok=True)
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

    # 600 KB HTML: the first HTML document of corpus-clean, unchanged.
    htmls = sorted(f for f in os.listdir(clean) if f.endswith(".html"))
    with open(os.path.join(clean, htmls[0]), "rb") as f:
        big = f.read()
    made["page-600k.html"] = (big, 0)

    # 12 KB HTML: the head of the same document cut at a line end, closed properly.
    tail = b"</table>\n</body></html>\n"
    cut = big.rfind(b"\n", 0, 12 * 1024 - len(tail)) + 1
    made["page-12k.html"] = (big[:cut] + tail, 0)

    # Dense PII JSON: records shaped like the corpus JSON documents, each with
    # one planted PII value taken from labels.jsonl.
    values = []
    with open(os.path.join(corpus, "labels.jsonl")) as f:
        for line in f:
            for lab in json.loads(line)["labels"]:
                if lab["class"] == "pii":
                    values.append((lab["kind"], lab["value"]))
    # Round-robin over kinds so every detector is exercised.
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

    for name, (data, pii) in made.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print(f"{name}\t{len(data)}\t{pii}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
