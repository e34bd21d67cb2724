//! OIDC provider.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// The IAM OIDC provider of the `cluster` dependency's issuer, for IRSA.
/// Outputs: `arn`, `issuer_host`.
pub struct OidcProvider;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OidcProviderInputs {
    /// The cluster's name, by which the provider is found again.
    pub cluster: String,
    /// The audiences the provider's tokens may name (`sts.amazonaws.com`).
    pub client_ids: Vec<String>,
}

impl Inputs for OidcProviderInputs {
    const KIND: &'static str = "iam_oidc_provider";
}

const CLUSTER: Need = Need::one(
    "EKS cluster",
    &[<crate::components::eks::ClusterInputs as crate::engine::Inputs>::KIND],
);

/// A provider just created shows in IAM's reads a little later, and the
/// roles that trust it are refused ("Invalid principal in policy") until
/// it does: the create waits until GetOpenIDConnectProvider returns it, so
/// that its dependents start against a provider IAM knows.
const VISIBLE: Waiter =
    Waiter::new("to be visible to IAM", &[GONE], &["visible"]).poll(Duration::from_secs(2));
const CALLS: &[Call] = &[
    Call::settled("iam:CreateOpenIDConnectProvider"),
    Call::read("iam:GetOpenIDConnectProvider"),
    Call::settled("iam:AddClientIDToOpenIDConnectProvider"),
    Call::settled("iam:RemoveClientIDFromOpenIDConnectProvider"),
    Call::settled("iam:DeleteOpenIDConnectProvider"),
    Call::read("eks:DescribeCluster"),
];

/// The thumbprint of the root CA of every EKS OIDC issuer (IAM no longer
/// checks it for these, but the API still asks for one).
const EKS_OIDC_THUMBPRINT: &str = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";

impl OidcProvider {
    fn arn_for(env: &E, issuer: &str) -> String {
        format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            env.ctx.account_id,
            issuer.trim_start_matches("https://")
        )
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for OidcProvider {
    crate::engine::typed_kind!(OidcProviderInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn", "issuer_host"]
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[CLUSTER]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|_, r| TagRef::IamOidcProvider(r.id.clone()))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["cluster"]
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let provider: OidcProviderInputs = spec.typed()?;
        let issuer = CLUSTER.the(deps)?.out("oidc_issuer").to_string();
        if issuer.is_empty() {
            return Err(OpError::new(format!(
                "EKS cluster {} reports no OIDC issuer",
                provider.cluster
            )));
        }
        let tags = spec_tags(env, spec)
            .into_iter()
            .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(crate::components::bad("tag"))?;
        let o = env
            .ctx
            .iam()
            .create_open_id_connect_provider()
            .url(&issuer)
            .set_client_id_list(Some(provider.client_ids))
            .thumbprint_list(EKS_OIDC_THUMBPRINT)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(op("CreateOpenIDConnectProvider"))?;
        let arn = o
            .open_id_connect_provider_arn()
            .unwrap_or_default()
            .to_string();
        let rec = Record::new(self.name(), &arn, spec.inputs.clone())
            .with("arn", &arn)
            .with("issuer_host", issuer.trim_start_matches("https://"));
        let iam = env.ctx.iam();
        env.wait(&VISIBLE, &format!("OIDC provider {arn}"), || async {
            match iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .send()
                .await
            {
                Ok(_) => Ok(Some(("visible".to_string(), ()))),
                Err(e) if crate::aws::is_not_found(&e) => Ok(None),
                Err(e) => Err(op("GetOpenIDConnectProvider")(e)),
            }
        })
        .await
        .map_err(|e| e.partial(rec.clone()))?;
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .iam()
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&rec.id)
            .send()
            .await
        {
            Ok(o) => {
                let mut r = rec.clone();
                let mut ids: Vec<String> = o.client_id_list().to_vec();
                ids.sort();
                r.inputs["client_ids"] = json!(ids);
                Ok(Some(r))
            }
            Err(e) if crate::aws::is_not_found(&e) => Ok(None),
            Err(e) => Err(op("GetOpenIDConnectProvider")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        let want = spec.typed::<OidcProviderInputs>()?.client_ids;
        let have = old.typed::<OidcProviderInputs>()?.client_ids;
        for id in want.iter().filter(|i| !have.contains(i)) {
            env.ctx
                .iam()
                .add_client_id_to_open_id_connect_provider()
                .open_id_connect_provider_arn(&old.id)
                .client_id(id)
                .send()
                .await
                .map_err(op("AddClientIDToOpenIDConnectProvider"))?;
        }
        for id in have.iter().filter(|i| !want.contains(i)) {
            env.ctx
                .iam()
                .remove_client_id_from_open_id_connect_provider()
                .open_id_connect_provider_arn(&old.id)
                .client_id(id)
                .send()
                .await
                .map_err(op("RemoveClientIDFromOpenIDConnectProvider"))?;
        }
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        match env
            .ctx
            .iam()
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&rec.id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::aws::is_not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteOpenIDConnectProvider")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        // The provider is named by its cluster's issuer.
        let Some(c) = Cluster::describe(env, &spec.typed::<OidcProviderInputs>()?.cluster).await?
        else {
            return Ok(None);
        };
        let Some(issuer) = c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()) else {
            return Ok(None);
        };
        let arn = Self::arn_for(env, issuer);
        let probe = Record::new(self.name(), &arn, spec.inputs.clone())
            .with("arn", &arn)
            .with("issuer_host", issuer.trim_start_matches("https://"));
        self.read(env, &probe).await
    }
}
