//! The AWS access layer's context: one region's SDK configuration and its
//! clients, built once from the provider's settings and shared (see
//! `services!`), the same account's contexts in other regions, and the
//! `Shared` slot through which the configured context reaches the stacks.

use crate::schema::{Diagnostic, Diagnostics};
#[cfg(test)]
use aws_config::BehaviorVersion;
use aws_config::Region;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};
use tokio::sync::watch;

/// What every region's clients are built from: one SDK configuration
/// (credentials, retries, one HTTP client with its connection pool and TLS
/// configuration), the endpoint overrides, and the contexts built so far.
pub struct ClientBase {
    config: aws_config::SdkConfig,
    endpoints: BTreeMap<String, String>,
    /// S3 on an emulator (any custom endpoint) needs path-style addressing.
    path_style: bool,
    regions: std::sync::Mutex<BTreeMap<String, Arc<AwsContext>>>,
}

/// The services the stacks call, each as `accessor: crate = "endpoints key"`
/// (plus how its configuration differs, if it does). Adding a service is
/// one line here and one Cargo line: the accessor, its lazily built client
/// and its `endpoints { ... }` attribute follow from this list.
macro_rules! services {
    ($( $field:ident : $krate:ident = $svc:literal $(, with $custom:expr)? ; )*) => {
        /// Services whose endpoint can be overridden in `endpoints { ... }`.
        pub const SERVICES: &[&str] = &[$($svc,)*];

        /// One client per service, built on first use: a plan that only
        /// reads EC2 builds no RDS or EKS client, in any region.
        #[derive(Default)]
        pub(crate) struct Clients {
            $( pub(crate) $field: OnceLock<$krate::Client>, )*
        }

        impl AwsContext {
            $(
                #[doc = concat!("The `", $svc, "` client of this region (built on first use).")]
                pub fn $field(&self) -> &$krate::Client {
                    self.clients.$field.get_or_init(|| {
                        let b = $krate::config::Builder::from(&self.config).interceptor(crate::aws::NameEndpointOnFailure);
                        let b = match self.base.endpoints.get($svc) {
                            Some(u) => b.endpoint_url(u),
                            None => b,
                        };
                        $( let b = ($custom)(b, &*self.base); )?
                        $krate::Client::from_conf(b.build())
                    })
                }
            )*
        }
    };
}

services! {
    budgets: aws_sdk_budgets = "budgets";
    cloudwatch: aws_sdk_cloudwatch = "cloudwatch";
    dlm: aws_sdk_dlm = "dlm";
    ec2: aws_sdk_ec2 = "ec2";
    ecr: aws_sdk_ecr = "ecr";
    ecs: aws_sdk_ecs = "ecs";
    eks: aws_sdk_eks = "eks";
    elasticache: aws_sdk_elasticache = "elasticache";
    elbv2: aws_sdk_elasticloadbalancingv2 = "elbv2";
    iam: aws_sdk_iam = "iam";
    kms: aws_sdk_kms = "kms";
    logs: aws_sdk_cloudwatchlogs = "logs";
    rds: aws_sdk_rds = "rds";
    route53: aws_sdk_route53 = "route53";
    s3: aws_sdk_s3 = "s3", with |b: aws_sdk_s3::config::Builder, base: &ClientBase| b.force_path_style(base.path_style);
    scheduler: aws_sdk_scheduler = "scheduler";
    secrets: aws_sdk_secretsmanager = "secretsmanager";
    sns: aws_sdk_sns = "sns";
    ssm: aws_sdk_ssm = "ssm";
    sts: aws_sdk_sts = "sts";
}

/// Everything a stack needs to talk to AWS in one region: the region's SDK
/// configuration and its clients (see `services!`).
pub struct AwsContext {
    pub region: String,
    pub account_id: String,
    pub default_tags: BTreeMap<String, String>,
    pub cancel: watch::Receiver<bool>,
    config: aws_config::SdkConfig,
    pub(crate) clients: Clients,
    /// The zones this region offers the account, as (name, state): read
    /// once per provider process (`network::offered_zones`), so settling a
    /// stack's zones and checking them share one DescribeAvailabilityZones.
    pub(crate) offered_zones: tokio::sync::OnceCell<Vec<(String, String)>>,
    base: Arc<ClientBase>,
}

impl ClientBase {
    /// The base of every region's clients: the SDK configuration (with its
    /// credentials, retries and HTTP client), each service's endpoint
    /// override, and whether S3 needs path-style addressing.
    pub fn new(
        config: aws_config::SdkConfig,
        endpoints: BTreeMap<String, String>,
        path_style: bool,
    ) -> Arc<ClientBase> {
        Arc::new(ClientBase {
            config,
            endpoints,
            path_style,
            regions: Default::default(),
        })
    }
    /// The endpoint override of `service`, if any.
    pub fn endpoint(&self, service: &str) -> Option<&str> {
        self.endpoints.get(service).map(String::as_str)
    }
}

impl AwsContext {
    /// The context of `region`, from the shared base configuration; its
    /// clients are built when first called.
    pub fn build(
        base: Arc<ClientBase>,
        region: &str,
        account_id: String,
        default_tags: BTreeMap<String, String>,
        cancel: watch::Receiver<bool>,
    ) -> AwsContext {
        let config = base
            .config
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        AwsContext {
            region: region.to_string(),
            account_id,
            default_tags,
            cancel,
            config,
            clients: Clients::default(),
            offered_zones: Default::default(),
            base,
        }
    }

    /// A bearer token for the Kubernetes API of the EKS cluster `cluster`
    /// (what `aws eks get-token` prints): `k8s-aws-v1.` and the base64url of
    /// an STS GetCallerIdentity URL presigned with this context's
    /// credentials, the cluster's name signed in as `x-k8s-aws-id`. EKS
    /// accepts it for 15 minutes from its signing; the expiry given is a
    /// minute earlier.
    pub async fn eks_token(
        &self,
        cluster: &str,
    ) -> Result<(String, std::time::SystemTime), String> {
        use aws_credential_types::provider::ProvideCredentials;
        use aws_sigv4::http_request::{
            sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
        };
        use base64::Engine;
        use std::time::{Duration, SystemTime};
        let provider = self
            .config
            .credentials_provider()
            .ok_or("no AWS credentials are configured")?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| format!("AWS credentials: {e}"))?;
        let identity = credentials.into();
        let now = SystemTime::now();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(60));
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("sts")
            .time(now)
            .settings(settings)
            .build()
            .map_err(|e| format!("signing parameters: {e}"))?
            .into();
        // The endpoint the STS client would call: `endpoints.sts`, then
        // AWS_ENDPOINT_URL_STS, then the global endpoint override.
        let base = self
            .base
            .endpoint("sts")
            .map(str::to_string)
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_STS").ok())
            .or_else(|| self.config.endpoint_url().map(str::to_string))
            .map(|e| e.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("https://sts.{}.amazonaws.com", self.region));
        let url = format!("{base}/?Action=GetCallerIdentity&Version=2011-06-15");
        let signable = SignableRequest::new(
            "GET",
            &url,
            [("x-k8s-aws-id", cluster)].into_iter(),
            SignableBody::Bytes(&[]),
        )
        .map_err(|e| format!("presigning GetCallerIdentity: {e}"))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| format!("presigning GetCallerIdentity: {e}"))?
            .into_parts();
        let mut request = http::Request::builder()
            .method("GET")
            .uri(&url)
            .body(())
            .map_err(|e| format!("presigning GetCallerIdentity: {e}"))?;
        instructions.apply_to_request_http1x(&mut request);
        let token = format!(
            "k8s-aws-v1.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(request.uri().to_string())
        );
        Ok((token, now + Duration::from_secs(14 * 60)))
    }

    /// This account's context in another region, built on first use and
    /// then shared (same credentials, endpoints, retries and HTTP client).
    pub fn region_context(self: Arc<Self>, region: &str) -> Arc<AwsContext> {
        if region == self.region {
            return self;
        }
        let mut cache = self.base.regions.lock().unwrap();
        cache
            .entry(region.to_string())
            .or_insert_with(|| {
                Arc::new(AwsContext::build(
                    self.base.clone(),
                    region,
                    self.account_id.clone(),
                    self.default_tags.clone(),
                    self.cancel.clone(),
                ))
            })
            .clone()
    }
}

/// Shared between the provider and its resources: set by ConfigureProvider.
#[derive(Default)]
pub struct Shared {
    ctx: RwLock<Option<Arc<AwsContext>>>,
    cancel: OnceLock<watch::Sender<bool>>,
}

impl Shared {
    pub fn context(&self) -> Result<Arc<AwsContext>, Diagnostics> {
        self.ctx.read().unwrap().clone().ok_or_else(|| {
            let mut d = Diagnostics::default();
            d.push(Diagnostic::error(
                "Provider not configured",
                "The awsstack provider was used before Terraform configured it.",
            ));
            d
        })
    }
    /// Keeps the context ConfigureProvider built.
    pub fn set_context(&self, ctx: AwsContext) {
        *self.ctx.write().unwrap() = Some(Arc::new(ctx));
    }
    /// What StopProvider signals: every context's `cancel` receives it.
    pub fn cancel_sender(&self) -> &watch::Sender<bool> {
        self.cancel.get_or_init(|| watch::channel(false).0)
    }
}

#[cfg(test)]
impl AwsContext {
    /// A context whose clients are never called (unit tests of stacks).
    pub fn offline(region: &str, account_id: &str) -> AwsContext {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(
                    aws_credential_types::Credentials::for_tests(),
                ),
            )
            .build();
        let base = ClientBase::new(config, BTreeMap::new(), false);
        AwsContext::build(
            base,
            region,
            account_id.to_string(),
            BTreeMap::new(),
            watch::channel(false).1,
        )
    }
}

/// The SDK configuration of unit tests: static credentials, one region and
/// aws-smithy-mocks' HTTP client, which never reaches a network (a call no
/// rule answers fails). Retries keep the SDK's classifiers with short
/// pauses, so a test can play throttling.
#[cfg(test)]
pub fn test_sdk_config() -> aws_config::SdkConfig {
    use aws_credential_types::{provider::SharedCredentialsProvider, Credentials};
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "AKIDTEST",
            "secret",
            None,
            None,
            "unit-test",
        )))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(std::time::Duration::from_millis(5)),
        )
        .build()
}

#[cfg(test)]
impl AwsContext {
    /// A context for a kind's unit test: every client on `test_sdk_config`;
    /// the test swaps in the mocked client of the service it plays.
    pub fn for_tests() -> AwsContext {
        let base = ClientBase::new(test_sdk_config(), BTreeMap::new(), false);
        let (tx, rx) = watch::channel(false);
        // Never cancelled: the sender lives as long as the test process.
        std::mem::forget(tx);
        AwsContext::build(
            base,
            "eu-west-1",
            "123456789012".into(),
            BTreeMap::new(),
            rx,
        )
    }
}
