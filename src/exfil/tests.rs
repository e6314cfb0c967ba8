//! Decisions and charges with the local store, and the fallback when a
//! shared store cannot be reached (the Redis integration is in
//! tests/exfil_redis.rs).

use std::net::IpAddr;

use super::*;
use crate::config::detect::DetectSection;
use crate::config::exfiltration::ExfiltrationSection;
use crate::config::policy::{PolicyMode, PolicySection};

fn settings(text: &str) -> ExfilSettings {
    let section: ExfiltrationSection = toml::from_str(text).unwrap();
    let kinds = |k: &str| crate::detect::Kind::from_name(k).is_some();
    let env = |_: &str| Some("0123456789abcdef0123".to_string());
    ExfilSettings::build(&section, ["default", "watch"], &kinds, b"", &env).unwrap()
}

fn policy(name: &str, mode: PolicyMode) -> Policy {
    let section = PolicySection { mode: Some(mode), ..PolicySection::default() };
    Policy::build(name, &section, &DetectSection::default()).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[tokio::test]
async fn local_budget_blocks_after_exactly_the_budget_and_only_that_client() {
    let metrics = Metrics::new();
    let exfil = Exfil::start(&settings("budget = { card = 3, ssn = 10 }"), &metrics);
    let p = policy("default", PolicyMode::Enforce);
    let h = HeaderMap::new();
    let mut served = 0;
    loop {
        let c = exfil.check(&p, &h, ip("10.0.0.1")).await.expect("policy has a budget");
        if c.blocks() {
            assert_eq!(c.decision(), Decision::Over(0));
            break;
        }
        served += 1;
        assert!(served <= 3, "never blocked");
        // One card per response, plus kinds without a budget (ignored).
        c.charge([("card", 1), ("email", 4)]);
    }
    assert_eq!(served, 3);
    let other = exfil.check(&p, &h, ip("10.0.0.2")).await.unwrap();
    assert!(!other.blocks() && !other.flagged());
    let m = &metrics.exfiltration;
    assert_eq!(m.charged_total.with_label_values(&["default", "card"]).get(), 3);
    assert_eq!(m.over_budget_total.with_label_values(&["default", "block"]).get(), 1);
    let note =
        serde_json::to_value(exfil.check(&p, &h, ip("10.0.0.1")).await.unwrap().audit()).unwrap();
    assert_eq!(note["decision"], "over_budget");
    assert_eq!(note["kind"], "card");
    assert_eq!(note["source"], "local");
    assert_eq!(note["key"].as_str().unwrap().len(), 32);
    assert!(!note.to_string().contains("10.0.0.1"));
}

#[tokio::test]
async fn monitor_counts_but_never_blocks() {
    let metrics = Metrics::new();
    let text = "budget = { card = 1 }\n[policies.watch]\naction = \"monitor\"";
    let exfil = Exfil::start(&settings(text), &metrics);
    let cases = [
        (policy("watch", PolicyMode::Enforce), "monitor"),
        // A monitor policy never changes traffic, whatever the budget says.
        (policy("default", PolicyMode::Monitor), "monitor"),
    ];
    for (p, action) in cases {
        let client = ip("10.0.0.9");
        exfil.check(&p, &HeaderMap::new(), client).await.unwrap().charge([("card", 5)]);
        let c = exfil.check(&p, &HeaderMap::new(), client).await.unwrap();
        assert!(c.flagged() && !c.blocks(), "{}", p.name);
        assert_eq!(c.audit().action, action);
    }
}

#[tokio::test]
async fn unreachable_store_falls_back_or_fails_closed() {
    // A bound port that never listens: connections are refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("redis://{}", socket.local_addr().unwrap());
    for (on_error, blocks_fresh) in [("local", false), ("fail_closed", true)] {
        let metrics = Metrics::new();
        let text = format!(
            "budget = {{ card = 2 }}\nstore = \"{url}\"\nhash_key_env = \"K\"\non_store_error = \"{on_error}\""
        );
        let exfil = Exfil::start(&settings(&text), &metrics);
        let p = policy("default", PolicyMode::Enforce);
        let fresh = exfil.check(&p, &HeaderMap::new(), ip("10.0.0.3")).await.unwrap();
        assert_eq!(fresh.blocks(), blocks_fresh, "{on_error}");
        if on_error == "local" {
            assert_eq!(fresh.audit().source, Source::LocalFallback);
            // Charges still count, locally.
            fresh.charge([("card", 2)]);
            let again = exfil.check(&p, &HeaderMap::new(), ip("10.0.0.3")).await.unwrap();
            assert!(again.blocks());
        } else {
            assert_eq!(fresh.decision(), Decision::StoreUnavailable);
        }
        assert_eq!(metrics.exfiltration.store_degraded.get(), 1);
        // The supervisor's first attempt fails and is counted.
        let errors =
            || metrics.exfiltration.store_errors_total.with_label_values(&["connect"]).get();
        for _ in 0..50 {
            if errors() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(errors() > 0, "{on_error}");
    }
    drop(socket);
}

#[tokio::test]
async fn no_budget_no_charge_handle() {
    let exfil = Exfil::start(&settings(""), &Metrics::new());
    assert!(!exfil.is_on());
    let p = policy("default", PolicyMode::Enforce);
    assert!(exfil.check(&p, &HeaderMap::new(), ip("10.0.0.1")).await.is_none());
}

#[tokio::test]
async fn a_reload_keeps_the_counts_and_takes_the_new_budget() {
    let metrics = Metrics::new();
    let exfil = Exfil::start(&settings("budget = { card = 5 }"), &metrics);
    let p = policy("default", PolicyMode::Enforce);
    let client = ip("10.0.0.4");
    exfil.check(&p, &HeaderMap::new(), client).await.unwrap().charge([("card", 3)]);
    assert!(!exfil.check(&p, &HeaderMap::new(), client).await.unwrap().blocks());
    // A lower budget applies to what was already charged.
    exfil.apply(&settings("budget = { card = 3 }"));
    assert!(exfil.check(&p, &HeaderMap::new(), client).await.unwrap().blocks());
    // No budget any more: no decision, nothing charged.
    exfil.apply(&settings(""));
    assert!(exfil.check(&p, &HeaderMap::new(), client).await.is_none());
}
