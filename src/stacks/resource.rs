//! `StackResource`: any `Stack` as a Terraform resource on the engine:
//! plan shows the sub-resource changes, apply runs them and records exactly
//! what exists, read detects drift, import and list rebuild state.

use super::*;

pub struct StackResource<S: Stack> {
    pub(super) stack: S,
    pub(super) shared: Arc<Shared>,
    identity: IdentitySchema,
    list: Schema,
}

/// A list block's `config` (`terraform query`): every argument optional.
pub(crate) fn list_schema() -> Schema {
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
pub(crate) fn manifest_of(schema: &Schema, manifest: &serde_json::Value) -> bool {
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
pub(crate) fn identity_schema() -> IdentitySchema {
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
    pub(super) async fn delete_blocked(
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
    pub(super) async fn checks(
        &self,
        ctx: &Arc<AwsContext>,
        config: &Value,
        kinds: &Kinds<AwsContext>,
        desired: &[Spec],
        recorded: &Records,
        changes: &[engine::Change],
    ) -> Diagnostics {
        let typed = self.stack.config(config);
        let mut d = self.stack.aws_checks(ctx, &typed).await;
        for n in self.stack.network_zones(&typed, &ctx.region) {
            if !n.zones.is_empty() {
                d.extend(
                    crate::stacks::network::check_zones(
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
    pub(super) async fn settle_zones(
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
        for n in self
            .stack
            .network_zones(&self.stack.config(&unset), &ctx.region)
        {
            if n.source != crate::stacks::network::ZoneSource::Default
                || !open.contains(&n.attribute)
            {
                continue;
            }
            let zones = if !prior.is_null() {
                Ok(n.zones)
            } else {
                crate::stacks::network::default_zones(
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
    pub(super) async fn delete_notices(
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
    pub(super) fn desired(
        &self,
        env: &Env<AwsContext>,
        config: &Value,
        ctx: &AwsContext,
    ) -> Vec<Spec> {
        let mut d = with_manifests(&self.stack, &self.defaulted(config), ctx);
        env.tag_specs(&mut d);
        engine::keep(&mut d, &self.stack.kinds(), &adopt::kept_names(config));
        for s in &mut d {
            s.named_by.get_or_insert("project_name");
        }
        d
    }

    pub(super) fn timeout(config: &Value, which: &str) -> Duration {
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
    pub(super) fn stack_tags(&self, ctx: &AwsContext, config: &Value) -> BTreeMap<String, String> {
        let typed = self.stack.config(config);
        let mut tags = ctx.default_tags.clone();
        tags.extend(self.stack.tags(&typed));
        if let Some(m) = config.get("tags").as_map() {
            for (k, v) in m {
                if let Some(s) = v.as_str() {
                    tags.insert(k.clone(), s.to_string());
                }
            }
        }
        tags.insert(TAG_STACK_ID.to_string(), self.stack.stack_id(&typed));
        tags
    }

    pub(super) fn env(
        &self,
        ctx: Arc<AwsContext>,
        config: &Value,
        which: &str,
    ) -> Arc<Env<AwsContext>> {
        let config = &self.defaulted(config);
        let tags = self.stack_tags(&ctx, config);
        let stack_id = self.stack.stack_id(&self.stack.config(config));
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
    pub(super) fn fill(
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
        let typed = self.stack.config(&config);
        let outs = self.stack.outputs(&typed, ctx, &get);
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
        planned.set_attr("id", Value::str(self.stack.stack_id(&typed)));
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
            // A configuration holds no computed-only value: the kept names
            // come back with the import.
            Ok(mut config) => {
                config.set_attr(adopt::KEPT_NAMES, Value::Null);
                (config, d)
            }
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
            resp.diagnostics = self
                .stack
                .check_destroy(&self.stack.config(&req.prior_state));
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
        let mut work = crate::schema::stack_view(block, &planned, &req.config);
        resp.diagnostics = self.written_conflicts(&req.config);
        resp.diagnostics.extend(adopt::unknown_ids(&work));
        resp.diagnostics.extend(self.validate_used(&work));
        if !req.prior_state.is_null() {
            resp.diagnostics.extend(self.stack.validate_change(
                &self.stack.config(&req.prior_state),
                &self.stack.config(&work),
            ));
        }
        // The provider's region is known at plan, even when some of the
        // stack's values are not yet.
        if let Ok(ctx) = self.shared.context() {
            resp.diagnostics.extend(zones_diags(
                &self.stack.zones(&self.stack.config(&planned)),
                Some(&ctx.region),
            ));
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
            // keeps it, a new stack learns it at apply. The kept names only
            // change with an adoption, which needs known values.
            if resp.requires_replace.is_empty() && !req.prior_state.is_null() {
                planned.set_attr("id", req.prior_state.get("id").clone());
                planned.set_attr(
                    adopt::KEPT_NAMES,
                    req.prior_state.get(adopt::KEPT_NAMES).clone(),
                );
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
        let mut recorded =
            match decode_private(&req.prior_private, &ctx.region, &self.stack.kinds()) {
                Ok(r) => r,
                Err(d) => {
                    resp.diagnostics.push(d);
                    return resp;
                }
            };
        // What the last refresh found worth a warning (a rule that opens a
        // database port of the stack's group to the internet, say).
        for w in recorded.values().flat_map(|r| &r.warnings) {
            resp.diagnostics.push(Diagnostic::warning(
                "Unsafe rule on a stack resource",
                w.clone(),
            ));
        }
        let kinds = self.stack.kinds();
        // A move: the objects `adopt` names join the records as AWS has
        // them, and their names are kept; the ordinary plan then decides
        // what each one gets.
        let moved = match self
            .adopt_step(&ctx, &planned, &mut work, &mut recorded)
            .await
        {
            Ok(m) => m,
            Err(d) => {
                resp.diagnostics.extend(d);
                return resp;
            }
        };
        planned.set_attr(adopt::KEPT_NAMES, work.get(adopt::KEPT_NAMES).clone());
        let desired = self.desired(&self.env(ctx.clone(), &planned, "update"), &work, &ctx);
        let changes = match engine::plan(&kinds, &desired, &recorded) {
            Ok(c) => c,
            Err(e) => {
                resp.diagnostics
                    .push(Diagnostic::error("Invalid stack graph", e));
                return resp;
            }
        };
        let refused = engine::refusals(&kinds, &desired, &recorded, &moved.keys(), &changes);
        if !refused.is_empty() {
            resp.diagnostics
                .extend(adopt::refusal_diags(&refused, &moved.adoptions));
            return resp;
        }
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
            for a in computed.iter().filter(|a| a.name != adopt::KEPT_NAMES) {
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
        if !moved.is_empty() {
            planned.set_attr(
                "changes",
                Value::string_list(moved.describe(&changes, &recorded)),
            );
            if let Some(t) = moved.removal_text(self.stack.type_name(), &recorded) {
                resp.diagnostics
                    .push(Diagnostic::warning("Move from hashicorp/aws", t));
            }
            // The apply starts from the records with the adopted objects.
            resp.planned_private = encode_private(&recorded, &ctx.region);
        } else if changes.is_empty() {
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
            let d = self
                .stack
                .check_destroy(&self.stack.config(&req.prior_state));
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
