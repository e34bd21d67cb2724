//! RDS instance.

use super::*;
use crate::engine::Inputs;
use serde::{Deserialize, Serialize};

/// A PostgreSQL instance in its `rds_subnet_group` dependency with the `sg*`
/// dependency, its master password read from the `secret*` dependency.
pub struct DbInstance;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DbInstanceInputs {
    pub identifier: String,
    pub engine: String,
    pub engine_version: String,
    pub instance_class: String,
    /// GiB of gp3 at create, and the autoscaling ceiling.
    pub allocated_storage: i64,
    pub max_allocated_storage: i64,
    pub db_name: String,
    pub username: String,
    /// The subnet group's name (its dependency is what the calls use):
    /// a change of group replaces the database.
    pub subnet_group: String,
    pub backup_retention_days: i64,
    pub multi_az: bool,
    pub deletion_protection: bool,
    /// Always false (read back, so a database made public out of band is
    /// drift).
    pub publicly_accessible: bool,
    /// Destroy keeps a final snapshot.
    pub final_snapshot: bool,
}

impl Inputs for DbInstanceInputs {
    const KIND: &'static str = "rds_instance";
}

const DB_SUBNET_GROUP: Need = Need::one(
    "DB subnet group",
    &[<crate::components::rds::DbSubnetGroupInputs as crate::engine::Inputs>::KIND],
);

/// A database whose last storage change is still being optimized refuses
/// another storage change until the optimization ends. Shared with the
/// Aurora instance (one declaration per action).
pub const MODIFY_DB_INSTANCE: Call = Call::retrying(
    "rds:ModifyDBInstance",
    std::time::Duration::from_secs(80 * 60),
    &[NotYet::message(
        "InvalidParameterCombination",
        "previous storage change is being optimized",
        "You can't currently modify the storage of this DB instance because the previous storage change is being optimized.",
    )],
)
.why("hashicorp/aws rds/instance.go dbInstanceModify: InvalidParameterCombination 'previous storage change is being optimized' retried for the update timeout (80 minutes for a database); its IAM-role and InvalidDBClusterStateFault retries are left out: no kind passes a role, and an Aurora member's changes wait for its cluster to be available");
/// The last instance of a global database's primary cluster cannot go while
/// a secondary cluster is still attached: the delete waits for the
/// secondary's detach (the writer component's delete). Shared with the
/// standalone database (one declaration per action), which never meets it.
pub const DELETE_DB_INSTANCE: Call = Call::retrying(
    "rds:DeleteDBInstance",
    std::time::Duration::from_secs(90 * 60),
    &[NotYet::message(
        "InvalidDBClusterStateFault",
        "Delete the replica cluster before deleting",
        "Cannot delete the last instance of the master cluster. Delete the replica cluster before deleting the last master cluster instance.",
    )],
)
.why("hashicorp/aws rds/cluster_instance.go resourceClusterInstanceDelete: InvalidDBClusterStateFault 'Delete the replica cluster before deleting' retried for the delete timeout (90 minutes)");
const CALLS: &[Call] = &[
    Call::read("secretsmanager:GetSecretValue"),
    Call::settled("rds:CreateDBInstance"),
    Call::read("rds:DescribeDBInstances"),
    MODIFY_DB_INSTANCE,
    DELETE_DB_INSTANCE,
];

fn db_not_found<Er: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    e: &aws_smithy_runtime_api::client::result::SdkError<Er, R>,
) -> bool {
    crate::aws::code_in(e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"])
}

/// The states a database passes through while it is made or changed
/// (terraform-provider-aws's list); any other (`failed`,
/// `incompatible-network`, `storage-full`...) ends the wait with an error.
const DB_BUSY: &[&str] = &[
    "backing-up",
    "configuring-enhanced-monitoring",
    "configuring-iam-database-auth",
    "configuring-log-exports",
    "creating",
    "maintenance",
    "modifying",
    "moving-to-vpc",
    "rebooting",
    "renaming",
    "resetting-master-credentials",
    "starting",
    "storage-config-upgrade",
    "storage-initializing",
    "storage-optimization",
    "upgrading",
    GONE,
];
const DB_AVAILABLE: Waiter = Waiter::new("to be available", DB_BUSY, &["available"])
    .poll(std::time::Duration::from_secs(15));
const DB_DELETED: Waiter = Waiter::new(
    "to be deleted",
    &[
        "available",
        "backing-up",
        "creating",
        "deleting",
        "modifying",
        "rebooting",
        "starting",
        "stopped",
        "stopping",
        "storage-optimization",
        "upgrading",
    ],
    &[GONE],
)
.poll(std::time::Duration::from_secs(15));

impl DbInstance {
    async fn state(
        env: &E,
        id: &str,
    ) -> Result<Option<(String, aws_sdk_rds::types::DbInstance)>, OpError> {
        Ok(Self::describe(env, id)
            .await?
            .map(|d| (d.db_instance_status().unwrap_or_default().to_string(), d)))
    }

    pub(crate) async fn describe(
        env: &E,
        id: &str,
    ) -> Result<Option<aws_sdk_rds::types::DbInstance>, OpError> {
        match env
            .ctx
            .rds()
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(o) => Ok(o.db_instances().first().cloned()),
            Err(e) if db_not_found(&e) => Ok(None),
            Err(e) => Err(op("DescribeDBInstances")(e)),
        }
    }

    fn observed(&self, inputs: &Json, d: &aws_sdk_rds::types::DbInstance) -> Record {
        let mut inputs = inputs.clone();
        inputs["engine_version"] = json!(d.engine_version());
        inputs["instance_class"] = json!(d.db_instance_class());
        inputs["allocated_storage"] = json!(d.allocated_storage());
        inputs["backup_retention_days"] = json!(d.backup_retention_period());
        inputs["multi_az"] = json!(d.multi_az());
        inputs["deletion_protection"] = json!(d.deletion_protection());
        inputs["publicly_accessible"] = json!(d.publicly_accessible());
        let ep = d.endpoint();
        Record::new(
            self.name(),
            d.db_instance_identifier().unwrap_or_default(),
            inputs,
        )
        .with("arn", d.db_instance_arn().unwrap_or_default())
        .with("address", ep.and_then(|e| e.address()).unwrap_or_default())
        .with(
            "port",
            ep.and_then(|e| e.port()).unwrap_or(5432).to_string(),
        )
    }

    async fn wait_available(&self, env: &E, id: &str, inputs: &Json) -> Result<Record, OpError> {
        let d = env
            .wait(&DB_AVAILABLE, &format!("database {id}"), || {
                Self::state(env, id)
            })
            .await?;
        d.map(|d| self.observed(inputs, &d))
            .ok_or_else(|| OpError::new(format!("database {id} vanished")))
    }

    /// The database an adoption names: by its identifier or ARN, or by its
    /// resource id (`db-` and upper-case letters, which no identifier has).
    async fn lookup(env: &E, id: &str) -> Result<Option<aws_sdk_rds::types::DbInstance>, OpError> {
        let resource_id = id.starts_with("db-") && id.chars().any(|c| c.is_ascii_uppercase());
        if !resource_id {
            return Self::describe(env, arn_tail(id, ":db:")).await;
        }
        let o = env
            .ctx
            .rds()
            .describe_db_instances()
            .filters(
                aws_sdk_rds::types::Filter::builder()
                    .name("dbi-resource-id")
                    .values(id)
                    .build(),
            )
            .send()
            .await
            .map_err(op("DescribeDBInstances"))?;
        Ok(o.db_instances()
            .iter()
            .find(|d| d.dbi_resource_id() == Some(id))
            .cloned())
    }

    async fn master_password(env: &E, deps: &Records) -> Result<String, OpError> {
        let secret = crate::components::need::SECRET.the(deps)?.id.clone();
        let o = env
            .ctx
            .secrets()
            .get_secret_value()
            .secret_id(&secret)
            .send()
            .await
            .map_err(op("GetSecretValue"))?;
        let v: Json =
            serde_json::from_str(o.secret_string().unwrap_or_default()).unwrap_or(Json::Null);
        v["password"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| OpError::new("the database secret has no password"))
    }
}

#[tonic::async_trait]
impl Kind<AwsContext> for DbInstance {
    crate::engine::typed_kind!(DbInstanceInputs);
    fn outputs(&self) -> &'static [&'static str] {
        &["address", "arn", "port"]
    }
    fn calls(&self) -> &'static [Call] {
        CALLS
    }
    fn needs(&self) -> &'static [crate::engine::Need] {
        &[
            crate::components::need::SECRET,
            DB_SUBNET_GROUP,
            crate::components::need::SECURITY_GROUPS,
        ]
    }
    fn timeouts(&self) -> Timeouts {
        // terraform-provider-aws's defaults: a Multi-AZ change or a final
        // snapshot takes long.
        Timeouts::minutes(40, 80, 60)
    }
    fn tagging(&self) -> Tagging {
        Some(|env, r| TagRef::Rds(env.ctx.arn("rds", &format!("db:{}", r.id))))
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        &[
            "identifier",
            "engine",
            "db_name",
            "username",
            "subnet_group",
        ]
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        &["identifier"]
    }
    /// `id`: the identifier (hashicorp/aws 3.39 `aws_db_instance.id`), the
    /// ARN, or the resource id (`db-…`, the `id` of later versions). Its
    /// storage must be encrypted: the stack creates encrypted databases,
    /// and an instance's storage cannot be encrypted in place.
    async fn observe(
        &self,
        env: &E,
        spec: &Spec,
        id: &str,
        _: &Records,
    ) -> Result<Option<Record>, OpError> {
        let Some(d) = Self::lookup(env, id)
            .await?
            .filter(|d| d.db_instance_status() != Some("deleting"))
        else {
            return Ok(None);
        };
        if d.storage_encrypted() != Some(true) {
            return Err(OpError::new(
                "its storage is not encrypted, and the stack's database is: storage cannot be encrypted in place (restore an encrypted copy of a snapshot, then adopt that database)",
            ));
        }
        // Whether a destroy keeps a final snapshot is decided at the
        // delete, from the record: AWS holds nothing of it before.
        let inputs = json!({"final_snapshot": spec.inputs["final_snapshot"]});
        let mut r = self.observed(&inputs, &d);
        r.inputs["identifier"] = json!(d.db_instance_identifier());
        r.inputs["engine"] = json!(d.engine());
        r.inputs["db_name"] = json!(d.db_name());
        r.inputs["username"] = json!(d.master_username());
        r.inputs["subnet_group"] =
            json!(d.db_subnet_group().and_then(|g| g.db_subnet_group_name()));
        // Without autoscaling AWS shows no ceiling: the storage is its own.
        r.inputs["max_allocated_storage"] =
            json!(d.max_allocated_storage().or(d.allocated_storage()));
        Ok(Some(r))
    }
    async fn create(&self, env: &E, spec: &Spec, deps: &Records) -> Result<Record, OpError> {
        let db: DbInstanceInputs = spec.typed()?;
        let password = Self::master_password(env, deps).await?;
        let id = &db.identifier;
        env.ctx
            .rds()
            .create_db_instance()
            .db_instance_identifier(id)
            .engine(&db.engine)
            .engine_version(&db.engine_version)
            .db_instance_class(&db.instance_class)
            .allocated_storage(db.allocated_storage as i32)
            .max_allocated_storage(db.max_allocated_storage as i32)
            .storage_type("gp3")
            .storage_encrypted(true)
            .db_name(&db.db_name)
            .master_username(&db.username)
            .master_user_password(password)
            .db_subnet_group_name(&DB_SUBNET_GROUP.the(deps)?.id)
            .set_vpc_security_group_ids(Some(sg_ids(deps)))
            .publicly_accessible(false)
            .backup_retention_period(db.backup_retention_days as i32)
            .multi_az(db.multi_az)
            .deletion_protection(db.deletion_protection)
            .copy_tags_to_snapshot(true)
            .set_tags(Some(rds_tags(env, spec)))
            .send()
            .await
            .map_err(op("CreateDBInstance"))?;
        let partial = Record::new(self.name(), id, spec.inputs.clone());
        let mut rec = self
            .wait_available(env, id, &spec.inputs)
            .await
            .map_err(|e| e.partial(partial))?;
        rec.inputs = spec.inputs.clone();
        Ok(rec)
    }
    async fn read(&self, env: &E, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Self::describe(env, &rec.id)
            .await?
            .filter(|d| d.db_instance_status() != Some("deleting"))
            .map(|d| self.observed(&rec.inputs, &d)))
    }
    async fn update(
        &self,
        env: &E,
        spec: &Spec,
        old: &Record,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let db: DbInstanceInputs = spec.typed()?;
        // Changed is what differs from the record (read back from AWS).
        let (o, i) = (&old.inputs, &spec.inputs);
        let mut req = env
            .ctx
            .rds()
            .modify_db_instance()
            .db_instance_identifier(&old.id)
            .apply_immediately(true);
        if i["engine_version"] != o["engine_version"] {
            req = req
                .engine_version(&db.engine_version)
                .allow_major_version_upgrade(true);
        }
        if i["instance_class"] != o["instance_class"] {
            req = req.db_instance_class(&db.instance_class);
        }
        if i["allocated_storage"] != o["allocated_storage"] {
            req = req.allocated_storage(db.allocated_storage as i32);
        }
        req = req
            .max_allocated_storage(db.max_allocated_storage as i32)
            .backup_retention_period(db.backup_retention_days as i32)
            .multi_az(db.multi_az)
            .deletion_protection(db.deletion_protection)
            .publicly_accessible(false)
            .set_vpc_security_group_ids(Some(sg_ids(deps)));
        env.call(&MODIFY_DB_INSTANCE, || req.clone().send())
            .await
            .map_err(failed)?;
        let mut rec = self.wait_available(env, &old.id, &spec.inputs).await?;
        rec.inputs = spec.inputs.clone();
        Ok(rec)
    }
    async fn delete(&self, env: &E, rec: &Record) -> Result<(), OpError> {
        let mut req = env
            .ctx
            .rds()
            .delete_db_instance()
            .db_instance_identifier(&rec.id);
        req = if rec.typed::<DbInstanceInputs>()?.final_snapshot {
            req.skip_final_snapshot(false)
                .final_db_snapshot_identifier(final_snapshot_id(rec))
                .delete_automated_backups(false)
        } else {
            req.skip_final_snapshot(true).delete_automated_backups(true)
        };
        match env.call(&DELETE_DB_INSTANCE, || req.clone().send()).await {
            Ok(_) => {}
            Err(e) if db_not_found(&e.error) => return Ok(()),
            Err(e) if crate::aws::code_in(&e.error, &["InvalidDBInstanceState"]) => {}
            Err(e) => return Err(failed(e)),
        }
        env.wait(&DB_DELETED, &format!("database {}", rec.id), || {
            Self::state(env, &rec.id)
        })
        .await
        .map(|_| ())
    }
    async fn find(&self, env: &E, spec: &Spec) -> Result<Option<Record>, OpError> {
        Ok(
            Self::describe(env, &spec.typed::<DbInstanceInputs>()?.identifier)
                .await?
                .filter(|d| d.db_instance_status() != Some("deleting"))
                .map(|d| {
                    let mut r = self.observed(&spec.inputs, &d);
                    r.inputs["final_snapshot"] = spec.inputs["final_snapshot"].clone();
                    r
                }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::mocked;
    use aws_sdk_rds::operation::delete_db_instance::DeleteDbInstanceOutput;
    use aws_sdk_rds::operation::describe_db_instances::{
        DescribeDBInstancesError, DescribeDbInstancesOutput,
    };
    use aws_sdk_rds::types::DbInstance as RdsInstance;
    use aws_sdk_rds::Client;
    use aws_smithy_mocks::{mock, Rule};
    use aws_smithy_types::error::ErrorMetadata;

    fn env_over(rules: &[&Rule]) -> E {
        mocked::env_over!(rds, aws_sdk_rds, rules)
    }

    fn inputs(final_snapshot: bool) -> DbInstanceInputs {
        DbInstanceInputs {
            identifier: "kavak-agent-prod-db".into(),
            engine: "postgres".into(),
            engine_version: "16.3".into(),
            instance_class: "db.t4g.micro".into(),
            allocated_storage: 20,
            max_allocated_storage: 100,
            db_name: "app".into(),
            username: "app".into(),
            subnet_group: "kavak-agent-prod-db".into(),
            backup_retention_days: 7,
            multi_az: true,
            deletion_protection: false,
            publicly_accessible: false,
            final_snapshot,
        }
    }

    fn database(final_snapshot: bool) -> Record {
        Record::new(
            "rds_instance",
            "kavak-agent-prod-db",
            json!(inputs(final_snapshot)),
        )
    }

    fn gone() -> Rule {
        mock!(Client::describe_db_instances).then_error(|| {
            DescribeDBInstancesError::generic(
                ErrorMetadata::builder()
                    .code("DBInstanceNotFound")
                    .message("DBInstance kavak-agent-prod-db not found.")
                    .build(),
            )
        })
    }

    #[tokio::test(start_paused = true)]
    async fn production_keeps_a_final_snapshot_and_its_backups() {
        let delete = mock!(Client::delete_db_instance)
            .match_requests(|r| {
                r.skip_final_snapshot() == Some(false)
                    && r.final_db_snapshot_identifier()
                        .is_some_and(|s| s.starts_with("kavak-agent-prod-db-final-"))
                    && r.delete_automated_backups() == Some(false)
            })
            .then_output(|| DeleteDbInstanceOutput::builder().build());
        let gone = gone();
        DbInstance
            .delete(&env_over(&[&delete, &gone]), &database(true))
            .await
            .unwrap();
        assert_eq!(
            (delete.num_calls(), gone.num_calls()),
            (1, 1),
            "deleted with a snapshot, then waited for until gone"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_that_does_not_read_is_never_deleted_without_its_snapshot() {
        // Without its final_snapshot field the record cannot say whether
        // the data is to be kept: an error, and nothing deleted.
        let delete = mock!(Client::delete_db_instance)
            .then_output(|| DeleteDbInstanceOutput::builder().build());
        let old = Record::new(
            "rds_instance",
            "kavak-agent-prod-db",
            json!({"identifier": "kavak-agent-prod-db"}),
        );
        let err = DbInstance
            .delete(&env_over(&[&delete]), &old)
            .await
            .unwrap_err();
        assert!(
            err.message.contains("do not read as a rds_instance"),
            "{}",
            err.message
        );
        assert_eq!(delete.num_calls(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn ephemeral_deletes_without_a_snapshot() {
        let delete = mock!(Client::delete_db_instance)
            .match_requests(|r| {
                r.skip_final_snapshot() == Some(true) && r.final_db_snapshot_identifier().is_none()
            })
            .then_output(|| DeleteDbInstanceOutput::builder().build());
        let gone = gone();
        DbInstance
            .delete(&env_over(&[&delete, &gone]), &database(false))
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_database_being_deleted_is_not_taken_for_the_stacks() {
        // A namesake on its way out (an earlier stack's) is not adopted as
        // this stack's database.
        let deleting = mock!(Client::describe_db_instances).then_output(|| {
            DescribeDbInstancesOutput::builder()
                .db_instances(
                    RdsInstance::builder()
                        .db_instance_identifier("kavak-agent-prod-db")
                        .db_instance_status("deleting")
                        .build(),
                )
                .build()
        });
        let spec = Spec::of("db", &inputs(true));
        assert!(DbInstance
            .find(&env_over(&[&deleting]), &spec)
            .await
            .unwrap()
            .is_none());
        assert_eq!(deleting.num_calls(), 1);
    }

    fn said(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    #[tokio::test(start_paused = true)]
    async fn a_storage_change_still_optimizing_or_a_replica_still_attached_is_retried_and_any_other_error_is_final(
    ) {
        use aws_sdk_rds::operation::delete_db_instance::DeleteDBInstanceError;
        use aws_sdk_rds::operation::modify_db_instance::{
            ModifyDBInstanceError, ModifyDbInstanceOutput,
        };
        let mut grown = inputs(true);
        grown.allocated_storage = 40;
        let spec = Spec::of("db", &grown);
        let (old, deps) = (database(true), Records::default());

        // ModifyDBInstance: the previous storage change still optimizing.
        let optimizing = MODIFY_DB_INSTANCE.not_yet[0];
        let modify = mock!(Client::modify_db_instance)
            .match_requests(|r| r.allocated_storage() == Some(40))
            .sequence()
            .error(move || ModifyDBInstanceError::generic(said(optimizing.code, optimizing.says)))
            .output(|| ModifyDbInstanceOutput::builder().build())
            .build();
        let available = mock!(Client::describe_db_instances).then_output(|| {
            DescribeDbInstancesOutput::builder()
                .db_instances(
                    RdsInstance::builder()
                        .db_instance_identifier("kavak-agent-prod-db")
                        .db_instance_status("available")
                        .build(),
                )
                .build()
        });
        DbInstance
            .update(&env_over(&[&modify, &available]), &spec, &old, &deps)
            .await
            .unwrap();
        assert_eq!(modify.num_calls(), 2, "retried once, then modified");
        let modify = mock!(Client::modify_db_instance).then_error(|| {
            ModifyDBInstanceError::generic(said("InjectedFailure", "InjectedFailure"))
        });
        let e = DbInstance
            .update(&env_over(&[&modify]), &spec, &old, &deps)
            .await
            .unwrap_err();
        assert_eq!(modify.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("ModifyDBInstance: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );

        // DeleteDBInstance: a replica cluster still attached.
        let attached = DELETE_DB_INSTANCE.not_yet[0];
        let delete = mock!(Client::delete_db_instance)
            .sequence()
            .error(move || DeleteDBInstanceError::generic(said(attached.code, attached.says)))
            .output(|| DeleteDbInstanceOutput::builder().build())
            .build();
        let gone = gone();
        DbInstance
            .delete(&env_over(&[&delete, &gone]), &old)
            .await
            .unwrap();
        assert_eq!(delete.num_calls(), 2, "retried once, then deleted");
        let delete = mock!(Client::delete_db_instance).then_error(|| {
            DeleteDBInstanceError::generic(said("InjectedFailure", "InjectedFailure"))
        });
        let e = DbInstance
            .delete(&env_over(&[&delete]), &old)
            .await
            .unwrap_err();
        assert_eq!(delete.num_calls(), 1, "not retried");
        assert!(
            e.message.starts_with("DeleteDBInstance: InjectedFailure")
                && !e.message.contains("still not ready"),
            "{}",
            e.message
        );
    }

    /// DescribeDBInstances of the hand-made database: `encrypted` or not.
    fn hand_made(encrypted: bool) -> Rule {
        mock!(Client::describe_db_instances)
            .match_requests(|r| r.db_instance_identifier() == Some("kavak-dev-db"))
            .then_output(move || {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        RdsInstance::builder()
                            .db_instance_identifier("kavak-dev-db")
                            .db_instance_arn("arn:aws:rds:eu-west-1:123456789012:db:kavak-dev-db")
                            .dbi_resource_id("db-ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                            .db_instance_status("available")
                            .engine("postgres")
                            .engine_version("15.4")
                            .db_instance_class("db.t4g.micro")
                            .allocated_storage(20)
                            .storage_encrypted(encrypted)
                            .db_name("kavak_agent")
                            .master_username("kavak_admin")
                            .db_subnet_group(
                                aws_sdk_rds::types::DbSubnetGroup::builder()
                                    .db_subnet_group_name("kavak-dev-db-subnets")
                                    .build(),
                            )
                            .backup_retention_period(0)
                            .multi_az(false)
                            .deletion_protection(false)
                            .publicly_accessible(false)
                            .endpoint(
                                aws_sdk_rds::types::Endpoint::builder()
                                    .address("kavak-dev-db.x.eu-west-1.rds.amazonaws.com")
                                    .port(5432)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            })
    }

    #[tokio::test(start_paused = true)]
    async fn observe_reports_the_databases_own_names_and_settings() {
        let spec = Spec::of("db", &inputs(true));
        let d = hand_made(true);
        let r = DbInstance
            .observe(
                &env_over(&[&d]),
                &spec,
                "arn:aws:rds:eu-west-1:123456789012:db:kavak-dev-db",
                &Records::new(),
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, "kavak-dev-db");
        assert_eq!(
            r.inputs,
            json!({
                "identifier": "kavak-dev-db", "engine": "postgres", "engine_version": "15.4",
                "instance_class": "db.t4g.micro", "allocated_storage": 20, "max_allocated_storage": 20,
                "db_name": "kavak_agent", "username": "kavak_admin", "subnet_group": "kavak-dev-db-subnets",
                "backup_retention_days": 0, "multi_az": false, "deletion_protection": false,
                "publicly_accessible": false, "final_snapshot": true,
            }),
            "every name from AWS (db_name, username: a difference refuses the move)"
        );
        assert_eq!(
            (r.out("arn"), r.out("address"), r.out("port")),
            (
                "arn:aws:rds:eu-west-1:123456789012:db:kavak-dev-db",
                "kavak-dev-db.x.eu-west-1.rds.amazonaws.com",
                "5432"
            )
        );
        assert!(
            r.typed::<DbInstanceInputs>().is_ok(),
            "the record reads as the kind's inputs"
        );
        let e = DbInstance
            .observe(
                &env_over(&[&hand_made(false)]),
                &spec,
                "kavak-dev-db",
                &Records::new(),
            )
            .await
            .unwrap_err();
        assert!(e.message.contains("not encrypted"), "{}", e.message);
        assert!(DbInstance
            .observe(
                &env_over(&[&gone()]),
                &spec,
                "kavak-dev-db",
                &Records::new()
            )
            .await
            .unwrap()
            .is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn observe_finds_a_database_by_its_resource_id() {
        let by_resource = mock!(Client::describe_db_instances)
            .match_requests(|r| {
                r.db_instance_identifier().is_none()
                    && r.filters().iter().any(|f| {
                        f.name() == Some("dbi-resource-id")
                            && f.values() == ["db-ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
                    })
            })
            .then_output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        RdsInstance::builder()
                            .db_instance_identifier("kavak-dev-db")
                            .dbi_resource_id("db-ABCDEFGHIJKLMNOPQRSTUVWXYZ")
                            .storage_encrypted(true)
                            .build(),
                    )
                    .build()
            });
        let r = DbInstance
            .observe(
                &env_over(&[&by_resource]),
                &Spec::of("db", &inputs(false)),
                "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                &Records::new(),
            )
            .await
            .unwrap()
            .expect("it exists");
        assert_eq!(r.id, "kavak-dev-db");
    }
}
