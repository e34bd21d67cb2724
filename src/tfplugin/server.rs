//! tfplugin6 `Provider` service → `Provider`/`Resource` traits.

use super::convert::{decode, diags_to_pb, encode, path_to_pb, schema_to_pb};
use super::proto::tfplugin6 as pb;
use super::proto::tfplugin6::provider_server::Provider as PbProvider;
use super::{
    Action, ApplyRequest, DataSource, EphemeralResource, PlanRequest, Progress, Provider, Resource,
};
use crate::schema::{Diagnostic, Diagnostics};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

pub struct ProviderServer {
    provider: Arc<dyn Provider>,
    resources: BTreeMap<&'static str, Arc<dyn Resource>>,
    data_sources: BTreeMap<&'static str, Arc<dyn DataSource>>,
    actions: BTreeMap<&'static str, Arc<dyn Action>>,
    ephemerals: BTreeMap<&'static str, Arc<dyn EphemeralResource>>,
    _shutdown: Arc<Notify>,
}

impl ProviderServer {
    pub fn new(provider: Arc<dyn Provider>, shutdown: Arc<Notify>) -> Self {
        let resources = provider
            .resources()
            .into_iter()
            .map(|r| (r.type_name(), r))
            .collect();
        let data_sources = provider
            .data_sources()
            .into_iter()
            .map(|d| (d.type_name(), d))
            .collect();
        let actions = provider
            .actions()
            .into_iter()
            .map(|a| (a.type_name(), a))
            .collect();
        let ephemerals = provider
            .ephemeral_resources()
            .into_iter()
            .map(|e| (e.type_name(), e))
            .collect();
        ProviderServer {
            provider,
            resources,
            data_sources,
            actions,
            ephemerals,
            _shutdown: shutdown,
        }
    }

    pub fn into_service(self) -> pb::provider_server::ProviderServer<Self> {
        pb::provider_server::ProviderServer::new(self)
            .max_decoding_message_size(256 << 20)
            .max_encoding_message_size(256 << 20)
    }

    fn resource(&self, name: &str) -> Result<&Arc<dyn Resource>, Diagnostics> {
        self.resources
            .get(name)
            .ok_or_else(|| unknown_type("resource", name))
    }

    /// The identity of the instance with `state`, for a type that has an
    /// identity schema (None for a null state: nothing to name).
    fn identity(r: &dyn Resource, state: &crate::value::Value) -> Option<pb::ResourceIdentityData> {
        let schema = r.identity_schema()?;
        if state.is_null() {
            return None;
        }
        let v = r.identity_of(state)?;
        Some(pb::ResourceIdentityData {
            identity_data: Some(encode(&v, &schema.value_type())),
        })
    }

    /// An action's configuration checked: its type, its schema, its own
    /// rules (at validate, and again at plan with the values known).
    fn validate_action(&self, name: &str, config: Option<&pb::DynamicValue>) -> Diagnostics {
        let a = match self.action(name) {
            Ok(a) => a,
            Err(d) => return d,
        };
        match decode(
            config,
            &a.schema().block.value_type(),
            "action configuration",
        ) {
            Ok(c) => a.validate(&c),
            Err(d) => d,
        }
    }

    fn action(&self, name: &str) -> Result<&Arc<dyn Action>, Diagnostics> {
        self.actions
            .get(name)
            .ok_or_else(|| unknown_type("action", name))
    }

    fn capabilities() -> pb::ServerCapabilities {
        pb::ServerCapabilities {
            plan_destroy: true,
            get_provider_schema_optional: false,
            move_resource_state: true,
            generate_resource_config: true,
        }
    }
}

/// Terraform >= 1.11 says it keeps write-only values out of the state;
/// an older one sends no capabilities at all.
fn write_only_allowed(c: Option<&pb::ClientCapabilities>) -> bool {
    c.is_some_and(|c| c.write_only_attributes_allowed)
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    let mut d = Diagnostics::default();
    d.push(Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} type {name:?}."),
    ));
    d
}

type R<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl PbProvider for ProviderServer {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> R<pb::get_metadata::Response> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(Self::capabilities()),
            diagnostics: vec![],
            data_sources: self
                .data_sources
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata {
                    type_name: k.to_string(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|k| pb::get_metadata::ResourceMetadata {
                    type_name: k.to_string(),
                })
                .collect(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> R<pb::get_provider_schema::Response> {
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(schema_to_pb(self.provider.schema())),
            resource_schemas: self
                .resources
                .iter()
                .map(|(k, r)| (k.to_string(), schema_to_pb(r.schema())))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(k, d)| (k.to_string(), schema_to_pb(d.schema())))
                .collect(),
            diagnostics: vec![],
            provider_meta: None,
            server_capabilities: Some(Self::capabilities()),
            functions: Default::default(),
            list_resource_schemas: self
                .resources
                .iter()
                .filter_map(|(k, r)| Some((k.to_string(), schema_to_pb(r.list_schema()?))))
                .collect(),
            ephemeral_resource_schemas: self
                .ephemerals
                .iter()
                .map(|(k, e)| (k.to_string(), schema_to_pb(e.schema())))
                .collect(),
            action_schemas: self
                .actions
                .iter()
                .map(|(k, a)| {
                    (
                        k.to_string(),
                        pb::ActionSchema {
                            schema: Some(schema_to_pb(a.schema())),
                        },
                    )
                })
                .collect(),
        }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> R<pb::get_resource_identity_schemas::Response> {
        let identity_schemas = self
            .resources
            .iter()
            .filter_map(|(k, r)| {
                let s = r.identity_schema()?;
                let attributes = s
                    .attributes
                    .iter()
                    .map(|a| pb::resource_identity_schema::IdentityAttribute {
                        name: a.name.to_string(),
                        r#type: serde_json::to_vec(&a.ty.to_json()).expect("type JSON"),
                        required_for_import: a.required_for_import,
                        optional_for_import: !a.required_for_import,
                        description: a.description.to_string(),
                    })
                    .collect();
                Some((
                    k.to_string(),
                    pb::ResourceIdentitySchema {
                        version: s.version,
                        identity_attributes: attributes,
                    },
                ))
            })
            .collect();
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas,
            diagnostics: vec![],
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> R<pb::validate_ephemeral_resource_config::Response> {
        let req = req.into_inner();
        let diags = match self.ephemerals.get(req.type_name.as_str()) {
            None => unknown_type("ephemeral resource", &req.type_name),
            Some(e) => match decode(
                req.config.as_ref(),
                &e.schema().block.value_type(),
                "configuration",
            ) {
                Ok(c) => e.validate(&c),
                Err(d) => d,
            },
        };
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: diags_to_pb(&diags),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<pb::open_ephemeral_resource::Request>,
    ) -> R<pb::open_ephemeral_resource::Response> {
        let req = req.into_inner();
        let fail = |d: Diagnostics| {
            Ok(Response::new(pb::open_ephemeral_resource::Response {
                diagnostics: diags_to_pb(&d),
                result: None,
                private: None,
            }))
        };
        let Some(e) = self.ephemerals.get(req.type_name.as_str()) else {
            return fail(unknown_type("ephemeral resource", &req.type_name));
        };
        let t = e.schema().block.value_type();
        let config = match decode(req.config.as_ref(), &t, "configuration") {
            Ok(c) => c,
            Err(d) => return fail(d),
        };
        let (value, diags) = e.open(config).await;
        if diags.has_errors() {
            return fail(diags);
        }
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: diags_to_pb(&diags),
            result: Some(encode(&value, &t)),
            private: None,
        }))
    }

    /// Never asked for: no value sets a renewal time.
    async fn renew_ephemeral_resource(
        &self,
        req: Request<pb::renew_ephemeral_resource::Request>,
    ) -> R<pb::renew_ephemeral_resource::Response> {
        Ok(Response::new(pb::renew_ephemeral_resource::Response {
            diagnostics: vec![],
            private: req.into_inner().private,
        }))
    }

    /// Nothing to release: a value is read, not leased.
    async fn close_ephemeral_resource(
        &self,
        _: Request<pb::close_ephemeral_resource::Request>,
    ) -> R<pb::close_ephemeral_resource::Response> {
        Ok(Response::new(pb::close_ephemeral_resource::Response {
            diagnostics: vec![],
        }))
    }

    async fn validate_action_config(
        &self,
        req: Request<pb::validate_action_config::Request>,
    ) -> R<pb::validate_action_config::Response> {
        let req = req.into_inner();
        let diags = self.validate_action(&req.type_name, req.config.as_ref());
        Ok(Response::new(pb::validate_action_config::Response {
            diagnostics: diags_to_pb(&diags),
        }))
    }

    /// Actions change no resource's state: the plan is the validation,
    /// with the values now known.
    async fn plan_action(
        &self,
        req: Request<pb::plan_action::Request>,
    ) -> R<pb::plan_action::Response> {
        let req = req.into_inner();
        let diags = self.validate_action(&req.action_type, req.config.as_ref());
        Ok(Response::new(pb::plan_action::Response {
            diagnostics: diags_to_pb(&diags),
        }))
    }

    type InvokeActionStream = std::pin::Pin<
        Box<
            dyn tokio_stream::Stream<Item = Result<pb::invoke_action::Event, tonic::Status>> + Send,
        >,
    >;

    /// Runs the action in a task of its own; its progress messages stream
    /// to Terraform as they come, then its outcome.
    async fn invoke_action(
        &self,
        req: Request<pb::invoke_action::Request>,
    ) -> R<Self::InvokeActionStream> {
        use pb::invoke_action::event::{Completed, Progress as Said, Type};
        let req = req.into_inner();
        let (tx, rx) =
            tokio::sync::mpsc::channel::<Result<pb::invoke_action::Event, tonic::Status>>(16);
        let done = |d: &Diagnostics| pb::invoke_action::Event {
            r#type: Some(Type::Completed(Completed {
                diagnostics: diags_to_pb(d),
            })),
        };
        let action = self.action(&req.action_type).map(Arc::clone).and_then(|a| {
            decode(
                req.config.as_ref(),
                &a.schema().block.value_type(),
                "action configuration",
            )
            .map(|c| (a, c))
        });
        match action {
            Err(d) => {
                let _ = tx.send(Ok(done(&d))).await;
            }
            Ok((a, config)) => {
                tokio::spawn(async move {
                    let (said_tx, mut said_rx) = tokio::sync::mpsc::channel::<String>(16);
                    let forward = {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            while let Some(m) = said_rx.recv().await {
                                let _ = tx
                                    .send(Ok(pb::invoke_action::Event {
                                        r#type: Some(Type::Progress(Said { message: m })),
                                    }))
                                    .await;
                            }
                        })
                    };
                    let diags = a.invoke(config, Progress::new(said_tx)).await;
                    let _ = forward.await;
                    let _ = tx.send(Ok(done(&diags))).await;
                });
            }
        }
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    type ListResourceStream = std::pin::Pin<
        Box<
            dyn tokio_stream::Stream<Item = Result<pb::list_resource::Event, tonic::Status>> + Send,
        >,
    >;

    async fn list_resource(
        &self,
        req: Request<pb::list_resource::Request>,
    ) -> R<Self::ListResourceStream> {
        let req = req.into_inner();
        let one = |d: Diagnostics| {
            let event = pb::list_resource::Event {
                diagnostic: diags_to_pb(&d),
                ..Default::default()
            };
            Ok(Response::new(
                Box::pin(tokio_stream::iter(vec![Ok(event)])) as Self::ListResourceStream
            ))
        };
        let r = match self.resource(&req.type_name) {
            Ok(r) => r.clone(),
            Err(d) => return one(d),
        };
        let (Some(list), Some(identity)) = (r.list_schema(), r.identity_schema()) else {
            return one(unknown_type("list resource", &req.type_name));
        };
        let config = match decode(
            req.config.as_ref(),
            &list.block.value_type(),
            "list configuration",
        ) {
            Ok(c) => c,
            Err(d) => return one(d),
        };
        let (found, diags) = r.list(config, req.include_resource_object, req.limit).await;
        let (it, t) = (identity.value_type(), r.schema().block.value_type());
        let mut events: Vec<Result<pb::list_resource::Event, tonic::Status>> = found
            .into_iter()
            .map(|l| {
                Ok(pb::list_resource::Event {
                    identity: Some(pb::ResourceIdentityData {
                        identity_data: Some(encode(&l.identity, &it)),
                    }),
                    display_name: l.display_name,
                    resource_object: l.object.map(|o| encode(&o, &t)),
                    diagnostic: vec![],
                })
            })
            .collect();
        if !diags.0.is_empty() {
            events.push(Ok(pb::list_resource::Event {
                diagnostic: diags_to_pb(&diags),
                ..Default::default()
            }));
        }
        Ok(Response::new(Box::pin(tokio_stream::iter(events))))
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<pb::validate_list_resource_config::Request>,
    ) -> R<pb::validate_list_resource_config::Response> {
        let req = req.into_inner();
        let diags = match self.resource(&req.type_name) {
            Err(d) => d,
            Ok(r) => match r.list_schema() {
                None => unknown_type("list resource", &req.type_name),
                Some(list) => decode(
                    req.config.as_ref(),
                    &list.block.value_type(),
                    "list configuration",
                )
                .err()
                .unwrap_or_default(),
            },
        };
        Ok(Response::new(pb::validate_list_resource_config::Response {
            diagnostics: diags_to_pb(&diags),
        }))
    }

    async fn generate_resource_config(
        &self,
        req: Request<pb::generate_resource_config::Request>,
    ) -> R<pb::generate_resource_config::Response> {
        let req = req.into_inner();
        let fail = |d: Diagnostics| {
            Ok(Response::new(pb::generate_resource_config::Response {
                config: None,
                diagnostics: diags_to_pb(&d),
            }))
        };
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => return fail(d),
        };
        let t = r.schema().block.value_type();
        let state = match decode(req.state.as_ref(), &t, "state") {
            Ok(s) => s,
            Err(d) => return fail(d),
        };
        let (config, diags) = r.generate_config(state).await;
        if diags.has_errors() {
            return fail(diags);
        }
        Ok(Response::new(pb::generate_resource_config::Response {
            config: Some(encode(&config, &t)),
            diagnostics: diags_to_pb(&diags),
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> R<pb::upgrade_resource_identity::Response> {
        // Every identity is at its first version: the stored JSON is read
        // with today's identity type.
        let req = req.into_inner();
        let fail = |d: Diagnostics| {
            Ok(Response::new(pb::upgrade_resource_identity::Response {
                upgraded_identity: None,
                diagnostics: diags_to_pb(&d),
            }))
        };
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => return fail(d),
        };
        let Some(schema) = r.identity_schema() else {
            return fail(unknown_type("resource identity", &req.type_name));
        };
        let t = schema.value_type();
        let raw = req.raw_identity.map(|r| r.json).unwrap_or_default();
        match crate::value::decode_json(&raw, &t) {
            Ok(v) => Ok(Response::new(pb::upgrade_resource_identity::Response {
                upgraded_identity: Some(pb::ResourceIdentityData {
                    identity_data: Some(encode(&v, &t)),
                }),
                diagnostics: vec![],
            })),
            Err(e) => {
                let mut d = Diagnostics::default();
                d.push(crate::schema::Diagnostic::error(
                    "Unreadable resource identity",
                    e.to_string(),
                ));
                fail(d)
            }
        }
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> R<pb::get_functions::Response> {
        Ok(Response::new(pb::get_functions::Response {
            functions: Default::default(),
            diagnostics: vec![],
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> R<pb::validate_provider_config::Response> {
        let req = req.into_inner();
        let t = self.provider.schema().block.value_type();
        let diags = match decode(req.config.as_ref(), &t, "provider configuration") {
            Ok(cfg) => {
                let mut d = crate::schema::read_only_diags(&self.provider.schema().block, &cfg);
                d.extend(self.provider.validate_config(&cfg));
                d
            }
            Err(d) => d,
        };
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags_to_pb(&diags),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> R<pb::validate_resource_config::Response> {
        let req = req.into_inner();
        let diags = match self.resource(&req.type_name) {
            Ok(r) => match decode(
                req.config.as_ref(),
                &r.schema().block.value_type(),
                "resource configuration",
            ) {
                Ok(cfg) => {
                    let mut d = crate::schema::read_only_diags(&r.schema().block, &cfg);
                    d.extend(crate::schema::write_only_diags(
                        &r.schema().block,
                        &cfg,
                        write_only_allowed(req.client_capabilities.as_ref()),
                        false,
                    ));
                    d.extend(r.validate(&cfg));
                    d
                }
                Err(d) => d,
            },
            Err(d) => d,
        };
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diags_to_pb(&diags),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> R<pb::validate_data_resource_config::Response> {
        let req = req.into_inner();
        let diags = if self.data_sources.contains_key(req.type_name.as_str()) {
            Diagnostics::default()
        } else {
            unknown_type("data source", &req.type_name)
        };
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diags_to_pb(&diags),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> R<pb::upgrade_resource_state::Response> {
        let req = req.into_inner();
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => {
                return Ok(Response::new(pb::upgrade_resource_state::Response {
                    upgraded_state: None,
                    diagnostics: diags_to_pb(&d),
                }))
            }
        };
        let t = r.schema().block.value_type();
        let raw = req.raw_state.map(|s| s.json).unwrap_or_default();
        let result = (|| -> Result<pb::DynamicValue, Diagnostics> {
            if raw.is_empty() {
                return Ok(encode(&crate::value::Value::Null, &t));
            }
            let json: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| {
                let mut d = Diagnostics::default();
                d.push(Diagnostic::error(
                    "Invalid stored state",
                    format!("The state stored for this resource is not valid JSON: {e}"),
                ));
                d
            })?;
            let current = r.schema().version;
            if req.version > current {
                let mut d = Diagnostics::default();
                d.push(Diagnostic::error(
                    "State written by a newer provider",
                    format!("This state was written with schema version {} but this provider knows version {current}; upgrade the provider.", req.version),
                ));
                return Err(d);
            }
            let json = if req.version < current {
                r.upgrade_state(req.version, json)?
            } else {
                json
            };
            let bytes = serde_json::to_vec(&json).expect("serialize JSON");
            let v = decode(
                Some(&pb::DynamicValue {
                    msgpack: vec![],
                    json: bytes,
                }),
                &t,
                "stored state",
            )?;
            Ok(encode(&v, &t))
        })();
        Ok(Response::new(match result {
            Ok(dv) => pb::upgrade_resource_state::Response {
                upgraded_state: Some(dv),
                diagnostics: vec![],
            },
            Err(d) => pb::upgrade_resource_state::Response {
                upgraded_state: None,
                diagnostics: diags_to_pb(&d),
            },
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> R<pb::configure_provider::Response> {
        let req = req.into_inner();
        let t = self.provider.schema().block.value_type();
        let diags = match decode(req.config.as_ref(), &t, "provider configuration") {
            Ok(cfg) => self.provider.configure(&req.terraform_version, cfg).await,
            Err(d) => d,
        };
        Ok(Response::new(pb::configure_provider::Response {
            diagnostics: diags_to_pb(&diags),
        }))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> R<pb::read_resource::Response> {
        let req = req.into_inner();
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => {
                return Ok(Response::new(pb::read_resource::Response {
                    new_state: None,
                    diagnostics: diags_to_pb(&d),
                    private: req.private,
                    new_identity: req.current_identity,
                }))
            }
        };
        let t = r.schema().block.value_type();
        let state = match decode(req.current_state.as_ref(), &t, "current state") {
            Ok(s) => s,
            Err(d) => {
                return Ok(Response::new(pb::read_resource::Response {
                    new_state: req.current_state,
                    diagnostics: diags_to_pb(&d),
                    private: req.private,
                    new_identity: req.current_identity,
                }))
            }
        };
        let mut resp = r.read(state, req.private).await;
        crate::schema::null_write_only(&r.schema().block, &mut resp.new_state);
        Ok(Response::new(pb::read_resource::Response {
            new_identity: Self::identity(r.as_ref(), &resp.new_state),
            new_state: Some(encode(&resp.new_state, &t)),
            diagnostics: diags_to_pb(&resp.diagnostics),
            private: resp.private,
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> R<pb::plan_resource_change::Response> {
        let req = req.into_inner();
        let fail = |d: Diagnostics| {
            Ok(Response::new(pb::plan_resource_change::Response {
                planned_state: None,
                requires_replace: vec![],
                planned_private: vec![],
                diagnostics: diags_to_pb(&d),
                legacy_type_system: false,
                planned_identity: None,
            }))
        };
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => return fail(d),
        };
        let t = r.schema().block.value_type();
        let decoded = (|| {
            Ok::<_, Diagnostics>((
                decode(req.prior_state.as_ref(), &t, "prior state")?,
                decode(req.proposed_new_state.as_ref(), &t, "proposed new state")?,
                decode(req.config.as_ref(), &t, "configuration")?,
            ))
        })();
        let (prior, proposed, config) = match decoded {
            Ok(x) => x,
            Err(d) => return fail(d),
        };
        // Again at plan: a client that skipped validation must not store a
        // write-only value either.
        let wo = crate::schema::write_only_diags(
            &r.schema().block,
            &config,
            write_only_allowed(req.client_capabilities.as_ref()),
            true,
        );
        if wo.has_errors() {
            return fail(wo);
        }
        let prior_exists = !prior.is_null();
        let mut resp = r
            .plan(PlanRequest {
                prior_state: prior,
                proposed_new_state: proposed,
                config,
                prior_private: req.prior_private,
            })
            .await;
        crate::schema::null_write_only(&r.schema().block, &mut resp.planned_state);
        // An instance that exists keeps its identity; a new one (create or
        // replace) has none until apply.
        let planned_identity = if prior_exists && !has_replace(&resp) {
            Self::identity(r.as_ref(), &resp.planned_state)
        } else {
            None
        };
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_identity,
            planned_state: Some(encode(&resp.planned_state, &t)),
            requires_replace: resp.requires_replace.iter().map(path_to_pb).collect(),
            planned_private: resp.planned_private,
            diagnostics: diags_to_pb(&resp.diagnostics),
            legacy_type_system: false,
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> R<pb::apply_resource_change::Response> {
        let req = req.into_inner();
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => {
                return Ok(Response::new(pb::apply_resource_change::Response {
                    new_state: req.prior_state,
                    private: vec![],
                    diagnostics: diags_to_pb(&d),
                    legacy_type_system: false,
                    new_identity: req.planned_identity,
                }))
            }
        };
        let t = r.schema().block.value_type();
        let decoded = (|| {
            Ok::<_, Diagnostics>((
                decode(req.prior_state.as_ref(), &t, "prior state")?,
                decode(req.planned_state.as_ref(), &t, "planned state")?,
                decode(req.config.as_ref(), &t, "configuration")?,
            ))
        })();
        let (prior, planned, config) = match decoded {
            Ok(x) => x,
            Err(d) => {
                return Ok(Response::new(pb::apply_resource_change::Response {
                    new_state: req.prior_state,
                    private: req.planned_private,
                    diagnostics: diags_to_pb(&d),
                    legacy_type_system: false,
                    new_identity: req.planned_identity,
                }))
            }
        };
        let mut resp = r
            .apply(ApplyRequest {
                prior_state: prior,
                planned_state: planned,
                config,
                planned_private: req.planned_private,
            })
            .await;
        crate::schema::null_write_only(&r.schema().block, &mut resp.new_state);
        Ok(Response::new(pb::apply_resource_change::Response {
            new_identity: Self::identity(r.as_ref(), &resp.new_state),
            new_state: Some(encode(&resp.new_state, &t)),
            private: resp.private,
            diagnostics: diags_to_pb(&resp.diagnostics),
            legacy_type_system: false,
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> R<pb::import_resource_state::Response> {
        let req = req.into_inner();
        let r = match self.resource(&req.type_name) {
            Ok(r) => r,
            Err(d) => {
                return Ok(Response::new(pb::import_resource_state::Response {
                    imported_resources: vec![],
                    diagnostics: diags_to_pb(&d),
                }))
            }
        };
        let t = r.schema().block.value_type();
        // Terraform 1.12+ imports by identity (`import { identity = ... }`):
        // the id is then empty and the identity names the instance.
        let id = match (req.id.is_empty(), &req.identity, r.identity_schema()) {
            (true, Some(data), Some(schema)) => {
                let named = decode(
                    data.identity_data.as_ref(),
                    &schema.value_type(),
                    "identity",
                )
                .and_then(|identity| r.import_id(&identity));
                match named {
                    Ok(id) => id,
                    Err(d) => {
                        return Ok(Response::new(pb::import_resource_state::Response {
                            imported_resources: vec![],
                            diagnostics: diags_to_pb(&d),
                        }))
                    }
                }
            }
            _ => req.id.clone(),
        };
        let resp = r.import(&id).await;
        let imported = if resp.diagnostics.has_errors() || resp.state.is_null() {
            vec![]
        } else {
            vec![pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                identity: Self::identity(r.as_ref(), &resp.state),
                state: Some(encode(&resp.state, &t)),
                private: resp.private,
            }]
        };
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: imported,
            diagnostics: diags_to_pb(&resp.diagnostics),
        }))
    }

    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> R<pb::move_resource_state::Response> {
        let req = req.into_inner();
        // Only moves between our own types of the same name are supported
        // (e.g. a provider rename); anything else is refused clearly.
        let mut d = Diagnostics::default();
        if req.source_type_name != req.target_type_name
            || !self.resources.contains_key(req.target_type_name.as_str())
        {
            d.push(Diagnostic::error(
                "Unsupported move",
                format!(
                    "awsstack cannot move state from {} to {}.",
                    req.source_type_name, req.target_type_name
                ),
            ));
            return Ok(Response::new(pb::move_resource_state::Response {
                target_state: None,
                diagnostics: diags_to_pb(&d),
                target_private: vec![],
            }));
        }
        let r = self.resource(&req.target_type_name).expect("checked");
        let t = r.schema().block.value_type();
        let raw = req.source_state.map(|s| s.json).unwrap_or_default();
        match decode(
            Some(&pb::DynamicValue {
                msgpack: vec![],
                json: raw,
            }),
            &t,
            "source state",
        ) {
            Ok(v) => Ok(Response::new(pb::move_resource_state::Response {
                target_state: Some(encode(&v, &t)),
                diagnostics: vec![],
                target_private: req.source_private,
            })),
            Err(d) => Ok(Response::new(pb::move_resource_state::Response {
                target_state: None,
                diagnostics: diags_to_pb(&d),
                target_private: vec![],
            })),
        }
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> R<pb::read_data_source::Response> {
        let req = req.into_inner();
        let Some(ds) = self.data_sources.get(req.type_name.as_str()) else {
            return Ok(Response::new(pb::read_data_source::Response {
                state: None,
                diagnostics: diags_to_pb(&unknown_type("data source", &req.type_name)),
            }));
        };
        let t = ds.schema().block.value_type();
        match decode(req.config.as_ref(), &t, "data source configuration") {
            Ok(cfg) => {
                let (v, d) = ds.read(cfg).await;
                Ok(Response::new(pb::read_data_source::Response {
                    state: Some(encode(&v, &t)),
                    diagnostics: diags_to_pb(&d),
                }))
            }
            Err(d) => Ok(Response::new(pb::read_data_source::Response {
                state: None,
                diagnostics: diags_to_pb(&d),
            })),
        }
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> R<pb::stop_provider::Response> {
        tracing::info!("StopProvider: cancelling in-flight work");
        self.provider.stop();
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

/// True when the plan replaces the instance (a new one gets a new identity).
fn has_replace(resp: &super::PlanResponse) -> bool {
    !resp.requires_replace.is_empty()
}
