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
    /// The provider named by its ARN: it must register the issuer of the
    /// stack's cluster (recorded or adopted before it); its audiences as
    /// IAM has them.
    async fn observe(
        &self,
        env: &E,
        _: &Spec,
        id: &str,
        deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        let o = match env
            .ctx
            .iam()
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(id)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if crate::aws::is_not_found(&e) => return Ok(None),
            Err(e) => return Err(op("GetOpenIDConnectProvider")(e)),
        };
        let host = o.url().unwrap_or_default().trim_start_matches("https://");
        let Some(cluster) = CLUSTER.maybe(deps)? else {
            return Err(OpError::new(format!(
                "it registers the issuer {host}, and the stack's cluster does not exist yet: a provider belongs to its cluster, so adopt the cluster with it"
            )));
        };
        let issuer = cluster.out("oidc_issuer").trim_start_matches("https://");
        if !host.eq_ignore_ascii_case(issuer) {
            return Err(OpError::new(format!(
                "it registers the issuer {host}, and the stack's cluster {} has {}",
                cluster.id,
                if issuer.is_empty() { "none" } else { issuer }
            )));
        }
        let mut client_ids = o.client_id_list().to_vec();
        client_ids.sort();
        let inputs = json!({"cluster": cluster.id, "client_ids": client_ids});
        Ok(Some(
            Record::new(self.name(), id, inputs)
                .with("arn", id)
                .with("issuer_host", issuer),
        ))
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

/// The OIDC provider against aws-smithy-mocks: what it registers, the wait
/// until IAM shows it (its propagation), its client ids kept in step, and
/// a read of a provider gone.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use crate::engine::TAG_COMPONENT;
    use aws_sdk_iam::operation::add_client_id_to_open_id_connect_provider::AddClientIdToOpenIdConnectProviderOutput;
    use aws_sdk_iam::operation::create_open_id_connect_provider::{
        CreateOpenIDConnectProviderError, CreateOpenIdConnectProviderOutput,
    };
    use aws_sdk_iam::operation::delete_open_id_connect_provider::{
        DeleteOpenIDConnectProviderError, DeleteOpenIdConnectProviderOutput,
    };
    use aws_sdk_iam::operation::get_open_id_connect_provider::{
        GetOpenIDConnectProviderError, GetOpenIdConnectProviderOutput,
    };
    use aws_sdk_iam::operation::remove_client_id_from_open_id_connect_provider::RemoveClientIdFromOpenIdConnectProviderOutput;
    use aws_sdk_iam::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    const ISSUER: &str = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC";
    const HOST: &str = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";
    const ARN: &str =
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC";

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(iam, aws_sdk_iam, rules)
    }

    fn said(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    fn no_such_entity() -> ErrorMetadata {
        said(
            "NoSuchEntity",
            "OpenIDConnect provider not found for arn arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        )
    }

    fn inputs(client_ids: &[&str]) -> OidcProviderInputs {
        OidcProviderInputs {
            cluster: "luneo-prod-eks-primary".into(),
            client_ids: client_ids.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn spec() -> Spec {
        Spec::of("eks.oidc", &inputs(&["sts.amazonaws.com"]))
    }

    /// The cluster, with the issuer its create recorded (`issuer`).
    fn deps(issuer: &str) -> Records {
        Records::from([(
            "eks".to_string(),
            Record::new("eks_cluster", "luneo-prod-eks-primary", json!({}))
                .with("oidc_issuer", issuer),
        )])
    }

    fn record(client_ids: &[&str]) -> Record {
        Record::new("iam_oidc_provider", ARN, json!(inputs(client_ids)))
            .with("arn", ARN)
            .with("issuer_host", HOST)
    }

    fn registered() -> Rule {
        mock!(Client::create_open_id_connect_provider).then_output(|| {
            CreateOpenIdConnectProviderOutput::builder()
                .open_id_connect_provider_arn(ARN)
                .build()
        })
    }

    fn provider(client_ids: &[&str]) -> GetOpenIdConnectProviderOutput {
        GetOpenIdConnectProviderOutput::builder()
            .url(HOST)
            .set_client_id_list(Some(client_ids.iter().map(|c| c.to_string()).collect()))
            .build()
    }

    /// Adoption: the provider of the stack's cluster's issuer, its
    /// audiences as IAM has them (sorted), its cluster the one whose
    /// issuer it registers; the outputs as create records them. One of
    /// another issuer, or before its cluster exists, is refused.
    #[tokio::test(start_paused = true)]
    async fn observe_takes_only_the_provider_of_the_stacks_cluster() {
        let get = || {
            mock!(Client::get_open_id_connect_provider)
                .match_requests(|r| r.open_id_connect_provider_arn() == Some(ARN))
                .then_output(|| provider(&["team-app", "sts.amazonaws.com"]))
        };
        let mut spec = spec();
        spec.inputs["cluster"] = json!("luneo-prod-eks-secondary");
        let found = get();
        let r = OidcProvider
            .observe(&env_over(&[&found]), &spec, ARN, &deps(ISSUER))
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, ARN);
        assert_eq!(
            r.inputs,
            json!({"cluster": "luneo-prod-eks-primary", "client_ids": ["sts.amazonaws.com", "team-app"]}),
            "the cluster whose issuer it registers, not the configuration's"
        );
        assert_eq!((r.out("arn"), r.out("issuer_host")), (ARN, HOST));
        assert!(r.typed::<OidcProviderInputs>().is_ok());

        let other = get();
        let e = OidcProvider
            .observe(
                &env_over(&[&other]),
                &spec,
                ARN,
                &deps("https://oidc.eks.eu-west-1.amazonaws.com/id/XYZ"),
            )
            .await
            .unwrap_err();
        assert!(
            e.message
                .contains(&format!("it registers the issuer {HOST}"))
                && e.message.contains("id/XYZ"),
            "{}",
            e.message
        );
        let early = get();
        let e = OidcProvider
            .observe(&env_over(&[&early]), &spec, ARN, &Records::new())
            .await
            .unwrap_err();
        assert!(e.message.contains("does not exist yet"), "{}", e.message);
        let gone = mock!(Client::get_open_id_connect_provider)
            .then_error(|| GetOpenIDConnectProviderError::generic(no_such_entity()));
        assert!(OidcProvider
            .observe(&env_over(&[&gone]), &spec, ARN, &deps(ISSUER))
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn create_registers_the_clusters_issuer_and_waits_until_iam_shows_it() {
        let create = mock!(Client::create_open_id_connect_provider)
            .match_requests(|r| {
                r.url() == Some(ISSUER)
                    && r.client_id_list() == ["sts.amazonaws.com"]
                    && r.thumbprint_list() == [EKS_OIDC_THUMBPRINT]
                    && r.tags()
                        .iter()
                        .any(|t| t.key() == TAG_COMPONENT && t.value() == "eks.oidc")
            })
            .then_output(|| {
                CreateOpenIdConnectProviderOutput::builder()
                    .open_id_connect_provider_arn(ARN)
                    .build()
            });
        // Not yet in IAM's reads, then there.
        let get = mock!(Client::get_open_id_connect_provider)
            .match_requests(|r| r.open_id_connect_provider_arn() == Some(ARN))
            .sequence()
            .error(|| GetOpenIDConnectProviderError::generic(no_such_entity()))
            .output(|| provider(&["sts.amazonaws.com"]))
            .build();
        let rec = OidcProvider
            .create(&env_over(&[&create, &get]), &spec(), &deps(ISSUER))
            .await
            .unwrap();
        assert_eq!(create.num_calls(), 1);
        assert_eq!(get.num_calls(), 2, "waited until IAM showed it");
        assert_eq!(rec.kind, "iam_oidc_provider");
        assert_eq!(rec.id, ARN);
        assert_eq!(rec.out("arn"), ARN);
        assert_eq!(rec.out("issuer_host"), HOST);
    }

    /// Every call is settled (none declared "not yet"): a refused create is
    /// final after one call; what is retried is the wait for IAM to show
    /// the provider (NoSuchEntity, the GONE of `VISIBLE`), and any other
    /// error of that wait ends it at once, the provider recorded.
    #[tokio::test(start_paused = true)]
    async fn a_refused_create_is_final_and_only_not_found_is_waited_out() {
        assert!(
            CALLS.iter().all(|c| c.not_yet.is_empty()),
            "a call now declares a \"not yet\": test that it is retried"
        );
        // No GetOpenIDConnectProvider rule: a wait would fail the test.
        let create = mock!(Client::create_open_id_connect_provider).then_error(|| {
            CreateOpenIDConnectProviderError::generic(said(
                "EntityAlreadyExists",
                "Provider with url https://oidc.eks.eu-west-1.amazonaws.com/id/ABC already exists.",
            ))
        });
        let e = OidcProvider
            .create(&env_over(&[&create]), &spec(), &deps(ISSUER))
            .await
            .unwrap_err();
        assert_eq!(create.num_calls(), 1, "not retried");
        assert!(
            e.message
                .starts_with("CreateOpenIDConnectProvider: EntityAlreadyExists")
                && e.partial.is_none(),
            "{}",
            e.message
        );

        let (create, get) = (
            registered(),
            mock!(Client::get_open_id_connect_provider).then_error(|| {
                GetOpenIDConnectProviderError::generic(said(
                    "AccessDenied",
                    "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: iam:GetOpenIDConnectProvider",
                ))
            }),
        );
        let e = OidcProvider
            .create(&env_over(&[&create, &get]), &spec(), &deps(ISSUER))
            .await
            .unwrap_err();
        assert_eq!(get.num_calls(), 1, "an access error is not waited out");
        assert!(
            e.message
                .starts_with("GetOpenIDConnectProvider: permission denied"),
            "{}",
            e.message
        );
        assert_eq!(
            e.partial.map(|r| r.id).as_deref(),
            Some(ARN),
            "recorded, so that the next apply or destroy finds it"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cluster_without_an_issuer_is_an_error_before_any_call() {
        // No rule: any call would fail the test.
        let e = OidcProvider
            .create(&env_over(&[]), &spec(), &deps(""))
            .await
            .unwrap_err();
        assert!(
            e.message
                .contains("EKS cluster luneo-prod-eks-primary reports no OIDC issuer"),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_provider_gone_reads_as_none_and_one_there_reads_its_client_ids() {
        let gone = mock!(Client::get_open_id_connect_provider)
            .match_requests(|r| r.open_id_connect_provider_arn() == Some(ARN))
            .then_error(|| GetOpenIDConnectProviderError::generic(no_such_entity()));
        assert!(OidcProvider
            .read(&env_over(&[&gone]), &record(&["sts.amazonaws.com"]))
            .await
            .unwrap()
            .is_none());
        assert_eq!(gone.num_calls(), 1);

        // A client id added out of band is drift, in a stable order.
        let there = mock!(Client::get_open_id_connect_provider)
            .then_output(|| provider(&["sts.amazonaws.com", "argo"]));
        let r = OidcProvider
            .read(&env_over(&[&there]), &record(&["sts.amazonaws.com"]))
            .await
            .unwrap()
            .expect("the provider exists");
        assert_eq!(r.inputs["client_ids"], json!(["argo", "sts.amazonaws.com"]));
        assert_eq!(r.id, ARN);

        let refused = mock!(Client::get_open_id_connect_provider).then_error(|| {
            GetOpenIDConnectProviderError::generic(said(
                "InvalidInput",
                "ARN arn:aws:iam::123456789012:oidc-provider/x is not valid.",
            ))
        });
        let e = OidcProvider
            .read(&env_over(&[&refused]), &record(&["sts.amazonaws.com"]))
            .await
            .unwrap_err();
        assert!(
            e.message.starts_with("GetOpenIDConnectProvider: "),
            "{}",
            e.message
        );
    }

    #[tokio::test(start_paused = true)]
    async fn update_adds_and_removes_only_the_client_ids_that_differ() {
        let add = mock!(Client::add_client_id_to_open_id_connect_provider)
            .match_requests(|r| {
                r.open_id_connect_provider_arn() == Some(ARN) && r.client_id() == Some("argo")
            })
            .then_output(|| AddClientIdToOpenIdConnectProviderOutput::builder().build());
        let remove = mock!(Client::remove_client_id_from_open_id_connect_provider)
            .match_requests(|r| {
                r.open_id_connect_provider_arn() == Some(ARN) && r.client_id() == Some("legacy")
            })
            .then_output(|| RemoveClientIdFromOpenIdConnectProviderOutput::builder().build());
        let want = Spec::of("eks.oidc", &inputs(&["sts.amazonaws.com", "argo"]));
        let rec = OidcProvider
            .update(
                &env_over(&[&add, &remove]),
                &want,
                &record(&["sts.amazonaws.com", "legacy"]),
                &deps(ISSUER),
            )
            .await
            .unwrap();
        assert_eq!((add.num_calls(), remove.num_calls()), (1, 1));
        assert_eq!(rec.inputs, want.inputs);
        assert_eq!(rec.out("arn"), ARN);
    }

    #[tokio::test(start_paused = true)]
    async fn find_looks_the_provider_up_by_its_clusters_issuer() {
        use aws_sdk_eks::operation::describe_cluster::DescribeClusterOutput;
        use aws_sdk_eks::types::{Cluster as EksCluster, Identity, Oidc};
        let cluster = mock!(aws_sdk_eks::Client::describe_cluster)
            .match_requests(|r| r.name() == Some("luneo-prod-eks-primary"))
            .then_output(|| {
                DescribeClusterOutput::builder()
                    .cluster(
                        EksCluster::builder()
                            .name("luneo-prod-eks-primary")
                            .identity(
                                Identity::builder()
                                    .oidc(Oidc::builder().issuer(ISSUER).build())
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let get = mock!(Client::get_open_id_connect_provider)
            .match_requests(|r| r.open_id_connect_provider_arn() == Some(ARN))
            .then_output(|| provider(&["sts.amazonaws.com"]));
        let mut ctx = AwsContext::for_tests();
        ctx.clients.eks = std::sync::OnceLock::from(mocked::client!(aws_sdk_eks, &[&cluster]));
        ctx.clients.iam = std::sync::OnceLock::from(mocked::client!(aws_sdk_iam, &[&get]));
        let found = OidcProvider
            .find(&mocked::env(ctx, Duration::from_secs(60)), &spec())
            .await
            .unwrap()
            .expect("found by the issuer");
        assert_eq!(found.id, ARN);
        assert_eq!(found.out("issuer_host"), HOST);
    }

    #[tokio::test(start_paused = true)]
    async fn deleting_a_provider_already_gone_succeeds() {
        let delete = mock!(Client::delete_open_id_connect_provider)
            .match_requests(|r| r.open_id_connect_provider_arn() == Some(ARN))
            .then_error(|| DeleteOpenIDConnectProviderError::generic(no_such_entity()));
        OidcProvider
            .delete(&env_over(&[&delete]), &record(&["sts.amazonaws.com"]))
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 1);
        let deleted = mock!(Client::delete_open_id_connect_provider)
            .then_output(|| DeleteOpenIdConnectProviderOutput::builder().build());
        OidcProvider
            .delete(&env_over(&[&deleted]), &record(&["sts.amazonaws.com"]))
            .await
            .unwrap();
        assert_eq!(deleted.num_calls(), 1);
    }
}
