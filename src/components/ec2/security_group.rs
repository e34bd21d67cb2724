//! Security group.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A security group of the `vpc` dependency with the ingress rules it
/// declares; rules others add to it are theirs.
pub struct SecurityGroup;

/// A group just created (this one, or a source group a rule names) may not
/// yet be found by the rules that follow it.
const AUTHORIZE_INGRESS: Call = Call::retrying(
    "ec2:AuthorizeSecurityGroupIngress",
    EC2_PROPAGATION,
    &[NotYet::code("InvalidGroup.NotFound", "The security group 'sg-0a1b2c3d4e5f67890' does not exist")],
)
.why("hashicorp/aws vpc_security_group.go resourceSecurityGroupCreate waits for the new group (waitSecurityGroupCreated, securityGroupNotFoundChecks) before authorizing its rules; we retry the authorize for ec2PropagationTimeout instead, which also covers a source group made just before");
/// A group still attached to network interfaces (a load balancer's, a
/// task's, an instance's) or named by another group's rule cannot be
/// deleted until they go.
const DELETE: Call = Call::retrying(
    "ec2:DeleteSecurityGroup",
    DRAIN,
    &[
        NotYet::code("DependencyViolation", "resource sg-0a1b2c3d4e5f67890 has a dependent object"),
        NotYet::code(
            "InvalidGroup.InUse",
            "The specified security group can't be deleted because it's in use by another security group. You can remove dependencies by modifying or deleting rules in the affected security groups.",
        ),
    ],
)
.why("hashicorp/aws vpc_security_group.go resourceSecurityGroupDelete: DependencyViolation and InvalidGroup.InUse retried for the 15-minute delete timeout (after deleteLingeringENIs); ours is the 5-minute DRAIN, then the error names the interfaces left");
const CALLS: &[Call] = &[
    Call::settled("ec2:CreateSecurityGroup"),
    AUTHORIZE_INGRESS,
    Call::settled("ec2:RevokeSecurityGroupIngress"),
    DELETE,
    Call::read("ec2:DescribeSecurityGroups"),
    // What a delete refused past its bound names (`naming_interfaces`).
    Call::read("ec2:DescribeNetworkInterfaces"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupInputs {
    pub name: String,
    pub description: String,
    /// In `sort_rules` order, so that a reordered configuration is no change.
    pub rules: Vec<IngressRule>,
}

impl Inputs for SecurityGroupInputs {
    const KIND: &'static str = "ec2_security_group";
}

/// One declared ingress rule: a protocol and port range from CIDR blocks,
/// or from another group of the stack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IngressRule {
    /// `tcp`, `udp`, or `-1` (every protocol).
    pub protocol: String,
    pub from_port: i64,
    pub to_port: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidrs: Option<Vec<String>>,
    /// A group of the stack, by its component's name as this group sees it
    /// (`Desired::name`); it must be one of the group's dependencies
    /// (checked at plan).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub description: String,
}

impl IngressRule {
    /// TCP `port` from `cidrs`.
    pub fn tcp_from_cidrs(port: i64, cidrs: Vec<String>, description: &str) -> IngressRule {
        IngressRule {
            protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            cidrs: Some(cidrs),
            source: None,
            description: description.into(),
        }
    }
    /// TCP `port` from the group `source` names.
    pub fn tcp_from_group(port: i64, source: String, description: &str) -> IngressRule {
        IngressRule {
            protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            cidrs: None,
            source: Some(source),
            description: description.into(),
        }
    }
}

/// One ingress permission: a protocol and port range from one peer. Rules
/// are compared and changed at this grain, so that a rule someone else adds
/// to a port the stack also opens is never mistaken for the stack's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Atom {
    protocol: String,
    from: i64,
    to: i64,
    peer: Peer,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Peer {
    Cidr(String),
    Ipv6(String),
    /// A security group: its component key when it is the stack's, its id
    /// otherwise.
    Group(String),
}

/// The atoms of declared rules, each with its rule's description.
fn declared_atoms(rules: &[IngressRule]) -> Vec<(Atom, String)> {
    let mut out = vec![];
    for r in rules {
        let atom = |peer| {
            (
                Atom {
                    protocol: r.protocol.clone(),
                    from: r.from_port,
                    to: r.to_port,
                    peer,
                },
                r.description.clone(),
            )
        };
        match &r.source {
            Some(src) => out.push(atom(Peer::Group(src.clone()))),
            None => out.extend(
                r.cidrs
                    .iter()
                    .flatten()
                    .map(|c| atom(Peer::Cidr(c.clone()))),
            ),
        }
    }
    out
}

/// The rules a record holds (the declared ones, as last applied or read).
fn recorded_rules(rec: &Record) -> Result<Vec<IngressRule>, OpError> {
    serde_json::from_value(rec.inputs["rules"].clone())
        .map_err(|e| OpError::new(format!("the recorded rules of {} do not read: {e}", rec.id)))
}

/// The atoms AWS reports; `sources` maps a group id back to its key.
fn observed_atoms(perms: &[IpPermission], sources: &BTreeMap<String, String>) -> Vec<Atom> {
    let mut out = vec![];
    for p in perms {
        let (protocol, from, to) = (
            p.ip_protocol().unwrap_or("tcp").to_string(),
            p.from_port().unwrap_or(0) as i64,
            p.to_port().unwrap_or(0) as i64,
        );
        let atom = |peer| Atom {
            protocol: protocol.clone(),
            from,
            to,
            peer,
        };
        out.extend(
            p.ip_ranges()
                .iter()
                .filter_map(|r| r.cidr_ip())
                .map(|c| atom(Peer::Cidr(c.to_string()))),
        );
        out.extend(
            p.ipv6_ranges()
                .iter()
                .filter_map(|r| r.cidr_ipv6())
                .map(|c| atom(Peer::Ipv6(c.to_string()))),
        );
        for g in p.user_id_group_pairs() {
            let id = g.group_id().unwrap_or_default();
            out.push(atom(Peer::Group(
                sources.get(id).cloned().unwrap_or_else(|| id.to_string()),
            )));
        }
    }
    out
}

fn atom_permission(
    a: &Atom,
    desc: &str,
    deps: &Records,
    recorded: &BTreeMap<String, String>,
) -> IpPermission {
    let b = IpPermission::builder()
        .ip_protocol(&a.protocol)
        .from_port(a.from as i32)
        .to_port(a.to as i32);
    match &a.peer {
        Peer::Cidr(c) => b
            .ip_ranges(IpRange::builder().cidr_ip(c).description(desc).build())
            .build(),
        Peer::Ipv6(c) => b
            .ipv6_ranges(
                aws_sdk_ec2::types::Ipv6Range::builder()
                    .cidr_ipv6(c)
                    .description(desc)
                    .build(),
            )
            .build(),
        Peer::Group(key) => {
            // A key of the stack, by its current id (or the recorded one).
            let id = deps
                .get(key)
                .map(group_of)
                .or_else(|| {
                    recorded
                        .iter()
                        .find(|(_, k)| *k == key)
                        .map(|(id, _)| id.clone())
                })
                .unwrap_or_else(|| key.clone());
            b.user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id(id)
                    .description(desc)
                    .build(),
            )
            .build()
        }
    }
}

/// The declared rules as they are in AWS: each rule keeps only its
/// atoms that exist (a rule with none is gone). Rules others added are not
/// part of it, so they are never drift.
fn declared_view(declared: &[IngressRule], observed: &[Atom]) -> Json {
    let mut rules: Vec<IngressRule> = vec![];
    for r in declared {
        let atoms = declared_atoms(std::slice::from_ref(r));
        let present: Vec<&Atom> = atoms
            .iter()
            .map(|(a, _)| a)
            .filter(|a| observed.contains(a))
            .collect();
        if present.is_empty() {
            continue;
        }
        let mut r = r.clone();
        if r.source.is_none() {
            r.cidrs = Some(
                present
                    .iter()
                    .filter_map(|a| {
                        if let Peer::Cidr(c) = &a.peer {
                            Some(c.clone())
                        } else {
                            None
                        }
                    })
                    .collect(),
            );
        }
        rules.push(r);
    }
    json!(rules)
}

/// Ports whose exposure to the whole internet is a classic breach: SSH,
/// RDP, and database, cache and search engines.
const SENSITIVE_PORTS: &[(i64, &str)] = &[
    (22, "SSH"),
    (3389, "RDP"),
    (5432, "PostgreSQL"),
    (3306, "MySQL"),
    (1433, "SQL Server"),
    (6379, "Redis"),
    (11211, "Memcached"),
    (27017, "MongoDB"),
    (9200, "Elasticsearch"),
    (5601, "Kibana"),
];

/// Warnings for rules the stack did not declare that open a sensitive port
/// of the group to the whole internet.
fn open_rule_warnings(group: &str, observed: &[Atom], declared: &[(Atom, String)]) -> Vec<String> {
    let mut out = vec![];
    for a in observed
        .iter()
        .filter(|a| !declared.iter().any(|(d, _)| d == *a))
    {
        let world = matches!(&a.peer, Peer::Cidr(c) if c == "0.0.0.0/0")
            || matches!(&a.peer, Peer::Ipv6(c) if c == "::/0");
        if !world {
            continue;
        }
        let all = a.protocol == "-1";
        for (port, what) in SENSITIVE_PORTS
            .iter()
            .filter(|(p, _)| all || (a.from <= *p && *p <= a.to))
        {
            let src = match &a.peer {
                Peer::Cidr(c) | Peer::Ipv6(c) | Peer::Group(c) => c,
            };
            out.push(format!("the security group {group} has a rule that this stack did not declare opening port {port} ({what}) to {src}: anyone on the internet can reach it. awsstack leaves rules it did not create in place; remove that rule where it was added."));
        }
    }
    out
}

/// Records the warnings with the record, where the plan finds them.
fn with_warnings(mut rec: Record, warnings: Vec<String>) -> Record {
    rec.warnings = warnings;
    rec
}

async fn described(
    env: &E,
    id: &str,
) -> Result<Option<aws_sdk_ec2::types::SecurityGroup>, OpError> {
    match env
        .ctx
        .ec2()
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
    {
        Ok(o) => Ok(o.security_groups().first().cloned()),
        Err(e) if not_found(&e) => Ok(None),
        Err(e) => Err(op("DescribeSecurityGroups")(e)),
    }
}

/// `rec` with the `declared` rules as the group `g` has them (`sources`:
/// group id → key), and the warnings its other rules give.
fn rules_seen(
    mut rec: Record,
    g: &aws_sdk_ec2::types::SecurityGroup,
    declared: &[IngressRule],
    sources: &BTreeMap<String, String>,
) -> Record {
    let observed = observed_atoms(g.ip_permissions(), sources);
    rec.inputs["rules"] = declared_view(declared, &observed);
    let warnings = open_rule_warnings(
        g.group_name().unwrap_or(&rec.id),
        &observed,
        &declared_atoms(declared),
    );
    with_warnings(rec, warnings)
}

/// Source security group id → key, for the rules' `source` dependencies.
fn source_map(rules: &[IngressRule], deps: &Records) -> BTreeMap<String, String> {
    rules
        .iter()
        .filter_map(|r| r.source.as_deref())
        .filter_map(|k| deps.get(k).map(|d| (group_of(d), k.to_string())))
        .collect()
}

/// The security group a rule's `source` names: the dependency itself, or
/// the group it owns (its `security_group` output: an EKS cluster's, which
/// every node and pod of the cluster carries).
fn group_of(dep: &Record) -> String {
    dep.outputs
        .get("security_group")
        .filter(|g| !g.is_empty())
        .unwrap_or(&dep.id)
        .clone()
}

/// The same map, as remembered in a record's outputs (`source.<key>`).
fn recorded_sources(rec: &Record) -> BTreeMap<String, String> {
    rec.outputs
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("source.")
                .map(|key| (v.clone(), key.to_string()))
        })
        .collect()
}

fn with_sources(mut rec: Record, sources: &BTreeMap<String, String>) -> Record {
    rec.outputs.retain(|k, _| !k.starts_with("source."));
    for (id, key) in sources {
        rec.outputs.insert(format!("source.{key}"), id.clone());
    }
    rec
}

pub fn sort_rules(rules: &mut [IngressRule]) {
    rules.sort_by_key(|r| {
        (
            r.from_port,
            r.to_port,
            r.protocol.clone(),
            r.source.clone().unwrap_or_default(),
        )
    });
}

#[tonic::async_trait]
impl Kind<AwsContext> for SecurityGroup {
    crate::engine::typed_kind!(SecurityGroupInputs);
    /// Warnings used to travel in the outputs as `warning.<n>`: a record of
    /// an earlier release has them moved to its warnings.
    fn upgrade(&self, rec: &mut Record) {
        let old: Vec<String> = rec
            .outputs
            .iter()
            .filter(|(k, _)| k.starts_with("warning."))
            .map(|(_, w)| w.clone())
            .collect();
        if !old.is_empty() {
            rec.outputs.retain(|k, _| !k.starts_with("warning."));
            rec.warnings.extend(old);
        }
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    /// A rule from another group names that group's component
    /// (`Desired::name`): it must be one of this group's dependencies, or
    /// the rule would be read as a group id and refused by AWS mid-apply.
    fn check_spec(&self, spec: &Spec, dependencies: &[&str]) -> Result<(), String> {
        let group = SecurityGroupInputs::deserialize(&spec.inputs).map_err(|e| e.to_string())?;
        for source in group.rules.iter().filter_map(|r| r.source.as_deref()) {
            if !dependencies.contains(&source) {
                return Err(format!(
                    "a rule's source {source} is none of its dependencies"
                ));
            }
        }
        Ok(())
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::VPC]
    }
    fn timeouts(&self) -> Timeouts {
        // A delete waits for the network interfaces of what used the group
        // (load balancers, tasks) to go.
        Timeouts::minutes(10, 10, 15)
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Ec2(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name", "description"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name", "description"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let group: SecurityGroupInputs = spec.typed()?;
        let ec2 = &env.ctx.ec2();
        let out = ec2
            .create_security_group()
            .group_name(&group.name)
            .description(&group.description)
            .vpc_id(&crate::components::need::VPC.the(deps)?.id)
            .tag_specifications(tag_spec(env, spec, ResourceType::SecurityGroup))
            .send()
            .await
            .map_err(op("CreateSecurityGroup"))?;
        let id = out.group_id().unwrap_or_default().to_string();
        let sources = source_map(&group.rules, deps);
        let mut rec = with_sources(
            Record::new(
                self.name(),
                &id,
                json!({"name": group.name, "description": group.description, "rules": []}),
            ),
            &sources,
        );
        let perms: Vec<IpPermission> = declared_atoms(&group.rules)
            .iter()
            .map(|(a, d)| atom_permission(a, d, deps, &sources))
            .collect();
        if !perms.is_empty() {
            env.call(&AUTHORIZE_INGRESS, || {
                ec2.authorize_security_group_ingress()
                    .group_id(&id)
                    .set_ip_permissions(Some(perms.clone()))
                    .send()
            })
            .await
            .map_err(|e| failed(e).partial(rec.clone()))?;
        }
        rec.inputs = spec.inputs.clone();
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let declared = recorded_rules(rec)?;
        Ok(described(env, &rec.id)
            .await?
            .map(|g| rules_seen(rec.clone(), &g, &declared, &recorded_sources(rec))))
    }
    /// Its name and description as AWS has them; its rules as `read`
    /// sees them: the declared ones AWS has, a source group by the
    /// dependency that is it, rules others added left out.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let Some(g) = described(env, ec2_id(id)).await? else {
            return Ok(None);
        };
        let id = g.group_id().unwrap_or_default();
        in_stack_vpc(deps, &format!("the security group {id}"), g.vpc_id())?;
        let declared = spec.typed::<SecurityGroupInputs>()?.rules;
        let sources = source_map(&declared, deps);
        let inputs = json!({"name": g.group_name(), "description": g.description(), "rules": []});
        let rec = with_sources(Record::new(self.name(), id, inputs), &sources);
        Ok(Some(rules_seen(rec, &g, &declared, &sources)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let group: SecurityGroupInputs = spec.typed()?;
        let ec2 = &env.ctx.ec2();
        let cur = ec2
            .describe_security_groups()
            .group_ids(&old.id)
            .send()
            .await
            .map_err(op("DescribeSecurityGroups"))?;
        let current = cur
            .security_groups()
            .first()
            .map(|g| g.ip_permissions().to_vec())
            .unwrap_or_default();
        // Group ids of the stack, old and new, map back to their keys.
        let mut sources = recorded_sources(old);
        let now = source_map(&group.rules, deps);
        sources.extend(now.clone());
        let observed = observed_atoms(&current, &sources);
        let desired = declared_atoms(&group.rules);
        let previously = declared_atoms(&recorded_rules(old)?);
        // Only what the stack declared before and no longer wants goes;
        // rules others added stay.
        let revoke: Vec<IpPermission> = previously
            .iter()
            .filter(|(a, _)| observed.contains(a) && !desired.iter().any(|(d, _)| d == a))
            .map(|(a, d)| atom_permission(a, d, &Records::new(), &sources))
            .collect();
        if !revoke.is_empty() {
            ec2.revoke_security_group_ingress()
                .group_id(&old.id)
                .set_ip_permissions(Some(revoke))
                .send()
                .await
                .map_err(op("RevokeSecurityGroupIngress"))?;
        }
        let add: Vec<IpPermission> = desired
            .iter()
            .filter(|(a, _)| !observed.contains(a))
            .map(|(a, d)| atom_permission(a, d, deps, &sources))
            .collect();
        if !add.is_empty() {
            env.call(&AUTHORIZE_INGRESS, || {
                ec2.authorize_security_group_ingress()
                    .group_id(&old.id)
                    .set_ip_permissions(Some(add.clone()))
                    .send()
            })
            .await
            .map_err(failed)?;
        }
        Ok(with_sources(
            Record {
                inputs: spec.inputs.clone(),
                ..old.clone()
            },
            &now,
        ))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let ec2 = &env.ctx.ec2();
        match env
            .call(&DELETE, || {
                ec2.delete_security_group().group_id(&rec.id).send()
            })
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e.error) => Ok(()),
            Err(e) if outlasted(&e) => {
                Err(naming_interfaces(env, failed(e), "group-id", &rec.id).await)
            }
            Err(e) => Err(failed(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let o = env
            .ctx
            .ec2()
            .describe_security_groups()
            .set_filters(Some(own_filters(env, &spec.key)))
            .send()
            .await
            .map_err(op("DescribeSecurityGroups"))?;
        let Some(g) = o.security_groups().first() else {
            return Ok(None);
        };
        // Source groups of the same stack map back to their component keys.
        let ids: Vec<String> = g
            .ip_permissions()
            .iter()
            .flat_map(|p| p.user_id_group_pairs())
            .filter_map(|x| x.group_id().map(str::to_string))
            .collect();
        let mut sources = BTreeMap::new();
        if !ids.is_empty() {
            let src = env
                .ctx
                .ec2()
                .describe_security_groups()
                .set_group_ids(Some(ids))
                .send()
                .await
                .map_err(op("DescribeSecurityGroups"))?;
            for sg in src.security_groups() {
                let tag = |k: &str| {
                    sg.tags()
                        .iter()
                        .find(|t| t.key() == Some(k))
                        .and_then(|t| t.value())
                        .map(str::to_string)
                };
                if let (Some(stack), Some(key)) = (tag(TAG_STACK_ID), tag(TAG_COMPONENT)) {
                    if stack == env.stack_id {
                        sources.insert(sg.group_id().unwrap_or_default().to_string(), key);
                    }
                }
            }
        }
        let mut inputs = spec.inputs.clone();
        inputs["rules"] = declared_view(
            &spec.typed::<SecurityGroupInputs>()?.rules,
            &observed_atoms(g.ip_permissions(), &sources),
        );
        Ok(Some(with_sources(
            Record::new(self.name(), g.group_id().unwrap_or_default(), inputs),
            &sources,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use crate::engine::Desired;
    use aws_sdk_ec2::operation::delete_security_group::{
        DeleteSecurityGroupError, DeleteSecurityGroupOutput,
    };
    use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
    use aws_sdk_ec2::Client;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    #[test]
    fn warnings_an_earlier_release_kept_in_the_outputs_move_to_the_record() {
        let mut rec = Record::new("ec2_security_group", "sg-1", json!({}))
            .with(
                "arn",
                "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-1",
            )
            .with("warning.0", "port 5432 open to 0.0.0.0/0");
        SecurityGroup.upgrade(&mut rec);
        assert_eq!(rec.warnings, ["port 5432 open to 0.0.0.0/0"]);
        assert_eq!(rec.outputs.keys().collect::<Vec<_>>(), ["arn"]);
        let again = rec.clone();
        SecurityGroup.upgrade(&mut rec);
        assert_eq!(rec, again, "a current record is left as it is");
    }

    fn group() -> Record {
        Record::new(
            "ec2_security_group",
            "sg-1",
            json!({"name": "s-db", "description": "db", "rules": []}),
        )
    }

    /// A group still in use is retried (DependencyViolation, InvalidGroup.InUse)
    /// and, past its bound, the error says what holds it; an error AWS does
    /// not give while catching up is final.
    #[tokio::test(start_paused = true)]
    async fn a_group_in_use_is_retried_then_named_and_other_errors_are_final() {
        let delete = mock!(Client::delete_security_group)
            .match_requests(|r| r.group_id() == Some("sg-1"))
            .sequence()
            .error(|| DeleteSecurityGroupError::generic(fault("InvalidGroup.InUse")))
            .error(|| DeleteSecurityGroupError::generic(fault("DependencyViolation")))
            .output(|| DeleteSecurityGroupOutput::builder().build())
            .build();
        SecurityGroup
            .delete(&mocked::env_over!(ec2, aws_sdk_ec2, &[&delete]), &group())
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 3);

        let delete = mock!(Client::delete_security_group)
            .then_error(|| DeleteSecurityGroupError::generic(fault("CannotDelete")));
        let e = SecurityGroup
            .delete(&mocked::env_over!(ec2, aws_sdk_ec2, &[&delete]), &group())
            .await
            .unwrap_err();
        assert_eq!(
            (delete.num_calls(), e.message.contains("still not ready")),
            (1, false),
            "{}",
            e.message
        );

        let delete = mock!(Client::delete_security_group)
            .sequence()
            .error(|| DeleteSecurityGroupError::generic(fault("DependencyViolation")))
            .repeatedly()
            .build();
        let describe = mock!(Client::describe_network_interfaces)
            .match_requests(|r| {
                r.filters()
                    .iter()
                    .any(|f| f.name() == Some("group-id") && f.values() == ["sg-1"])
            })
            .then_output(|| DescribeNetworkInterfacesOutput::builder().build());
        let interceptor = MockResponseInterceptor::new()
            .rule_mode(RuleMode::MatchAny)
            .with_rule(&delete)
            .with_rule(&describe);
        let mut ctx = AwsContext::for_tests();
        ctx.clients.ec2 = std::sync::OnceLock::from(Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&crate::aws::test_sdk_config())
                .interceptor(interceptor)
                .build(),
        ));
        let e = SecurityGroup
            .delete(&mocked::env(ctx, Duration::from_millis(700)), &group())
            .await
            .unwrap_err();
        assert_eq!(describe.num_calls(), 1);
        assert!(
            e.message.contains("No network interface is in the security group sg-1 any more (a rule of another security group that names it may be what holds it)"),
            "{}",
            e.message
        );
    }

    /// Adoption: the group's own name and description (replace-only, kept)
    /// whatever the spec says; of its rules, the declared ones it has (a
    /// source group as the dependency that is it), not the one another
    /// resource added nor the declared one it lacks.
    #[tokio::test(start_paused = true)]
    async fn observe_keeps_the_group_s_name_and_the_declared_rules_it_has() {
        use aws_sdk_ec2::operation::describe_security_groups::{
            DescribeSecurityGroupsError, DescribeSecurityGroupsOutput,
        };
        let perm = |port: i32| {
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
        };
        let describe = mock!(Client::describe_security_groups)
            .match_requests(|r| r.group_ids() == ["sg-1"])
            .then_output(move || {
                let g = aws_sdk_ec2::types::SecurityGroup::builder()
                    .group_id("sg-1")
                    .group_name("kauri-demo-app")
                    .description("hand made")
                    .vpc_id("vpc-1")
                    .ip_permissions(
                        perm(80)
                            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                            .build(),
                    )
                    .ip_permissions(
                        perm(3000)
                            .ip_ranges(IpRange::builder().cidr_ip("203.0.113.0/24").build())
                            .build(),
                    )
                    .ip_permissions(
                        perm(5432)
                            .user_id_group_pairs(
                                UserIdGroupPair::builder().group_id("sg-9").build(),
                            )
                            .build(),
                    );
                DescribeSecurityGroupsOutput::builder()
                    .security_groups(g.build())
                    .build()
            });
        let declared = vec![
            IngressRule::tcp_from_cidrs(80, vec!["0.0.0.0/0".into()], "http"),
            IngressRule::tcp_from_cidrs(443, vec!["0.0.0.0/0".into()], "https"),
            IngressRule::tcp_from_group(5432, "sg.ecs".into(), "from the tasks"),
        ];
        let spec = Spec::of(
            "sg.host",
            &SecurityGroupInputs {
                name: "s-host".into(),
                description: "awsstack s Docker host".into(),
                rules: declared.clone(),
            },
        );
        let deps: Records = [
            ("vpc", "ec2_vpc", "vpc-1"),
            ("sg.ecs", "ec2_security_group", "sg-9"),
        ]
        .into_iter()
        .map(|(k, kind, id)| (k.to_string(), Record::new(kind, id, json!({}))))
        .collect();
        let rec = SecurityGroup
            .observe(
                &mocked::env_over!(ec2, aws_sdk_ec2, &[&describe]),
                &spec,
                "sg-1",
                &deps,
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (&rec.inputs["name"], &rec.inputs["description"]),
            (&json!("kauri-demo-app"), &json!("hand made"))
        );
        assert_eq!(
            rec.inputs["rules"],
            json!([declared[0], declared[2]]),
            "443 is missing (the update adds it); 3000 is someone else's"
        );
        assert_eq!(rec.out("source.sg.ecs"), "sg-9");

        let gone = mock!(Client::describe_security_groups)
            .then_error(|| DescribeSecurityGroupsError::generic(fault("InvalidGroup.NotFound")));
        assert!(SecurityGroup
            .observe(
                &mocked::env_over!(ec2, aws_sdk_ec2, &[&gone]),
                &spec,
                "sg-1",
                &deps
            )
            .await
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_rule_s_source_is_checked_against_the_group_s_dependencies_at_plan() {
        let group = |g: &Desired, source: &crate::engine::Handle| SecurityGroupInputs {
            name: "s-db".into(),
            description: "db".into(),
            rules: vec![IngressRule::tcp_from_group(
                5432,
                g.name(source),
                "from the tasks",
            )],
        };
        let mut g = Desired::within("primary", None);
        let vpc = g.add(Spec::of(
            "vpc",
            &VpcInputs {
                cidr: "10.0.0.0/16".into(),
                dns_hostnames: true,
            },
        ));
        let tasks = g.add(
            Spec::of(
                "sg.ecs",
                &SecurityGroupInputs {
                    name: "s-ecs".into(),
                    description: "tasks".into(),
                    rules: vec![],
                },
            )
            .after(&vpc),
        );
        let rules = group(&g, &tasks);
        g.add(Spec::of("sg.db", &rules).after(&vpc).after_update(&tasks));
        assert_eq!(
            rules.rules[0].source.as_deref(),
            Some("sg.ecs"),
            "named as the group sees it, in its scope"
        );
        assert!(
            crate::engine::needs::check(&crate::components::registry::all_kinds(), g.specs())
                .is_ok()
        );
        // The same rule on a group that does not depend on the source.
        g.add(Spec::of("sg.cache", &rules).after(&vpc));
        let err = crate::engine::needs::check(&crate::components::registry::all_kinds(), g.specs())
            .unwrap_err();
        assert_eq!(err, "component primary/sg.cache (ec2_security_group): a rule's source sg.ecs is none of its dependencies");
    }
}
