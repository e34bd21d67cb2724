//! `awsstack_database_credentials`: a container service's or a platform's
//! database credentials, read from Secrets Manager at run time, for a
//! write-only argument, a provider block (postgresql, kubernetes jobs) or a
//! local that ends in one; Terraform keeps it out of every plan and state.

use super::*;

pub(super) fn resource(shared: Arc<Shared>) -> Arc<dyn EphemeralResource> {
    Arc::new(DatabaseCredentials {
        schema: schema(),
        shared,
    })
}

fn schema() -> Schema {
    let computed = |name, ty, description| Attribute::computed(name, ty, description);
    let secret = |name, description| Attribute {
        sensitive: true,
        ..Attribute::computed(name, Type::String, description)
    };
    Schema {
        version: 0,
        block: Block {
            description: "A database's connection details, read from the stack's Secrets Manager secret when Terraform needs them and never stored: a container service's PostgreSQL or a multi-region platform's Aurora writer.",
            attributes: vec![
                Attribute::required("stack_id", Type::String, "The stack's id (`awsstack_container_service.<name>.id` or `awsstack_multi_region_platform.<name>.id`)."),
                computed("host", Type::String, "The database host (the platform's writer endpoint, wherever it is now)."),
                computed("port", Type::Number, "The database port."),
                computed("username", Type::String, "The master user name."),
                secret("password", "The master password."),
                computed("dbname", Type::String, "The database name."),
                secret("url", "`postgresql://user:password@host:port/dbname`."),
            ],
            blocks: vec![],
        },
    }
}

pub struct DatabaseCredentials {
    schema: Schema,
    shared: Arc<Shared>,
}

/// The stack's credentials secret: a container service's, else a
/// platform's generated master secret; only one that carries the stack id.
async fn secret_of(
    ctx: &AwsContext,
    id: &str,
) -> Result<Option<(String, serde_json::Value)>, String> {
    for name in [format!("{id}-db-credentials"), format!("{id}-db-master")] {
        let value = match ctx
            .secrets()
            .get_secret_value()
            .secret_id(&name)
            .send()
            .await
        {
            Ok(o) => o.secret_string().unwrap_or_default().to_string(),
            Err(e) if crate::aws::is_not_found(&e) => continue,
            Err(e) => {
                return Err(format!(
                    "GetSecretValue {name}: {}",
                    crate::aws::error_text(&e)
                ))
            }
        };
        if !crate::stacks::carries_stack_id(ctx, &TagRef::SecretsManager(name.clone()), id)
            .await
            .map_err(|e| e.message)?
        {
            return Err(format!("the secret {name} does not carry the stack id {id:?} in {TAG_STACK_ID}: awsstack reads only what a stack created"));
        }
        let json = serde_json::from_str(&value)
            .map_err(|_| format!("the secret {name} does not hold a JSON object"))?;
        return Ok(Some((name, json)));
    }
    Ok(None)
}

/// A platform's writer: the global cluster's writer member, read in its
/// own region (it moves with a switchover).
async fn writer_endpoint(ctx: &Arc<AwsContext>, id: &str) -> Result<(String, i32), String> {
    let global = format!("{id}-aurora");
    let g = ctx
        .rds()
        .describe_global_clusters()
        .global_cluster_identifier(&global)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeGlobalClusters {global}: {}",
                crate::aws::error_text(&e)
            )
        })?;
    let writer = g
        .global_clusters()
        .iter()
        .flat_map(|c| c.global_cluster_members())
        .find(|m| m.is_writer() == Some(true))
        .and_then(|m| m.db_cluster_arn())
        .ok_or_else(|| format!("the global database {global} has no writer now"))?
        .to_string();
    let region = writer.split(':').nth(3).unwrap_or(&ctx.region).to_string();
    let c = ctx
        .clone()
        .region_context(&region)
        .rds()
        .describe_db_clusters()
        .db_cluster_identifier(&writer)
        .send()
        .await
        .map_err(|e| {
            format!(
                "DescribeDBClusters {writer}: {}",
                crate::aws::error_text(&e)
            )
        })?;
    let cluster = c
        .db_clusters()
        .first()
        .ok_or_else(|| format!("the writer cluster {writer} does not exist"))?;
    Ok((
        cluster.endpoint().unwrap_or_default().to_string(),
        cluster.port().unwrap_or(5432),
    ))
}

#[tonic::async_trait]
impl EphemeralResource for DatabaseCredentials {
    fn type_name(&self) -> &'static str {
        "awsstack_database_credentials"
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        validate_stack_id(config)
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
        let (name, secret) = match secret_of(&ctx, &id).await {
            Ok(Some(s)) => s,
            // Not there yet: a stack created in this same run (its id is
            // known at plan already). Terraform takes unknown values at plan
            // and opens the resource again at apply, after the stack; a
            // stack that still does not exist then fails that apply.
            Ok(None) => {
                let mut d = Diagnostics::default();
                d.push(
                    Diagnostic::warning(
                        "Database credentials known after apply",
                        format!("no container service or multi-region platform stack {id:?} with database credentials in {} yet (neither {id}-db-credentials nor {id}-db-master exists): if this run does not create it, check stack_id", ctx.region),
                    )
                    .at(Path::attr("stack_id")),
                );
                let mut v = BTreeMap::from([("stack_id".to_string(), Value::str(id))]);
                for k in ["host", "port", "username", "password", "dbname", "url"] {
                    v.insert(k.to_string(), Value::Unknown);
                }
                return (Value::Object(v), d);
            }
            Err(e) => return error("Cannot read the database credentials", e),
        };
        let field = |k: &str| secret[k].as_str().map(str::to_string);
        let (host, port) = match (field("host"), &secret["port"]) {
            (Some(h), p) => (h, p.as_i64().or_else(|| p.as_str().and_then(|s| s.parse().ok())).unwrap_or(5432) as i32),
            (None, _) if name.ends_with("-db-master") => match writer_endpoint(&ctx, &id).await {
                Ok(e) => e,
                Err(e) => return error("Cannot read the database credentials", e),
            },
            (None, _) => return error("Database not ready", format!("the secret {name} has no host yet: the stack's database is still being created")),
        };
        let (username, password) = (
            field("username").unwrap_or_default(),
            field("password").unwrap_or_default(),
        );
        let dbname = field("dbname").unwrap_or_else(|| "postgres".to_string());
        let url = field("url").unwrap_or_else(|| {
            format!("postgresql://{username}:{password}@{host}:{port}/{dbname}")
        });
        let mut v = BTreeMap::from([("stack_id".to_string(), Value::str(id))]);
        v.insert("host".into(), Value::str(host));
        v.insert("port".into(), Value::Number(port as f64));
        v.insert("username".into(), Value::str(username));
        v.insert("password".into(), Value::str(password));
        v.insert("dbname".into(), Value::str(dbname));
        v.insert("url".into(), Value::str(url));
        (Value::Object(v), Diagnostics::default())
    }
}
