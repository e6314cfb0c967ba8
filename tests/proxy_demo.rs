//! The demo shop behind the guard: every page is served through it with
//! its content type, and ordinary numbers (order ids, prices) survive
//! whatever the detection engine does to the sensitive ones.

mod common;

use common::*;

#[tokio::test]
async fn demo_pages_are_served_through_the_guard() {
    let shop = leakwarden::demo::spawn_shop(loopback()).await.unwrap();
    let (guard, _) = start_guard(shop).await;
    let cases = [
        ("/account", "text/html; charset=utf-8", "ORD-2026-004217"),
        ("/api/customers", "application/json", "\"balance_cents\": 129900"),
        ("/export.csv", "text/csv; charset=utf-8", "ORD-2026-003988,84.50"),
        ("/", "text/html; charset=utf-8", "/api/customers"),
    ];
    for (path, ctype, kept) in cases {
        let (parts, body) = get(guard.listen[0], path).await;
        assert_eq!(parts.status, 200, "{path}");
        assert_eq!(parts.headers["content-type"], ctype, "{path}");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains(kept), "{path}: lost {kept:?}");
    }
    let (parts, _) = get(guard.listen[0], "/nope").await;
    assert_eq!(parts.status, 404);
    guard.shutdown().await;
}
