//! health check.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An HTTPS health check with SNI. Its caller reference starts with the stack id and the component key:
/// the marker that proves the check is this stack's and finds it again
/// after an interrupted create.
pub struct HealthCheck;

/// hashicorp/aws route53 health_check.go retries none of these: its create
/// tags the new check at once (createTags, ChangeTagsForResource) as ours
/// does, with no retry. Route 53's PriorRequestNotComplete is a throttling
/// code the SDK's retryer repeats.
const CALLS: &[Call] = &[
    Call::settled("route53:CreateHealthCheck"),
    Call::settled("route53:ChangeTagsForResource"),
    Call::read("route53:GetHealthCheck"),
    Call::read("route53:ListHealthChecks"),
    Call::settled("route53:UpdateHealthCheck"),
    Call::settled("route53:DeleteHealthCheck"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthCheckInputs {
    pub fqdn: String,
    pub path: String,
    pub port: i64,
    /// Failed checks in a row before the endpoint counts as down.
    pub failure_threshold: i64,
    /// Seconds between checks (10 or 30; fixed at create).
    pub interval: i64,
}

impl Inputs for HealthCheckInputs {
    const KIND: &'static str = "route53_health_check";
}

/// Why an adoption never takes a health check.
const NOT_ADOPTED: &str = "the stack finds its health checks again by a caller reference it sets at create, which a hand-built check lacks; the stack creates its own and the records move to it in place";

impl HealthCheck {
    fn marker(env: &E, spec_key: &str) -> String {
        format!("{}/{}/", env.stack_id, spec_key)
    }
    fn config(check: &HealthCheckInputs) -> Result<HealthCheckConfig, OpError> {
        HealthCheckConfig::builder()
            .r#type(HealthCheckType::Https)
            .fully_qualified_domain_name(&check.fqdn)
            .resource_path(&check.path)
            .port(check.port as i32)
            .request_interval(check.interval as i32)
            .failure_threshold(check.failure_threshold as i32)
            .enable_sni(true)
            .build()
            .map_err(bad("health check"))
    }
    async fn get(
        env: &E,
        id: &str,
    ) -> Result<Option<aws_sdk_route53::types::HealthCheck>, OpError> {
        match env
            .ctx
            .route53()
            .get_health_check()
            .health_check_id(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.health_check().cloned()),
            Err(e) if crate::aws::code_in(&e, &["NoSuchHealthCheck"]) => Ok(None),
            Err(e) => Err(op("GetHealthCheck")(e)),
        }
    }
    /// The stack the health check `id` belongs to (None: none, or no such
    /// check): its caller reference's marker, else its stack-id tag. A
    /// failover record, which cannot be tagged, is proved the stack's by
    /// the check it answers to.
    pub(super) async fn owner_of(env: &E, id: &str) -> Result<Option<String>, OpError> {
        let Some(h) = Self::get(env, id).await? else {
            return Ok(None);
        };
        let found = HealthCheck.observed(&json!({}), &h);
        HealthCheck.owner(env, &found).await
    }
    fn observed(
        &self,
        inputs: &serde_json::Value,
        h: &aws_sdk_route53::types::HealthCheck,
    ) -> Record {
        let mut inputs = inputs.clone();
        if let Some(c) = h.health_check_config() {
            inputs["fqdn"] = json!(c.fully_qualified_domain_name());
            inputs["path"] = json!(c.resource_path());
            inputs["port"] = json!(c.port());
            inputs["failure_threshold"] = json!(c.failure_threshold());
            inputs["interval"] = json!(c.request_interval());
        }
        Record::new(self.name(), h.id(), inputs)
            .with("caller_reference", h.caller_reference())
            .with("version", h.health_check_version().to_string())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for HealthCheck {
    crate::engine::typed_kind!(HealthCheckInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["caller_reference", "version"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Route53HealthCheck(r.id.clone()))
    }
    /// Never taken: the stack finds its checks again by their caller
    /// reference alone.
    async fn observe(
        &self,
        _: &E,
        _: &Spec,
        _: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        Err(OpError::new(NOT_ADOPTED))
    }
    /// Route53 cannot change a check's interval.
    fn replace_fields(&self) -> &'static [&'static str] {
        &["interval"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let reference = format!(
            "{}{}",
            Self::marker(env, &spec.key),
            uuid::Uuid::new_v4().simple()
        );
        let o = env
            .ctx
            .route53()
            .create_health_check()
            .caller_reference(&reference)
            .health_check_config(Self::config(&spec.typed()?)?)
            .send()
            .await
            .map_err(op("CreateHealthCheck"))?;
        let h = o
            .health_check()
            .ok_or_else(|| OpError::new("CreateHealthCheck returned no health check"))?;
        let rec = self.observed(&spec.inputs, h);
        // The tags (a Name among them) follow: the engine's tag update.
        let tags: Vec<aws_sdk_route53::types::Tag> = crate::components::spec_tags(env, spec)
            .into_iter()
            .map(|(k, v)| {
                aws_sdk_route53::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect();
        env.ctx
            .route53()
            .change_tags_for_resource()
            .resource_type(aws_sdk_route53::types::TagResourceType::Healthcheck)
            .resource_id(h.id())
            .set_add_tags(Some(tags))
            .send()
            .await
            .map_err(|e| op("ChangeTagsForResource")(e).partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::get(env, &rec.id)
            .await?
            .map(|h| self.observed(&rec.inputs, &h)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let check: HealthCheckInputs = spec.typed()?;
        let c = Self::config(&check)?;
        let o = env
            .ctx
            .route53()
            .update_health_check()
            .health_check_id(&old.id)
            .fully_qualified_domain_name(&check.fqdn)
            .resource_path(&check.path)
            .set_port(c.port())
            .set_failure_threshold(c.failure_threshold())
            .enable_sni(true)
            .send()
            .await
            .map_err(op("UpdateHealthCheck"))?;
        let h = o
            .health_check()
            .ok_or_else(|| OpError::new("UpdateHealthCheck returned no health check"))?;
        let mut r = self.observed(&spec.inputs, h);
        r.inputs = spec.inputs.clone();
        Ok(r)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env
            .ctx
            .route53()
            .delete_health_check()
            .health_check_id(&rec.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::code_in(&e, &["NoSuchHealthCheck"]) => Ok(()),
            Err(e) => Err(op("DeleteHealthCheck")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let marker = Self::marker(env, &spec.key);
        let mut pages = env
            .ctx
            .route53()
            .list_health_checks()
            .into_paginator()
            .send();
        while let Some(p) = pages.next().await {
            if let Some(h) = p
                .map_err(op("ListHealthChecks"))?
                .health_checks()
                .iter()
                .find(|h| h.caller_reference().starts_with(&marker))
            {
                return Ok(Some(self.observed(&spec.inputs, h)));
            }
        }
        Ok(None)
    }
    /// A check found by its caller reference is the stack's by that marker
    /// even before its tags were written.
    async fn owner(&self, env: &E, found: &Record) -> Result<Option<String>, OpError> {
        if found
            .out("caller_reference")
            .starts_with(&format!("{}/", env.stack_id))
        {
            return Ok(Some(env.stack_id.clone()));
        }
        Ok(self
            .read_tags(env, found)
            .await?
            .and_then(|t| t.get(crate::engine::TAG_STACK_ID).cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_route53::operation::list_health_checks::ListHealthChecksOutput;
    use aws_sdk_route53::types::HealthCheck as Check;
    use aws_smithy_mocks::mock;

    fn check(id: &str, reference: &str) -> Check {
        let config = HealthCheckConfig::builder()
            .r#type(HealthCheckType::Https)
            .fully_qualified_domain_name("eu.luneo.example")
            .resource_path("/health")
            .port(443)
            .build()
            .unwrap();
        Check::builder()
            .id(id)
            .caller_reference(reference)
            .health_check_config(config)
            .health_check_version(1)
            .build()
            .unwrap()
    }
    fn health_spec() -> Spec {
        Spec::new(
            "global/health.primary",
            "route53_health_check",
            json!({"fqdn": "eu.luneo.example", "path": "/health", "port": 443, "failure_threshold": 3, "interval": 30}),
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_health_check_is_found_by_its_caller_reference_marker_only() {
        // Stack "s": its marker is "s/<key>/"; a stack "s-2" or a check made
        // by hand with the same domain is not it.
        let list = mock!(aws_sdk_route53::Client::list_health_checks).then_output(|| {
            ListHealthChecksOutput::builder()
                .health_checks(check("hc-other", "s-2/global/health.primary/abc"))
                .health_checks(check("hc-hand", "console-1234"))
                .health_checks(check("hc-1", "s/global/health.primary/0f3a"))
                .marker("")
                .is_truncated(false)
                .max_items(100)
                .build()
                .unwrap()
        });
        let env = over(&[&list]);
        let found = HealthCheck
            .find(&env, &health_spec())
            .await
            .unwrap()
            .expect("the stack's check");
        assert_eq!(found.id, "hc-1");
        assert_eq!(found.inputs["path"], json!("/health"));
        // The marker proves ownership before any tag was written.
        assert_eq!(
            HealthCheck.owner(&env, &found).await.unwrap().as_deref(),
            Some("s")
        );
    }

    /// Adoption never takes a health check, for the reason the refusal
    /// gives; no AWS call is made.
    #[tokio::test(start_paused = true)]
    async fn observe_refuses_every_health_check_with_why() {
        let e = HealthCheck
            .observe(&over(&[]), &health_spec(), "hc-hand", &Records::new())
            .await
            .unwrap_err();
        assert_eq!(
            e.message,
            "the stack finds its health checks again by a caller reference it sets at create, which a hand-built check lacks; the stack creates its own and the records move to it in place"
        );
    }
}
