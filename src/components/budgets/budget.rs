//! budget.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A monthly cost budget that notifies the `topic` dependency.
pub struct Budget;

/// hashicorp/aws budget.go retries none of these; it only delays its read
/// after a write (`FindBudgetWithDelay`: 5 s, no error retried). The
/// budget's notification and its subscriber (the topic) go in CreateBudget
/// itself.
const CALLS: &[Call] = &[
    Call::settled("budgets:CreateBudget"),
    Call::read("budgets:DescribeBudget"),
    Call::settled("budgets:UpdateBudget"),
    Call::settled("budgets:DeleteBudget"),
];

/// What a budget counts and when it warns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetInputs {
    pub name: String,
    pub limit_usd: f64,
    /// The `Project` tag whose costs it counts; None: the whole account.
    pub project_tag: Option<String>,
    /// The share of the limit actually spent that notifies.
    pub threshold_percent: f64,
}

impl Inputs for BudgetInputs {
    const KIND: &'static str = "budget";
}

impl Budget {
    fn budget(budget: &BudgetInputs) -> Result<aws_sdk_budgets::types::Budget, OpError> {
        use aws_sdk_budgets::types::*;
        let mut b = Budget::builder()
            .budget_name(&budget.name)
            .budget_limit(
                Spend::builder()
                    .amount(format!("{}", budget.limit_usd))
                    .unit("USD")
                    .build()
                    .map_err(bad("budget limit"))?,
            )
            .time_unit(TimeUnit::Monthly)
            .budget_type(BudgetType::Cost);
        if let Some(p) = &budget.project_tag {
            #[allow(deprecated)]
            let nb = b.cost_filters("TagKeyValue", vec![format!("user:Project${p}")]);
            b = nb;
        }
        b.build().map_err(bad("budget"))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Budget {
    crate::engine::typed_kind!(BudgetInputs);
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[crate::components::need::TOPIC]
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| {
            TagRef::Budget(format!(
                "arn:aws:budgets::{}:budget/{}",
                env.ctx.account_id, r.id
            ))
        })
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        use aws_sdk_budgets::types::*;
        let budget: BudgetInputs = spec.typed()?;
        let topic = &crate::components::need::TOPIC.the(deps)?.id;
        let n = NotificationWithSubscribers::builder()
            .notification(
                Notification::builder()
                    .notification_type(NotificationType::Actual)
                    .comparison_operator(ComparisonOperator::GreaterThan)
                    .threshold(budget.threshold_percent)
                    .threshold_type(ThresholdType::Percentage)
                    .build()
                    .map_err(bad("notification"))?,
            )
            .subscribers(
                Subscriber::builder()
                    .subscription_type(SubscriptionType::Sns)
                    .address(topic)
                    .build()
                    .map_err(bad("subscriber"))?,
            )
            .build()
            .map_err(bad("notification"))?;
        // Tagged at create, so that an interrupted apply leaves a budget the
        // next one can prove is its own (the engine's find runs first).
        let tags = spec_tags(env, spec)
            .into_iter()
            .map(|(k, v)| ResourceTag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad("tag"))?;
        env.ctx
            .budgets()
            .create_budget()
            .account_id(&env.ctx.account_id)
            .budget(Self::budget(&budget)?)
            .notifications_with_subscribers(n)
            .set_resource_tags(Some(tags))
            .send()
            .await
            .map_err(op("CreateBudget"))?;
        Ok(Record::new(self.name(), &budget.name, spec.inputs.clone()))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(describe(env, &rec.id).await?.map(|o| seen(rec, o.budget())))
    }
    /// The budget by its name, hashicorp/aws's `id` (`<account>:<name>`)
    /// or its ARN: its name (kept), limit and `Project` filter as AWS has
    /// them. Refused unless it is a monthly cost budget of this account,
    /// counting the whole account or one `Project` tag as the spec does.
    /// `threshold_percent` is the spec's: its notification is no part of
    /// the budget, and the update writes the budget only.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let (account, name) = match id
            .strip_prefix("arn:")
            .and_then(|a| a.split_once(":budget/"))
        {
            Some((head, name)) => (head.rsplit(':').next(), name),
            None => match id.split_once(':') {
                Some((account, name)) => (Some(account), name),
                None => (None, id),
            },
        };
        if let Some(a) = account.filter(|a| *a != env.ctx.account_id) {
            return Err(OpError::new(format!(
                "{id} is a budget of the account {a}, and the stack's account is {}",
                env.ctx.account_id
            )));
        }
        let Some(o) = describe(env, name).await? else {
            return Ok(None);
        };
        let Some(b) = o.budget() else {
            return Err(OpError::new(format!(
                "DescribeBudget answered no budget {name}"
            )));
        };
        use aws_sdk_budgets::types::{BudgetType, TimeUnit};
        if (b.budget_type(), b.time_unit()) != (&BudgetType::Cost, &TimeUnit::Monthly) {
            return Err(OpError::new(format!(
                "{name} is a {} budget by {}, and the stack's are monthly cost budgets",
                b.budget_type().as_str(),
                b.time_unit().as_str()
            )));
        }
        #[allow(deprecated)]
        let filters = b.cost_filters().cloned().unwrap_or_default();
        let project = match (filters.len(), filters.get("TagKeyValue").map(Vec::as_slice)) {
            (0, _) => None,
            (1, Some([tag])) if tag.starts_with("user:Project$") => {
                Some(tag["user:Project$".len()..].to_string())
            }
            _ => {
                return Err(OpError::new(format!(
                    "{name} counts the costs filtered by {filters:?}, and the stack's budgets count the account's or one Project tag's"
                )))
            }
        };
        if let (Some(p), None) = (&project, spec.typed::<BudgetInputs>()?.project_tag) {
            return Err(OpError::new(format!(
                "{name} counts only the costs tagged Project={p}, and {} counts the whole account's",
                spec.key
            )));
        }
        let mut inputs = spec.inputs.clone();
        inputs["name"] = json!(b.budget_name());
        inputs["project_tag"] = json!(project);
        Ok(Some(seen(
            &Record::new(self.name(), b.budget_name(), inputs),
            Some(b),
        )))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let budget: BudgetInputs = spec.typed()?;
        if spec.inputs == old.inputs {
            return Ok(Record {
                id: budget.name,
                ..old.clone()
            });
        }
        env.ctx
            .budgets()
            .update_budget()
            .account_id(&env.ctx.account_id)
            .new_budget(Self::budget(&budget)?)
            .send()
            .await
            .map_err(op("UpdateBudget"))?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env
            .ctx
            .budgets()
            .delete_budget()
            .account_id(&env.ctx.account_id)
            .budget_name(&rec.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code_in(&e, &["NotFoundException"]) => Ok(()),
            Err(e) => Err(op("DeleteBudget")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(
            self.name(),
            spec.typed::<BudgetInputs>()?.name,
            spec.inputs.clone(),
        );
        self.read(env, &probe).await
    }
}

/// DescribeBudget of `name` (None: no such budget).
async fn describe(
    env: &E,
    name: &str,
) -> Result<Option<aws_sdk_budgets::operation::describe_budget::DescribeBudgetOutput>, OpError> {
    match env
        .ctx
        .budgets()
        .describe_budget()
        .account_id(&env.ctx.account_id)
        .budget_name(name)
        .send()
        .await
    {
        Ok(o) => Ok(Some(o)),
        Err(e) if code_in(&e, &["NotFoundException"]) => Ok(None),
        Err(e) => Err(op("DescribeBudget")(e)),
    }
}

/// `rec` with the budget's limit as AWS has it.
fn seen(rec: &Record, b: Option<&aws_sdk_budgets::types::Budget>) -> Record {
    let mut r = rec.clone();
    let amount = b.and_then(|b| b.budget_limit()).map(|l| l.amount());
    if let Some(a) = amount.and_then(|a| a.parse::<f64>().ok()) {
        r.inputs["limit_usd"] = json!(a);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_smithy_mocks::{mock, Rule};

    fn budgets_over(rules: &[&Rule]) -> E {
        mocked::env_over!(budgets, aws_sdk_budgets, rules)
    }
    fn budget_spec(limit: f64) -> Spec {
        Spec::new("budget.project", "budget", json!({"name": "kauri-prod-project", "limit_usd": limit, "project_tag": "kauri", "threshold_percent": 80.0}))
            .tag(crate::engine::TAG_STACK_ID, "s")
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_notifies_its_topic_is_scoped_to_the_project_and_tagged_at_create() {
        use aws_sdk_budgets::operation::create_budget::CreateBudgetOutput;
        let create = mock!(aws_sdk_budgets::Client::create_budget)
            .match_requests(|r| {
                let b = r.budget().unwrap();
                let n = &r.notifications_with_subscribers()[0];
                #[allow(deprecated)]
                let filter = b.cost_filters().and_then(|f| f.get("TagKeyValue")).cloned();
                r.account_id() == Some("123456789012")
                    && b.budget_limit().map(|l| (l.amount(), l.unit())) == Some(("50", "USD"))
                    && filter == Some(vec!["user:Project$kauri".to_string()])
                    && n.subscribers()[0].address() == TOPIC_ARN
                    && n.notification().map(|x| x.threshold()) == Some(80.0)
                    && r.resource_tags()
                        .iter()
                        .any(|t| t.key() == crate::engine::TAG_STACK_ID && t.value() == "s")
            })
            .then_output(|| CreateBudgetOutput::builder().build());
        let rec = Budget
            .create(&budgets_over(&[&create]), &budget_spec(50.0), &topic_deps())
            .await
            .unwrap();
        assert_eq!(
            (create.num_calls(), rec.id.as_str()),
            (1, "kauri-prod-project")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_budget_limit_changed_out_of_band_is_drift_and_only_a_change_is_sent() {
        use aws_sdk_budgets::operation::describe_budget::{
            DescribeBudgetError, DescribeBudgetOutput,
        };
        use aws_sdk_budgets::operation::update_budget::UpdateBudgetOutput;
        use aws_sdk_budgets::types::{Budget as AwsBudget, BudgetType, Spend, TimeUnit};
        let rec = Record::new("budget", "kauri-prod-project", budget_spec(50.0).inputs);
        let raised = mock!(aws_sdk_budgets::Client::describe_budget).then_output(|| {
            let limit = Spend::builder().amount("75.0").unit("USD").build().unwrap();
            DescribeBudgetOutput::builder()
                .budget(
                    AwsBudget::builder()
                        .budget_name("kauri-prod-project")
                        .budget_limit(limit)
                        .time_unit(TimeUnit::Monthly)
                        .budget_type(BudgetType::Cost)
                        .build()
                        .unwrap(),
                )
                .build()
        });
        assert_eq!(
            Budget
                .read(&budgets_over(&[&raised]), &rec)
                .await
                .unwrap()
                .unwrap()
                .inputs["limit_usd"],
            75.0,
            "the plan puts 50 back"
        );
        let gone = mock!(aws_sdk_budgets::Client::describe_budget)
            .then_error(|| DescribeBudgetError::generic(fault("NotFoundException")));
        assert!(Budget
            .read(&budgets_over(&[&gone]), &rec)
            .await
            .unwrap()
            .is_none());
        let denied = mock!(aws_sdk_budgets::Client::describe_budget)
            .then_error(|| DescribeBudgetError::generic(fault("AccessDeniedException")));
        assert!(
            Budget.read(&budgets_over(&[&denied]), &rec).await.is_err(),
            "a refusal is an error, never gone"
        );
        // Unchanged inputs (a tag-only update): no call at all.
        Budget
            .update(&budgets_over(&[]), &budget_spec(50.0), &rec, &topic_deps())
            .await
            .unwrap();
        let update = mock!(aws_sdk_budgets::Client::update_budget)
            .match_requests(|r| {
                r.new_budget()
                    .and_then(|b| b.budget_limit())
                    .map(|l| l.amount())
                    == Some("60")
            })
            .then_output(|| UpdateBudgetOutput::builder().build());
        let updated = Budget
            .update(
                &budgets_over(&[&update]),
                &budget_spec(60.0),
                &rec,
                &topic_deps(),
            )
            .await
            .unwrap();
        assert_eq!(
            (update.num_calls(), updated.inputs["limit_usd"].as_f64()),
            (1, Some(60.0))
        );
    }

    /// Adoption by hashicorp/aws's id: the budget's own name (kept), limit
    /// and Project filter as AWS has them; a budget of another type, or
    /// of another account, is refused.
    #[tokio::test(start_paused = true)]
    async fn observe_keeps_the_budget_s_name_and_reads_its_limit_and_filter() {
        use aws_sdk_budgets::operation::describe_budget::DescribeBudgetOutput;
        use aws_sdk_budgets::types::{Budget as AwsBudget, BudgetType, Spend, TimeUnit};
        let described = |kind: BudgetType| {
            mock!(aws_sdk_budgets::Client::describe_budget)
                .match_requests(|r| r.budget_name() == Some("kauri-demo-kauri"))
                .then_output(move || {
                    let limit = Spend::builder().amount("25.0").unit("USD").build().unwrap();
                    #[allow(deprecated)]
                    let b = AwsBudget::builder()
                        .budget_name("kauri-demo-kauri")
                        .budget_limit(limit)
                        .cost_filters("TagKeyValue", vec!["user:Project$kauri".to_string()])
                        .time_unit(TimeUnit::Monthly)
                        .budget_type(kind.clone())
                        .build()
                        .unwrap();
                    DescribeBudgetOutput::builder().budget(b).build()
                })
        };
        let spec = budget_spec(50.0);
        let cost = described(BudgetType::Cost);
        let rec = Budget
            .observe(
                &budgets_over(&[&cost]),
                &spec,
                "123456789012:kauri-demo-kauri",
                &Records::new(),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rec.id, "kauri-demo-kauri");
        assert_eq!(
            rec.inputs,
            json!({"name": "kauri-demo-kauri", "limit_usd": 25.0, "project_tag": "kauri", "threshold_percent": 80.0})
        );
        let usage = described(BudgetType::Usage);
        let e = Budget
            .observe(
                &budgets_over(&[&usage]),
                &spec,
                "kauri-demo-kauri",
                &Records::new(),
            )
            .await
            .unwrap_err();
        assert!(e.message.contains("USAGE budget"), "{}", e.message);
        let e = Budget
            .observe(
                &budgets_over(&[]),
                &spec,
                "210987654321:kauri-demo-kauri",
                &Records::new(),
            )
            .await
            .unwrap_err();
        assert!(e.message.contains("account 210987654321"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn deleting_a_budget_already_gone_succeeds_and_a_refusal_fails() {
        use aws_sdk_budgets::operation::delete_budget::DeleteBudgetError;
        let rec = Record::new("budget", "kauri-prod-project", json!({}));
        let gone = mock!(aws_sdk_budgets::Client::delete_budget)
            .then_error(|| DeleteBudgetError::generic(fault("NotFoundException")));
        Budget.delete(&budgets_over(&[&gone]), &rec).await.unwrap();
        let denied = mock!(aws_sdk_budgets::Client::delete_budget)
            .then_error(|| DeleteBudgetError::generic(fault("AccessDeniedException")));
        assert!(Budget
            .delete(&budgets_over(&[&denied]), &rec)
            .await
            .is_err());
    }
}
