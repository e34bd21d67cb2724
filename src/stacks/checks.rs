//! Plan-time checks shared by every stack: timeouts, tags, zones, an
//! existing network, attributes written beside one, defaults.

use super::*;

/// An existing network's attributes in a configuration: the VPC id and
/// the two subnet lists (public, then private), each with its name.
pub struct ExistingNetwork<'a> {
    pub vpc: (&'static str, &'a Setting<String>),
    pub subnets: [(&'static str, &'a Setting<Vec<Setting<String>>>); 2],
}

/// The configuration of a stack placed in an existing network: the VPC
/// with both subnet lists, none of the attributes that shape the stack's
/// own network (`shaping`: each with whether it is set), and ids of the
/// right form. Read-only checks against AWS come later
/// (`stacks::network::check`).
pub fn existing_network_diags(n: &ExistingNetwork, shaping: &[(&str, bool)]) -> Diagnostics {
    let mut d = Diagnostics::default();
    let (vpc, vpc_id) = n.vpc;
    if vpc_id.is_set() {
        for (a, l) in n.subnets {
            if l.is_unset() || l.items().is_empty() && !l.is_unknown() {
                d.error_at(
                    Path::attr(a),
                    "Missing subnets",
                    format!("with {vpc} (an existing network), {a} lists the subnets the stack uses (at least two, in two availability zones)"),
                );
            }
        }
        for (a, _) in shaping.iter().filter(|(_, set)| *set) {
            d.error_at(
                Path::attr(a),
                "Conflicting arguments",
                format!("{a} shapes the stack's own network; with {vpc} (an existing network) the subnets' own zones and blocks are used: remove {a}"),
            );
        }
    } else {
        // (An unknown list may still turn out null: checked at plan.)
        for (a, l) in n.subnets {
            if l.known().is_some() {
                d.error_at(Path::attr(a), format!("Missing {vpc}"), format!("{a} places the stack in an existing network: set {vpc} to that network's VPC too"));
            }
        }
    }
    for (a, l) in n.subnets {
        for (i, x) in l.items().iter().enumerate() {
            if let Some(x) = x.as_str().filter(|x| !validate::aws_id(x, "subnet")) {
                d.error_at(
                    Path::attr(a).then_index(i),
                    "Invalid subnet id",
                    format!("{x:?} is not a subnet id (subnet-...)"),
                );
            }
        }
    }
    if let Some(x) = vpc_id.as_str().filter(|x| !validate::aws_id(x, "vpc")) {
        d.error_at(
            Path::attr(vpc),
            "Invalid VPC id",
            format!("{x:?} is not a VPC id (vpc-...)"),
        );
    }
    d
}

/// Puts a diagnostic on the configuration attribute it is about.
pub(crate) fn at_attribute(mut d: Diagnostic, attribute: Option<&str>) -> Diagnostic {
    if let Some(a) = attribute {
        d.path = Some(Path::attr(a));
    }
    d
}

pub(crate) fn replace_unknown(v: Value, with: &Value) -> Value {
    match v {
        Value::Unknown => with.clone(),
        Value::List(l) => Value::List(l.into_iter().map(|x| replace_unknown(x, with)).collect()),
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, x)| (k, replace_unknown(x, with)))
                .filter(|(_, x)| !x.is_null())
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, x)| (k, replace_unknown(x, with)))
                .collect(),
        ),
        v => v,
    }
}

pub(crate) fn timeouts_diags(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    for w in ["create", "update", "delete"] {
        if let Some(s) = config.get("timeouts").get(w).as_str() {
            if let Err(e) = validate::duration(s) {
                d.error_at(Path::attr("timeouts").then_attr(w), "Invalid timeout", e);
            }
        }
    }
    d
}

/// Tag keys that differ only in case (`project` from the provider's
/// `default_tags`, `Project` from the stack): IAM, and other services,
/// compare keys without case and refuse both, so the apply would fail half
/// way. Refused at plan, on `tags`, naming both keys.
pub(crate) fn tag_case_clashes(tags: &BTreeMap<String, String>) -> Diagnostics {
    let mut d = Diagnostics::default();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for k in tags.keys() {
        if let Some(other) = seen.insert(k.to_lowercase(), k) {
            d.error_at(
                Path::attr("tags"),
                "Tag keys differ only in case",
                format!("the stack's tags would hold both {other:?} and {k:?} (from the provider's default_tags, the stack's own tags and `tags`); AWS compares tag keys without case (IAM refuses them together): keep one spelling"),
            );
        }
    }
    d
}

/// A stack's zones: valid names, all in one region, and in `region` (the
/// provider's) when it is known.
pub(crate) fn zones_diags(zones: &[(Path, String)], region: Option<&str>) -> Diagnostics {
    let mut d = Diagnostics::default();
    let mut first: Option<String> = None;
    for (path, z) in zones {
        match validate::availability_zone(z) {
            Err(e) => d.error_at(path.clone(), "Invalid availability zone", e),
            Ok(r) => {
                if let Some(region) = region.filter(|p| *p != r) {
                    d.error_at(
                        path.clone(),
                        "Invalid availability zone",
                        format!("{z} is a zone of {r}, not of the provider's region {region}"),
                    );
                } else if let Some(f) = first.as_ref().filter(|f| **f != r) {
                    d.error_at(path.clone(), "Invalid availability zone", format!("{z} is in {r}, the first zone is in {f}: a stack's zones are in one region"));
                }
                first.get_or_insert(r);
            }
        }
    }
    d
}

/// Every stack's `tags`: keys and values AWS accepts on every service.
pub(crate) fn tags_diags(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Some(m) = config.get("tags").as_map() {
        for (k, v) in m {
            if let Err(e) = validate::tag_key(k) {
                d.error_at(Path::attr("tags").then_key(k), "Invalid tag", e);
            } else if let Some(Err(e)) = v.as_str().map(validate::tag_value) {
                d.error_at(Path::attr("tags").then_key(k), "Invalid tag", e);
            }
        }
    }
    d
}

impl<S: Stack> StackResource<S> {
    /// `config` with its schema's defaults filled: what every `Stack`
    /// method that builds names, ids, tags or outputs is given, so that a
    /// stack reads a defaulted attribute without a second default (a
    /// manifest written before an attribute existed, an import, lacks it).
    pub(super) fn defaulted(&self, config: &Value) -> Value {
        let mut config = config.clone();
        apply_defaults(&self.stack.schema().block, &mut config);
        config
    }

    /// Validates what will be used: the configuration with its defaults.
    pub(super) fn validate_used(&self, config: &Value) -> Diagnostics {
        let config = self.defaulted(config);
        let mut d = crate::schema::rules::check(&self.stack.schema().block, &config);
        d.extend(timeouts_diags(&config));
        d.extend(tags_diags(&config));
        d.extend(adopt::adopt_diags(&config));
        let typed = self.stack.config(&config);
        d.extend(zones_diags(&self.stack.zones(&typed), None));
        d.extend(self.stack.validate(&typed));
        d
    }

    /// Attributes written in the configuration that an existing network
    /// makes meaningless though they have defaults (`vpc_cidr`,
    /// `nat_gateways`): only the configuration as written tells them from
    /// their defaults, so this runs on it, not on the planned values.
    pub(super) fn written_conflicts(&self, written: &Value) -> Diagnostics {
        let mut d = Diagnostics::default();
        // Unknown values (a wrapper module's variables at validate) may
        // still turn out null: only known ones conflict.
        let known = |a: &str| !written.get(a).is_null() && !written.get(a).is_unknown();
        for (vpc, shaping) in self.stack.own_network_only() {
            if !known(vpc) {
                continue;
            }
            for a in shaping.iter().filter(|a| known(a)) {
                d.error_at(
                    Path::attr(a),
                    "Conflicting arguments",
                    format!("{a} shapes the stack's own network; with {vpc} (an existing network) the stack builds no network and {a} would be ignored: remove {a}"),
                );
            }
        }
        d
    }
}

#[cfg(test)]
mod zone_tests {
    use super::zones_diags;
    use crate::value::Path;

    pub(super) fn details(zones: &[&str], region: Option<&str>) -> Vec<(String, String)> {
        let zs: Vec<(Path, String)> = zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                (
                    Path::attr("availability_zones").then_index(i),
                    z.to_string(),
                )
            })
            .collect();
        zones_diags(&zs, region)
            .0
            .into_iter()
            .map(|d| (d.path.map(|p| p.to_string()).unwrap_or_default(), d.detail))
            .collect()
    }

    #[test]
    pub(super) fn zones_are_names_of_one_region_and_of_the_providers() {
        assert!(details(&["eu-west-1a", "eu-west-1b"], None).is_empty());
        assert!(details(&["eu-west-1a", "eu-west-1b"], Some("eu-west-1")).is_empty());
        let bad = details(&["eu-west-1a", "mars"], None);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, "availability_zones[1]");
        let mixed = details(&["eu-west-1a", "us-east-1b"], None);
        assert!(
            mixed.len() == 1
                && mixed[0].0 == "availability_zones[1]"
                && mixed[0].1.contains("one region"),
            "{mixed:?}"
        );
        let other = details(&["us-east-1a", "us-east-1b"], Some("eu-west-1"));
        assert_eq!(other.len(), 2, "{other:?}");
        assert!(other
            .iter()
            .all(|(_, m)| m.contains("not of the provider's region eu-west-1")));
    }
}

#[cfg(test)]
mod written_conflict_tests {
    use super::{container_service::ContainerService, StackResource};
    use crate::aws::Shared;
    use crate::tfplugin::Resource;
    use crate::value::Value;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    pub(super) fn written(pairs: &[(&str, Value)]) -> Value {
        let mut m: BTreeMap<String, Value> = [("project_name", Value::str("netco"))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        m.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())));
        Value::Object(m)
    }

    pub(super) fn conflicts(c: &Value) -> Vec<String> {
        let r = StackResource::new(ContainerService::new(), Arc::new(Shared::default()));
        r.validate(c)
            .0
            .into_iter()
            .filter(|d| d.summary == "Conflicting arguments")
            .map(|d| d.path.unwrap().to_string())
            .collect()
    }

    #[test]
    pub(super) fn a_defaulted_attribute_conflicts_with_an_existing_network_only_when_written() {
        let net = [
            ("vpc_id", Value::str("vpc-0123456789abcdef0")),
            (
                "public_subnet_ids",
                Value::List(vec![
                    Value::str("subnet-0a000000000000001"),
                    Value::str("subnet-0a000000000000002"),
                ]),
            ),
            (
                "private_subnet_ids",
                Value::List(vec![
                    Value::str("subnet-0b000000000000001"),
                    Value::str("subnet-0b000000000000002"),
                ]),
            ),
        ];
        assert!(
            conflicts(&written(&net)).is_empty(),
            "the defaults alone do not conflict"
        );
        let with = |extra: (&str, Value)| {
            let mut v = net.to_vec();
            v.push(extra);
            conflicts(&written(&v))
        };
        assert_eq!(
            with(("nat_gateways", Value::str("single"))),
            vec!["nat_gateways"],
            "written, even with the default's value"
        );
        assert_eq!(
            with(("vpc_cidr", Value::str("10.0.0.0/16"))),
            vec!["vpc_cidr"]
        );
        assert!(
            with(("vpc_cidr", Value::Unknown)).is_empty(),
            "a wrapper module's variable at validate may still be null"
        );
        assert!(
            conflicts(&written(&[
                ("vpc_cidr", Value::str("10.0.0.0/16")),
                ("nat_gateways", Value::str("per_az"))
            ]))
            .is_empty(),
            "its own network"
        );
    }
}

#[cfg(test)]
mod defaulted_tests {
    use super::{
        container_service::ContainerService, docker_host::DockerHost,
        multi_region_platform::MultiRegionPlatform, Stack, StackResource, TAG_STACK_ID,
    };
    use crate::aws::{AwsContext, Shared};
    use crate::value::Value;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// The stack id and tags of a configuration that leaves its
    /// environment out (an import of a manifest written before the
    /// attribute existed): the schema's default, the one place it is
    /// written.
    pub(super) fn id_and_tag<S: Stack>(stack: S, env_tag: &str) -> (String, String, String) {
        let r = StackResource::new(stack, Arc::new(Shared::default()));
        let written = Value::Object(BTreeMap::from([(
            "project_name".to_string(),
            Value::str("netco"),
        )]));
        let ctx = Arc::new(AwsContext::offline("eu-west-1", "123456789012"));
        let env = r.env(ctx, &written, "create");
        (
            env.stack_id.clone(),
            env.tags[TAG_STACK_ID].clone(),
            env.tags[env_tag].clone(),
        )
    }

    #[test]
    pub(super) fn the_stack_id_and_tags_read_the_schema_s_default_environment() {
        assert_eq!(
            id_and_tag(DockerHost::new(), "Environment"),
            ("netco-dev".into(), "netco-dev".into(), "dev".into())
        );
        assert_eq!(
            id_and_tag(ContainerService::new(), "env"),
            ("netco-dev".into(), "netco-dev".into(), "dev".into())
        );
        assert_eq!(
            id_and_tag(MultiRegionPlatform::new(), "env"),
            ("netco-prod".into(), "netco-prod".into(), "prod".into())
        );
    }

    #[test]
    pub(super) fn tag_keys_that_differ_only_in_case_are_refused_on_tags() {
        let tags = |ks: &[&str]| {
            ks.iter()
                .map(|k| (k.to_string(), "v".to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let d = super::tag_case_clashes(&tags(&["project", "Project", "env", "Environment"]));
        assert_eq!(d.0.len(), 1, "{d:?}");
        assert_eq!(d.0[0].path, Some(crate::value::Path::attr("tags")));
        assert!(
            d.0[0].detail.contains("\"Project\"") && d.0[0].detail.contains("\"project\""),
            "{d:?}"
        );
        assert!(
            super::tag_case_clashes(&tags(&["project", "env", "Environment"]))
                .0
                .is_empty()
        );
    }
}

/// What validate reports on `config` for the stack's own checks: its
/// schema's attribute rules, then its cross-field rules (unit tests).
#[cfg(test)]
pub fn validated<S: Stack>(stack: &S, config: &Value) -> Diagnostics {
    let mut d = crate::schema::rules::check(&stack.schema().block, config);
    d.extend(stack.validate(&stack.config(config)));
    d
}

/// The `stack_id` argument of an action or an ephemeral resource: None
/// while unknown; a diagnostic on the attribute when it cannot be a stack
/// id (`<project>-<environment>`: lowercase letters, digits, hyphens).
pub fn stack_id_argument(config: &Value) -> Result<Option<String>, Diagnostics> {
    let v = config.get("stack_id");
    if v.is_unknown() || v.is_null() {
        return Ok(None);
    }
    let id = v.as_str().unwrap_or_default();
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-');
    if ok {
        return Ok(Some(id.to_string()));
    }
    let mut d = Diagnostics::default();
    d.error_at(
        Path::attr("stack_id"),
        "Invalid stack id",
        format!("{id:?} is not a stack id: lowercase letters, digits and hyphens, as a stack's `id` attribute holds"),
    );
    Err(d)
}

/// True when the object's tags name the stack `id`: the only objects an
/// action or an ephemeral resource acts on or reads.
pub async fn carries_stack_id(
    ctx: &AwsContext,
    r: &crate::components::tagging::TagRef,
    id: &str,
) -> Result<bool, crate::engine::OpError> {
    use crate::engine::Cloud;
    Ok(ctx
        .read_tags(r)
        .await?
        .and_then(|t| t.get(crate::engine::TAG_STACK_ID).cloned())
        .as_deref()
        == Some(id))
}
