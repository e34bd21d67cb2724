//! ECR repository.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// An ECR repository; its images go with it.
pub struct Repository;

/// hashicorp/aws ecr/repository.go retries none of these (only its read
/// right after the create, for RepositoryNotFoundException; our create
/// returns what CreateRepository answered).
const CALLS: &[Call] = &[
    Call::settled("ecr:CreateRepository"),
    Call::read("ecr:DescribeRepositories"),
    Call::settled("ecr:PutImageScanningConfiguration"),
    Call::settled("ecr:DeleteRepository"),
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RepositoryInputs {
    pub name: String,
    /// Scan every pushed image for vulnerabilities.
    pub scan_on_push: bool,
}

impl Inputs for RepositoryInputs {
    const KIND: &'static str = "ecr_repository";
}

fn repo_not_found<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
    crate::aws::code_in(e, &["RepositoryNotFoundException"])
}

impl Repository {
    fn record(&self, spec_inputs: serde_json::Value, r: &aws_sdk_ecr::types::Repository) -> Record {
        Record::new(
            self.name(),
            r.repository_name().unwrap_or_default(),
            spec_inputs,
        )
        .with("arn", r.repository_arn().unwrap_or_default())
        .with("url", r.repository_uri().unwrap_or_default())
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for Repository {
    crate::engine::typed_kind!(RepositoryInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["arn", "url"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Ecr(env.ctx.arn("ecr", &format!("repository/{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["name"]
    }
    /// `id`: the repository's name (hashicorp/aws `aws_ecr_repository.id`),
    /// its ARN or its URL.
    async fn observe(
        &self,
        env: &E,
        _: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let name = match id.split_once(".dkr.ecr.") {
            // 123456789012.dkr.ecr.eu-west-1.amazonaws.com/NAME
            Some((_, host_and_name)) if !id.starts_with("arn:") => {
                host_and_name.split_once('/').map_or(id, |(_, name)| name)
            }
            _ => crate::components::subnet_groups::arn_tail(id, ":repository/"),
        };
        let probe = Record::new(self.name(), name, json!({}));
        Ok(self.read(env, &probe).await?.map(|mut r| {
            r.inputs["name"] = json!(r.id);
            r
        }))
    }
    async fn create(&self, env: &E, spec: &Spec, _: &Records) -> Result<Record, OpError> {
        use aws_sdk_ecr::types::{ImageScanningConfiguration, Tag};
        let repository: RepositoryInputs = spec.typed()?;
        let tags: Vec<Tag> = spec_tags(env, spec)
            .into_iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let o = env
            .ctx
            .ecr()
            .create_repository()
            .repository_name(&repository.name)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(repository.scan_on_push)
                    .build(),
            )
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(op("CreateRepository"))?;
        let r = o
            .repository()
            .ok_or_else(|| OpError::new("CreateRepository returned no repository"))?;
        Ok(self.record(spec.inputs.clone(), r))
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        match env
            .ctx
            .ecr()
            .describe_repositories()
            .repository_names(&rec.id)
            .send()
            .await
        {
            Ok(o) => Ok(o.repositories().first().map(|r| {
                let mut n = self.record(rec.inputs.clone(), r);
                n.inputs["scan_on_push"] = json!(r
                    .image_scanning_configuration()
                    .map(|c| c.scan_on_push())
                    .unwrap_or(false));
                n
            })),
            Err(e) if repo_not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeRepositories")(e)),
        }
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        use aws_sdk_ecr::types::ImageScanningConfiguration;
        env.ctx
            .ecr()
            .put_image_scanning_configuration()
            .repository_name(&old.id)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(spec.typed::<RepositoryInputs>()?.scan_on_push)
                    .build(),
            )
            .send()
            .await
            .map_err(op("PutImageScanningConfiguration"))?;
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        // Images go with the repository: they are the stack's build output.
        match env
            .ctx
            .ecr()
            .delete_repository()
            .repository_name(&rec.id)
            .force(true)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if repo_not_found(&e) => Ok(()),
            Err(e) => Err(op("DeleteRepository")(e)),
        }
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        let probe = Record::new(
            self.name(),
            spec.typed::<RepositoryInputs>()?.name,
            spec.inputs.clone(),
        );
        self.read(env, &probe).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked::{self, fault};
    use aws_sdk_ecr::operation::delete_repository::{
        DeleteRepositoryError, DeleteRepositoryOutput,
    };
    use aws_sdk_ecr::operation::describe_repositories::{
        DescribeRepositoriesError, DescribeRepositoriesOutput,
    };
    use aws_sdk_ecr::types::{ImageScanningConfiguration, Repository as EcrRepository};
    use aws_smithy_mocks::{mock, Rule};

    const URL: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/kavak-dev-api";

    fn ecr_over(rules: &[&Rule]) -> E {
        mocked::env_over!(ecr, aws_sdk_ecr, rules)
    }
    fn repository() -> Record {
        Record::new(
            "ecr_repository",
            "kavak-dev-api",
            json!({"name": "kavak-dev-api", "scan_on_push": true}),
        )
    }
    fn described(scan_on_push: bool) -> impl Fn() -> DescribeRepositoriesOutput + Send + Sync {
        move || {
            DescribeRepositoriesOutput::builder()
                .repositories(
                    EcrRepository::builder()
                        .repository_name("kavak-dev-api")
                        .repository_arn(
                            "arn:aws:ecr:eu-west-1:123456789012:repository/kavak-dev-api",
                        )
                        .repository_uri(URL)
                        .image_scanning_configuration(
                            ImageScanningConfiguration::builder()
                                .scan_on_push(scan_on_push)
                                .build(),
                        )
                        .build(),
                )
                .build()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn read_shows_scan_on_push_turned_off_out_of_band() {
        let d = mock!(aws_sdk_ecr::Client::describe_repositories).then_output(described(false));
        let r = Repository
            .read(&ecr_over(&[&d]), &repository())
            .await
            .unwrap()
            .expect("the repository exists");
        assert_eq!(
            r.inputs["scan_on_push"],
            json!(false),
            "drift shown, for the plan to repair"
        );
        assert_eq!(r.out("url"), URL);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_read_is_retried_and_never_taken_for_gone() {
        // Throttled twice, then answered: the SDK's retry classifier retries
        // within the client's three attempts.
        let flaky = mock!(aws_sdk_ecr::Client::describe_repositories)
            .sequence()
            .error(|| DescribeRepositoriesError::generic(fault("ThrottlingException")))
            .times(2)
            .output(described(true))
            .build();
        let r = Repository
            .read(&ecr_over(&[&flaky]), &repository())
            .await
            .unwrap();
        assert!(r.is_some(), "answered on the third attempt");
        assert_eq!(flaky.num_calls(), 3);
        // Throttled on every attempt: an error, not "gone" (which would make
        // the plan create a second repository over the first).
        let throttled = mock!(aws_sdk_ecr::Client::describe_repositories)
            .sequence()
            .error(|| DescribeRepositoriesError::generic(fault("ThrottlingException")))
            .times(3)
            .build();
        let e = Repository
            .read(&ecr_over(&[&throttled]), &repository())
            .await
            .expect_err("throttling is not absence");
        assert!(e.message.contains("DescribeRepositories"), "{}", e.message);
    }

    #[tokio::test(start_paused = true)]
    async fn delete_of_a_repository_already_gone_succeeds_and_other_errors_do_not() {
        let gone = mock!(aws_sdk_ecr::Client::delete_repository)
            .then_error(|| DeleteRepositoryError::generic(fault("RepositoryNotFoundException")));
        Repository
            .delete(&ecr_over(&[&gone]), &repository())
            .await
            .unwrap();
        let denied = mock!(aws_sdk_ecr::Client::delete_repository)
            .then_error(|| DeleteRepositoryError::generic(fault("AccessDeniedException")));
        assert!(
            Repository
                .delete(&ecr_over(&[&denied]), &repository())
                .await
                .is_err(),
            "a refused delete is not a success"
        );
        let forced = mock!(aws_sdk_ecr::Client::delete_repository)
            .match_requests(|r| {
                r.force() == Some(true) && r.repository_name() == Some("kavak-dev-api")
            })
            .then_output(|| DeleteRepositoryOutput::builder().build());
        Repository
            .delete(&ecr_over(&[&forced]), &repository())
            .await
            .unwrap();
        assert_eq!(forced.num_calls(), 1, "images go with the repository");
    }

    #[tokio::test(start_paused = true)]
    async fn observe_takes_a_name_arn_or_url_and_reports_what_the_repository_has() {
        let spec = Spec::new(
            "ecr",
            "ecr_repository",
            json!({"name": "kavak-dev-app", "scan_on_push": true}),
        );
        for id in [
            "kavak-dev-api",
            "arn:aws:ecr:eu-west-1:123456789012:repository/kavak-dev-api",
            URL,
        ] {
            let d = mock!(aws_sdk_ecr::Client::describe_repositories)
                .match_requests(|r| r.repository_names() == ["kavak-dev-api"])
                .then_output(described(false));
            let r = Repository
                .observe(&ecr_over(&[&d]), &spec, id, &Records::new())
                .await
                .unwrap()
                .expect("the repository exists");
            assert_eq!(r.id, "kavak-dev-api", "{id}");
            assert_eq!(
                r.inputs,
                json!({"name": "kavak-dev-api", "scan_on_push": false}),
                "its own name (kept) and setting, not the configuration's"
            );
            assert_eq!(
                (r.out("arn"), r.out("url")),
                (
                    "arn:aws:ecr:eu-west-1:123456789012:repository/kavak-dev-api",
                    URL
                )
            );
        }
        let missing = mock!(aws_sdk_ecr::Client::describe_repositories).then_error(|| {
            DescribeRepositoriesError::generic(fault("RepositoryNotFoundException"))
        });
        assert!(Repository
            .observe(
                &ecr_over(&[&missing]),
                &spec,
                "kavak-dev-api",
                &Records::new()
            )
            .await
            .unwrap()
            .is_none());
    }
}
