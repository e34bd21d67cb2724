//! SNS topic.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An SNS topic with email subscriptions. The stack manages the
/// subscriptions it declares and only those: a subscription added by
/// people or by another Terraform resource (an `aws_sns_topic_subscription`
/// to a queue, a function, another address) is left in place and is not
/// drift.
pub struct Topic;

/// hashicorp/aws topic.go and topic_subscription.go retry none of these:
/// only SetTopicAttributes (InvalidParameterException, and an ABAC
/// AuthorizationError while the topic's tags settle), which the stack never
/// calls. An email subscription is pending until its address confirms: not
/// waited for (hashicorp/aws does not either), and never unsubscribed
/// while it has no ARN.
const CALLS: &[Call] = &[
    Call::settled("sns:CreateTopic"),
    Call::read("sns:GetTopicAttributes"),
    Call::read("sns:ListSubscriptionsByTopic"),
    Call::settled("sns:Subscribe"),
    Call::settled("sns:Unsubscribe"),
    Call::settled("sns:DeleteTopic"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicInputs {
    pub name: String,
    /// Addresses subscribed with the email protocol (each confirms).
    pub emails: Vec<String>,
}

impl Inputs for TopicInputs {
    const KIND: &'static str = "sns_topic";
}

impl Topic {
    /// The topic's email subscriptions: (address, subscription ARN, which
    /// is not an ARN while the address has not confirmed).
    async fn email_subscriptions(env: &E, arn: &str) -> Result<Vec<(String, String)>, OpError> {
        let mut out = vec![];
        let mut pages = env
            .ctx
            .sns()
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for s in page
                .map_err(op("ListSubscriptionsByTopic"))?
                .subscriptions()
            {
                if let (Some("email"), Some(ep)) = (s.protocol(), s.endpoint()) {
                    out.push((
                        ep.to_string(),
                        s.subscription_arn().unwrap_or_default().to_string(),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Subscribes each of `emails` not yet subscribed, and unsubscribes
    /// each of `dropped` (addresses the stack declared before and no
    /// longer does); every other subscription is not the stack's.
    async fn converge(
        env: &E,
        arn: &str,
        emails: &[String],
        dropped: &[String],
    ) -> Result<(), OpError> {
        let have = Self::email_subscriptions(env, arn).await?;
        for e in emails
            .iter()
            .filter(|e| !have.iter().any(|(ep, _)| ep == *e))
        {
            env.ctx
                .sns()
                .subscribe()
                .topic_arn(arn)
                .protocol("email")
                .endpoint(e)
                .send()
                .await
                .map_err(op("Subscribe"))?;
        }
        for (_, sarn) in have.iter().filter(|(ep, _)| dropped.contains(ep)) {
            // A subscription still pending confirmation has no ARN yet: it
            // cannot be unsubscribed, and AWS drops it after three days.
            if sarn.starts_with("arn:") {
                env.ctx
                    .sns()
                    .unsubscribe()
                    .subscription_arn(sarn)
                    .send()
                    .await
                    .map_err(op("Unsubscribe"))?;
            }
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Topic {
    crate::engine::typed_kind!(TopicInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::Sns(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        let topic: TopicInputs = spec.typed()?;
        let tags: Vec<aws_sdk_sns::types::Tag> = spec_tags(env, spec)
            .into_iter()
            .filter_map(|(k, v)| {
                aws_sdk_sns::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .ok()
            })
            .collect();
        let out = env
            .ctx
            .sns()
            .create_topic()
            .name(&topic.name)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(op("CreateTopic"))?;
        let arn = out.topic_arn().unwrap_or_default().to_string();
        let rec = Record::new(self.name(), &arn, spec.inputs.clone()).with("arn", &arn);
        Self::converge(env, &arn, &topic.emails, &[])
            .await
            .map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .sns()
            .get_topic_attributes()
            .topic_arn(&rec.id)
            .send()
            .await
        {
            Ok(_) => {
                // The declared addresses still subscribed: one removed out
                // of band is drift; one added is not the stack's.
                let declared = rec.typed::<TopicInputs>()?.emails;
                let have = Self::email_subscriptions(env, &rec.id).await?;
                let kept: Vec<&String> = declared
                    .iter()
                    .filter(|e| have.iter().any(|(ep, _)| ep == *e))
                    .collect();
                let mut r = rec.clone();
                r.inputs["emails"] = json!(kept);
                Ok(Some(r))
            }
            Err(e) if code_in(&e, &["NotFound", "NotFoundException"]) => Ok(None),
            Err(e) => Err(op("GetTopicAttributes")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let (want, had): (TopicInputs, TopicInputs) = (spec.typed()?, old.typed()?);
        let dropped: Vec<String> = had
            .emails
            .into_iter()
            .filter(|e| !want.emails.contains(e))
            .collect();
        Self::converge(env, &old.id, &want.emails, &dropped).await?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        if let Ok(l) = env
            .ctx
            .sns()
            .list_subscriptions_by_topic()
            .topic_arn(&rec.id)
            .send()
            .await
        {
            for s in l.subscriptions() {
                if let Some(sarn) = s.subscription_arn().filter(|a| a.starts_with("arn:")) {
                    let _ = env
                        .ctx
                        .sns()
                        .unsubscribe()
                        .subscription_arn(sarn)
                        .send()
                        .await;
                }
            }
        }
        match env.ctx.sns().delete_topic().topic_arn(&rec.id).send().await {
            Ok(_) => Ok(()),
            Err(e) if code_in(&e, &["NotFound", "NotFoundException"]) => Ok(()),
            Err(e) => Err(op("DeleteTopic")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let arn = topic_arn(env, &spec.typed::<TopicInputs>()?.name);
        let probe = Record::new(self.name(), &arn, spec.inputs.clone()).with("arn", &arn);
        self.read(env, &probe).await
    }
    /// The topic by its ARN (hashicorp/aws's `id`) or name: its name
    /// (kept) and the declared addresses subscribed, as `read` sees them.
    /// A FIFO topic, which delivers to no email address, is refused.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let arn = match id.starts_with("arn:") {
            true => id.to_string(),
            false => topic_arn(env, id),
        };
        let name = arn.rsplit(':').next().unwrap_or_default();
        let mut inputs = spec.inputs.clone();
        inputs["name"] = json!(name);
        let probe = Record::new(self.name(), &arn, inputs).with("arn", &arn);
        let Some(rec) = self.read(env, &probe).await? else {
            return Ok(None);
        };
        if name.ends_with(".fifo") {
            return Err(OpError::new(format!(
                "{name} is a FIFO topic, which delivers to no email address"
            )));
        }
        Ok(Some(rec))
    }
}

/// The ARN of the stack's region and account's topic `name`.
fn topic_arn(env: &E, name: &str) -> String {
    format!(
        "arn:aws:sns:{}:{}:{name}",
        env.ctx.region, env.ctx.account_id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesError;
    use aws_sdk_sns::operation::list_subscriptions_by_topic::ListSubscriptionsByTopicOutput;
    use aws_sdk_sns::operation::subscribe::SubscribeOutput;
    use aws_sdk_sns::operation::unsubscribe::UnsubscribeOutput;
    use aws_sdk_sns::types::Subscription;
    use aws_smithy_mocks::{mock, Rule};

    const ARN: &str = "arn:aws:sns:eu-west-1:123456789012:kauri-prod-alerts";

    fn over(rules: &[&Rule]) -> E {
        mocked::env_over!(sns, aws_sdk_sns, rules)
    }
    fn subscription(email: &str, arn: &str) -> Subscription {
        Subscription::builder()
            .endpoint(email)
            .protocol("email")
            .subscription_arn(arn)
            .topic_arn(ARN)
            .build()
    }

    /// What the topic lists: the stack's two addresses, one pending, and
    /// two subscriptions the stack never declared (an address added by a
    /// person, a queue added by another Terraform resource).
    fn listed() -> ListSubscriptionsByTopicOutput {
        ListSubscriptionsByTopicOutput::builder()
            .subscriptions(subscription("ops@kauri.example", &format!("{ARN}:1")))
            .subscriptions(subscription("old@kauri.example", &format!("{ARN}:2")))
            .subscriptions(subscription("pending@kauri.example", "PendingConfirmation"))
            .subscriptions(subscription("oncall@kauri.example", &format!("{ARN}:3")))
            .subscriptions(
                Subscription::builder()
                    .endpoint("arn:aws:sqs:eu-west-1:123456789012:audit")
                    .protocol("sqs")
                    .subscription_arn(format!("{ARN}:4"))
                    .build(),
            )
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn update_subscribes_the_new_address_and_unsubscribes_the_removed_one_only() {
        let spec = Spec::new(
            "topic",
            "sns_topic",
            json!({"name": "kauri-prod-alerts", "emails": ["ops@kauri.example", "new@kauri.example"]}),
        );
        // A subscription still pending confirmation has no ARN yet: it
        // cannot be unsubscribed, and is not an error.
        let old = Record::new(
            "sns_topic",
            ARN,
            json!({"name": "kauri-prod-alerts", "emails": ["old@kauri.example", "ops@kauri.example", "pending@kauri.example"]}),
        );
        let listed = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic).then_output(listed);
        let subscribe = mock!(aws_sdk_sns::Client::subscribe)
            .match_requests(|r| {
                r.endpoint() == Some("new@kauri.example") && r.protocol() == Some("email")
            })
            .then_output(|| {
                SubscribeOutput::builder()
                    .subscription_arn("pending confirmation")
                    .build()
            });
        let unsubscribe = mock!(aws_sdk_sns::Client::unsubscribe)
            .match_requests(|r| r.subscription_arn() == Some(&format!("{ARN}:2")))
            .then_output(|| UnsubscribeOutput::builder().build());
        // Any other unsubscribe (of a subscription the stack did not
        // declare) matches no rule and fails the test.
        Topic
            .update(
                &over(&[&listed, &subscribe, &unsubscribe]),
                &spec,
                &old,
                &Records::new(),
            )
            .await
            .unwrap();
        assert_eq!((subscribe.num_calls(), unsubscribe.num_calls()), (1, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn read_records_the_declared_addresses_still_subscribed_and_no_other() {
        let rec = Record::new(
            "sns_topic",
            ARN,
            json!({"name": "kauri-prod-alerts", "emails": ["gone@kauri.example", "ops@kauri.example", "pending@kauri.example"]}),
        );
        let attributes = mock!(aws_sdk_sns::Client::get_topic_attributes).then_output(|| {
            aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesOutput::builder()
                .build()
        });
        let listed = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic).then_output(listed);
        let read = Topic
            .read(&over(&[&attributes, &listed]), &rec)
            .await
            .unwrap()
            .unwrap();
        // gone@ was removed out of band: drift the plan repairs; oncall@
        // and the queue are not the stack's.
        assert_eq!(
            read.inputs["emails"],
            json!(["ops@kauri.example", "pending@kauri.example"])
        );
    }

    /// Adoption by name or ARN: the topic's own name (kept), the declared
    /// addresses it has; a FIFO topic is refused.
    #[tokio::test(start_paused = true)]
    async fn observe_keeps_the_topic_s_name_and_the_declared_addresses_it_has() {
        let spec = Spec::new(
            "topic",
            "sns_topic",
            json!({"name": "s-alerts", "emails": ["ops@kauri.example", "new@kauri.example"]}),
        );
        for id in ["kauri-prod-alerts", ARN] {
            let attributes = mock!(aws_sdk_sns::Client::get_topic_attributes)
                .match_requests(|r| r.topic_arn() == Some(ARN))
                .then_output(|| {
                    aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesOutput::builder(
                    )
                    .build()
                });
            let listed =
                mock!(aws_sdk_sns::Client::list_subscriptions_by_topic).then_output(listed);
            let rec = Topic
                .observe(&over(&[&attributes, &listed]), &spec, id, &Records::new())
                .await
                .unwrap()
                .unwrap();
            assert_eq!((rec.id.as_str(), rec.out("arn")), (ARN, ARN));
            assert_eq!(
                rec.inputs,
                json!({"name": "kauri-prod-alerts", "emails": ["ops@kauri.example"]})
            );
        }
        let fifo = format!("{ARN}.fifo");
        let attributes = mock!(aws_sdk_sns::Client::get_topic_attributes).then_output(|| {
            aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesOutput::builder()
                .build()
        });
        let listed = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic)
            .then_output(|| ListSubscriptionsByTopicOutput::builder().build());
        let e = Topic
            .observe(
                &over(&[&attributes, &listed]),
                &spec,
                &fifo,
                &Records::new(),
            )
            .await
            .unwrap_err();
        assert!(e.message.contains("FIFO"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_topic_is_gone_and_a_refusal_is_an_error() {
        let rec = Record::new(
            "sns_topic",
            ARN,
            json!({"name": "kauri-prod-alerts", "emails": []}),
        );
        let gone = mock!(aws_sdk_sns::Client::get_topic_attributes)
            .then_error(|| GetTopicAttributesError::generic(fault("NotFound")));
        assert!(Topic.read(&over(&[&gone]), &rec).await.unwrap().is_none());
        let denied = mock!(aws_sdk_sns::Client::get_topic_attributes)
            .then_error(|| GetTopicAttributesError::generic(fault("AuthorizationError")));
        assert!(Topic.read(&over(&[&denied]), &rec).await.is_err());
    }
}
