//! `awsstack_snapshot`: a snapshot on demand of a stack's data.

use super::*;
use crate::schema::config::{read, FromBlock, Reader, Setting};

/// The calls this action makes, for the catalog and its IAM list (the EBS
/// snapshot's own through `DataVolume`).
pub(super) const CALLS: &[crate::engine::Call] = &[
    crate::engine::Call::read("ec2:DescribeVolumes"),
    crate::engine::Call::settled("ec2:CreateSnapshot"),
    crate::engine::Call::read("ec2:DescribeSnapshots"),
    crate::engine::Call::read("rds:DescribeDBInstances"),
    crate::engine::Call::read("rds:ListTagsForResource"),
    crate::engine::Call::settled("rds:CreateDBSnapshot"),
    crate::engine::Call::read("rds:DescribeDBSnapshots"),
];

pub(super) fn action(shared: Arc<Shared>) -> Arc<dyn Action> {
    Arc::new(Snapshot {
        schema: snapshot_schema(),
        shared,
    })
}

fn snapshot_schema() -> Schema {
    Schema {
        version: 0,
        block: Block {
            description: "A snapshot on demand of a stack's data (`aws ec2 create-snapshot` / `aws rds create-db-snapshot` in the runbooks): a Docker host's data volume (EBS snapshot) or a container service's database (RDS snapshot `<stack id>-db-ondemand-<unix time>`), tagged with the stack id and the description, waited for until complete and named. The snapshot is kept: the stack's destroy does not delete it.",
            attributes: vec![
                stack_id_attr("The stack id of a Docker host (`awsstack_docker_host.<name>.id`) or of a container service (`awsstack_container_service.<name>.id`)."),
                Attribute::optional("description", Type::String, "The snapshot's description (\"on-demand snapshot\" by default): an EBS snapshot's description, an RDS snapshot's `awsstack:description` tag."),
            ],
            blocks: vec![],
        },
    }
}

pub struct Snapshot {
    schema: Schema,
    shared: Arc<Shared>,
}

/// The data volume's component key in a Docker host.
const DATA_VOLUME: &str = "volume.data";

#[tonic::async_trait]
impl Action for Snapshot {
    fn type_name(&self) -> &'static str {
        "awsstack_snapshot"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = stack_id(config).err().unwrap_or_default();
        let args: Arguments = read(&self.schema.block, config);
        if let Some(desc) = args.description.as_str() {
            if desc.len() > 255 {
                d.error_at(Path::attr("description"), "Description too long", format!("an EBS snapshot's description holds at most 255 characters, this one has {}", desc.len()));
            }
        }
        d
    }
    async fn invoke(&self, config: Value, progress: Progress) -> Diagnostics {
        let (id, ctx) = match target(&self.shared, &config) {
            Ok(t) => t,
            Err(d) => return d,
        };
        let args: Arguments = read(&self.schema.block, &config);
        let description = args
            .description
            .owned()
            .unwrap_or_else(|| "on-demand snapshot".to_string());
        let env = env(ctx.clone(), &id);
        let done = match data_volume(&ctx, &id).await {
            Ok(Some(volume)) => snapshot_volume(&env, &volume, &description, &progress).await,
            Ok(None) => match database(&env, &id).await {
                Ok(Some(db)) => snapshot_database(&env, &db, &description, &progress).await,
                Ok(None) => Err(OpError::new(format!(
                    "no awsstack_docker_host data volume and no awsstack_container_service database of stack {id:?} in {} carry its stack id",
                    ctx.region
                ))),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match done {
            Ok(said) => {
                progress.say(said).await;
                Diagnostics::default()
            }
            Err(e) => error("Snapshot failed", e.message),
        }
    }
}

/// The Docker host's data volume, found by its stack-id and component tags.
async fn data_volume(ctx: &AwsContext, id: &str) -> Result<Option<String>, OpError> {
    let filter = |k: &str, v: &str| {
        aws_sdk_ec2::types::Filter::builder()
            .name(format!("tag:{k}"))
            .values(v)
            .build()
    };
    let o = ctx
        .ec2()
        .describe_volumes()
        .filters(filter(TAG_STACK_ID, id))
        .filters(filter(TAG_COMPONENT, DATA_VOLUME))
        .send()
        .await
        .map_err(|e| OpError::new(format!("DescribeVolumes: {}", crate::aws::error_text(&e))))?;
    Ok(o.volumes()
        .iter()
        .find_map(|v| v.volume_id().map(str::to_string)))
}

/// The container service's database (`<stack id>-db`), if it carries the
/// stack id.
async fn database(env: &Env<AwsContext>, id: &str) -> Result<Option<String>, OpError> {
    let name = format!("{id}-db");
    let Some(db) = crate::components::rds::DbInstance::describe(env, &name).await? else {
        return Ok(None);
    };
    let arn = db.db_instance_arn().unwrap_or_default().to_string();
    Ok(carries(&env.ctx, &TagRef::Rds(arn), id)
        .await?
        .then_some(name))
}

async fn snapshot_volume(
    env: &Env<AwsContext>,
    volume: &str,
    description: &str,
    progress: &Progress,
) -> Result<String, OpError> {
    let id = &env.stack_id;
    let mut tags = env.tags_for("volume.data.snapshot");
    tags.insert("awsstack:snapshot-of".to_string(), volume.to_string());
    progress
        .say(format!("snapshotting the data volume {volume} of {id}"))
        .await;
    let description = format!("awsstack {id}: {description}");
    let snapshot = DataVolume::start_snapshot(env, volume, tags, &description).await?;
    progress
        .say(format!("waiting for snapshot {snapshot} to complete"))
        .await;
    DataVolume::wait_snapshot(env, &snapshot, "snapshot")
        .await
        .map_err(|e| OpError::new(format!("{} (snapshot {snapshot} was started)", e.message)))?;
    Ok(format!("snapshot {snapshot} of {volume} is complete (tagged {TAG_STACK_ID}={id}; kept after a destroy)"))
}

async fn snapshot_database(
    env: &Env<AwsContext>,
    db: &str,
    description: &str,
    progress: &Progress,
) -> Result<String, OpError> {
    let id = &env.stack_id;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let snapshot = format!("{db}-ondemand-{stamp}");
    let mut tags = env.tags_for("db.snapshot");
    tags.insert("awsstack:snapshot-of".to_string(), db.to_string());
    tags.insert("awsstack:description".to_string(), description.to_string());
    progress
        .say(format!(
            "snapshotting the database {db} of {id} as {snapshot}"
        ))
        .await;
    use aws_sdk_rds::client::Waiters;
    let rds = env.ctx.rds();
    rds.create_db_snapshot()
        .db_instance_identifier(db)
        .db_snapshot_identifier(&snapshot)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .map_err(|e| {
            OpError::new(format!(
                "CreateDBSnapshot {snapshot}: {}",
                crate::aws::error_text(&e)
            ))
        })?;
    progress
        .say(format!("waiting for snapshot {snapshot} to be available"))
        .await;
    crate::components::sdk_wait(env, &format!("DB snapshot {snapshot}"), |max| {
        rds.wait_until_db_snapshot_available()
            .db_snapshot_identifier(&snapshot)
            .wait(max)
    })
    .await
    .map_err(|e| OpError::new(format!("{} (snapshot {snapshot} was started)", e.message)))?;
    Ok(format!("snapshot {snapshot} of {db} is available (tagged {TAG_STACK_ID}={id}; kept after a destroy)"))
}

/// The action's arguments, typed (besides `stack_id`, which every action
/// reads alike).
pub(super) struct Arguments {
    description: Setting<String>,
}

impl FromBlock for Arguments {
    fn read(r: &Reader) -> Self {
        r.text("stack_id");
        Arguments {
            description: r.text("description"),
        }
    }
}
