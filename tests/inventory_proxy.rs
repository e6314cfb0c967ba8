//! The privacy inventory end to end: scripted traffic (pages with forms and
//! third-party scripts, JSON APIs carrying personal data, a Global Privacy
//! Control visitor) through a real guard on 127.0.0.1:0, then the exact
//! inventory JSON from the admin listener, its persistence across a restart
//! and `leakwarden report`.

mod common;

use std::net::SocketAddr;

use common::*;
use http::header::{self, HeaderValue};
use http::{Request, Response};
use serde_json::{json, Value};

const CONTACT: &str = r#"<!doctype html><html><head>
<script src="/static/app.js"></script>
<script src="https://tags.tracker.example/t.js"></script>
</head><body><h1>Contact us</h1>
<form action="https://leads.crm.example/submit" method="post">
<input name="full_name" autocomplete="name"><input name="email" type="email">
<input name="phone" type="tel"><input type="hidden" name="src" value="web">
</form></body></html>"#;

const CHECKOUT: &str = r#"<!doctype html><html><body>
<form action="/pay" method="post"><input name="cc" autocomplete="cc-number">
<input name="cvc" autocomplete="cc-csc"><input name="exp" autocomplete="cc-exp"></form>
</body></html>"#;

fn customer(id: u32) -> String {
    format!(
        r#"{{"customer": {{"id": {id}, "name": "Jane", "email": "jane{id}@example.com",
"ssn": "SSN 536-22-1945", "cards": [{{"number": "4111 1111 1111 1111"}}]}}}}"#
    )
}

async fn site() -> SocketAddr {
    upstream(|req: Request<hyper::body::Incoming>| async move {
        let path = req.uri().path().to_string();
        let (ct, body) = match path.as_str() {
            "/contact" => ("text/html; charset=utf-8", CONTACT.to_string()),
            "/checkout" => ("text/html", CHECKOUT.to_string()),
            p if p.starts_with("/api/customers/") => {
                let id = p.rsplit('/').next().unwrap().parse().unwrap_or(0);
                ("application/json", customer(id))
            }
            _ => ("text/plain", "nothing here".to_string()),
        };
        let mut r = Response::new(full(body));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        r
    })
    .await
}

async fn traffic(guard: SocketAddr) {
    let client = h1_client();
    for path in ["/contact", "/checkout", "/api/customers/41", "/api/customers/42", "/about"] {
        let (parts, _) = get(guard, path).await;
        assert_eq!(parts.status, 200, "{path}");
    }
    let req = Request::get(format!("http://{guard}/contact"))
        .header("sec-gpc", "1")
        .body(empty())
        .unwrap();
    let (parts, _) = send(&client, req).await;
    assert_eq!(parts.status, 200);
}

/// The inventory JSON with times and the guard's own origin made constant.
async fn inventory(admin: SocketAddr, guard: SocketAddr) -> Value {
    // Observers record when a body ends; the client has read it by then,
    // but give the guard's task a moment to finish its bookkeeping.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let (parts, body) = get(admin, "/inventory").await;
    assert_eq!(parts.status, 200);
    assert_eq!(parts.headers[header::CONTENT_TYPE], "application/json");
    let text = String::from_utf8(body.to_vec()).unwrap().replace(&guard.to_string(), "GUARD");
    let mut v: Value = serde_json::from_str(&text).unwrap();
    normalize(&mut v);
    v
}

fn normalize(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if matches!(k.as_str(), "first_seen" | "last_seen" | "since") {
                    assert!(x.as_str().is_some_and(|s| s.ends_with('Z')), "{k}: {x}");
                    *x = json!("T");
                } else {
                    normalize(x);
                }
            }
            if let Some(Value::Object(t)) = m.get_mut("timeline") {
                let merged: serde_json::Map<String, Value> =
                    t.values().flat_map(|h| h.as_object().unwrap().clone()).collect();
                *t = serde_json::Map::from_iter([("H".to_string(), Value::Object(merged))]);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn stats(responses: u64, findings: u64, action: &str, fields: &[&str]) -> Value {
    json!({
        "responses": responses, "findings": findings, "first_seen": "T", "last_seen": "T",
        "actions": {action: responses}, "fields": {"items": fields}
    })
}

fn expected() -> Value {
    let endpoint = |template: &str, responses: u64, gpc: u64, exposes: Value| {
        json!({
            "route": "default", "method": "GET", "template": template, "responses": responses,
            "gpc_requests": gpc, "gpc_third_party_pages": gpc, "first_seen": "T", "last_seen": "T",
            "exposes": exposes, "collects": {}
        })
    };
    let input = |name: &str, t: &str, ac: &str, data: &str| {
        let mut i = json!({"name": name, "type": t, "data": data});
        if !ac.is_empty() {
            i["autocomplete"] = json!(ac);
        }
        i
    };
    let form = |template: &str,
                origin: &str,
                third: bool,
                inputs: [Value; 3],
                kinds: &[&str],
                flag: &str,
                pages: u64| {
        json!({
            "route": "default", "method": "GET", "template": template,
            "action_origin": origin, "form_method": "POST", "third_party": third,
            "inputs": inputs, "kinds": kinds, "flags": [flag],
            "pages": pages, "first_seen": "T", "last_seen": "T"
        })
    };
    json!({
        "version": 1,
        "since": "T",
        "endpoints": [
            endpoint("/about", 1, 0, json!({})),
            endpoint("/api/customers/{id}", 2, 0, json!({
                "card": stats(2, 2, "mask", &["customer.cards[].number"]),
                "email": stats(2, 2, "detect", &["customer.email"]),
                "ssn": stats(2, 2, "mask", &["customer.ssn"]),
            })),
            endpoint("/checkout", 1, 0, json!({})),
            endpoint("/contact", 2, 1, json!({})),
        ],
        "forms": [
            form("/checkout", "http://GUARD", false, [
                input("cc", "text", "cc-number", "cc-number"),
                input("cvc", "text", "cc-csc", "cc-csc"),
                input("exp", "text", "cc-exp", "cc-exp"),
            ], &["cc-csc", "cc-exp", "cc-number"], "card_over_http", 1),
            form("/contact", "https://leads.crm.example", true, [
                input("full_name", "text", "name", "name"),
                input("email", "email", "", "email"),
                input("phone", "tel", "", "tel"),
            ], &["email", "name", "tel"], "pii_to_third_party", 2),
        ],
        "third_parties": [
            {
                "origin": "https://leads.crm.example", "scripts": 0, "iframes": 0,
                "form_actions": 2, "gpc_pages": 0, "pages": {"items": ["GET default /contact"]},
                "first_seen": "T", "last_seen": "T"
            },
            {
                "origin": "https://tags.tracker.example", "scripts": 2, "iframes": 0,
                "form_actions": 0, "gpc_pages": 1, "pages": {"items": ["GET default /contact"]},
                "first_seen": "T", "last_seen": "T"
            }
        ],
        "template_overflow": {},
        "timeline": {"H": {"card": 2, "email": 2, "ssn": 2}}
    })
}

#[tokio::test]
async fn scripted_traffic_gives_the_exact_inventory() {
    let site = site().await;
    let (guard, _metrics) = start_guard(site).await;
    let addr = guard.listen[0];
    traffic(addr).await;
    let got = inventory(guard.admin.unwrap(), addr).await;
    assert_eq!(got, expected(), "{}", serde_json::to_string_pretty(&got).unwrap());

    let metrics = metrics_text(&guard).await;
    for line in [
        "leakwarden_inventory_gpc_requests_total{route=\"default\"} 1",
        "leakwarden_inventory_third_party_pii_forms_total{route=\"default\"} 2",
    ] {
        assert!(metrics.contains(line), "missing {line}");
    }
    // The page renders from the same data.
    let (parts, page) = get(guard.admin.unwrap(), "/inventory.html").await;
    assert_eq!(parts.status, 200);
    let page = String::from_utf8(page.to_vec()).unwrap();
    assert!(page.contains("leads.crm.example") && page.contains("customer.cards[].number"));
    // No value the engine found is anywhere in the inventory.
    let (_, json) = get(guard.admin.unwrap(), "/inventory").await;
    let json = String::from_utf8(json.to_vec()).unwrap();
    for value in ["4111", "536-22-1945", "jane41@", "Jane"] {
        assert!(!json.contains(value) && !page.contains(value), "{value} leaked");
    }
    guard.shutdown().await;
}

#[tokio::test]
async fn templates_past_the_limit_fold_into_other() {
    let site = site().await;
    let (guard, _) = start_guard_with(site, "[inventory]\nmax_templates_per_route = 2\n").await;
    let addr = guard.listen[0];
    for path in ["/a", "/b", "/c", "/d", "/a"] {
        get(addr, path).await;
    }
    let v = inventory(guard.admin.unwrap(), addr).await;
    let templates: Vec<(&str, u64)> = v["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["template"].as_str().unwrap(), e["responses"].as_u64().unwrap()))
        .collect();
    assert_eq!(templates, [("/a", 2), ("/b", 1), ("{other}", 2)]);
    assert_eq!(v["template_overflow"], json!({"default": 2}));
    guard.shutdown().await;
}

#[tokio::test]
async fn the_inventory_survives_a_restart_and_reports_merge() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inventory.json");
    let cfg = format!(
        "[inventory]\nfile = {:?}\nsnapshot_interval = \"1h\"\n",
        file.display().to_string()
    );
    let site = site().await;
    let (guard, _) = start_guard_with(site, &cfg).await;
    get(guard.listen[0], "/api/customers/7").await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // The snapshot is written at shutdown.
    guard.shutdown().await;
    let saved: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["endpoints"][0]["exposes"]["ssn"]["responses"], 1);

    // Loaded at start: counts go on from the file.
    let (guard, _) = start_guard_with(site, &cfg).await;
    get(guard.listen[0], "/api/customers/8").await;
    let admin = guard.admin.unwrap();
    let v = inventory(admin, guard.listen[0]).await;
    assert_eq!(v["endpoints"][0]["exposes"]["ssn"]["responses"], 2);

    // `leakwarden report` from the running guard, and from the file merged
    // with itself (counts add up).
    let bin = env!("CARGO_BIN_EXE_leakwarden");
    let out = tokio::process::Command::new(bin)
        .args(["report", "--from", &format!("http://{admin}"), "--format", "md"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("| default | GET | `/api/customers/{id}` | 2 |"), "{md}");
    guard.shutdown().await;
    let f = file.display().to_string();
    let out = tokio::process::Command::new(bin)
        .args(["report", "--from", &f, "--format", "json", "--merge", &f])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged["endpoints"][0]["exposes"]["ssn"]["responses"], 4);
    let out = tokio::process::Command::new(bin)
        .args(["report", "--from", "/nonexistent/inventory.json"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/inventory.json"));
}
