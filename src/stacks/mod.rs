//! Stack resources. `StackResource` turns any `Stack` (a schema plus a
//! config → component graph function) into a Terraform resource on the
//! engine: plan shows the sub-resource changes, apply runs them and records
//! exactly what exists, read detects drift, import rebuilds state.

pub mod container_service;
pub mod docker_host;
#[cfg(test)]
mod docs_tests;

/// The records of `specs` as if each had just been created (ids
/// `id-<key>`): what a stack's tests plan against.
#[cfg(test)]
pub(crate) fn as_recorded(specs: &[Spec]) -> Records {
    specs
        .iter()
        .map(|s| {
            (
                s.key.clone(),
                Record {
                    deps: s.deps.iter().map(|d| d.key.clone()).collect(),
                    tags: s.tags.clone(),
                    ..Record::new(s.kind, format!("id-{}", s.key), s.inputs.clone())
                },
            )
        })
        .collect()
}
pub mod actions;
pub mod credentials;
pub mod multi_region_platform;

use crate::aws::{AwsContext, Shared};
use crate::engine::{self, Action, Env, Kinds, Record, Records, Spec};
use crate::schema::{
    apply_defaults, validate, Attribute, Block, Diagnostic, Diagnostics, NestedBlock, Nesting,
    Schema,
};
use crate::tfplugin::{
    ApplyRequest, ApplyResponse, IdentityAttribute, IdentitySchema, ImportResponse, Listed,
    PlanRequest, PlanResponse, ReadResponse, Resource,
};
use crate::value::{Path, Type, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

pub fn all(shared: Arc<Shared>) -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(StackResource::new(
            docker_host::DockerHost::new(),
            shared.clone(),
        )),
        Arc::new(StackResource::new(
            container_service::ContainerService::new(),
            shared.clone(),
        )),
        Arc::new(StackResource::new(
            multi_region_platform::MultiRegionPlatform::new(),
            shared,
        )),
    ]
}

/// A string attribute of a configuration ("" when null or unknown).
pub(crate) fn str_attr<'a>(c: &'a Value, k: &str) -> &'a str {
    c.get(k).as_str().unwrap_or("")
}

/// A number attribute that is required or has a schema default. A stack
/// reads its configuration with the defaults filled (`desired`,
/// `validate`), so the default is written once, on the schema; 0 only
/// when the schema gives the attribute neither.
pub(crate) fn num_attr(c: &Value, k: &str) -> f64 {
    c.get(k).as_f64().unwrap_or_default()
}

/// A whole-number attribute, read as `num_attr` is.
pub(crate) fn int_attr(c: &Value, k: &str) -> i64 {
    num_attr(c, k) as i64
}

/// A boolean attribute, read as `num_attr` is.
pub(crate) fn flag_attr(c: &Value, k: &str) -> bool {
    c.get(k).as_bool().unwrap_or_default()
}

/// The known strings of a list attribute value.
pub(crate) fn string_list(v: &Value) -> Vec<String> {
    v.as_list()
        .iter()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

pub use crate::engine::{TAG_COMPONENT, TAG_STACK_ID};

/// What a stack type provides.
pub trait Stack: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    /// Checks the configuration; unknown values are skipped.
    fn validate(&self, config: &Value) -> Diagnostics;
    /// Checks that need the prior state (e.g. a volume cannot shrink).
    fn validate_change(&self, _prior: &Value, _config: &Value) -> Diagnostics {
        Diagnostics::default()
    }
    /// The stack id (`awsstack:stack-id`). This method and the ones below
    /// that build names, tags or outputs get `config` with its schema's
    /// defaults filled (`StackResource::defaulted`).
    fn stack_id(&self, config: &Value) -> String;
    /// Tags for every component (besides the stack id and provider defaults).
    fn tags(&self, config: &Value) -> BTreeMap<String, String>;
    /// The stack's components for `config`, given with its schema's
    /// defaults filled.
    fn desired(&self, config: &Value, ctx: &AwsContext) -> Vec<Spec>;
    fn kinds(&self) -> Arc<Kinds<AwsContext>>;
    /// Computed attributes from the components; `get` returns None for a
    /// component whose attributes are not known yet.
    fn outputs(
        &self,
        config: &Value,
        ctx: &AwsContext,
        get: &dyn Fn(&str) -> Option<Record>,
    ) -> BTreeMap<&'static str, Value>;
    /// Refuses a destroy that AWS would refuse (e.g. deletion protection).
    fn check_destroy(&self, _state: &Value) -> Diagnostics {
        Diagnostics::default()
    }
    /// The availability zones the configuration names, each with the path
    /// of its attribute. The generic layer checks them: names, one region
    /// per stack, and (at plan) the provider's region.
    fn zones<'a>(&self, _config: &'a Value) -> Vec<(Path, &'a str)> {
        Vec::new()
    }
    /// Puts back the sensitive values that the manifest leaves out (import).
    fn restore_secrets<'a>(
        &'a self,
        _ctx: &'a AwsContext,
        _config: &'a mut Value,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    /// Writes back into the state what AWS decides and the configuration
    /// also sets (the region that writes, after a failover outside
    /// Terraform), so that the plan shows it as a change of that attribute.
    fn read_back(&self, _state: &mut Value, _records: &Records) {}
    /// Checks that need read-only AWS calls (an existing network: its
    /// subnets exist, are in its VPC, span enough zones), at plan when the
    /// values are known and again at apply before anything is created.
    fn aws_checks<'a>(
        &'a self,
        _ctx: &'a Arc<AwsContext>,
        _config: &'a Value,
    ) -> BoxFuture<'a, Diagnostics> {
        Box::pin(async { Diagnostics::default() })
    }
    /// The zones of each network the stack builds itself (none for one
    /// placed in an existing network, whose subnets have their zones):
    /// the generic layer checks at plan that their region offers them.
    fn network_zones(&self, _config: &Value, _provider_region: &str) -> Vec<NetworkZones> {
        Vec::new()
    }
    /// Per existing-network attribute (`vpc_id`), the attributes with
    /// defaults that shape only a network the stack builds: written with
    /// it, they are refused (validate and plan).
    fn own_network_only(&self) -> Vec<(&'static str, &'static [&'static str])> {
        Vec::new()
    }
    /// Upgrades a JSON state of an older schema version.
    fn upgrade_state(
        &self,
        _from: i64,
        state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Ok(state)
    }
}

/// The zones one of a stack's own networks is built in, the attribute
/// that decides them, and whether they are its defaults.
pub struct NetworkZones {
    pub region: String,
    pub attribute: &'static str,
    pub zones: Vec<String>,
    pub source: crate::components::network::ZoneSource,
}

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The SSM parameter that records a stack's configuration (without secrets),
/// so that `terraform import <stack id>` can rebuild it.
/// Where every stack keeps its manifest.
pub const MANIFEST_ROOT: &str = "/stacks/awsstack/";

pub fn manifest_name(stack_id: &str) -> String {
    format!("{MANIFEST_ROOT}{stack_id}/manifest")
}

/// The component that holds the stack's manifest (`manifest_name`).
pub fn manifest_spec(schema: &Schema, config: &Value, stack_id: &str) -> Spec {
    Spec::of(
        "manifest",
        &crate::components::ssm::ParameterInputs::plain(
            manifest_name(stack_id),
            manifest_json(schema, config),
        ),
    )
}

/// The configuration's input attributes as JSON, sensitive values nulled
/// (map keys kept so their values can be read back from AWS).
pub fn manifest_json(schema: &Schema, config: &Value) -> String {
    let mut m = serde_json::Map::new();
    for a in &schema.block.attributes {
        // Computed values (including optional ones the provider computes
        // when unset) are rebuilt from the components on import; looked-up
        // ones (zones) are kept as they were settled.
        if a.computed && a.default.is_none() && !a.from_config && !a.looked_up {
            continue;
        }
        // Write-only values exist in the configuration only.
        if a.write_only {
            continue;
        }
        let v = config.get(a.name);
        let j = if a.sensitive {
            match v.as_map() {
                Some(map) => serde_json::Value::Object(
                    map.keys()
                        .map(|k| (k.clone(), serde_json::Value::Null))
                        .collect(),
                ),
                None => serde_json::Value::Null,
            }
        } else {
            crate::value::to_json(v)
        };
        m.insert(a.name.to_string(), j);
    }
    for b in &schema.block.blocks {
        m.insert(
            b.name.to_string(),
            crate::value::to_json(config.get(b.name)),
        );
    }
    serde_json::Value::Object(m).to_string()
}

/// The configuration of a stack placed in an existing network: `vpc`
/// with both subnet lists (`lists`: public, then private), none of the
/// attributes that shape the stack's own network (`shaping`), and ids of
/// the right form. Read-only checks against AWS come later
/// (`components::network::check`).
pub fn existing_network_diags(
    c: &Value,
    vpc: &str,
    lists: [&str; 2],
    shaping: &[&str],
) -> Diagnostics {
    let mut d = Diagnostics::default();
    let set = |a: &str| !c.get(a).is_null();
    if set(vpc) {
        for a in lists {
            if !set(a) || c.get(a).as_list().is_empty() && !c.get(a).is_unknown() {
                d.error_at(
                    Path::attr(a),
                    "Missing subnets",
                    format!("with {vpc} (an existing network), {a} lists the subnets the stack uses (at least two, in two availability zones)"),
                );
            }
        }
        for a in shaping {
            if set(a) {
                d.error_at(
                    Path::attr(a),
                    "Conflicting arguments",
                    format!("{a} shapes the stack's own network; with {vpc} (an existing network) the subnets' own zones and blocks are used: remove {a}"),
                );
            }
        }
    } else {
        // (An unknown list may still turn out null: checked at plan.)
        for a in lists {
            if set(a) && !c.get(a).is_unknown() {
                d.error_at(Path::attr(a), format!("Missing {vpc}"), format!("{a} places the stack in an existing network: set {vpc} to that network's VPC too"));
            }
        }
    }
    for a in lists {
        for (i, x) in c.get(a).as_list().iter().enumerate() {
            if let Some(x) = x.as_str().filter(|x| !validate::aws_id(x, "subnet")) {
                d.error_at(
                    Path::attr(a).then_index(i),
                    "Invalid subnet id",
                    format!("{x:?} is not a subnet id (subnet-...)"),
                );
            }
        }
    }
    if let Some(x) = c.get(vpc).as_str().filter(|x| !validate::aws_id(x, "vpc")) {
        d.error_at(
            Path::attr(vpc),
            "Invalid VPC id",
            format!("{x:?} is not a VPC id (vpc-...)"),
        );
    }
    d
}

/// Attributes every stack has, appended to its schema.
pub fn common_attributes(block: &mut Block) {
    block.attributes.push(Attribute::computed(
        "id",
        Type::String,
        "The stack id: every AWS resource of the stack carries it in the `awsstack:stack-id` tag; `terraform import` takes it.",
    ));
    block.attributes.push(Attribute::optional(
        "tags",
        Type::map(Type::String),
        "Tags for every AWS resource of the stack (merged over the provider's `default_tags`).",
    ));
    block.attributes.push(Attribute::computed(
        "tags_all",
        Type::map(Type::String),
        "Every tag the stack's AWS resources carry: the provider's `default_tags`, the stack's own tags, `tags` and the stack id. Each sub-resource also carries `awsstack:component` and a `Name`. Tags that others add to the resources are left alone.",
    ));
    block.attributes.push(Attribute::computed(
        "resource_ids",
        Type::map(Type::String),
        "Every sub-resource of the stack by logical name, with its AWS id.",
    ));
    block.attributes.push(Attribute::computed(
        "changes",
        Type::list(Type::String),
        "The sub-resource changes of the latest plan (create, update, replace, delete, with the reason), or the drift that the latest refresh found.",
    ));
    block.blocks.push(NestedBlock {
        name: "timeouts",
        nesting: Nesting::Single,
        max_items: 1,
        block: Block {
            description: "How long apply may wait for AWS: durations such as `45m`, `1h30m` or `90s`, at most `168h`.",
            attributes: vec![
                Attribute::optional("create", Type::String, "For creating the stack (default 30m)."),
                Attribute::optional("update", Type::String, "For updating the stack (default 30m)."),
                Attribute::optional("delete", Type::String, "For destroying the stack (default 30m)."),
            ],
            blocks: vec![],
        },
    });
}

/// The engine's records as kept in the resource's private state, with the
/// region they are in.
#[derive(Serialize, Deserialize, Default)]
struct Private {
    version: u32,
    records: Records,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    region: Option<String>,
}

/// The records in a private state. One that cannot be read is an error,
/// never "nothing exists": that would re-create every sub-resource. So is
/// a stack recorded in another region than the provider's: reading it there
/// would find nothing, and the plan would create a second stack and orphan
/// the first.
fn decode_private(
    b: &[u8],
    region: &str,
    kinds: &Kinds<AwsContext>,
) -> Result<Records, Diagnostic> {
    if b.is_empty() {
        return Ok(Records::new());
    }
    let p = serde_json::from_slice::<Private>(b).map_err(|e| {
        Diagnostic::error(
            "Unreadable stack state",
            format!("The private state of this stack (its record of every sub-resource) cannot be read: {e}. Nothing was changed. A newer awsstack may have written it: use that version, or re-import the stack (`terraform state rm` then `terraform import` with its stack id)."),
        )
    })?;
    match p.region {
        Some(r) if r != region && !p.records.is_empty() => Err(Diagnostic::error(
            "Stack in another region",
            format!(
                "The {} sub-resources of this stack are in {r}, and the provider is now configured for {region}. awsstack does not move a stack between regions (nothing was changed): set the provider's region back to {r}, or destroy the stack from {r} and create it again in {region}.",
                p.records.len()
            ),
        )),
        _ => {
            let mut records = p.records;
            crate::engine::upgrade(kinds, &mut records);
            Ok(records)
        }
    }
}

fn encode_private(r: &Records, region: &str) -> Vec<u8> {
    serde_json::to_vec(&Private {
        version: 1,
        records: r.clone(),
        region: Some(region.to_string()),
    })
    .expect("records serialize")
}

pub struct StackResource<S: Stack> {
    stack: S,
    shared: Arc<Shared>,
    identity: IdentitySchema,
    list: Schema,
}

/// A list block's `config` (`terraform query`): every argument optional.
fn list_schema() -> Schema {
    Schema {
        version: 0,
        block: crate::schema::Block {
            description: "Every stack of this type in the account, found by the manifest each stack keeps (`/stacks/awsstack/<stack id>/manifest`, tagged with its stack id).",
            attributes: vec![crate::schema::Attribute::optional(
                "region",
                Type::String,
                "The region to list (the provider's by default; a multi-region platform is listed in its primary region).",
            )],
            blocks: vec![],
        },
    }
}

/// True when a manifest (the configuration a stack recorded) is one of
/// this schema's: every attribute and block it records is one the schema
/// declares. The three stacks' inputs differ (`environment`, `env` and
/// `profile`, `primary_region`...), so a manifest reads as one type only.
fn manifest_of(schema: &Schema, manifest: &serde_json::Value) -> bool {
    let Some(fields) = manifest.as_object() else {
        return false;
    };
    !fields.is_empty()
        && fields.keys().all(|k| {
            schema.block.attributes.iter().any(|a| a.name == k)
                || schema.block.blocks.iter().any(|b| b.name == k)
        })
}

/// Every stack's identity (Terraform 1.12+): the account and region it
/// lives in (the provider's: the platform's primary) and its stack id,
/// which its every object carries in `awsstack:stack-id`.
fn identity_schema() -> IdentitySchema {
    let attr = |name, required_for_import, description| IdentityAttribute {
        name,
        ty: crate::value::Type::String,
        required_for_import,
        description,
    };
    IdentitySchema {
        version: 0,
        attributes: vec![
            attr(
                "account_id",
                false,
                "The AWS account the stack is in (by default the provider's).",
            ),
            attr(
                "region",
                false,
                "The provider's region when the stack was made (by default the provider's).",
            ),
            attr(
                "stack_id",
                true,
                "The stack id (`<project>-<environment>`), as `terraform import` takes it.",
            ),
        ],
    }
}

impl<S: Stack> StackResource<S> {
    pub fn new(stack: S, shared: Arc<Shared>) -> Self {
        StackResource {
            stack,
            shared,
            identity: identity_schema(),
            list: list_schema(),
        }
    }

    /// Errors for the components `changes` would delete while they hold
    /// data the user has not opted to lose (None: nothing blocks).
    async fn delete_blocked(
        &self,
        env: &Arc<Env<AwsContext>>,
        kinds: &Kinds<AwsContext>,
        recorded: &Records,
        changes: &[engine::Change],
    ) -> Option<Diagnostics> {
        let keys: Vec<String> = changes
            .iter()
            .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
            .map(|c| c.key.clone())
            .collect();
        let mut d = Diagnostics::default();
        for e in engine::delete_blockers(env, kinds, recorded, &keys).await {
            d.push(at_attribute(
                Diagnostic::error(format!("Cannot delete {}", e.key), e.message),
                e.attribute.as_deref(),
            ));
        }
        d.has_errors().then_some(d)
    }

    /// Errors (and warnings) that stop a plan or an apply before anything
    /// changes: the stack's read-only AWS checks, and a replacement of an
    /// object the stack references (moving the stack between networks).
    async fn checks(
        &self,
        ctx: &Arc<AwsContext>,
        config: &Value,
        kinds: &Kinds<AwsContext>,
        desired: &[Spec],
        recorded: &Records,
        changes: &[engine::Change],
    ) -> Diagnostics {
        let mut d = self.stack.aws_checks(ctx, config).await;
        for n in self.stack.network_zones(config, &ctx.region) {
            if !n.zones.is_empty() {
                d.extend(
                    crate::components::network::check_zones(
                        &ctx.clone().region_context(&n.region),
                        n.attribute,
                        &n.zones,
                        n.source,
                    )
                    .await,
                );
            }
        }
        for (key, attribute, what) in
            engine::referenced_replacements(kinds, desired, recorded, changes)
        {
            let detail = format!(
                "{what}. Moving a live stack between its own network and an existing one (or between two existing ones) would replace everything placed in it (load balancer, tasks, database, cache, instance), so awsstack refuses it and nothing was changed. Put the previous value back; to move, create a new stack in the other network and migrate to it."
            );
            d.push(at_attribute(
                Diagnostic::error(format!("Cannot move {key} to another network"), detail),
                attribute,
            ));
        }
        d
    }

    /// Zones left unset are settled here, so that the plan shows them and a
    /// change in the region's zone list never moves a live network: a new
    /// stack takes the region's first available zones (one read-only
    /// DescribeAvailabilityZones), a stack created before zones were stored
    /// keeps the default letters it was built with. Unset zones of an
    /// existing network (the stack builds none) end as null at apply.
    async fn settle_zones(
        &self,
        ctx: &Arc<AwsContext>,
        prior: &Value,
        v: &mut Value,
        at_apply: bool,
    ) -> Diagnostics {
        let mut d = Diagnostics::default();
        // The zone attributes are the schema's looked-up ones.
        let open: Vec<&str> = self
            .stack
            .schema()
            .block
            .attributes
            .iter()
            .filter(|a| a.looked_up)
            .map(|a| a.name)
            .filter(|a| v.get(a).is_null() || v.get(a).is_unknown())
            .collect();
        if open.is_empty() {
            return d;
        }
        let mut unset = v.clone();
        for a in &open {
            unset.set_attr(a, Value::Null);
        }
        let mut settled = Vec::new();
        for n in self.stack.network_zones(&unset, &ctx.region) {
            if n.source != crate::components::network::ZoneSource::Default
                || !open.contains(&n.attribute)
            {
                continue;
            }
            let zones = if !prior.is_null() {
                Ok(n.zones)
            } else {
                crate::components::network::default_zones(
                    &ctx.clone().region_context(&n.region),
                    n.attribute,
                    n.zones.len(),
                )
                .await
            };
            match zones {
                Ok(z) => {
                    v.set_attr(n.attribute, Value::string_list(z));
                    settled.push(n.attribute);
                }
                Err(e) => d.push(e),
            }
        }
        if at_apply {
            for a in open.iter().filter(|a| !settled.contains(a)) {
                v.set_attr(a, Value::Null);
            }
        }
        d
    }

    /// Warnings naming what the deletes of `changes` remove besides the
    /// stack's own sub-resources.
    async fn delete_notices(
        &self,
        env: &Arc<Env<AwsContext>>,
        kinds: &Kinds<AwsContext>,
        recorded: &Records,
        changes: &[engine::Change],
    ) -> Diagnostics {
        let keys: Vec<String> = changes
            .iter()
            .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
            .map(|c| c.key.clone())
            .collect();
        let mut d = Diagnostics::default();
        for n in engine::delete_notices(env, kinds, recorded, &keys).await {
            d.push(Diagnostic::warning("Also deleted", n));
        }
        d
    }

    /// The stack's components, each with its tags. Every AWS name derives
    /// from `project_name` unless the stack names another attribute.
    fn desired(&self, env: &Env<AwsContext>, config: &Value, ctx: &AwsContext) -> Vec<Spec> {
        let mut d = self.stack.desired(&self.defaulted(config), ctx);
        env.tag_specs(&mut d);
        for s in &mut d {
            s.named_by.get_or_insert("project_name");
        }
        d
    }

    fn timeout(config: &Value, which: &str) -> Duration {
        config
            .get("timeouts")
            .get(which)
            .as_str()
            .and_then(|s| validate::duration(s).ok())
            .unwrap_or(engine::waiter::STACK_DEFAULT)
    }

    /// Every tag the stack's objects carry (besides the component key and
    /// Name): provider `default_tags`, the stack's own, the resource's
    /// `tags` (last wins), and the stack id. Shown as `tags_all`. `config`
    /// has its defaults filled (`defaulted`).
    fn stack_tags(&self, ctx: &AwsContext, config: &Value) -> BTreeMap<String, String> {
        let mut tags = ctx.default_tags.clone();
        tags.extend(self.stack.tags(config));
        if let Some(m) = config.get("tags").as_map() {
            for (k, v) in m {
                if let Some(s) = v.as_str() {
                    tags.insert(k.clone(), s.to_string());
                }
            }
        }
        tags.insert(TAG_STACK_ID.to_string(), self.stack.stack_id(config));
        tags
    }

    fn env(&self, ctx: Arc<AwsContext>, config: &Value, which: &str) -> Arc<Env<AwsContext>> {
        let config = &self.defaulted(config);
        let tags = self.stack_tags(&ctx, config);
        let stack_id = self.stack.stack_id(config);
        let timeout = Self::timeout(config, which);
        let mut env = Env::new(
            ctx.clone(),
            stack_id,
            tags,
            tokio::time::Instant::now() + timeout,
            ctx.cancel.clone(),
            engine::parallelism(),
        );
        env.timeout_scale = engine::waiter::scale(timeout);
        Arc::new(env)
    }

    /// `planned` with every computed attribute filled from the records;
    /// `pending` components' attributes are unknown (plan) or null (after a
    /// failed apply).
    /// `config` is what the stack was built from (see `stack_view`).
    fn fill(
        &self,
        planned: &mut Value,
        config: &Value,
        ctx: &AwsContext,
        records: &Records,
        pending: &std::collections::BTreeSet<String>,
        missing: Value,
    ) {
        let get = |k: &str| -> Option<Record> {
            if pending.contains(k) {
                None
            } else {
                records.get(k).cloned()
            }
        };
        let config = self.defaulted(config);
        let outs = self.stack.outputs(&config, ctx, &get);
        for (k, v) in outs {
            let v = if v.is_unknown() {
                missing.clone()
            } else {
                replace_unknown(v, &missing)
            };
            planned.set_attr(k, v);
        }
        // A value the configuration sets is the planned value, whatever the
        // stack would compute (Terraform requires it).
        for a in self
            .stack
            .schema()
            .block
            .attributes
            .iter()
            .filter(|a| a.from_config)
        {
            if !config.get(a.name).is_null() {
                planned.set_attr(a.name, config.get(a.name).clone());
            }
        }
        let mut ids = BTreeMap::new();
        for (k, r) in records {
            if !pending.contains(k) {
                ids.insert(k.clone(), Value::str(&r.id));
            }
        }
        for k in pending {
            ids.insert(k.clone(), missing.clone());
        }
        ids.retain(|_, v| !v.is_null());
        planned.set_attr("resource_ids", Value::Map(ids));
        planned.set_attr("id", Value::str(self.stack.stack_id(&config)));
        planned.set_attr(
            "tags_all",
            Value::Map(
                self.stack_tags(ctx, &config)
                    .into_iter()
                    .map(|(k, v)| (k, Value::str(v)))
                    .collect(),
            ),
        );
    }
}

/// Puts a diagnostic on the configuration attribute it is about.
fn at_attribute(mut d: Diagnostic, attribute: Option<&str>) -> Diagnostic {
    if let Some(a) = attribute {
        d.path = Some(Path::attr(a));
    }
    d
}

fn replace_unknown(v: Value, with: &Value) -> Value {
    match v {
        Value::Unknown => with.clone(),
        Value::List(l) => Value::List(l.into_iter().map(|x| replace_unknown(x, with)).collect()),
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, x)| (k, replace_unknown(x, with)))
                .filter(|(_, x)| !x.is_null())
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, x)| (k, replace_unknown(x, with)))
                .collect(),
        ),
        v => v,
    }
}

fn timeouts_diags(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    for w in ["create", "update", "delete"] {
        if let Some(s) = config.get("timeouts").get(w).as_str() {
            if let Err(e) = validate::duration(s) {
                d.error_at(Path::attr("timeouts").then_attr(w), "Invalid timeout", e);
            }
        }
    }
    d
}

/// Tag keys that differ only in case (`project` from the provider's
/// `default_tags`, `Project` from the stack): IAM, and other services,
/// compare keys without case and refuse both, so the apply would fail half
/// way. Refused at plan, on `tags`, naming both keys.
fn tag_case_clashes(tags: &BTreeMap<String, String>) -> Diagnostics {
    let mut d = Diagnostics::default();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for k in tags.keys() {
        if let Some(other) = seen.insert(k.to_lowercase(), k) {
            d.error_at(
                Path::attr("tags"),
                "Tag keys differ only in case",
                format!("the stack's tags would hold both {other:?} and {k:?} (from the provider's default_tags, the stack's own tags and `tags`); AWS compares tag keys without case (IAM refuses them together): keep one spelling"),
            );
        }
    }
    d
}

/// A stack's zones: valid names, all in one region, and in `region` (the
/// provider's) when it is known.
fn zones_diags(zones: &[(Path, &str)], region: Option<&str>) -> Diagnostics {
    let mut d = Diagnostics::default();
    let mut first: Option<String> = None;
    for (path, z) in zones {
        match validate::availability_zone(z) {
            Err(e) => d.error_at(path.clone(), "Invalid availability zone", e),
            Ok(r) => {
                if let Some(region) = region.filter(|p| *p != r) {
                    d.error_at(
                        path.clone(),
                        "Invalid availability zone",
                        format!("{z} is a zone of {r}, not of the provider's region {region}"),
                    );
                } else if let Some(f) = first.as_ref().filter(|f| **f != r) {
                    d.error_at(path.clone(), "Invalid availability zone", format!("{z} is in {r}, the first zone is in {f}: a stack's zones are in one region"));
                }
                first.get_or_insert(r);
            }
        }
    }
    d
}

/// Every stack's `tags`: keys and values AWS accepts on every service.
fn tags_diags(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Some(m) = config.get("tags").as_map() {
        for (k, v) in m {
            if let Err(e) = validate::tag_key(k) {
                d.error_at(Path::attr("tags").then_key(k), "Invalid tag", e);
            } else if let Some(Err(e)) = v.as_str().map(validate::tag_value) {
                d.error_at(Path::attr("tags").then_key(k), "Invalid tag", e);
            }
        }
    }
    d
}

impl<S: Stack> StackResource<S> {
    /// `config` with its schema's defaults filled: what every `Stack`
    /// method that builds names, ids, tags or outputs is given, so that a
    /// stack reads a defaulted attribute without a second default (a
    /// manifest written before an attribute existed, an import, lacks it).
    fn defaulted(&self, config: &Value) -> Value {
        let mut config = config.clone();
        apply_defaults(&self.stack.schema().block, &mut config);
        config
    }

    /// Validates what will be used: the configuration with its defaults.
    fn validate_used(&self, config: &Value) -> Diagnostics {
        let config = self.defaulted(config);
        let mut d = crate::schema::rules::check(&self.stack.schema().block, &config);
        d.extend(timeouts_diags(&config));
        d.extend(tags_diags(&config));
        d.extend(zones_diags(&self.stack.zones(&config), None));
        d.extend(self.stack.validate(&config));
        d
    }

    /// Attributes written in the configuration that an existing network
    /// makes meaningless though they have defaults (`vpc_cidr`,
    /// `nat_gateways`): only the configuration as written tells them from
    /// their defaults, so this runs on it, not on the planned values.
    fn written_conflicts(&self, written: &Value) -> Diagnostics {
        let mut d = Diagnostics::default();
        // Unknown values (a wrapper module's variables at validate) may
        // still turn out null: only known ones conflict.
        let known = |a: &str| !written.get(a).is_null() && !written.get(a).is_unknown();
        for (vpc, shaping) in self.stack.own_network_only() {
            if !known(vpc) {
                continue;
            }
            for a in shaping.iter().filter(|a| known(a)) {
                d.error_at(
                    Path::attr(a),
                    "Conflicting arguments",
                    format!("{a} shapes the stack's own network; with {vpc} (an existing network) the stack builds no network and {a} would be ignored: remove {a}"),
                );
            }
        }
        d
    }
}

#[tonic::async_trait]
impl<S: Stack> Resource for StackResource<S> {
    fn type_name(&self) -> &'static str {
        self.stack.type_name()
    }
    fn schema(&self) -> &Schema {
        self.stack.schema()
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut d = self.written_conflicts(config);
        d.extend(self.validate_used(config));
        d
    }
    fn upgrade_state(
        &self,
        from: i64,
        state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        self.stack.upgrade_state(from, state)
    }

    fn identity_schema(&self) -> Option<&IdentitySchema> {
        Some(&self.identity)
    }

    /// A stack lives in the provider's account and region (a stack
    /// recorded in another region is refused before any state is written).
    fn identity_of(&self, state: &Value) -> Option<Value> {
        let ctx = self.shared.context().ok()?;
        let id = state.get("id").as_str()?.to_string();
        Some(Value::Object(BTreeMap::from([
            ("account_id".to_string(), Value::str(ctx.account_id.clone())),
            ("region".to_string(), Value::str(ctx.region.clone())),
            ("stack_id".to_string(), Value::str(id)),
        ])))
    }

    fn list_schema(&self) -> Option<&Schema> {
        Some(&self.list)
    }

    async fn list(
        &self,
        config: Value,
        include_object: bool,
        limit: i64,
    ) -> (Vec<Listed>, Diagnostics) {
        let mut d = Diagnostics::default();
        let ctx = match self.shared.context() {
            Ok(c) => c,
            Err(e) => return (vec![], e),
        };
        let region = config
            .get("region")
            .as_str()
            .unwrap_or(&ctx.region)
            .to_string();
        let rctx = ctx.clone().region_context(&region);
        let mut manifests = Vec::new();
        let mut pages = rctx
            .ssm()
            .get_parameters_by_path()
            .path(MANIFEST_ROOT)
            .recursive(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(p) => manifests.extend(
                    p.parameters()
                        .iter()
                        .filter_map(|x| Some((x.name()?.to_string(), x.value()?.to_string()))),
                ),
                Err(e) => {
                    d.push(Diagnostic::error(
                        "Cannot list stacks",
                        format!(
                            "GetParametersByPath {MANIFEST_ROOT} in {region}: {}",
                            crate::aws::error_text(&e)
                        ),
                    ));
                    return (vec![], d);
                }
            }
        }
        let mut out = Vec::new();
        for (name, text) in manifests {
            let Some(id) = name
                .strip_prefix(MANIFEST_ROOT)
                .and_then(|r| r.strip_suffix("/manifest"))
            else {
                continue;
            };
            let manifest: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if !manifest_of(self.stack.schema(), &manifest) {
                continue;
            }
            // Only a manifest that carries its stack's id is a stack's: a
            // parameter someone else wrote under the path is not listed.
            use crate::engine::Cloud;
            let tag = crate::components::tagging::TagRef::SsmParameter(name.clone());
            match rctx.read_tags(&tag).await {
                Ok(Some(tags))
                    if tags.get(crate::engine::TAG_STACK_ID).map(String::as_str) == Some(id) => {}
                Ok(_) => continue,
                Err(e) => {
                    d.push(Diagnostic::error("Cannot list stacks", e.message));
                    continue;
                }
            }
            if limit > 0 && out.len() as i64 >= limit {
                break;
            }
            let identity = Value::Object(BTreeMap::from([
                ("account_id".to_string(), Value::str(ctx.account_id.clone())),
                ("region".to_string(), Value::str(region.clone())),
                ("stack_id".to_string(), Value::str(id)),
            ]));
            // The state is read as an import reads it, in the provider's
            // region (a stack is read where it lives).
            let object = if include_object && region == ctx.region {
                let imported = self.import(id).await;
                d.extend(imported.diagnostics);
                Some(imported.state).filter(|s| !s.is_null())
            } else {
                None
            };
            out.push(Listed {
                identity,
                display_name: format!("{id} ({} in {region})", self.stack.type_name()),
                object,
            });
        }
        (out, d)
    }

    /// The configuration the stack recorded in its manifest (defaults
    /// written out, secrets read back from AWS), which plans no change.
    async fn generate_config(&self, state: Value) -> (Value, Diagnostics) {
        let mut d = Diagnostics::default();
        let ctx = match self.shared.context() {
            Ok(c) => c,
            Err(e) => return (Value::Null, e),
        };
        let Some(id) = state.get("id").as_str() else {
            d.push(Diagnostic::error(
                "Cannot generate configuration",
                "the state names no stack id",
            ));
            return (Value::Null, d);
        };
        match self.import_config(&ctx, id).await {
            Ok(config) => (config, d),
            Err(e) => {
                d.push(Diagnostic::error("Cannot generate configuration", e));
                (Value::Null, d)
            }
        }
    }

    fn import_id(&self, identity: &Value) -> Result<String, Diagnostics> {
        let ctx = self.shared.context()?;
        let mut d = Diagnostics::default();
        let given = |k: &str| identity.get(k).as_str().filter(|v| !v.is_empty());
        if let Some(region) = given("region").filter(|r| *r != ctx.region) {
            d.error_at(
                Path::attr("region"),
                "Stack in another region",
                format!("the identity names region {region}, and the provider is configured for {}: import it with a provider of that region", ctx.region),
            );
        }
        if let Some(account) =
            given("account_id").filter(|a| !ctx.account_id.is_empty() && *a != ctx.account_id)
        {
            d.error_at(
                Path::attr("account_id"),
                "Stack in another account",
                format!("the identity names account {account}, and the provider's credentials are for {}", ctx.account_id),
            );
        }
        match given("stack_id") {
            Some(id) if !d.has_errors() => Ok(id.to_string()),
            Some(_) => Err(d),
            None => {
                d.error_at(
                    Path::attr("stack_id"),
                    "Missing stack id",
                    "the identity must name the stack (`stack_id`)",
                );
                Err(d)
            }
        }
    }

    async fn plan(&self, req: PlanRequest) -> PlanResponse {
        let mut resp = PlanResponse {
            planned_private: req.prior_private.clone(),
            ..Default::default()
        };
        if req.proposed_new_state.is_null() {
            // Destroy: refused here, before anything is deleted, when AWS
            // would refuse it or data would be lost.
            resp.diagnostics = self.stack.check_destroy(&req.prior_state);
            resp.planned_state = Value::Null;
            if !resp.diagnostics.has_errors() {
                if let Ok(ctx) = self.shared.context() {
                    match decode_private(&req.prior_private, &ctx.region, &self.stack.kinds()) {
                        Ok(recorded) => {
                            let env = self.env(ctx, &req.prior_state, "delete");
                            let all = engine::destroy_all(&recorded);
                            if let Some(d) = self
                                .delete_blocked(&env, &self.stack.kinds(), &recorded, &all)
                                .await
                            {
                                resp.diagnostics.extend(d);
                            } else {
                                resp.diagnostics.extend(
                                    self.delete_notices(&env, &self.stack.kinds(), &recorded, &all)
                                        .await,
                                );
                            }
                        }
                        Err(d) => resp.diagnostics.push(d),
                    }
                }
            }
            return resp;
        }
        let block = &self.stack.schema().block;
        let mut planned = req.proposed_new_state.clone();
        apply_defaults(block, &mut planned);
        // With a value of the configuration still unknown (a region, a
        // VPC id), the zones are settled at apply.
        if let (Ok(ctx), false) = (self.shared.context(), planned.contains_unknown()) {
            let d = self
                .settle_zones(&ctx, &req.prior_state, &mut planned, false)
                .await;
            if d.has_errors() {
                return PlanResponse {
                    diagnostics: d,
                    ..resp
                };
            }
        }
        // What the stack is built from: the plan with the write-only values
        // of the configuration, which never go back to Terraform.
        crate::schema::null_write_only(block, &mut planned);
        let work = crate::schema::stack_view(block, &planned, &req.config);
        resp.diagnostics = self.written_conflicts(&req.config);
        resp.diagnostics.extend(self.validate_used(&work));
        if !req.prior_state.is_null() {
            resp.diagnostics
                .extend(self.stack.validate_change(&req.prior_state, &work));
        }
        // The provider's region is known at plan, even when some of the
        // stack's values are not yet.
        if let Ok(ctx) = self.shared.context() {
            resp.diagnostics
                .extend(zones_diags(&self.stack.zones(&planned), Some(&ctx.region)));
            if !planned.contains_unknown() {
                let tags = self.stack_tags(&ctx, &self.defaulted(&planned));
                resp.diagnostics.extend(tag_case_clashes(&tags));
            }
        }
        if resp.diagnostics.has_errors() {
            return resp;
        }
        // Attributes whose change replaces the whole stack.
        if !req.prior_state.is_null() {
            for a in &self.stack.schema().block.attributes {
                if a.requires_replace && planned.get(a.name) != req.prior_state.get(a.name) {
                    resp.requires_replace.push(Path::attr(a.name));
                }
            }
        }
        let computed: Vec<&Attribute> = self
            .stack
            .schema()
            .block
            .attributes
            .iter()
            .filter(|a| a.computed && !a.optional)
            .collect();
        if work.contains_unknown() || !resp.requires_replace.is_empty() {
            for a in computed {
                planned.set_attr(a.name, Value::Unknown);
            }
            // Optional attributes the provider computes when unset.
            for a in self
                .stack
                .schema()
                .block
                .attributes
                .iter()
                .filter(|a| a.computed && a.optional)
            {
                if planned.get(a.name).is_null() {
                    planned.set_attr(a.name, Value::Unknown);
                }
            }
            // The id only depends on replace-forcing attributes: an update
            // keeps it, a new stack learns it at apply.
            if resp.requires_replace.is_empty() && !req.prior_state.is_null() {
                planned.set_attr("id", req.prior_state.get("id").clone());
            }
            resp.planned_state = planned;
            return resp;
        }
        let ctx = match self.shared.context() {
            Ok(c) => c,
            Err(d) => {
                resp.diagnostics.extend(d);
                return resp;
            }
        };
        let recorded = match decode_private(&req.prior_private, &ctx.region, &self.stack.kinds()) {
            Ok(r) => r,
            Err(d) => {
                resp.diagnostics.push(d);
                return resp;
            }
        };
        // What the last refresh found worth a warning (a rule that opens a
        // database port of the stack's group to the internet, say).
        for r in recorded.values() {
            for (k, w) in &r.outputs {
                if k.starts_with("warning.") {
                    resp.diagnostics.push(Diagnostic::warning(
                        "Unsafe rule on a stack resource",
                        w.clone(),
                    ));
                }
            }
        }
        let desired = self.desired(&self.env(ctx.clone(), &planned, "update"), &work, &ctx);
        let kinds = self.stack.kinds();
        let changes = match engine::plan(&kinds, &desired, &recorded) {
            Ok(c) => c,
            Err(e) => {
                resp.diagnostics
                    .push(Diagnostic::error("Invalid stack graph", e));
                return resp;
            }
        };
        let checks = self
            .checks(&ctx, &work, &kinds, &desired, &recorded, &changes)
            .await;
        let stop = checks.has_errors();
        resp.diagnostics.extend(checks);
        if stop {
            return resp;
        }
        // A replace or removal deletes too: the same data-loss rule.
        if let Some(d) = self
            .delete_blocked(
                &self.env(ctx.clone(), &planned, "update"),
                &kinds,
                &recorded,
                &changes,
            )
            .await
        {
            resp.diagnostics.extend(d);
            return resp;
        }
        resp.diagnostics.extend(
            self.delete_notices(
                &self.env(ctx.clone(), &planned, "update"),
                &kinds,
                &recorded,
                &changes,
            )
            .await,
        );
        let pending = engine::pending_keys(&changes);
        // Start from the prior computed values so that nothing changes when
        // nothing changes.
        if !req.prior_state.is_null() {
            for a in computed.iter() {
                planned.set_attr(a.name, req.prior_state.get(a.name).clone());
            }
        }
        // Components the apply deletes are not part of the planned stack.
        let mut remaining = recorded.clone();
        for c in changes.iter().filter(|c| c.action == Action::Delete) {
            remaining.remove(&c.key);
        }
        self.fill(
            &mut planned,
            &work,
            &ctx,
            &remaining,
            &pending,
            Value::Unknown,
        );
        if changes.is_empty() {
            if !req.prior_state.is_null() {
                planned.set_attr("changes", req.prior_state.get("changes").clone());
            } else {
                planned.set_attr("changes", Value::List(vec![]));
            }
        } else {
            planned.set_attr(
                "changes",
                Value::string_list(changes.iter().map(|c| c.describe())),
            );
        }
        resp.planned_state = planned;
        resp
    }

    async fn apply(&self, req: ApplyRequest) -> ApplyResponse {
        let mut resp = ApplyResponse::default();
        let ctx = match self.shared.context() {
            Ok(c) => c,
            Err(d) => {
                resp.diagnostics = d;
                resp.new_state = req.prior_state;
                resp.private = req.planned_private;
                return resp;
            }
        };
        let recorded = match decode_private(&req.planned_private, &ctx.region, &self.stack.kinds())
        {
            Ok(r) => r,
            Err(d) => {
                resp.diagnostics.push(d);
                resp.new_state = req.prior_state;
                resp.private = req.planned_private;
                return resp;
            }
        };
        let kinds = self.stack.kinds();

        if req.planned_state.is_null() {
            // Destroy every recorded component.
            let d = self.stack.check_destroy(&req.prior_state);
            if d.has_errors() {
                resp.diagnostics = d;
                resp.new_state = req.prior_state;
                resp.private = req.planned_private;
                return resp;
            }
            let env = self.env(ctx.clone(), &req.prior_state, "delete");
            let changes = engine::destroy_all(&recorded);
            // Again before anything is deleted: Terraform before 1.3 does not
            // plan destroys with the provider.
            if let Some(d) = self.delete_blocked(&env, &kinds, &recorded, &changes).await {
                resp.diagnostics = d;
                resp.new_state = req.prior_state;
                resp.private = req.planned_private;
                return resp;
            }
            let (left, errors) = engine::apply(env.clone(), kinds, &[], recorded, &changes).await;
            for w in env.take_warnings() {
                resp.diagnostics.push(Diagnostic::warning("awsstack", w));
            }
            if errors.is_empty() && left.is_empty() {
                resp.new_state = Value::Null;
                return resp;
            }
            for e in &errors {
                resp.diagnostics.push(Diagnostic::error(
                    format!("Failed to {} {}", e.action.verb(), e.key),
                    e.message.clone(),
                ));
            }
            let mut state = req.prior_state.clone();
            let none = std::collections::BTreeSet::new();
            self.fill(
                &mut state,
                &req.prior_state,
                &ctx,
                &left,
                &none,
                Value::Null,
            );
            resp.new_state = state;
            resp.private = encode_private(&left, &ctx.region);
            return resp;
        }

        let mut planned = req.planned_state.clone();
        let settled = self
            .settle_zones(&ctx, &req.prior_state, &mut planned, true)
            .await;
        if settled.has_errors() {
            resp.diagnostics = settled;
            resp.new_state = if req.prior_state.is_null() {
                Value::Null
            } else {
                req.prior_state
            };
            resp.private = req.planned_private;
            return resp;
        }
        let which = if req.prior_state.is_null() {
            "create"
        } else {
            "update"
        };
        let env = self.env(ctx.clone(), &planned, which);
        let work = crate::schema::stack_view(&self.stack.schema().block, &planned, &req.config);
        let desired = self.desired(&env, &work, &ctx);
        let changes = match engine::plan(&kinds, &desired, &recorded) {
            Ok(c) => c,
            Err(e) => {
                resp.diagnostics
                    .push(Diagnostic::error("Invalid stack graph", e));
                resp.new_state = if req.prior_state.is_null() {
                    Value::Null
                } else {
                    req.prior_state
                };
                resp.private = req.planned_private;
                return resp;
            }
        };
        // Again at apply: the values a plan did not know yet (a network
        // made in the same apply) are known now, and nothing is created
        // until they pass.
        let checks = self
            .checks(&ctx, &work, &kinds, &desired, &recorded, &changes)
            .await;
        let refusal = if checks.has_errors() {
            Some(checks)
        } else {
            self.delete_blocked(&env, &kinds, &recorded, &changes).await
        };
        if let Some(d) = refusal {
            resp.diagnostics = d;
            // A create starts without records even when the stack exists: a
            // tainted stack's replacement (see `engine::discover`). What
            // exists of it stays in the state.
            let mut found = Records::new();
            if req.prior_state.is_null() {
                engine::discover(&env, &kinds, &desired, &mut found).await;
            }
            if found.is_empty() {
                resp.new_state = if req.prior_state.is_null() {
                    Value::Null
                } else {
                    req.prior_state
                };
                resp.private = req.planned_private;
                return resp;
            }
            let mut state = planned.clone();
            self.fill(
                &mut state,
                &work,
                &ctx,
                &found,
                &std::collections::BTreeSet::new(),
                Value::Null,
            );
            state.set_attr("changes", Value::List(vec![]));
            resp.new_state = state;
            resp.private = encode_private(&found, &ctx.region);
            return resp;
        }
        let (records, errors) =
            engine::apply(env.clone(), kinds, &desired, recorded, &changes).await;
        for e in &errors {
            let d = Diagnostic::error(
                format!("Failed to {} {}", e.action.verb(), e.key),
                format!("{}\n\nThe stack's state records every sub-resource that exists; run apply again to resume, or destroy to remove them.", e.message),
            );
            resp.diagnostics
                .push(at_attribute(d, e.attribute.as_deref()));
        }
        for w in env.take_warnings() {
            resp.diagnostics.push(Diagnostic::warning("awsstack", w));
        }
        let mut state = planned.clone();
        let none = std::collections::BTreeSet::new();
        self.fill(&mut state, &work, &ctx, &records, &none, Value::Null);
        if errors.is_empty() {
            // Honour the plan exactly for what it already knew.
            state.set_attr(
                "changes",
                if planned.get("changes").is_unknown() {
                    Value::List(vec![])
                } else {
                    planned.get("changes").clone()
                },
            );
        } else {
            state.set_attr(
                "changes",
                Value::string_list(errors.iter().map(|e| format!("failed: {e}"))),
            );
        }
        if !errors.is_empty() && records.is_empty() && req.prior_state.is_null() {
            resp.new_state = Value::Null;
        } else {
            resp.new_state = state;
        }
        resp.private = encode_private(&records, &ctx.region);
        resp
    }

    async fn read(&self, state: Value, private: Vec<u8>) -> ReadResponse {
        let mut resp = ReadResponse::default();
        let ctx = match self.shared.context() {
            Ok(c) => c,
            Err(d) => {
                resp.diagnostics = d;
                resp.new_state = state;
                resp.private = private;
                return resp;
            }
        };
        let recorded = match decode_private(&private, &ctx.region, &self.stack.kinds()) {
            Ok(r) => r,
            Err(d) => {
                resp.diagnostics.push(d);
                resp.new_state = state;
                resp.private = private;
                return resp;
            }
        };
        let env = self.env(ctx.clone(), &state, "update");
        match engine::refresh(env, self.stack.kinds(), recorded).await {
            Ok((records, drift)) => {
                if records.is_empty() && !drift.is_empty() {
                    // Every sub-resource is gone: the stack no longer exists.
                    resp.new_state = Value::Null;
                    return resp;
                }
                let mut s = state.clone();
                let none = std::collections::BTreeSet::new();
                self.stack.read_back(&mut s, &records);
                // A stack created before its zones were stored: they are the
                // default letters it was built with (no AWS call).
                // (With a prior state nothing is looked up: no error.)
                let _ = self.settle_zones(&ctx, &state, &mut s, true).await;
                // The outputs follow what was read back (the region that
                // writes now), not the state as it was.
                let seen = s.clone();
                self.fill(&mut s, &seen, &ctx, &records, &none, Value::Null);
                if !drift.is_empty() {
                    s.set_attr(
                        "changes",
                        Value::string_list(drift.iter().map(|d| format!("drift: {d}"))),
                    );
                }
                resp.new_state = s;
                resp.private = encode_private(&records, &ctx.region);
            }
            Err(e) => {
                resp.diagnostics
                    .push(Diagnostic::error("Failed to read the stack", e));
                resp.new_state = state;
                resp.private = private;
            }
        }
        resp
    }

    async fn import(&self, id: &str) -> ImportResponse {
        let mut resp = ImportResponse::default();
        let ctx = match self.shared.context() {
            Ok(c) => c,
            Err(d) => {
                resp.diagnostics = d;
                return resp;
            }
        };
        let config = match self.import_config(&ctx, id).await {
            Ok(c) => c,
            Err(e) => {
                resp.diagnostics
                    .push(Diagnostic::error("Cannot import stack", e));
                return resp;
            }
        };
        let env = self.env(ctx.clone(), &config, "update");
        let desired = self.desired(&env, &config, &ctx);
        let kinds = self.stack.kinds();
        let mut found = Records::new();
        for spec in &desired {
            match kinds.get(spec.kind) {
                // Only what carries the stack's id is imported.
                Ok(k) => match engine::find_owned(
                    k.as_ref(),
                    &engine::placed(&env, spec.region.as_deref()),
                    spec,
                )
                .await
                {
                    Ok(Some(mut r)) => {
                        r.deps = spec.deps.iter().map(|d| d.key.clone()).collect();
                        r.region = spec.region.clone();
                        found.insert(spec.key.clone(), r);
                    }
                    Ok(None) => {}
                    Err(e) => resp.diagnostics.push(Diagnostic::error(
                        format!("Import: cannot import {}", spec.key),
                        e.message,
                    )),
                },
                Err(e) => resp
                    .diagnostics
                    .push(Diagnostic::error("Import failed", e.message)),
            }
        }
        if resp.diagnostics.has_errors() {
            return resp;
        }
        let mut state = config;
        let none = std::collections::BTreeSet::new();
        self.stack.read_back(&mut state, &found);
        let config = state.clone();
        self.fill(&mut state, &config, &ctx, &found, &none, Value::Null);
        state.set_attr("changes", Value::List(vec![]));
        resp.state = state;
        resp.private = encode_private(&found, &ctx.region);
        resp
    }
}

impl<S: Stack> StackResource<S> {
    /// The configuration recorded in the stack's manifest, with its secrets
    /// read back from AWS.
    async fn import_config(&self, ctx: &AwsContext, id: &str) -> Result<Value, String> {
        let name = manifest_name(id);
        let o = ctx.ssm().get_parameter().name(&name).send().await.map_err(|e| {
            if crate::aws::is_not_found(&e) {
                format!("no awsstack stack with id {id:?} in {}: the parameter {name} does not exist", ctx.region)
            } else {
                format!("reading {name}: {}", crate::aws::error_text(&e))
            }
        })?;
        let text = o.parameter().and_then(|p| p.value()).unwrap_or_default();
        let t = self.stack.schema().block.value_type();
        let mut config = crate::value::decode_json(text.as_bytes(), &t)
            .map_err(|e| format!("the manifest {name} is not readable: {e}"))?;
        self.stack.restore_secrets(ctx, &mut config).await?;
        Ok(config)
    }
}

#[cfg(test)]
mod zone_tests {
    use super::zones_diags;
    use crate::value::Path;

    fn details(zones: &[&str], region: Option<&str>) -> Vec<(String, String)> {
        let zs: Vec<(Path, &str)> = zones
            .iter()
            .enumerate()
            .map(|(i, z)| (Path::attr("availability_zones").then_index(i), *z))
            .collect();
        zones_diags(&zs, region)
            .0
            .into_iter()
            .map(|d| (d.path.map(|p| p.to_string()).unwrap_or_default(), d.detail))
            .collect()
    }

    #[test]
    fn zones_are_names_of_one_region_and_of_the_providers() {
        assert!(details(&["eu-west-1a", "eu-west-1b"], None).is_empty());
        assert!(details(&["eu-west-1a", "eu-west-1b"], Some("eu-west-1")).is_empty());
        let bad = details(&["eu-west-1a", "mars"], None);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].0, "availability_zones[1]");
        let mixed = details(&["eu-west-1a", "us-east-1b"], None);
        assert!(
            mixed.len() == 1
                && mixed[0].0 == "availability_zones[1]"
                && mixed[0].1.contains("one region"),
            "{mixed:?}"
        );
        let other = details(&["us-east-1a", "us-east-1b"], Some("eu-west-1"));
        assert_eq!(other.len(), 2, "{other:?}");
        assert!(other
            .iter()
            .all(|(_, m)| m.contains("not of the provider's region eu-west-1")));
    }
}

#[cfg(test)]
mod written_conflict_tests {
    use super::{container_service::ContainerService, StackResource};
    use crate::aws::Shared;
    use crate::tfplugin::Resource;
    use crate::value::Value;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    fn written(pairs: &[(&str, Value)]) -> Value {
        let mut m: BTreeMap<String, Value> = [("project_name", Value::str("netco"))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        m.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())));
        Value::Object(m)
    }

    fn conflicts(c: &Value) -> Vec<String> {
        let r = StackResource::new(ContainerService::new(), Arc::new(Shared::default()));
        r.validate(c)
            .0
            .into_iter()
            .filter(|d| d.summary == "Conflicting arguments")
            .map(|d| d.path.unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_defaulted_attribute_conflicts_with_an_existing_network_only_when_written() {
        let net = [
            ("vpc_id", Value::str("vpc-0123456789abcdef0")),
            (
                "public_subnet_ids",
                Value::List(vec![
                    Value::str("subnet-0a000000000000001"),
                    Value::str("subnet-0a000000000000002"),
                ]),
            ),
            (
                "private_subnet_ids",
                Value::List(vec![
                    Value::str("subnet-0b000000000000001"),
                    Value::str("subnet-0b000000000000002"),
                ]),
            ),
        ];
        assert!(
            conflicts(&written(&net)).is_empty(),
            "the defaults alone do not conflict"
        );
        let with = |extra: (&str, Value)| {
            let mut v = net.to_vec();
            v.push(extra);
            conflicts(&written(&v))
        };
        assert_eq!(
            with(("nat_gateways", Value::str("single"))),
            vec!["nat_gateways"],
            "written, even with the default's value"
        );
        assert_eq!(
            with(("vpc_cidr", Value::str("10.0.0.0/16"))),
            vec!["vpc_cidr"]
        );
        assert!(
            with(("vpc_cidr", Value::Unknown)).is_empty(),
            "a wrapper module's variable at validate may still be null"
        );
        assert!(
            conflicts(&written(&[
                ("vpc_cidr", Value::str("10.0.0.0/16")),
                ("nat_gateways", Value::str("per_az"))
            ]))
            .is_empty(),
            "its own network"
        );
    }
}

#[cfg(test)]
mod defaulted_tests {
    use super::{
        container_service::ContainerService, docker_host::DockerHost,
        multi_region_platform::MultiRegionPlatform, Stack, StackResource, TAG_STACK_ID,
    };
    use crate::aws::{AwsContext, Shared};
    use crate::value::Value;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// The stack id and tags of a configuration that leaves its
    /// environment out (an import of a manifest written before the
    /// attribute existed): the schema's default, the one place it is
    /// written.
    fn id_and_tag<S: Stack>(stack: S, env_tag: &str) -> (String, String, String) {
        let r = StackResource::new(stack, Arc::new(Shared::default()));
        let written = Value::Object(BTreeMap::from([(
            "project_name".to_string(),
            Value::str("netco"),
        )]));
        let ctx = Arc::new(AwsContext::offline("eu-west-1", "123456789012"));
        let env = r.env(ctx, &written, "create");
        (
            env.stack_id.clone(),
            env.tags[TAG_STACK_ID].clone(),
            env.tags[env_tag].clone(),
        )
    }

    #[test]
    fn the_stack_id_and_tags_read_the_schema_s_default_environment() {
        assert_eq!(
            id_and_tag(DockerHost::new(), "Environment"),
            ("netco-dev".into(), "netco-dev".into(), "dev".into())
        );
        assert_eq!(
            id_and_tag(ContainerService::new(), "env"),
            ("netco-dev".into(), "netco-dev".into(), "dev".into())
        );
        assert_eq!(
            id_and_tag(MultiRegionPlatform::new(), "env"),
            ("netco-prod".into(), "netco-prod".into(), "prod".into())
        );
    }

    #[test]
    fn tag_keys_that_differ_only_in_case_are_refused_on_tags() {
        let tags = |ks: &[&str]| {
            ks.iter()
                .map(|k| (k.to_string(), "v".to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let d = super::tag_case_clashes(&tags(&["project", "Project", "env", "Environment"]));
        assert_eq!(d.0.len(), 1, "{d:?}");
        assert_eq!(d.0[0].path, Some(crate::value::Path::attr("tags")));
        assert!(
            d.0[0].detail.contains("\"Project\"") && d.0[0].detail.contains("\"project\""),
            "{d:?}"
        );
        assert!(
            super::tag_case_clashes(&tags(&["project", "env", "Environment"]))
                .0
                .is_empty()
        );
    }
}

/// What validate reports on `config` for the stack's own checks: its
/// schema's attribute rules, then its cross-field rules (unit tests).
#[cfg(test)]
pub fn validated(stack: &dyn Stack, config: &Value) -> Diagnostics {
    let mut d = crate::schema::rules::check(&stack.schema().block, config);
    d.extend(stack.validate(config));
    d
}
