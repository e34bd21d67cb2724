//! The `Stack` trait: what a stack type gives (schema, validation, the
//! component graph of a configuration, outputs), and the attributes every
//! stack has.

use super::*;

/// What a stack type provides.
pub trait Stack: Send + Sync + 'static {
    /// The stack's configuration, typed (`<stack>/config.rs`).
    type Config: FromBlock + Send + Sync;
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> &Schema;
    /// `value` (a configuration or a state of this stack) read as its
    /// typed configuration: what every method below is given.
    fn config(&self, value: &Value) -> Self::Config {
        crate::schema::config::read(&self.schema().block, value)
    }
    /// Checks across attributes (each attribute's own rules are on the
    /// schema); unknown values are skipped.
    fn validate(&self, config: &Self::Config) -> Diagnostics;
    /// Checks that need the prior state (e.g. a volume cannot shrink).
    fn validate_change(&self, _prior: &Self::Config, _config: &Self::Config) -> Diagnostics {
        Diagnostics::default()
    }
    /// The stack id (`awsstack:stack-id`). This method and the ones below
    /// that build names, tags or outputs get `config` with its schema's
    /// defaults filled (`StackResource::defaulted`).
    fn stack_id(&self, config: &Self::Config) -> String;
    /// Tags for every component (besides the stack id and provider defaults).
    fn tags(&self, config: &Self::Config) -> BTreeMap<String, String>;
    /// The stack's components for `config`, given with its schema's
    /// defaults filled; the generic layer adds the manifest.
    fn desired(&self, config: &Self::Config, ctx: &AwsContext) -> Vec<Spec>;
    /// Where the stack keeps its manifest (`manifest_spec`): each copy's
    /// component key and region (None: the provider's).
    fn manifests(
        &self,
        _config: &Self::Config,
        _ctx: &AwsContext,
    ) -> Vec<(String, Option<String>)> {
        vec![("manifest".to_string(), None)]
    }
    fn kinds(&self) -> Arc<Kinds<AwsContext>>;
    /// Computed attributes from the components; `get` returns None for a
    /// component whose attributes are not known yet.
    fn outputs(
        &self,
        config: &Self::Config,
        ctx: &AwsContext,
        get: &dyn Fn(&str) -> Option<Record>,
    ) -> BTreeMap<&'static str, Value>;
    /// Refuses a destroy that AWS would refuse (e.g. deletion protection),
    /// from the state read as a configuration.
    fn check_destroy(&self, _state: &Self::Config) -> Diagnostics {
        Diagnostics::default()
    }
    /// The availability zones the configuration names, each with the path
    /// of its attribute. The generic layer checks them: names, one region
    /// per stack, and (at plan) the provider's region.
    fn zones(&self, _config: &Self::Config) -> Vec<(Path, String)> {
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
        _config: &'a Self::Config,
    ) -> BoxFuture<'a, Diagnostics> {
        Box::pin(async { Diagnostics::default() })
    }
    /// The zones of each network the stack builds itself (none for one
    /// placed in an existing network, whose subnets have their zones):
    /// the generic layer checks at plan that their region offers them.
    fn network_zones(&self, _config: &Self::Config, _provider_region: &str) -> Vec<NetworkZones> {
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
    pub source: crate::stacks::network::ZoneSource,
}

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

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
    block.attributes.extend(super::adopt::attributes());
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
