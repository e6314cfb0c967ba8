//! The policy's block decision for a finding: a pure function of the
//! policy, the kind and how many of that kind the response has shown so
//! far. It knows nothing of bodies, metrics or mode (the caller enforces
//! it, or in monitor mode only records it).

use crate::config::policy::PolicyAction;
use crate::detect::Kind;
use crate::policy::Policy;

use super::error::PipelineError;

/// Whether the `seen`-th finding of `kind` blocks the response: a kind
/// whose action is `block`, or a kind at its bulk-leak threshold.
pub fn block(policy: &Policy, kind: Kind, seen: u64) -> Option<PipelineError> {
    if policy.action(kind) == PolicyAction::Block {
        return Some(PipelineError::BlockedKind);
    }
    if policy.thresholds.get(&kind).is_some_and(|&t| seen >= t) {
        return Some(PipelineError::BlockedThreshold);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::detect::DetectSection;
    use crate::config::policy::PolicySection;

    fn policy(toml_text: &str) -> Policy {
        let section: PolicySection = toml::from_str(toml_text).expect("policy toml");
        Policy::build("t", &section, &DetectSection::default()).expect("policy")
    }

    #[test]
    fn block_action_and_thresholds() {
        let p = policy("actions = { card = \"block\" }\nthresholds = { ssn = 3 }");
        let cases = [
            (Kind::Card, 1, Some(PipelineError::BlockedKind)),
            (Kind::Ssn, 2, None),
            (Kind::Ssn, 3, Some(PipelineError::BlockedThreshold)),
            (Kind::Ssn, 4, Some(PipelineError::BlockedThreshold)),
            (Kind::Email, 100, None),
        ];
        for (kind, seen, want) in cases {
            assert_eq!(block(&p, kind, seen), want, "{kind:?} {seen}");
        }
    }
}
