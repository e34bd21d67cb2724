//! The consistency catalog of every AWS call awsstack makes: each kind's
//! declarations (`Kind::calls`), the tag API's (`tagging::CALLS`) and the
//! stack layer's own reads (`STACK_CALLS`). It is what the fault proxy's
//! realistic-AWS mode plays (`terraform-provider-awsstack catalog` prints
//! it as JSON), what the coverage check compares the calls made against,
//! and where each stack's list of IAM actions comes from.

use crate::engine::consistency::Effect;
use crate::engine::Call;
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, BTreeSet};

/// Calls the stack layer and the provider make outside any kind: the
/// account's identity at configure, the zones a network may use, an
/// import's manifest and the secrets it restores.
pub const STACK_CALLS: &[Call] = &[
    Call::read("sts:GetCallerIdentity"),
    Call::read("ec2:DescribeAvailabilityZones"),
    Call::read("ssm:GetParameter"),
    Call::read("ssm:GetParametersByPath"),
    Call::read("secretsmanager:GetSecretValue"),
];

/// Who declares the calls: a kind's name, `tagging` or `stack`.
pub fn entries() -> Vec<(&'static str, &'static [Call])> {
    let mut out: Vec<(&'static str, &'static [Call])> = super::registry::all_kinds()
        .0
        .values()
        .map(|k| (k.name(), k.calls()))
        .collect();
    out.push(("tagging", super::tagging::CALLS));
    out.push(("stack", STACK_CALLS));
    out
}

/// The catalog as JSON: one object per declared call, the kinds' and
/// `extra` (the actions', declared in the stack layer).
pub fn to_json(extra: Vec<(&'static str, &'static [Call])>) -> Json {
    let calls: Vec<Json> = entries()
        .into_iter()
        .chain(extra)
        .flat_map(|(by, calls)| calls.iter().map(move |c| (by, c)))
        .map(|(by, c)| {
            json!({
                "declared_by": by,
                "action": c.action,
                "service": c.service(),
                "operation": c.operation(),
                "mutates": c.effect == Effect::Mutates,
                "lasts_seconds": c.lasts.as_secs(),
                "why": c.why,
                "not_yet": c.not_yet.iter().map(|n| json!({"code": n.code, "contains": n.contains, "says": n.says})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "calls": calls })
}

/// The IAM action that authorizes an API operation: the same name but for
/// S3 and Budgets, whose IAM actions group several operations.
pub fn iam_action(call: &Call) -> String {
    let renamed = match (call.service(), call.operation()) {
        ("s3", "PutBucketReplication" | "DeleteBucketReplication") => "PutReplicationConfiguration",
        ("s3", "GetBucketReplication") => "GetReplicationConfiguration",
        ("s3", "PutBucketEncryption") => "PutEncryptionConfiguration",
        ("s3", "GetBucketEncryption") => "GetEncryptionConfiguration",
        ("s3", "PutBucketLifecycleConfiguration") => "PutLifecycleConfiguration",
        ("s3", "GetBucketLifecycleConfiguration") => "GetLifecycleConfiguration",
        ("s3", "PutPublicAccessBlock") => "PutBucketPublicAccessBlock",
        ("s3", "GetPublicAccessBlock") => "GetBucketPublicAccessBlock",
        ("s3", "HeadBucket" | "ListObjects" | "ListObjectsV2") => "ListBucket",
        ("s3", "ListObjectVersions") => "ListBucketVersions",
        ("s3", "DeleteObjects") => "DeleteObject",
        ("s3", "DeleteBucketTagging") => "PutBucketTagging",
        (
            "budgets",
            "CreateBudget" | "UpdateBudget" | "DeleteBudget" | "CreateNotification"
            | "CreateSubscriber" | "DeleteNotification" | "DeleteSubscriber",
        ) => "ModifyBudget",
        (
            "budgets",
            "DescribeBudget"
            | "DescribeBudgets"
            | "DescribeNotificationsForBudget"
            | "DescribeSubscribersForNotification",
        ) => "ViewBudget",
        (_, op) => op,
    };
    format!("{}:{renamed}", call.service())
}

/// The IAM actions the kinds in `kinds` call (with the tag API's of their
/// services and the stack layer's), by service.
pub fn iam_actions<'a>(
    kinds: impl IntoIterator<Item = &'a str>,
) -> BTreeMap<&'static str, BTreeSet<String>> {
    let wanted: BTreeSet<&str> = kinds.into_iter().collect();
    let all = entries();
    let mut out: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for (by, calls) in &all {
        if wanted.contains(by) || *by == "stack" {
            for c in calls.iter() {
                out.entry(c.service()).or_default().insert(iam_action(c));
            }
        }
    }
    // The tag API of each service the kinds use.
    for c in super::tagging::CALLS {
        if out.contains_key(c.service()) {
            out.entry(c.service()).or_default().insert(iam_action(c));
        }
    }
    // A role the stack makes is handed to the services that use it
    // (instance profile, tasks, clusters, schedules, snapshot policies).
    if wanted.contains(<super::iam::RoleInputs as crate::engine::Inputs>::KIND) {
        out.entry("iam")
            .or_default()
            .insert("iam:PassRole".to_string());
    }
    out
}

/// The markdown section a stack's page lists its IAM actions in.
/// The IAM actions of `calls` as a docs section (an action's page).
pub fn iam_section_of_calls(calls: &[Call]) -> String {
    let mut by_service: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for c in calls {
        by_service
            .entry(c.service())
            .or_default()
            .insert(iam_action(c));
    }
    // RunTask hands the task definition's roles to ECS.
    if calls.iter().any(|c| c.action == "ecs:RunTask") {
        by_service
            .entry("iam")
            .or_default()
            .insert("iam:PassRole".to_string());
    }
    let mut s = String::from(
        "\n## IAM permissions\n\nThe AWS API actions this action calls, generated from its declarations.\n\n",
    );
    for (service, actions) in by_service {
        s.push_str(&format!(
            "- **{service}**: {}\n",
            actions
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s
}

pub fn iam_section<'a>(kinds: impl IntoIterator<Item = &'a str>) -> String {
    let mut s = String::from(
        "\n## IAM permissions\n\nThe AWS API actions this resource calls, generated from the same declarations the provider retries by: a least-privilege policy for the role Terraform runs as allows these (`Resource` scoped as your account's rules require). A refused action is reported as a permission error naming the action and the sub-resource.\n\n",
    );
    for (service, actions) in iam_actions(kinds) {
        s.push_str(&format!(
            "- **{service}**: {}\n",
            actions
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::consistency::check;

    #[test]
    fn every_declaration_is_well_formed() {
        let mut problems = Vec::new();
        for (by, calls) in entries() {
            for c in calls {
                if let Err(e) = check(c) {
                    problems.push(format!("{by}: {e}"));
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn every_kind_declares_its_calls() {
        let silent: Vec<&str> = super::super::registry::all_kinds()
            .0
            .values()
            .filter(|k| k.calls().is_empty())
            .map(|k| k.name())
            .collect();
        assert!(
            silent.is_empty(),
            "kinds that declare no AWS call: {silent:?}"
        );
    }

    #[test]
    fn one_action_is_declared_alike_wherever_it_is_declared() {
        // Two kinds may make the same call (a subnet group's and a
        // cluster's DeleteDBSubnetGroup); the proxy plays one catalog entry
        // per action, so its "not yet" errors must agree.
        let mut seen: BTreeMap<&str, (&str, Vec<&str>)> = BTreeMap::new();
        let mut clashes = Vec::new();
        for (by, calls) in entries() {
            for c in calls.iter().filter(|c| !c.not_yet.is_empty()) {
                let codes: Vec<&str> = c.not_yet.iter().map(|n| n.code).collect();
                if let Some((other, theirs)) = seen.get(c.action) {
                    if *theirs != codes {
                        clashes.push(format!(
                            "{}: {by} {codes:?} vs {other} {theirs:?}",
                            c.action
                        ));
                    }
                } else {
                    seen.insert(c.action, (by, codes));
                }
            }
        }
        assert!(clashes.is_empty(), "{clashes:#?}");
    }

    #[test]
    fn the_json_catalog_lists_the_realistic_errors() {
        let j = to_json(vec![]);
        let attach = j["calls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["action"] == "ec2:AttachInternetGateway")
            .unwrap();
        assert_eq!(
            attach["not_yet"][0]["code"],
            "InvalidInternetGatewayID.NotFound"
        );
        assert!(attach["lasts_seconds"].as_u64().unwrap() >= 60);
        let iam = iam_actions(["ec2_internet_gateway"]);
        assert!(
            iam["ec2"].contains("ec2:AttachInternetGateway")
                && iam["ec2"].contains("ec2:CreateTags"),
            "{iam:?}"
        );
        assert!(iam["sts"].contains("sts:GetCallerIdentity"));
        assert_eq!(
            iam_action(&Call::settled("s3:PutBucketReplication")),
            "s3:PutReplicationConfiguration"
        );
        assert_eq!(iam_action(&Call::settled("ec2:CreateVpc")), "ec2:CreateVpc");
    }
}
