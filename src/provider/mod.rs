//! The `provider "awsstack"` block → one shared AWS context (one SdkConfig,
//! every client built once), default tags, retries and cancellation. The top
//! of the house: it knows the stacks, and the AWS layer builds its context.

#[cfg(test)]
mod protocol_tests;

use crate::aws::{AwsContext, ClientBase, Shared, SERVICES};
use crate::schema::{Attribute, Block, Diagnostic, Diagnostics, NestedBlock, Nesting, Schema};
use crate::tfplugin::{DataSource, Provider, Resource};
use crate::value::{Path, Type, Value};
use aws_config::{retry::RetryConfig, BehaviorVersion, Region};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::watch;

pub struct AwsStackProvider {
    schema: Schema,
    shared: Arc<Shared>,
    resources: Vec<Arc<dyn Resource>>,
}

impl AwsStackProvider {
    pub fn new() -> Self {
        let shared = Arc::new(Shared::default());
        let resources: Vec<Arc<dyn Resource>> = crate::stacks::all(shared.clone());
        AwsStackProvider {
            schema: provider_schema(),
            shared,
            resources,
        }
    }
}

impl Default for AwsStackProvider {
    fn default() -> Self {
        Self::new()
    }
}

pub fn provider_schema() -> Schema {
    let endpoints = Block {
        description: "Custom endpoint URLs per service (e.g. a local emulator).",
        attributes: SERVICES
            .iter()
            .map(|s| Attribute::optional(s, Type::String, "Endpoint URL for this service."))
            .collect(),
        blocks: vec![],
    };
    Schema {
        version: 0,
        block: Block {
            description: "awsstack: whole AWS stacks as Terraform resources.",
            attributes: vec![
                Attribute::optional("region", Type::String, "AWS region. Defaults to `AWS_REGION`/`AWS_DEFAULT_REGION` or the profile's region."),
                Attribute::optional("profile", Type::String, "Named profile from the shared AWS config files."),
                Attribute::optional("access_key", Type::String, "Static access key id.").sensitive(),
                Attribute::optional("secret_key", Type::String, "Static secret access key.").sensitive(),
                Attribute::optional("token", Type::String, "Session token for temporary static credentials.").sensitive(),
                Attribute::optional("endpoint", Type::String, "One endpoint URL for every service (shortcut for a local emulator). `endpoints` wins per service; `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` apply when neither is set."),
                Attribute::optional("skip_credentials_validation", Type::Bool, "Skip the STS GetCallerIdentity check at configure time."),
                Attribute::optional("max_retries", Type::Number, "Maximum attempts for retryable AWS errors (throttling, 5xx). Default 10."),
            ],
            blocks: vec![
                NestedBlock {
                    name: "assume_role",
                    nesting: Nesting::Single,
                    max_items: 1,
                    block: Block {
                        description: "Role to assume with STS.",
                        attributes: vec![
                            Attribute::required("role_arn", Type::String, "ARN of the role to assume."),
                            Attribute::optional("session_name", Type::String, "Session name (default `awsstack`)."),
                            Attribute::optional("external_id", Type::String, "External id required by the role's trust policy."),
                        ],
                        blocks: vec![],
                    },
                },
                NestedBlock {
                    name: "default_tags",
                    nesting: Nesting::Single,
                    max_items: 1,
                    block: Block { description: "Tags applied to every AWS resource of every stack.", attributes: vec![Attribute::optional("tags", Type::map(Type::String), "The tags.")], blocks: vec![] },
                },
                NestedBlock { name: "endpoints", nesting: Nesting::Single, max_items: 1, block: endpoints },
            ],
        },
    }
}

fn check_url(d: &mut Diagnostics, path: Path, v: &Value) {
    if let Some(s) = v.as_str() {
        if !(s.starts_with("http://") || s.starts_with("https://")) || s.len() < 10 {
            d.error_at(
                path,
                "Invalid endpoint URL",
                format!("{s:?} is not an http(s) URL."),
            );
        }
    }
}

#[tonic::async_trait]
impl Provider for AwsStackProvider {
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        self.resources.clone()
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![]
    }
    fn actions(&self) -> Vec<Arc<dyn crate::tfplugin::Action>> {
        crate::stacks::actions::all(self.shared.clone())
    }
    fn ephemeral_resources(&self) -> Vec<Arc<dyn crate::tfplugin::EphemeralResource>> {
        crate::stacks::credentials::all(self.shared.clone())
    }

    fn validate_config(&self, c: &Value) -> Diagnostics {
        let mut d = Diagnostics::default();
        check_url(&mut d, Path::attr("endpoint"), c.get("endpoint"));
        for s in SERVICES {
            check_url(
                &mut d,
                Path::attr("endpoints").then_attr(s),
                c.get("endpoints").get(s),
            );
        }
        if let Some(n) = c.get("max_retries").as_f64() {
            if n < 0.0 || n.fract() != 0.0 || n > 100.0 {
                d.error_at(
                    Path::attr("max_retries"),
                    "Invalid max_retries",
                    "max_retries must be a whole number between 0 and 100.",
                );
            }
        }
        if c.get("access_key").as_str().is_some() != c.get("secret_key").as_str().is_some()
            && !c.get("access_key").is_unknown()
            && !c.get("secret_key").is_unknown()
        {
            d.error_at(
                Path::attr("secret_key"),
                "Incomplete static credentials",
                "Set both access_key and secret_key, or neither.",
            );
        }
        if let Some(arn) = c.get("assume_role").get("role_arn").as_str() {
            if !arn.starts_with("arn:") || arn.split(':').count() < 6 {
                d.error_at(
                    Path::attr("assume_role").then_attr("role_arn"),
                    "Invalid role ARN",
                    format!("{arn:?} is not an IAM role ARN."),
                );
            }
        }
        d
    }

    async fn configure(&self, tf_version: &str, c: Value) -> Diagnostics {
        let mut d = self.validate_config(&c);
        if d.has_errors() {
            return d;
        }
        tracing::debug!(terraform_version = tf_version, "configuring provider");
        match build_context(&c, self.shared.cancel_sender().subscribe()).await {
            Ok(ctx) => self.shared.set_context(ctx),
            Err(e) => d.push(e),
        }
        d
    }

    fn stop(&self) {
        let _ = self.shared.cancel_sender().send(true);
    }
}

async fn build_context(c: &Value, cancel: watch::Receiver<bool>) -> Result<AwsContext, Diagnostic> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(r) = c.get("region").as_str() {
        loader = loader.region(Region::new(r.to_string()));
    }
    if let Some(p) = c.get("profile").as_str() {
        loader = loader.profile_name(p);
    }
    if let (Some(ak), Some(sk)) = (c.get("access_key").as_str(), c.get("secret_key").as_str()) {
        let creds = aws_credential_types::Credentials::new(
            ak,
            sk,
            c.get("token").as_str().map(str::to_string),
            None,
            "awsstack-provider-config",
        );
        loader = loader.credentials_provider(creds);
    }
    let max_attempts = c
        .get("max_retries")
        .as_f64()
        .map(|n| n as u32 + 1)
        .unwrap_or(11);
    loader = loader.retry_config(
        RetryConfig::standard()
            .with_max_attempts(max_attempts)
            .with_initial_backoff(std::time::Duration::from_millis(200)),
    );
    // An attempt that gets no answer is abandoned and retried rather than
    // awaited forever (the SDK sets no read timeout of its own): no call
    // of the stacks takes a minute to answer.
    loader = loader.timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .operation_attempt_timeout(std::time::Duration::from_secs(60))
            .build(),
    );
    let mut config = loader.load().await;
    let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
        Diagnostic::error(
            "No AWS region",
            "Set `region` in the provider block or the AWS_REGION environment variable.",
        )
        .at(Path::attr("region"))
    })?;

    if !c.get("assume_role").is_null() {
        let ar = c.get("assume_role");
        let role = ar.get("role_arn").as_str().unwrap_or_default().to_string();
        let mut b = aws_config::sts::AssumeRoleProvider::builder(role)
            .session_name(ar.get("session_name").as_str().unwrap_or("awsstack"))
            .configure(&config);
        if let Some(x) = ar.get("external_id").as_str() {
            b = b.external_id(x);
        }
        let provider = b.build().await;
        config = config
            .into_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build();
    }

    let endpoints: BTreeMap<String, String> = SERVICES
        .iter()
        .filter_map(|svc| {
            c.get("endpoints")
                .get(svc)
                .as_str()
                .or(c.get("endpoint").as_str())
                .map(|u| (svc.to_string(), u.to_string()))
        })
        .collect();
    let path_style = endpoints.contains_key("s3")
        || std::env::var("AWS_ENDPOINT_URL").is_ok()
        || std::env::var("AWS_ENDPOINT_URL_S3").is_ok();
    let base = ClientBase::new(config, endpoints, path_style);
    let default_tags = c
        .get("default_tags")
        .get("tags")
        .as_map()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let mut ctx = AwsContext::build(base.clone(), &region, String::new(), default_tags, cancel);
    let skip = c
        .get("skip_credentials_validation")
        .as_bool()
        .unwrap_or(false);
    ctx.account_id = match ctx.sts().get_caller_identity().send().await {
        Ok(o) => o.account().unwrap_or_default().to_string(),
        Err(e) if !skip => {
            let where_ = base
                .endpoint("sts")
                .map(str::to_string)
                .or_else(|| std::env::var("AWS_ENDPOINT_URL_STS").ok())
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
                .unwrap_or_else(|| "the default STS endpoint".into());
            // A transport failure's text already names the endpoint it tried.
            let call = if crate::aws::is_unreachable(&e) {
                "STS GetCallerIdentity".to_string()
            } else {
                format!("STS GetCallerIdentity at {where_}")
            };
            return Err(Diagnostic::error(
                "Cannot validate AWS credentials",
                format!("{call} failed: {}. Check the credentials and the endpoint, or set skip_credentials_validation = true.", crate::aws::error_text(&e)),
            ));
        }
        Err(_) => String::new(),
    };
    Ok(ctx)
}

#[cfg(test)]
mod docs_tests {
    use crate::schema::docs::{check_generated as check, provider_page};

    /// docs/index.md is generated from the provider's schema.
    #[test]
    fn docs_of_the_provider_are_generated_from_its_schema() {
        let provider_example = "provider \"awsstack\" {\n  region = \"eu-west-1\"\n\n  default_tags {\n    tags = { ManagedBy = \"terraform\" }\n  }\n\n  # A local emulator (or set AWS_ENDPOINT_URL):\n  # endpoint = \"http://127.0.0.1:4566\"\n}";
        let extra = "\nCredentials come from the standard AWS chain (environment, shared files, SSO, instance role) unless `access_key`/`secret_key` or `profile` are set. `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` are honoured; `endpoints` and `endpoint` take precedence. Custom endpoints switch S3 to path-style addressing.\n";
        check(
            "docs/index.md",
            provider_page(&super::provider_schema(), provider_example, extra),
        );
    }
}
