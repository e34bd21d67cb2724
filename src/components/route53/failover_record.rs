//! failover record.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A failover CNAME answered while its health check (the slot `check`)
/// passes.
pub struct FailoverRecord;

/// Route 53 processes one change of a hosted zone at a time, and refuses
/// the next while the last is still processing; it says to wait and try
/// again. Both records of a failover pair (and every other stack's change
/// to the zone) may come at once.
const CHANGE: Call = Call::retrying(
    "route53:ChangeResourceRecordSets",
    PROPAGATION,
    &[NotYet::code("PriorRequestNotComplete", "The request was rejected because Route 53 was still processing a prior request.")],
)
.why("AWS Route 53 API reference (PriorRequestNotComplete: 'wait, in intervals of increasing duration, before you try the request again'); hashicorp/aws route53 record.go leaves it to the SDK retryer (a throttling code, up to 25 attempts), ours adds the declared 2m. hashicorp/aws also retries NoSuchHostedZone for 1m for a zone it just created; the zone here is the user's, there before the stack, so that error is final");
/// A change just submitted may not yet be found by the GetChange that
/// follows it.
const GET_CHANGE: Call = Call::retrying("route53:GetChange", PROPAGATION, &[NotYet::code("NoSuchChange", "A change with the specified change ID does not exist.")])
    .reading()
    .why("hashicorp/aws route53 change_info.go statusChange: NoSuchChange reads as not found, which waitChangeInsync's StateChangeConf keeps polling (20 not-found checks, 15s apart); ours retries it for 2m, then waits for INSYNC");
const CALLS: &[Call] = &[
    CHANGE,
    GET_CHANGE,
    Call::read("route53:ListResourceRecordSets"),
    Call::read("route53:GetHealthCheck"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailoverRecordInputs {
    pub zone_id: String,
    pub name: String,
    /// Starts with the stack id: records cannot be tagged, so this is the
    /// marker of ownership.
    pub set_identifier: String,
    /// `PRIMARY` or `SECONDARY`.
    pub failover: String,
    /// The hostname the CNAME answers.
    pub value: String,
    pub ttl: i64,
}

impl Inputs for FailoverRecordInputs {
    const KIND: &'static str = "route53_failover_record";
}

impl FailoverRecord {
    fn id_of(zone: &str, name: &str, set: &str) -> String {
        format!("{zone}|{name}|CNAME|{set}")
    }
    /// The zone, name, type and set identifier of an adoption's id: the
    /// hashicorp/aws `ZONEID_NAME_TYPE_SETID` (the type is the first part
    /// after the zone that is a record type: a name may hold `_`), or the
    /// stack's own `zone|name|TYPE|set`.
    fn parse_id(id: &str) -> Option<(String, String, String, String)> {
        const TYPES: &[&str] = &[
            "A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SOA", "SPF",
            "SRV", "SSHFP", "SVCB", "TLSA", "TXT",
        ];
        let (zone, name, rtype, set) = if id.contains('|') {
            let p: Vec<&str> = id.splitn(4, '|').collect();
            (
                p[0],
                p.get(1)?.to_string(),
                *p.get(2)?,
                p.get(3)?.to_string(),
            )
        } else {
            let (zone, rest) = id.split_once('_')?;
            let p: Vec<&str> = rest.split('_').collect();
            let at = (1..p.len()).find(|i| TYPES.contains(&p[*i]))?;
            (zone, p[..at].join("_"), p[at], p[at + 1..].join("_"))
        };
        let zone = zone.trim_start_matches("/hostedzone/");
        let name = name.trim_end_matches('.').to_string();
        (!zone.is_empty() && !name.is_empty())
            .then(|| (zone.to_string(), name, rtype.to_string(), set))
    }
    fn parts(rec: &Record) -> (String, String, String) {
        let p: Vec<&str> = rec.id.split('|').collect();
        (
            p.first().unwrap_or(&"").to_string(),
            p.get(1).unwrap_or(&"").to_string(),
            p.get(3).unwrap_or(&"").to_string(),
        )
    }
    fn fqdn(name: &str) -> String {
        if name.ends_with('.') {
            name.to_string()
        } else {
            format!("{name}.")
        }
    }
    async fn lookup(
        env: &E,
        zone: &str,
        name: &str,
        set: &str,
    ) -> Result<Option<ResourceRecordSet>, OpError> {
        let o = env
            .ctx
            .route53()
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .start_record_name(Self::fqdn(name))
            .start_record_type(RrType::Cname)
            .start_record_identifier(set)
            .max_items(10)
            .send()
            .await
            .map_err(op("ListResourceRecordSets"))?;
        let want = Self::fqdn(name).to_ascii_lowercase();
        Ok(o.resource_record_sets()
            .iter()
            .find(|r| {
                r.name().to_ascii_lowercase() == want
                    && r.r#type() == &RrType::Cname
                    && r.set_identifier() == Some(set)
            })
            .cloned())
    }
    fn record_set(
        record: &FailoverRecordInputs,
        check: &str,
    ) -> Result<ResourceRecordSet, OpError> {
        ResourceRecordSet::builder()
            .name(Self::fqdn(&record.name))
            .r#type(RrType::Cname)
            .set_identifier(&record.set_identifier)
            .failover(ResourceRecordSetFailover::from(record.failover.as_str()))
            .ttl(record.ttl)
            .resource_records(
                ResourceRecord::builder()
                    .value(&record.value)
                    .build()
                    .map_err(bad("record"))?,
            )
            .health_check_id(check)
            .build()
            .map_err(bad("record set"))
    }
    async fn change(
        env: &E,
        zone: &str,
        action: ChangeAction,
        set: ResourceRecordSet,
    ) -> Result<(), OpError> {
        let batch = ChangeBatch::builder()
            .changes(
                Change::builder()
                    .action(action.clone())
                    .resource_record_set(set)
                    .build()
                    .map_err(bad("change"))?,
            )
            .build()
            .map_err(bad("change batch"))?;
        let r53 = env.ctx.route53();
        let o = env
            .call(&CHANGE, || {
                r53.change_resource_record_sets()
                    .hosted_zone_id(zone)
                    .change_batch(batch.clone())
                    .send()
            })
            .await
            .map_err(failed)?;
        // Done when every Route53 name server has it.
        if let Some(id) = o.change_info().map(|c| c.id().to_string()) {
            env.wait(&CHANGE_INSYNC, &format!("Route53 change {id}"), || async {
                let c = env
                    .call(&GET_CHANGE, || r53.get_change().id(&id).send())
                    .await
                    .map_err(failed)?;
                Ok(c.change_info()
                    .map(|i| (i.status().as_str().to_string(), ())))
            })
            .await?;
        }
        Ok(())
    }
    fn observed(&self, rec: &Record, r: &ResourceRecordSet) -> Record {
        let mut n = rec.clone();
        n.inputs["value"] = json!(r.resource_records().first().map(|v| v.value()));
        n.inputs["ttl"] = json!(r.ttl());
        n.inputs["failover"] = json!(r.failover().map(|f| f.as_str()));
        n.outputs.insert(
            "health_check".into(),
            r.health_check_id().unwrap_or_default().to_string(),
        );
        n
    }
}

/// The health check that decides whether the record answers, in the slot
/// `check`: after a switchover each record takes the other side's check,
/// an update of that input.
const CHECK: Need = Need::one(
    "health check",
    &[<crate::components::route53::HealthCheckInputs as crate::engine::Inputs>::KIND],
)
.in_slot("check");

#[tonic::async_trait]
impl Kind<AwsContext> for FailoverRecord {
    crate::engine::typed_kind!(FailoverRecordInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["health_check"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [Need] {
        &[CHECK]
    }
    fn timeouts(&self) -> Timeouts {
        // Propagation to every name server (terraform-provider-aws: 30m).
        Timeouts::minutes(30, 30, 30)
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["zone_id", "name", "set_identifier"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["set_identifier"]
    }
    /// The record named by its hashicorp/aws id (`ZONEID_NAME_CNAME_SETID`):
    /// a failover CNAME with a set identifier (kept), whose zone, name,
    /// failover role, value and TTL are AWS's, and whose health check
    /// the slot names (the check a dependency has, else its id: the update
    /// moves the record to the stack's check).
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let Some((zone, name, rtype, set)) = Self::parse_id(id) else {
            return Err(OpError::new(
                "it is not a record id: write the hashicorp/aws aws_route53_record id, ZONEID_NAME_CNAME_SETID",
            ));
        };
        if rtype != "CNAME" {
            return Err(OpError::new(format!(
                "it is a {rtype} record; the stack's failover records are CNAMEs"
            )));
        }
        if set.is_empty() {
            return Err(OpError::new(
                "it has no set identifier: a simple record, and the stack's failover records have one (a record's routing cannot change in place)",
            ));
        }
        let Some(r) = Self::lookup(env, &zone, &name, &set).await? else {
            return Ok(None);
        };
        if r.failover().is_none() {
            return Err(OpError::new(
                "it has no failover routing (another routing policy), and a record's routing cannot change in place; the stack's records are failover records",
            ));
        }
        if r.resource_records().is_empty() {
            return Err(OpError::new(format!(
                "it is an alias record (to {}); the stack's failover records are CNAMEs that name their target",
                r.alias_target().map_or("?", |a| a.dns_name())
            )));
        }
        let name = r.name().trim_end_matches('.').to_string();
        let checks: Vec<String> = r
            .health_check_id()
            .map(str::to_string)
            .into_iter()
            .collect();
        let inputs = json!({
            "zone_id": zone,
            "name": name,
            "set_identifier": set,
            "check": crate::components::subnet_groups::observed_slot(spec, "check", deps, &checks),
        });
        let rec = Record::new(self.name(), Self::id_of(&zone, &name, &set), inputs);
        Ok(Some(self.observed(&rec, &r)))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let record: FailoverRecordInputs = spec.typed()?;
        let check = CHECK.the_in(spec, deps)?.id.clone();
        // CREATE, not UPSERT: a record someone else made is never overwritten.
        Self::change(
            env,
            &record.zone_id,
            ChangeAction::Create,
            Self::record_set(&record, &check)?,
        )
        .await?;
        Ok(Record::new(
            self.name(),
            Self::id_of(&record.zone_id, &record.name, &record.set_identifier),
            spec.inputs.clone(),
        )
        .with("health_check", check))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        let (zone, name, set) = Self::parts(rec);
        Ok(Self::lookup(env, &zone, &name, &set)
            .await?
            .map(|r| self.observed(rec, &r)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let record: FailoverRecordInputs = spec.typed()?;
        let check = CHECK.the_in(spec, deps)?.id.clone();
        Self::change(
            env,
            &record.zone_id,
            ChangeAction::Upsert,
            Self::record_set(&record, &check)?,
        )
        .await?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        }
        .with("health_check", check))
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let (zone, name, set) = Self::parts(rec);
        // DELETE needs the record exactly as it is now.
        let Some(current) = Self::lookup(env, &zone, &name, &set).await? else {
            return Ok(());
        };
        Self::change(env, &zone, ChangeAction::Delete, current).await
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let record: FailoverRecordInputs = spec.typed()?;
        let probe = Record::new(
            self.name(),
            Self::id_of(&record.zone_id, &record.name, &record.set_identifier),
            spec.inputs.clone(),
        );
        self.read(env, &probe).await
    }
    /// Records carry no tags, and a set identifier is only a name: anyone
    /// may have written `<stack id>-primary`. A record is the stack's when
    /// it has the stack's set identifier *and* answers to a health check
    /// that is the stack's (its caller-reference marker or stack-id tag);
    /// any other record of the name is foreign, its check's owner named.
    async fn owner(&self, env: &E, found: &Record) -> Result<Option<String>, OpError> {
        let (_, _, set) = Self::parts(found);
        let check = found.out("health_check");
        if check.is_empty() {
            return Ok(None);
        }
        let ours = set.starts_with(&format!("{}-", env.stack_id));
        Ok(match HealthCheck::owner_of(env, check).await? {
            Some(o) if o == env.stack_id => ours.then_some(o),
            o => o,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsOutput;
    use aws_sdk_route53::operation::get_change::GetChangeOutput;
    use aws_sdk_route53::operation::list_resource_record_sets::ListResourceRecordSetsOutput;
    use aws_sdk_route53::types::{ChangeInfo, ChangeStatus};
    use aws_smithy_mocks::mock;

    fn record_spec() -> Spec {
        Spec::new(
            "global/dns.primary",
            "route53_failover_record",
            json!({"zone_id": "Z1", "name": "app.luneo.example", "set_identifier": "s-primary", "failover": "PRIMARY", "value": "eu.luneo.example", "ttl": 60, "check": "health.primary"}),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_failover_record_is_created_never_upserted_and_waits_until_in_sync() {
        let deps: Records = [(
            "health.primary".to_string(),
            Record::new("route53_health_check", "hc-1", json!({})),
        )]
        .into();
        let change = mock!(aws_sdk_route53::Client::change_resource_record_sets)
            .match_requests(|r| {
                let c = &r.change_batch().unwrap().changes()[0];
                c.action() == &ChangeAction::Create
                    && c.resource_record_set().unwrap().health_check_id() == Some("hc-1")
                    && c.resource_record_set().unwrap().name() == "app.luneo.example."
            })
            .then_output(|| {
                ChangeResourceRecordSetsOutput::builder()
                    .change_info(
                        ChangeInfo::builder()
                            .id("C1")
                            .status(ChangeStatus::Pending)
                            .submitted_at(aws_smithy_types::DateTime::from_secs(0))
                            .build()
                            .unwrap(),
                    )
                    .build()
            });
        let synced = mock!(aws_sdk_route53::Client::get_change).then_output(|| {
            GetChangeOutput::builder()
                .change_info(
                    ChangeInfo::builder()
                        .id("C1")
                        .status(ChangeStatus::Insync)
                        .submitted_at(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let r = FailoverRecord
            .create(&over(&[&change, &synced]), &record_spec(), &deps)
            .await
            .unwrap();
        assert_eq!(r.id, "Z1|app.luneo.example|CNAME|s-primary");
        assert_eq!(synced.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zone_still_processing_a_prior_change_is_waited_for_and_a_refused_change_is_not_retried(
    ) {
        use aws_sdk_route53::operation::change_resource_record_sets::ChangeResourceRecordSetsError;
        use aws_sdk_route53::operation::get_change::GetChangeError;
        use aws_smithy_types::error::ErrorMetadata;
        let deps: Records = [(
            "health.primary".to_string(),
            Record::new("route53_health_check", "hc-1", json!({})),
        )]
        .into();
        let info = |status: ChangeStatus| {
            ChangeInfo::builder()
                .id("C1")
                .status(status)
                .submitted_at(aws_smithy_types::DateTime::from_secs(0))
                .build()
                .unwrap()
        };
        let changed = || {
            mock!(aws_sdk_route53::Client::change_resource_record_sets).then_output(move || {
                ChangeResourceRecordSetsOutput::builder()
                    .change_info(info(ChangeStatus::Pending))
                    .build()
            })
        };
        let said = |code: &'static str, message: &'static str| {
            ErrorMetadata::builder().code(code).message(message).build()
        };
        // The other record of the pair is still being processed; then the
        // change just made is not yet known to GetChange: both retried.
        let busy = mock!(aws_sdk_route53::Client::change_resource_record_sets).then_error(move || {
            ChangeResourceRecordSetsError::generic(said("PriorRequestNotComplete", "The request was rejected because Route 53 was still processing a prior request."))
        });
        let change = changed();
        let unknown = mock!(aws_sdk_route53::Client::get_change).then_error(move || {
            GetChangeError::generic(said(
                "NoSuchChange",
                "A change with the specified change ID does not exist.",
            ))
        });
        let synced = mock!(aws_sdk_route53::Client::get_change).then_output(move || {
            GetChangeOutput::builder()
                .change_info(info(ChangeStatus::Insync))
                .build()
        });
        FailoverRecord
            .create(
                &over(&[&busy, &change, &unknown, &synced]),
                &record_spec(),
                &deps,
            )
            .await
            .unwrap();
        // The SDK retries PriorRequestNotComplete as throttling for its 3
        // attempts (the test client's); the declaration carries on after.
        assert_eq!(
            (
                busy.num_calls(),
                change.num_calls(),
                unknown.num_calls(),
                synced.num_calls()
            ),
            (3, 1, 1, 1)
        );
        // A record of the name already there is a refusal, never retried
        // (a second call would succeed here).
        let exists = mock!(aws_sdk_route53::Client::change_resource_record_sets).then_error(move || {
            let why = "[Tried to create resource record set [name='app.luneo.example.', type='CNAME', set-identifier='s-primary'] but it already exists]";
            ChangeResourceRecordSetsError::generic(said("InvalidChangeBatch", why))
        });
        let after = changed();
        let err = FailoverRecord
            .create(&over(&[&exists, &after]), &record_spec(), &deps)
            .await
            .unwrap_err();
        assert!(err.message.contains("already exists"), "{}", err.message);
        assert_eq!((exists.num_calls(), after.num_calls()), (1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_of_the_name_with_another_set_identifier_is_foreign_and_a_missing_one_is_not_deleted(
    ) {
        use aws_sdk_route53::operation::get_health_check::GetHealthCheckOutput;
        use aws_sdk_route53::operation::list_tags_for_resource::ListTagsForResourceOutput;
        use aws_sdk_route53::types::{HealthCheck as Check, ResourceTagSet, Tag};
        let check = |id: &'static str, reference: &'static str| {
            mock!(aws_sdk_route53::Client::get_health_check)
                .match_requests(move |r| r.health_check_id() == Some(id))
                .then_output(move || {
                    let config = HealthCheckConfig::builder()
                        .r#type(HealthCheckType::Https)
                        .build()
                        .unwrap();
                    GetHealthCheckOutput::builder()
                        .health_check(
                            Check::builder()
                                .id(id)
                                .caller_reference(reference)
                                .health_check_config(config)
                                .health_check_version(1)
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
        };
        let ours_check = check("hc-ours", "s/global/health.primary/1");
        let ours_again = check("hc-ours", "s/global/health.primary/1");
        let their_check = check("hc-theirs", "their-ref");
        let their_tags = mock!(aws_sdk_route53::Client::list_tags_for_resource).then_output(|| {
            ListTagsForResourceOutput::builder()
                .resource_tag_set(
                    ResourceTagSet::builder()
                        .tags(Tag::builder().key("team").value("data").build())
                        .build(),
                )
                .build()
        });
        let env = over(&[&ours_check, &ours_again, &their_check, &their_tags]);
        let record = |set: &str, check: &str| {
            Record::new(
                "route53_failover_record",
                format!("Z1|app.luneo.example|CNAME|{set}"),
                json!({}),
            )
            .with("health_check", check)
        };
        assert_eq!(
            FailoverRecord
                .owner(&env, &record("s-primary", "hc-ours"))
                .await
                .unwrap()
                .as_deref(),
            Some("s")
        );
        assert_eq!(
            FailoverRecord
                .owner(&env, &record("blue", "hc-ours"))
                .await
                .unwrap(),
            None,
            "another set identifier"
        );
        // The stack's set identifier is only a name: a record that answers
        // to another owner's check is that owner's, never adopted.
        assert_eq!(
            FailoverRecord
                .owner(&env, &record("s-primary", "hc-theirs"))
                .await
                .unwrap(),
            None,
            "another owner's check"
        );
        assert_eq!(their_tags.num_calls(), 1);
        // A record that answers to no health check carries no mark at all.
        let unchecked = Record::new(
            "route53_failover_record",
            "Z1|app.luneo.example|CNAME|s-primary",
            json!({}),
        );
        assert_eq!(
            FailoverRecord.owner(&env, &unchecked).await.unwrap(),
            None,
            "no health check"
        );
        let ours = record("s-primary", "hc-ours");
        // Deleting a record already gone is done: played in order, a
        // ChangeResourceRecordSets would find no rule and fail the test.
        let listing = mock!(aws_sdk_route53::Client::list_resource_record_sets).then_output(|| {
            ListResourceRecordSetsOutput::builder()
                .resource_record_sets(
                    ResourceRecordSet::builder()
                        .name("app.luneo.example.")
                        .r#type(RrType::Cname)
                        .set_identifier("s-secondary")
                        .build()
                        .unwrap(),
                )
                .is_truncated(false)
                .max_items(10)
                .build()
                .unwrap()
        });
        FailoverRecord
            .delete(&over(&[&listing]), &ours)
            .await
            .unwrap();
        assert_eq!(listing.num_calls(), 1);
    }

    /// ListResourceRecordSets from app.luneo.example. CNAME `set`: the
    /// record set `r`.
    fn listed(r: ResourceRecordSet) -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_route53::Client::list_resource_record_sets)
            .match_requests(|q| {
                q.hosted_zone_id() == Some("Z1")
                    && q.start_record_name() == Some("app.luneo.example.")
                    && q.start_record_identifier() == Some("blue")
            })
            .then_output(move || {
                ListResourceRecordSetsOutput::builder()
                    .resource_record_sets(r.clone())
                    .is_truncated(false)
                    .max_items(10)
                    .build()
                    .unwrap()
            })
    }
    /// The hand-made record `blue`: a failover SECONDARY CNAME to
    /// old.luneo.example, TTL 300, answering to the check hc-hand.
    fn hand_made() -> aws_sdk_route53::types::builders::ResourceRecordSetBuilder {
        ResourceRecordSet::builder()
            .name("app.luneo.example.")
            .r#type(RrType::Cname)
            .set_identifier("blue")
            .ttl(300)
            .resource_records(
                ResourceRecord::builder()
                    .value("old.luneo.example")
                    .build()
                    .unwrap(),
            )
            .health_check_id("hc-hand")
    }

    /// Adoption: zone, name and set identifier (kept) from the record AWS
    /// has, with its failover role, value and TTL; its health check as the
    /// slot names the dependency that has it, else its id; the output the
    /// owner check and dependents read.
    #[tokio::test(start_paused = true)]
    async fn observe_reads_the_record_from_aws_and_names_its_check_by_the_slot() {
        let found = listed(
            hand_made()
                .failover(ResourceRecordSetFailover::Secondary)
                .build()
                .unwrap(),
        );
        let r = FailoverRecord
            .observe(
                &over(&[&found]),
                &record_spec(),
                "Z1_app.luneo.example_CNAME_blue",
                &Records::new(),
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(
            r.id, "Z1|app.luneo.example|CNAME|blue",
            "as create records it"
        );
        assert_eq!(
            r.inputs,
            json!({"zone_id": "Z1", "name": "app.luneo.example", "set_identifier": "blue", "failover": "SECONDARY", "value": "old.luneo.example", "ttl": 300, "check": "hc-hand"})
        );
        assert_eq!(r.out("health_check"), "hc-hand");
        assert!(r.typed::<FailoverRecordInputs>().is_ok());
        assert_eq!(FailoverRecord.kept_fields(), &["set_identifier"]);
        // The check a dependency has is named by the slot.
        let deps: Records = [(
            "health.primary".to_string(),
            Record::new("route53_health_check", "hc-hand", json!({})),
        )]
        .into();
        let found = listed(
            hand_made()
                .failover(ResourceRecordSetFailover::Primary)
                .build()
                .unwrap(),
        );
        let r = FailoverRecord
            .observe(
                &over(&[&found]),
                &record_spec(),
                "Z1|app.luneo.example|CNAME|blue",
                &deps,
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.inputs["check"], json!("health.primary"));
        // Not there: nothing to take.
        let other = listed(
            hand_made()
                .set_identifier("green")
                .failover(ResourceRecordSetFailover::Primary)
                .build()
                .unwrap(),
        );
        assert!(FailoverRecord
            .observe(
                &over(&[&other]),
                &record_spec(),
                "Z1_app.luneo.example_CNAME_blue",
                &deps
            )
            .await
            .unwrap()
            .is_none());
    }

    /// A record that cannot become a failover CNAME is refused, with why.
    #[tokio::test(start_paused = true)]
    async fn observe_refuses_what_is_no_failover_cname() {
        let refused = |rules: Vec<aws_smithy_mocks::Rule>, id: &'static str| async move {
            let refs: Vec<&aws_smithy_mocks::Rule> = rules.iter().collect();
            FailoverRecord
                .observe(&over(&refs), &record_spec(), id, &Records::new())
                .await
                .unwrap_err()
                .message
        };
        let e = refused(vec![], "Z1_app.luneo.example_A_blue").await;
        assert!(e.contains("it is a A record"), "{e}");
        let e = refused(vec![], "Z1_app.luneo.example_CNAME").await;
        assert!(e.contains("no set identifier"), "{e}");
        let e = refused(vec![], "app.luneo.example").await;
        assert!(e.contains("not a record id"), "{e}");
        let weighted = listed(hand_made().weight(10).build().unwrap());
        let e = refused(vec![weighted], "Z1_app.luneo.example_CNAME_blue").await;
        assert!(e.contains("no failover routing"), "{e}");
        let alias = listed(
            ResourceRecordSet::builder()
                .name("app.luneo.example.")
                .r#type(RrType::Cname)
                .set_identifier("blue")
                .failover(ResourceRecordSetFailover::Primary)
                .alias_target(
                    aws_sdk_route53::types::AliasTarget::builder()
                        .hosted_zone_id("Z2")
                        .dns_name("lb.example.")
                        .evaluate_target_health(true)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        );
        let e = refused(vec![alias], "Z1_app.luneo.example_CNAME_blue").await;
        assert!(e.contains("alias record (to lb.example.)"), "{e}");
    }

    #[test]
    fn an_adoption_id_parses_as_hashicorp_writes_it() {
        let p = |id| FailoverRecord::parse_id(id);
        let own = |z: &str, n: &str, t: &str, s: &str| {
            Some((z.to_string(), n.to_string(), t.to_string(), s.to_string()))
        };
        assert_eq!(
            p("Z1__acme.luneo.example_CNAME_blue_2"),
            own("Z1", "_acme.luneo.example", "CNAME", "blue_2"),
            "a name and a set identifier may hold `_`"
        );
        assert_eq!(
            p("Z1_app.luneo.example._CNAME"),
            own("Z1", "app.luneo.example", "CNAME", "")
        );
        assert_eq!(p("Z1_app"), None);
    }
}
