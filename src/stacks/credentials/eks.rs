//! `awsstack_eks_credentials`: what the kubernetes and helm providers need
//! to reach one region's cluster of a multi-region platform (Luneo's
//! `aws eks update-kubeconfig` before Argo CD and the load balancer
//! controller), opened at run time and never stored: the endpoint, the CA
//! and a token that EKS accepts for 15 minutes.

use super::*;

pub(super) fn resource(shared: Arc<Shared>) -> Arc<dyn EphemeralResource> {
    Arc::new(EksCredentials {
        schema: schema(),
        shared,
    })
}

fn schema() -> Schema {
    let computed = |name, description| Attribute::computed(name, Type::String, description);
    Schema {
        version: 0,
        block: Block {
            description: "Credentials for the Kubernetes API of one region's EKS cluster of a multi-region platform: its endpoint, its CA and a short-lived token (`aws eks get-token`), signed with the provider's credentials when Terraform needs them and never stored, for the `kubernetes` and `helm` providers' `host`, `cluster_ca_certificate` and `token`.",
            attributes: vec![
                Attribute::required("stack_id", Type::String, "The platform's stack id (`awsstack_multi_region_platform.<name>.id`)."),
                Attribute::optional("region", Type::String, "The region of the cluster (the platform's primary or secondary region); the provider's region when unset."),
                computed("cluster_name", "The EKS cluster's name (`<stack id>-eks-primary` or `-secondary`)."),
                computed("endpoint", "The Kubernetes API endpoint (`https://...`)."),
                computed("cluster_ca_certificate", "The cluster's CA certificate, PEM (already decoded: give it to `cluster_ca_certificate` as it is)."),
                Attribute {
                    sensitive: true,
                    ..computed("token", "A bearer token for the Kubernetes API, valid 15 minutes from its signing.")
                },
                computed("expiration", "When the token stops being accepted (RFC 3339, a minute early)."),
            ],
            blocks: vec![],
        },
    }
}

pub struct EksCredentials {
    schema: Schema,
    shared: Arc<Shared>,
}

/// The platform's cluster in `ctx`'s region: the first of its two names
/// that exists and carries the stack id.
async fn cluster_of(
    ctx: &AwsContext,
    id: &str,
) -> Result<Option<aws_sdk_eks::types::Cluster>, String> {
    for side in ["primary", "secondary"] {
        let name = format!("{id}-eks-{side}");
        let cluster = match ctx.eks().describe_cluster().name(&name).send().await {
            Ok(o) => match o.cluster {
                Some(c) => c,
                None => continue,
            },
            Err(e) if crate::aws::is_not_found(&e) => continue,
            Err(e) => {
                return Err(format!(
                    "DescribeCluster {name}: {}",
                    crate::aws::error_text(&e)
                ))
            }
        };
        let arn = cluster.arn().unwrap_or_default().to_string();
        if !crate::stacks::carries_stack_id(ctx, &TagRef::Eks(arn), id)
            .await
            .map_err(|e| e.message)?
        {
            return Err(format!("the EKS cluster {name} does not carry the stack id {id:?} in {TAG_STACK_ID}: awsstack reads only what a stack created"));
        }
        return Ok(Some(cluster));
    }
    Ok(None)
}

#[tonic::async_trait]
impl EphemeralResource for EksCredentials {
    fn type_name(&self) -> &'static str {
        "awsstack_eks_credentials"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = validate_stack_id(config);
        if let Some(r) = config.get("region").as_str() {
            if !crate::stacks::multi_region_platform::REGIONS.contains(&r) {
                d.error_at(
                    Path::attr("region"),
                    "Invalid region",
                    format!("{r:?} is not an AWS region with EKS and Aurora Global Database (e.g. eu-west-1, us-east-1)"),
                );
            }
        }
        d
    }
    async fn open(&self, config: Value) -> (Value, Diagnostics) {
        let ctx = match self.shared.context() {
            Ok(c) => c,
            Err(d) => return (Value::Null, d),
        };
        let id = config
            .get("stack_id")
            .as_str()
            .unwrap_or_default()
            .to_string();
        let region = config
            .get("region")
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| ctx.region.clone());
        let ctx = ctx.region_context(&region);
        let cluster = match cluster_of(&ctx, &id).await {
            Ok(Some(c)) => c,
            // Not there yet: a platform created in this same run. Terraform
            // takes unknown values at plan and opens the resource again at
            // apply, after the stack.
            Ok(None) => {
                let mut d = Diagnostics::default();
                d.push(
                    Diagnostic::warning(
                        "EKS credentials known after apply",
                        format!("no EKS cluster {id}-eks-primary or {id}-eks-secondary of platform {id:?} in {region} yet: if this run does not create it, check stack_id and region"),
                    )
                    .at(Path::attr("stack_id")),
                );
                let mut v = BTreeMap::from([
                    ("stack_id".to_string(), Value::str(id)),
                    ("region".to_string(), Value::str(region)),
                ]);
                for k in [
                    "cluster_name",
                    "endpoint",
                    "cluster_ca_certificate",
                    "token",
                    "expiration",
                ] {
                    v.insert(k.to_string(), Value::Unknown);
                }
                return (Value::Object(v), d);
            }
            Err(e) => return error("Cannot read the EKS cluster", e),
        };
        let name = cluster.name().unwrap_or_default().to_string();
        let ca = cluster
            .certificate_authority()
            .and_then(|c| c.data())
            .and_then(|d| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(d).ok()
            })
            .and_then(|pem| String::from_utf8(pem).ok());
        let (Some(endpoint), Some(ca)) = (cluster.endpoint(), ca) else {
            return error(
                "EKS cluster not ready",
                format!(
                    "the EKS cluster {name} has no endpoint or no base64 PEM CA yet (it is {})",
                    cluster
                        .status()
                        .map(|s| s.as_str())
                        .unwrap_or("being created")
                ),
            );
        };
        let (token, expires) = match ctx.eks_token(&name).await {
            Ok(t) => t,
            Err(e) => return error("Cannot sign an EKS token", e),
        };
        let expiration = chrono::DateTime::<chrono::Utc>::from(expires)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let v = BTreeMap::from([
            ("stack_id".to_string(), Value::str(id)),
            ("region".to_string(), Value::str(region)),
            ("cluster_name".to_string(), Value::str(name)),
            ("endpoint".to_string(), Value::str(endpoint)),
            ("cluster_ca_certificate".to_string(), Value::str(ca)),
            ("token".to_string(), Value::str(token)),
            ("expiration".to_string(), Value::str(expiration)),
        ]);
        (Value::Object(v), Diagnostics::default())
    }
}
