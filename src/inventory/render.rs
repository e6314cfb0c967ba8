//! The inventory for people: a self-contained HTML page (summary, sortable
//! tables, an inline SVG chart of findings over time; no external script,
//! font or stylesheet) and Markdown for `leakwarden report`.
//!
//! Everything written comes from a [`Snapshot`] and is escaped; nothing
//! here reads traffic.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::store::{KindStats, Snapshot};

/// Escapes text for HTML content and quoted attributes.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Kind -> endpoints whose `exposes` (or `collects`) name it.
fn per_kind<'a>(
    snap: &'a Snapshot,
    side: impl Fn(&'a super::store::Endpoint) -> &'a BTreeMap<String, KindStats>,
) -> BTreeMap<&'a str, usize> {
    let mut m = BTreeMap::new();
    for e in &snap.endpoints {
        for k in side(e).keys() {
            *m.entry(k.as_str()).or_default() += 1;
        }
    }
    m
}

fn third_party_forms(snap: &Snapshot) -> usize {
    snap.forms.iter().filter(|f| f.flags.contains("pii_to_third_party")).count()
}

const PALETTE: [&str; 8] =
    ["#c0392b", "#2471a3", "#229954", "#b9770e", "#7d3c98", "#148f77", "#5d6d7e", "#a04000"];

/// A small line chart of findings per hour and kind.
fn chart(snap: &Snapshot) -> String {
    let hours: Vec<&String> = snap.timeline.keys().collect();
    let kinds: BTreeSet<&str> =
        snap.timeline.values().flat_map(|m| m.keys().map(String::as_str)).collect();
    if hours.is_empty() {
        return "<p class=\"muted\">No findings recorded yet.</p>".into();
    }
    let max = snap.timeline.values().flat_map(|m| m.values()).copied().max().unwrap_or(1).max(1);
    let (w, h, pad) = (640.0_f64, 180.0_f64, 30.0_f64);
    let step = if hours.len() > 1 { (w - 2.0 * pad) / (hours.len() - 1) as f64 } else { 0.0 };
    let mut s = format!(
        "<svg id=\"chart\" role=\"img\" aria-label=\"Findings per hour and kind\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\">"
    );
    let _ = write!(
        s,
        "<line x1=\"{pad}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#999\"/><text x=\"2\" y=\"{t}\" font-size=\"10\">{max}</text><text x=\"2\" y=\"{y}\" font-size=\"10\">0</text>",
        y = h - pad,
        x2 = w - pad,
        t = pad + 4.0,
    );
    for (i, kind) in kinds.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let points: Vec<String> = hours
            .iter()
            .enumerate()
            .map(|(j, hour)| {
                let n = snap.timeline[*hour].get(*kind).copied().unwrap_or(0);
                let x = pad + step * j as f64;
                let y = h - pad - (h - 2.0 * pad) * n as f64 / max as f64;
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
        for p in &points {
            let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(s, "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{color}\"/>");
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"{color}\">{}</text>",
            w - pad - 90.0,
            pad + 14.0 * i as f64,
            esc(kind)
        );
    }
    let first = hours.first().map(|h| h.get(..13).unwrap_or(h)).unwrap_or("");
    let last = hours.last().map(|h| h.get(..13).unwrap_or(h)).unwrap_or("");
    let _ = write!(
        s,
        "<text x=\"{pad}\" y=\"{}\" font-size=\"10\">{}h</text><text x=\"{}\" y=\"{}\" font-size=\"10\">{}h</text></svg>",
        h - 8.0,
        esc(first),
        w - pad - 80.0,
        h - 8.0,
        esc(last)
    );
    s
}

fn kind_cell(m: &BTreeMap<String, KindStats>) -> String {
    m.iter()
        .map(|(k, s)| {
            let fields: Vec<&str> = s.fields.items.iter().map(String::as_str).collect();
            let actions: Vec<String> = s.actions.iter().map(|(a, n)| format!("{a} {n}")).collect();
            let mut cell = format!(
                "<b>{}</b> {} in {} ({})",
                esc(k),
                s.findings,
                s.responses.max(s.requests),
                esc(&actions.join(", "))
            );
            if !fields.is_empty() {
                let more = if s.fields.truncated { ", …" } else { "" };
                let _ = write!(cell, "<br><code>{}</code>{more}", esc(&fields.join(", ")));
            }
            cell
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

const SCRIPT: &str = r#"for (const t of document.querySelectorAll('table.sortable')) {
  t.querySelectorAll('th').forEach((th, i) => th.addEventListener('click', () => {
    const body = t.tBodies[0], rows = Array.from(body.rows);
    const asc = th.dataset.dir !== 'asc'; th.dataset.dir = asc ? 'asc' : 'desc';
    const key = r => r.cells[i].dataset.v ?? r.cells[i].textContent;
    rows.sort((a, b) => { const x = key(a), y = key(b), nx = Number(x), ny = Number(y);
      const c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y); return asc ? c : -c; });
    rows.forEach(r => body.appendChild(r));
  }));
}"#;

/// The inventory as one self-contained HTML page.
pub fn html(snap: &Snapshot) -> String {
    let exposing = per_kind(snap, |e| &e.exposes);
    let collecting = per_kind(snap, |e| &e.collects);
    let mut s = String::from(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>leakwarden privacy inventory</title>\
<style>body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f0f0f0;cursor:pointer}.flag{color:#b03a2e;font-weight:bold}.muted{color:#777}.cards{display:flex;gap:16px;flex-wrap:wrap}\
.card{border:1px solid #ccc;border-radius:6px;padding:8px 12px;min-width:180px}code{font-size:12px}</style></head><body>",
    );
    let _ = write!(
        s,
        "<h1>Privacy inventory</h1><p class=\"muted\">Schema version {} · recording since {} · {} endpoints</p>",
        snap.version,
        esc(&snap.since),
        snap.endpoints.len()
    );
    s.push_str("<section id=\"summary\" class=\"cards\">");
    let list = |m: &BTreeMap<&str, usize>| {
        if m.is_empty() {
            "none".to_string()
        } else {
            m.iter().map(|(k, n)| format!("{} {}", esc(k), n)).collect::<Vec<_>>().join(", ")
        }
    };
    let _ = write!(
        s,
        "<div class=\"card\"><b>Endpoints exposing</b><br>{}</div><div class=\"card\"><b>Endpoints collecting</b><br>{}</div><div class=\"card\"><b>Third-party forms with personal data</b><br>{}</div><div class=\"card\"><b>Third-party origins</b><br>{}</div>",
        list(&exposing),
        list(&collecting),
        third_party_forms(snap),
        snap.third_parties.len()
    );
    s.push_str("</section><h2>Findings over time</h2>");
    s.push_str(&chart(snap));

    s.push_str("<h2>Endpoints</h2><table id=\"endpoints\" class=\"sortable\"><thead><tr><th>Route</th><th>Method</th><th>Template</th><th>Responses</th><th>Requests scanned</th><th>GPC requests</th><th>Exposes</th><th>Collects</th><th>Uploads</th><th>Last seen</th></tr></thead><tbody>");
    for e in &snap.endpoints {
        let uploads: Vec<String> =
            e.uploads.items.iter().map(|(t, n)| format!("{} {n}", esc(t))).collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.route),
            esc(&e.method),
            esc(&e.template),
            e.responses,
            e.requests,
            e.gpc_requests,
            kind_cell(&e.exposes),
            kind_cell(&e.collects),
            uploads.join("<br>"),
            esc(&e.seen.last_seen)
        );
    }
    s.push_str("</tbody></table><h2>Forms</h2><table id=\"forms\" class=\"sortable\"><thead><tr><th>Page</th><th>Posts to</th><th>Method</th><th>Asks for</th><th>Inputs</th><th>Flags</th><th>Pages</th></tr></thead><tbody>");
    for f in &snap.forms {
        let inputs: Vec<String> = f
            .inputs
            .iter()
            .map(|i| match &i.data {
                Some(d) => format!("{} ({})", esc(&i.name), esc(d)),
                None => esc(&i.name),
            })
            .collect();
        let flags: Vec<String> = f.flags.iter().map(|x| esc(x)).collect();
        let _ = write!(
            s,
            "<tr><td>{} <code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"flag\">{}</td><td>{}</td></tr>",
            esc(&f.method),
            esc(&f.template),
            esc(&f.action_origin),
            esc(&f.form_method),
            esc(&f.kinds.iter().cloned().collect::<Vec<_>>().join(", ")),
            inputs.join(", "),
            flags.join(", "),
            f.pages
        );
    }
    s.push_str("</tbody></table><h2>Third parties</h2><table id=\"third-parties\" class=\"sortable\"><thead><tr><th>Origin</th><th>Script loads</th><th>Iframes</th><th>Form actions</th><th>Script loads for GPC visitors</th><th>Pages</th></tr></thead><tbody>");
    for t in &snap.third_parties {
        let pages: Vec<String> = t.pages.items.iter().map(|p| esc(p)).collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td><code>{}</code></td></tr>",
            esc(&t.origin),
            t.scripts,
            t.iframes,
            t.form_actions,
            if t.gpc_pages > 0 { "flag" } else { "" },
            t.gpc_pages,
            pages.join("<br>")
        );
    }
    let _ = writeln!(s, "</tbody></table><script>{SCRIPT}</script></body></html>");
    s
}

/// Markdown-safe table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The inventory as Markdown.
pub fn markdown(snap: &Snapshot) -> String {
    let mut s = format!(
        "# Privacy inventory\n\nSchema version {}, recording since {}, {} endpoints.\n\n## Summary\n\n",
        snap.version,
        snap.since,
        snap.endpoints.len()
    );
    for (title, m) in [
        ("exposing", per_kind(snap, |e| &e.exposes)),
        ("collecting", per_kind(snap, |e| &e.collects)),
    ] {
        let list: Vec<String> = m.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let list = if list.is_empty() { "none".to_string() } else { list.join(", ") };
        let _ = writeln!(s, "- Endpoints {title}: {list}");
    }
    let _ = writeln!(s, "- Third-party forms with personal data: {}", third_party_forms(snap));
    let _ = writeln!(s, "- Third-party origins: {}\n", snap.third_parties.len());
    s.push_str("## Endpoints\n\n| Route | Method | Template | Responses | Exposes | Fields |\n|---|---|---|---|---|---|\n");
    for e in &snap.endpoints {
        let kinds: Vec<String> = e
            .exposes
            .iter()
            .map(|(k, st)| format!("{k} {}/{}", st.findings, st.responses))
            .collect();
        let fields: Vec<String> = e
            .exposes
            .iter()
            .flat_map(|(k, st)| st.fields.items.iter().map(move |f| format!("{k}: `{f}`")))
            .collect();
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {} | {} | {} |",
            md(&e.route),
            md(&e.method),
            md(&e.template),
            e.responses,
            md(&kinds.join(", ")),
            md(&fields.join(", "))
        );
    }
    s.push_str("\n## What endpoints collect\n\nPersonal data found in requests (query strings and bodies), the fields that carried it and the files uploaded: does the endpoint need it?\n\n| Route | Method | Template | Requests | Collects | Fields | Uploads |\n|---|---|---|---|---|---|---|\n");
    for e in snap.endpoints.iter().filter(|e| e.requests > 0) {
        let kinds: Vec<String> = e
            .collects
            .iter()
            .map(|(k, st)| {
                let actions: Vec<String> =
                    st.actions.iter().map(|(a, n)| format!("{a} {n}")).collect();
                format!("{k} {}/{} ({})", st.findings, st.requests, actions.join(", "))
            })
            .collect();
        let fields: Vec<String> = e
            .collects
            .iter()
            .flat_map(|(k, st)| st.fields.items.iter().map(move |f| format!("{k}: `{f}`")))
            .collect();
        let uploads: Vec<String> =
            e.uploads.items.iter().map(|(t, n)| format!("{t} {n}")).collect();
        let _ = writeln!(
            s,
            "| {} | {} | `{}` | {} | {} | {} | {} |",
            md(&e.route),
            md(&e.method),
            md(&e.template),
            e.requests,
            md(&kinds.join(", ")),
            md(&fields.join(", ")),
            md(&uploads.join(", "))
        );
    }
    s.push_str("\n## Forms\n\n| Page | Posts to | Asks for | Flags |\n|---|---|---|---|\n");
    for f in &snap.forms {
        let _ = writeln!(
            s,
            "| {} `{}` | {} | {} | {} |",
            md(&f.method),
            md(&f.template),
            md(&f.action_origin),
            md(&f.kinds.iter().cloned().collect::<Vec<_>>().join(", ")),
            md(&f.flags.iter().cloned().collect::<Vec<_>>().join(", "))
        );
    }
    s.push_str("\n## Third parties\n\n| Origin | Scripts | Iframes | Form actions | GPC pages |\n|---|---|---|---|---|\n");
    for t in &snap.third_parties {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            md(&t.origin),
            t.scripts,
            t.iframes,
            t.form_actions,
            t.gpc_pages
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::store::{Limits, ResponseRecord, Store};

    #[test]
    fn pages_escape_and_summarise() {
        let mut st = Store::new("2026-12-01T00:00:00.000Z".into());
        let rec = ResponseRecord {
            route: "<r>",
            method: "GET",
            template: "/a\"b",
            now: "2026-12-01T01:00:00.000Z",
            hour: "2026-12-01T01:00:00.000Z",
            kinds: vec![crate::inventory::store::KindRecord {
                kind: "ssn",
                findings: 2,
                action: "monitor",
                fields: vec!["x.ssn".into()],
            }],
            scripts: vec!["https://t.example".into()],
            ..ResponseRecord::default()
        };
        st.record(&rec, &Limits::default());
        let page = html(&st.to_snapshot());
        assert!(page.contains("&lt;r&gt;") && !page.contains("<r>"));
        assert!(page.contains("/a&quot;b"));
        assert!(page.contains("<polyline"));
        assert!(page.contains("Endpoints exposing</b><br>ssn 1"));
        assert!(!page.contains("http://") && !page.contains("src="), "self-contained");
        st.record_request(
            &crate::inventory::store::RequestRecord {
                route: "api",
                method: "POST",
                template: "/signup",
                now: "2026-12-01T01:00:00.000Z",
                kinds: vec![crate::inventory::store::KindRecord {
                    kind: "ssn",
                    findings: 1,
                    action: "detect",
                    fields: vec!["ssn".into()],
                }],
                files: vec!["image/png".into()],
            },
            &Limits::default(),
        );
        let page = html(&st.to_snapshot());
        assert!(page.contains("Endpoints collecting</b><br>ssn 1"), "{page}");
        assert!(page.contains("<td>image/png 1</td>"), "{page}");
        let text = markdown(&st.to_snapshot());
        assert!(
            text.contains(
                "| api | POST | `/signup` | 1 | ssn 1/1 (detect 1) | ssn: `ssn` | image/png 1 |"
            ),
            "{text}"
        );
        assert!(text.contains("| <r> | GET | `/a\"b` | 1 | ssn 2/1 | ssn: `x.ssn` |"), "{text}");
    }
}
