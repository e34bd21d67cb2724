//! Engine tests against a fake AWS: an in-memory set of objects, with
//! failure injection and a log of the calls.

use super::*;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Default)]
struct FakeCloud {
    objects: Mutex<BTreeMap<String, Json>>,
    calls: Mutex<Vec<String>>,
    next_id: AtomicUsize,
    /// Fail the create of this key.
    fail_create: Mutex<Option<String>>,
    /// Running and max concurrent operations.
    running: AtomicUsize,
    max_running: AtomicUsize,
    /// Objects can be found by key (adoption after a lost create).
    findable: std::sync::atomic::AtomicBool,
    /// The `old` inputs each update was given.
    updated_from: Mutex<Vec<Json>>,
    /// Every object's tags, by id.
    tags: Mutex<BTreeMap<String, Tags>>,
    /// This cloud's region ("" for the stack's), and the other regions'.
    region: String,
    regions: Mutex<BTreeMap<String, Arc<FakeCloud>>>,
}

#[tonic::async_trait]
impl Cloud for FakeCloud {
    type TagRef = String;
    fn region(&self) -> &str {
        &self.region
    }
    fn in_region(self: Arc<Self>, region: &str) -> Arc<Self> {
        let mut all = self.regions.lock().unwrap();
        all.entry(region.to_string())
            .or_insert_with(|| {
                Arc::new(FakeCloud {
                    region: region.to_string(),
                    ..Default::default()
                })
            })
            .clone()
    }
    async fn read_tags(&self, id: &String) -> Result<Option<Tags>, OpError> {
        Ok(self.tags.lock().unwrap().get(id).cloned())
    }
    async fn update_tags(&self, id: &String, set: &Tags, remove: &[String]) -> Result<(), OpError> {
        let mut all = self.tags.lock().unwrap();
        let t = all.entry(id.clone()).or_default();
        t.extend(set.clone());
        t.retain(|k, _| !remove.contains(k));
        self.calls
            .lock()
            .unwrap()
            .push(format!("tag {}", id.rsplit_once('-').unwrap().0));
        Ok(())
    }
}

struct FakeKind {
    name: &'static str,
    replace: &'static [&'static str],
    create_before_destroy: bool,
}

impl FakeKind {
    async fn slow(cloud: &FakeCloud) {
        let n = cloud.running.fetch_add(1, Ordering::SeqCst) + 1;
        cloud.max_running.fetch_max(n, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        cloud.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tonic::async_trait]
impl Kind<FakeCloud> for FakeKind {
    fn name(&self) -> &'static str {
        self.name
    }
    fn replace_fields(&self) -> &'static [&'static str] {
        self.replace
    }
    fn create_before_destroy(&self) -> bool {
        self.create_before_destroy
    }
    fn outputs(&self) -> &'static [&'static str] {
        if self.name == "net" {
            &["arn"]
        } else {
            &[]
        }
    }
    fn needs(&self) -> &'static [Need] {
        const GATEWAY: &[Need] = &[
            Need::one("network", &["net"]),
            Need::some("thing", &["thing"]),
            Need::optional("pool", &["pool"]),
        ];
        // Two networks told apart by their slots.
        const LINK: &[Need] = &[
            Need::one("network", &["net"]).in_slot("from"),
            Need::one("network", &["net"]).in_slot("to"),
        ];
        match self.name {
            "gateway" => GATEWAY,
            "link" => LINK,
            _ => &[],
        }
    }
    async fn create(
        &self,
        env: &Env<FakeCloud>,
        spec: &Spec,
        deps: &Records,
    ) -> Result<Record, OpError> {
        let c = &env.ctx;
        FakeKind::slow(c).await;
        for d in spec.deps.iter().map(|d| &d.key) {
            let d = dep_name(&spec.key, d);
            assert!(
                deps.contains_key(d),
                "dependency {d} passed to {}",
                spec.key
            );
            assert!(
                c.objects.lock().unwrap().contains_key(&deps[d].id),
                "dependency {d} exists before {}",
                spec.key
            );
        }
        let id = format!("{}-{}", spec.key, c.next_id.fetch_add(1, Ordering::SeqCst));
        c.objects
            .lock()
            .unwrap()
            .insert(id.clone(), spec.inputs.clone());
        // Tagged at create, as the AWS kinds are.
        c.tags
            .lock()
            .unwrap()
            .insert(id.clone(), env.tags_for(&spec.key));
        c.calls.lock().unwrap().push(format!("create {}", spec.key));
        let rec = Record::new(self.name, &id, spec.inputs.clone());
        if c.fail_create.lock().unwrap().as_deref() == Some(spec.key.as_str()) {
            // Created, then a follow-up call failed: must be recorded.
            return Err(OpError::new("injected failure").partial(rec));
        }
        Ok(rec)
    }
    async fn read(&self, env: &Env<FakeCloud>, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(env
            .ctx
            .objects
            .lock()
            .unwrap()
            .get(&rec.id)
            .map(|inputs| Record {
                inputs: inputs.clone(),
                ..rec.clone()
            }))
    }
    async fn update(
        &self,
        env: &Env<FakeCloud>,
        spec: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        FakeKind::slow(&env.ctx).await;
        env.ctx
            .updated_from
            .lock()
            .unwrap()
            .push(old.inputs.clone());
        env.ctx
            .objects
            .lock()
            .unwrap()
            .insert(old.id.clone(), spec.inputs.clone());
        env.ctx
            .calls
            .lock()
            .unwrap()
            .push(format!("update {}", spec.key));
        Ok(Record {
            inputs: spec.inputs.clone(),
            ..old.clone()
        })
    }
    /// Like the AWS kinds: found by its key, with the spec's inputs (a
    /// find cannot see everything).
    async fn find(&self, env: &Env<FakeCloud>, spec: &Spec) -> Result<Option<Record>, OpError> {
        if !env.ctx.findable.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let objs = env.ctx.objects.lock().unwrap();
        Ok(objs
            .keys()
            .find(|id| id.rsplit_once('-').map(|(k, _)| k) == Some(spec.key.as_str()))
            .map(|id| Record::new(self.name, id, spec.inputs.clone())))
    }
    fn tagging(&self) -> Option<TagRefFn<FakeCloud>> {
        Some(|_, rec| rec.id.clone())
    }
    fn kept_fields(&self) -> &'static [&'static str] {
        if self.name == "named" {
            &["name"]
        } else {
            &[]
        }
    }
    /// Any object but a pool can be taken, as the fake holds it.
    async fn observe(
        &self,
        env: &Env<FakeCloud>,
        _spec: &Spec,
        id: &str,
        _deps: &Records,
    ) -> Result<Option<Record>, OpError> {
        if self.name == "pool" {
            return Err(OpError::new("a pool has settings awsstack does not manage"));
        }
        env.ctx.calls.lock().unwrap().push(format!("observe {id}"));
        Ok(env
            .ctx
            .objects
            .lock()
            .unwrap()
            .get(id)
            .map(|inputs| Record::new(self.name, id, inputs.clone())))
    }
    async fn delete(&self, env: &Env<FakeCloud>, rec: &Record) -> Result<(), OpError> {
        FakeKind::slow(&env.ctx).await;
        let mut objs = env.ctx.objects.lock().unwrap();
        objs.remove(&rec.id);
        env.ctx
            .calls
            .lock()
            .unwrap()
            .push(format!("delete {}", rec.id.rsplit_once('-').unwrap().0));
        Ok(())
    }
}

fn kinds() -> Arc<Kinds<FakeCloud>> {
    Arc::new(Kinds::new(vec![
        Arc::new(FakeKind {
            name: "net",
            replace: &["cidr"],
            create_before_destroy: false,
        }),
        Arc::new(FakeKind {
            name: "thing",
            replace: &[],
            create_before_destroy: false,
        }),
        Arc::new(FakeKind {
            name: "pool",
            replace: &["size"],
            create_before_destroy: true,
        }),
        Arc::new(FakeKind {
            name: "gateway",
            replace: &[],
            create_before_destroy: false,
        }),
        Arc::new(FakeKind {
            name: "link",
            replace: &[],
            create_before_destroy: false,
        }),
        Arc::new(FakeKind {
            name: "named",
            replace: &["name"],
            create_before_destroy: false,
        }),
    ]))
}

fn env(cloud: Arc<FakeCloud>) -> Arc<Env<FakeCloud>> {
    env_with(cloud, 8)
}

fn env_with(cloud: Arc<FakeCloud>, parallelism: usize) -> Arc<Env<FakeCloud>> {
    let (_tx, rx) = watch::channel(false);
    std::mem::forget(_tx);
    Arc::new(Env::new(
        cloud,
        "s".into(),
        BTreeMap::new(),
        Instant::now() + Duration::from_secs(60),
        rx,
        parallelism,
    ))
}

/// The graph with its tags as the stack layer fills them (stack "s").
fn graph(cidr: &str, size: i64) -> Vec<Spec> {
    let mut g = untagged_graph(cidr, size);
    for s in &mut g {
        s.tags = ownership::component_tags(&Tags::new(), "s", &s.key);
    }
    g
}

fn untagged_graph(cidr: &str, size: i64) -> Vec<Spec> {
    let mut g = Desired::new();
    let vpc = g.add(Spec::new("vpc", "net", json!({"cidr": cidr})));
    let subnet = g.add(Spec::new("subnet", "net", json!({"cidr": cidr})).after(&vpc));
    let a = g.add(Spec::new("a", "thing", json!({"x": 1})).after(&subnet));
    g.add(Spec::new("b", "thing", json!({"size": size})).after_update(&a));
    g.add(Spec::new("c", "thing", json!({})));
    g.add(Spec::new("d", "thing", json!({})));
    g.into_specs()
}

async fn converge(cloud: &Arc<FakeCloud>, specs: &[Spec], rec: Records) -> Records {
    converge_tagged(cloud, specs, rec, BTreeMap::new()).await
}

fn env_tagged(cloud: Arc<FakeCloud>, tags: Tags) -> Arc<Env<FakeCloud>> {
    let (_tx, rx) = watch::channel(false);
    std::mem::forget(_tx);
    Arc::new(Env::new(
        cloud,
        "s".into(),
        tags,
        Instant::now() + Duration::from_secs(60),
        rx,
        8,
    ))
}

async fn converge_tagged(
    cloud: &Arc<FakeCloud>,
    specs: &[Spec],
    rec: Records,
    tags: Tags,
) -> Records {
    let env = env_tagged(cloud.clone(), tags);
    let mut specs = specs.to_vec();
    env.tag_specs(&mut specs);
    let changes = plan(&kinds(), &specs, &rec).unwrap();
    let (r, errs) = apply(env, kinds(), &specs, rec, &changes).await;
    assert!(errs.is_empty(), "{errs:?}");
    r
}

#[tokio::test(start_paused = true)]
async fn create_in_dependency_order_in_parallel() {
    let cloud = Arc::new(FakeCloud::default());
    let specs = graph("10.0.0.0/24", 1);
    let rec = converge(&cloud, &specs, Records::new()).await;
    assert_eq!(rec.len(), 6);
    let calls = cloud.calls.lock().unwrap().clone();
    let pos = |k: &str| {
        calls
            .iter()
            .position(|c| c == &format!("create {k}"))
            .unwrap()
    };
    assert!(pos("vpc") < pos("subnet") && pos("subnet") < pos("a") && pos("a") < pos("b"));
    assert!(
        cloud.max_running.load(Ordering::SeqCst) >= 2,
        "independent branches run concurrently"
    );
    // Nothing to do the second time.
    assert!(plan(&kinds(), &specs, &rec).unwrap().is_empty());
}

/// An order-only dependency: created after, deleted before, and left
/// alone when the dependency is replaced.
#[tokio::test(start_paused = true)]
async fn an_order_only_dependency_orders_and_changes_nothing() {
    let specs = |cidr: &str| {
        let mut g = Desired::new();
        let first = g.add(Spec::new("first", "net", json!({"cidr": cidr})));
        g.add(Spec::new("second", "thing", json!({})).after_only(&first));
        let mut specs = g.into_specs();
        for s in &mut specs {
            s.tags = ownership::component_tags(&Tags::new(), "s", &s.key);
        }
        specs
    };
    let cloud = Arc::new(FakeCloud::default());
    let rec = converge(&cloud, &specs("10.0.0.0/24"), Records::new()).await;
    let calls = cloud.calls.lock().unwrap().clone();
    assert!(
        calls.iter().position(|c| c == "create first")
            < calls.iter().position(|c| c == "create second"),
        "{calls:?}"
    );
    let ch = plan(&kinds(), &specs("10.1.0.0/24"), &rec).unwrap();
    assert_eq!(
        ch.iter()
            .map(|c| (c.key.as_str(), c.action))
            .collect::<Vec<_>>(),
        vec![("first", Action::Replace)]
    );
    cloud.calls.lock().unwrap().clear();
    let (left, errs) = apply(
        env(cloud.clone()),
        kinds(),
        &[],
        rec.clone(),
        &destroy_all(&rec),
    )
    .await;
    assert!(errs.is_empty() && left.is_empty(), "{errs:?}");
    let calls = cloud.calls.lock().unwrap().clone();
    assert_eq!(calls, vec!["delete second", "delete first"]);
}

/// Records written before an order was added to the graph take it at the
/// next apply, though that apply changes nothing of the component: a
/// later destroy follows it.
#[tokio::test(start_paused = true)]
async fn an_apply_brings_the_recorded_dependencies_to_the_graph() {
    let cloud = Arc::new(FakeCloud::default());
    let tagged = |mut specs: Vec<Spec>| {
        for s in &mut specs {
            s.tags = ownership::component_tags(&Tags::new(), "s", &s.key);
        }
        specs
    };
    let mut g = Desired::new();
    g.add(Spec::new("first", "thing", json!({})));
    g.add(Spec::new("second", "thing", json!({})));
    let rec = converge(&cloud, &tagged(g.into_specs()), Records::new()).await;
    assert!(rec["second"].deps.is_empty());
    // The graph gains an order, and a third component (the change that
    // makes this apply happen).
    let mut g = Desired::new();
    let first = g.add(Spec::new("first", "thing", json!({})));
    g.add(Spec::new("second", "thing", json!({})).after_only(&first));
    g.add(Spec::new("third", "thing", json!({})));
    let specs = tagged(g.into_specs());
    let changes = plan(&kinds(), &specs, &rec).unwrap();
    assert_eq!(
        changes.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        vec!["third"],
        "the order alone changes nothing"
    );
    let rec = converge(&cloud, &specs, rec).await;
    assert_eq!(rec["second"].deps, vec!["first".to_string()]);
    cloud.calls.lock().unwrap().clear();
    let (left, errs) = apply(
        env_with(cloud.clone(), 1),
        kinds(),
        &[],
        rec.clone(),
        &destroy_all(&rec),
    )
    .await;
    assert!(errs.is_empty() && left.is_empty(), "{errs:?}");
    let calls = cloud.calls.lock().unwrap().clone();
    let pos = |c: &str| calls.iter().position(|x| x == c).unwrap();
    assert!(pos("delete second") < pos("delete first"), "{calls:?}");
}

#[tokio::test(start_paused = true)]
async fn update_in_place_and_replace_cascade() {
    let cloud = Arc::new(FakeCloud::default());
    let rec = converge(&cloud, &graph("10.0.0.0/24", 1), Records::new()).await;
    let ch = plan(&kinds(), &graph("10.0.0.0/24", 2), &rec).unwrap();
    assert_eq!(
        ch.iter()
            .map(|c| (c.key.as_str(), c.action))
            .collect::<Vec<_>>(),
        vec![("b", Action::Update)]
    );

    // A new VPC block replaces vpc, subnet (cidr) and a (depends on subnet);
    // b only follows a's new identity with an update.
    let ch = plan(&kinds(), &graph("10.1.0.0/24", 1), &rec).unwrap();
    let got: Vec<(&str, Action)> = ch.iter().map(|c| (c.key.as_str(), c.action)).collect();
    assert_eq!(
        got,
        vec![
            ("vpc", Action::Replace),
            ("subnet", Action::Replace),
            ("a", Action::Replace),
            ("b", Action::Update)
        ]
    );
    cloud.calls.lock().unwrap().clear();
    let rec2 = converge(&cloud, &graph("10.1.0.0/24", 1), rec.clone()).await;
    let calls = cloud.calls.lock().unwrap().clone();
    let pos = |c: &str| calls.iter().position(|x| x == c).unwrap();
    // dependents are deleted before what they depend on, and created after
    assert!(pos("delete a") < pos("delete subnet") && pos("delete subnet") < pos("delete vpc"));
    assert!(pos("delete vpc") < pos("create vpc"));
    assert_eq!(cloud.objects.lock().unwrap().len(), 6);
    assert_ne!(rec2["vpc"].id, rec["vpc"].id);
    assert_eq!(rec2["b"].id, rec["b"].id);
}

#[tokio::test(start_paused = true)]
async fn partial_failure_records_exactly_what_exists_and_resumes() {
    let cloud = Arc::new(FakeCloud::default());
    *cloud.fail_create.lock().unwrap() = Some("subnet".into());
    let specs = graph("10.0.0.0/24", 1);
    let changes = plan(&kinds(), &specs, &Records::new()).unwrap();
    let (rec, errs) = apply(
        env(cloud.clone()),
        kinds(),
        &specs,
        Records::new(),
        &changes,
    )
    .await;
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].key, "subnet");
    // Every object in the cloud is recorded; nothing depending on the
    // failed subnet was started.
    let objs = cloud.objects.lock().unwrap().clone();
    let recorded: BTreeSet<String> = rec.values().map(|r| r.id.clone()).collect();
    assert_eq!(objs.keys().cloned().collect::<BTreeSet<_>>(), recorded);
    assert!(!rec.contains_key("a") && !rec.contains_key("b"));
    assert!(rec.contains_key("subnet"));
    // The next apply resumes without duplicates.
    *cloud.fail_create.lock().unwrap() = None;
    let rec = converge(&cloud, &specs, rec).await;
    assert_eq!(rec.len(), 6);
    assert_eq!(cloud.objects.lock().unwrap().len(), 6);
    // Destroy leaves nothing.
    let all = destroy_all(&rec);
    let (left, errs) = apply(env(cloud.clone()), kinds(), &[], rec, &all).await;
    assert!(errs.is_empty() && left.is_empty());
    assert!(cloud.objects.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn refresh_detects_deleted_and_modified() {
    let cloud = Arc::new(FakeCloud::default());
    let specs = graph("10.0.0.0/24", 1);
    let rec = converge(&cloud, &specs, Records::new()).await;
    cloud.objects.lock().unwrap().remove(&rec["c"].id);
    cloud
        .objects
        .lock()
        .unwrap()
        .insert(rec["b"].id.clone(), json!({"size": 99}));
    let (fresh, drift) = refresh(env(cloud.clone()), kinds(), rec).await.unwrap();
    assert_eq!(drift.len(), 2, "{drift:?}");
    assert!(!fresh.contains_key("c"));
    let ch = plan(&kinds(), &specs, &fresh).unwrap();
    let got: Vec<(&str, Action)> = ch.iter().map(|c| (c.key.as_str(), c.action)).collect();
    assert_eq!(got, vec![("b", Action::Update), ("c", Action::Create)]);
}

#[tokio::test(start_paused = true)]
async fn sequential_mode_runs_one_at_a_time() {
    let cloud = Arc::new(FakeCloud::default());
    let specs = graph("10.0.0.0/24", 1);
    let changes = plan(&kinds(), &specs, &Records::new()).unwrap();
    let (rec, errs) = apply(
        env_with(cloud.clone(), 1),
        kinds(),
        &specs,
        Records::new(),
        &changes,
    )
    .await;
    assert!(errs.is_empty() && rec.len() == 6);
    assert_eq!(cloud.max_running.load(Ordering::SeqCst), 1);
}

#[test]
fn cycles_and_unknown_dependencies_are_errors() {
    let specs = vec![
        Spec::new("a", "thing", json!({})).dep("b"),
        Spec::new("b", "thing", json!({})).dep("a"),
    ];
    assert!(topo_order(&specs).unwrap_err().contains("cycle"));
    let specs = vec![Spec::new("a", "thing", json!({})).dep("nope")];
    assert!(topo_order(&specs).unwrap_err().contains("unknown"));
}

#[test]
fn a_kind_s_needs_are_checked_when_the_graph_is_built() {
    // The gateway after the components named by `keys`.
    let with = |keys: &[&str]| {
        let mut g = Desired::new();
        let handles: BTreeMap<&str, Handle> = [
            ("net.a", "net"),
            ("net.b", "net"),
            ("t.1", "thing"),
            ("t.2", "thing"),
            ("p", "pool"),
        ]
        .into_iter()
        .map(|(key, kind)| (key, g.add(Spec::new(key, kind, json!({})))))
        .collect();
        g.add(
            Spec::new("gw", "gateway", json!({}))
                .after_each(keys.iter().map(|k| &handles[k]), OnDepChange::Replace),
        );
        g.into_specs()
    };
    assert!(plan(
        &kinds(),
        &with(&["net.a", "t.1", "t.2", "p"]),
        &Records::new()
    )
    .is_ok());
    // The optional one may be left out.
    assert!(plan(&kinds(), &with(&["net.a", "t.1"]), &Records::new()).is_ok());
    let missing = plan(&kinds(), &with(&["t.1"]), &Records::new()).unwrap_err();
    assert_eq!(
        missing,
        "component gw (gateway) needs exactly one network (net) among its dependencies; found none"
    );
    let two = plan(&kinds(), &with(&["net.a", "net.b", "t.1"]), &Records::new()).unwrap_err();
    assert!(
        two.contains("exactly one network") && two.ends_with("found net.a, net.b"),
        "{two}"
    );
    let none = plan(&kinds(), &with(&["net.a"]), &Records::new()).unwrap_err();
    assert!(none.contains("at least one thing"), "{none}");

    // At apply the need is filled by the dependency's kind, whatever its key.
    let deps: Records = [
        ("net.a".to_string(), Record::new("net", "n-1", json!({}))),
        ("t.1".to_string(), Record::new("thing", "t-1", json!({}))),
        ("t.2".to_string(), Record::new("thing", "t-2", json!({}))),
    ]
    .into();
    let [network, things, pool] = FakeKind {
        name: "gateway",
        replace: &[],
        create_before_destroy: false,
    }
    .needs() else {
        unreachable!()
    };
    assert_eq!(network.the(&deps).unwrap().id, "n-1");
    assert_eq!(things.ids(&deps), vec!["t-1", "t-2"]);
    assert!(pool.maybe(&deps).unwrap().is_none());
    assert!(
        things.the(&deps).is_err(),
        "two where one is meant is an error, never the first"
    );
}

#[test]
fn handles_key_scope_and_place_components_and_slots_name_their_dependencies() {
    use crate::engine::{Desired, OnDepChange::Replace};
    let mut g = Desired::new();
    let shared = g.add(Spec::new("global/net", "net", json!({})));
    let mut r = Desired::within("primary", Some("eu-west-1"));
    let vpc = r.add(Spec::new("vpc", "net", json!({})));
    let link = r.add(
        Spec::new("link", "link", json!({"x": 1}))
            .filling("from", &vpc, Replace)
            .filling("to", &shared, Replace),
    );
    let thing = r.add(
        Spec::new(
            "thing",
            "thing",
            json!({"arn": r.output(&vpc, "arn"), "other": r.output(&shared, "id")}),
        )
        .filling_each("list", [&vpc, &link], Replace),
    );
    g.append(r);
    assert_eq!(
        (vpc.key(), vpc.kind(), link.key()),
        ("primary/vpc", "net", "primary/link")
    );
    let specs = g.into_specs();
    let by = |k: &str| specs.iter().find(|s| s.key == k).unwrap().clone();
    assert_eq!(by("primary/vpc").region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        by("global/net").region,
        None,
        "a builder without a region places nothing"
    );
    // A slot holds the name the component sees: short in its own scope,
    // the full key across scopes; a list slot keeps the stack's order.
    assert_eq!(
        by("primary/link").inputs,
        json!({"x": 1, "from": "vpc", "to": "global/net"})
    );
    assert_eq!(
        by(thing.key()).inputs,
        json!({"arn": "${vpc.arn}", "other": "${global/net.id}", "list": ["vpc", "link"]})
    );
    let without_thing: Vec<Spec> = specs
        .iter()
        .filter(|s| s.key != thing.key())
        .cloned()
        .collect();
    assert!(plan(&kinds(), &without_thing, &Records::new()).is_ok());
    assert!(
        plan(&kinds(), &specs, &Records::new())
            .unwrap_err()
            .contains("has no slot list"),
        "a thing declares no slot"
    );

    // At apply the slots give their dependencies whatever their kinds share.
    let deps: Records = [
        ("vpc".to_string(), Record::new("net", "n-1", json!({}))),
        (
            "global/net".to_string(),
            Record::new("net", "n-2", json!({})),
        ),
    ]
    .into();
    let [from, to] = FakeKind {
        name: "link",
        replace: &[],
        create_before_destroy: false,
    }
    .needs() else {
        unreachable!()
    };
    let link = by("primary/link");
    assert_eq!(
        (
            from.the_in(&link, &deps).unwrap().id.as_str(),
            to.the_in(&link, &deps).unwrap().id.as_str()
        ),
        ("n-1", "n-2")
    );
    assert!(
        from.the(&deps).is_err(),
        "a slotted need is only filled through its slot"
    );
}

#[test]
fn slots_and_placeholders_are_checked_when_the_graph_is_built() {
    use crate::engine::{Desired, OnDepChange::Replace};
    let build =
        |f: &dyn Fn(&mut Desired, &crate::engine::Handle, &crate::engine::Handle) -> Spec| {
            let mut g = Desired::new();
            let (a, t) = (
                g.add(Spec::new("net.a", "net", json!({}))),
                g.add(Spec::new("t", "thing", json!({}))),
            );
            let spec = f(&mut g, &a, &t);
            g.add(spec);
            plan(&kinds(), &g.into_specs(), &Records::new())
        };
    let err = build(&|_, a, _| Spec::new("l", "link", json!({})).filling("from", a, Replace))
        .unwrap_err();
    assert_eq!(
        err,
        "component l (link) needs exactly one network (net) in its slot to; found none"
    );
    let err = build(&|_, a, t| {
        Spec::new("l", "link", json!({}))
            .filling("from", a, Replace)
            .filling("to", t, Replace)
    })
    .unwrap_err();
    assert!(
        err.contains("in its slot to; found t"),
        "a thing in a network's slot: {err}"
    );
    let err = build(&|_, a, _| Spec::new("gw", "thing", json!({})).filling("via", a, Replace))
        .unwrap_err();
    assert_eq!(
        err,
        "component gw (thing) has no slot via for its dependency net.a"
    );
    // A placeholder names one of the component's dependencies, or the plan
    // refuses the graph (it would reach AWS unrendered).
    let err = build(&|g, a, _| {
        Spec::new(
            "x",
            "thing",
            json!({"policy": format!("{{\"r\": \"{}\"}}", g.output(a, "arn"))}),
        )
    })
    .unwrap_err();
    assert_eq!(err, "component x (thing) refers to ${net.a.arn}, which is the output of none of its dependencies");
    assert!(build(
        &|g, a, _| Spec::new("x", "thing", json!({"policy": g.output(a, "arn")})).after(a)
    )
    .is_ok());
    // It names an output the dependency's kind declares (or its id): a
    // misspelt one is refused at plan, not sent to AWS.
    let err =
        build(&|g, a, _| Spec::new("x", "thing", json!({"policy": g.output(a, "ARN")})).after(a))
            .unwrap_err();
    assert_eq!(err, "component x (thing) refers to ${net.a.ARN}, an output a net does not have (it has: id, arn)");
    assert!(build(&|g, a, _| Spec::new(
        "x",
        "thing",
        json!({"url": format!("{}/x", g.output(a, "id"))})
    )
    .after(a))
    .is_ok());
    // AWS's policy variables and shell expansions are not placeholders.
    assert!(build(&|_, _, _| Spec::new(
        "x",
        "thing",
        json!({"p": "${aws:username}", "sh": "${name##*/} ${HOME}"})
    ))
    .is_ok());
}

#[test]
fn a_component_or_a_dependency_declared_twice_is_an_error_of_the_graph() {
    let mut g = Desired::new();
    let a = g.add(Spec::new("a", "thing", json!({})));
    g.add(Spec::new("b", "thing", json!({})).after(&a));
    g.add(Spec::new("a", "thing", json!({"other": 1})));
    let specs = g.into_specs();
    assert_eq!(
        topo_order(&specs).unwrap_err(),
        "component a is declared twice"
    );
    assert!(
        plan(&kinds(), &specs, &Records::new()).is_err(),
        "plan refuses the graph before any change"
    );
    let mut g = Desired::new();
    let a = g.add(Spec::new("a", "thing", json!({})));
    g.add(
        Spec::new("b", "thing", json!({}))
            .after(&a)
            .after_update(&a),
    );
    let specs = g.into_specs();
    assert_eq!(
        topo_order(&specs).unwrap_err(),
        "component b declares its dependency a twice"
    );
}

#[tokio::test(start_paused = true)]
async fn stop_cancels_pending_work_and_records_what_exists() {
    let cloud = Arc::new(FakeCloud::default());
    let (tx, rx) = watch::channel(false);
    let env = Arc::new(Env::new(
        cloud.clone(),
        "s".into(),
        BTreeMap::new(),
        Instant::now() + Duration::from_secs(60),
        rx,
        1,
    ));
    let specs = graph("10.0.0.0/24", 1);
    let changes = plan(&kinds(), &specs, &Records::new()).unwrap();
    // StopProvider arrives while the first operations run.
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(30)).await;
        tx.send(true).unwrap();
    });
    let (rec, errs) = apply(env, kinds(), &specs, Records::new(), &changes).await;
    assert!(
        errs.iter().any(|e| e.message.contains("cancelled")),
        "{errs:?}"
    );
    assert!(rec.len() < 6, "pending work did not start");
    let objs: BTreeSet<String> = cloud.objects.lock().unwrap().keys().cloned().collect();
    assert_eq!(
        objs,
        rec.values().map(|r| r.id.clone()).collect::<BTreeSet<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn waiter_times_out_with_a_clear_message() {
    let cloud = Arc::new(FakeCloud::default());
    let (_tx, rx) = watch::channel(false);
    let env = Env::new(
        cloud,
        "s".into(),
        BTreeMap::new(),
        Instant::now() + Duration::from_millis(300),
        rx,
        1,
    );
    let r: Result<(), OpError> = env
        .wait_until("instance i-1 to be running", || async { Ok(None) })
        .await;
    let msg = r.unwrap_err().message;
    assert!(
        msg.contains("timeout while waiting for instance i-1 to be running")
            && msg.contains("timeouts"),
        "{msg}"
    );
}

/// A kind whose object never becomes ready, and that allows its create
/// little time.
struct NeverReady;

#[tonic::async_trait]
impl Kind<FakeCloud> for NeverReady {
    fn name(&self) -> &'static str {
        "never-ready"
    }
    fn timeouts(&self) -> Timeouts {
        Timeouts {
            create: Duration::from_millis(300),
            update: Duration::from_secs(60),
            delete: Duration::from_secs(60),
        }
    }
    async fn create(&self, env: &Env<FakeCloud>, _: &Spec, _: &Records) -> Result<Record, OpError> {
        const READY: Waiter = Waiter::new("to be ready", &["creating"], &["ready"]);
        env.wait(&READY, "never-ready n-1", || async {
            Ok(Some(("creating".to_string(), ())))
        })
        .await?;
        Ok(Record::new("never-ready", "n-1", json!({})))
    }
    async fn read(&self, _: &Env<FakeCloud>, rec: &Record) -> Result<Option<Record>, OpError> {
        Ok(Some(rec.clone()))
    }
    async fn update(
        &self,
        _: &Env<FakeCloud>,
        _: &Spec,
        old: &Record,
        _: &Records,
    ) -> Result<Record, OpError> {
        Ok(old.clone())
    }
    async fn delete(&self, _: &Env<FakeCloud>, _: &Record) -> Result<(), OpError> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_kinds_own_timeout_bounds_its_create_and_is_named() {
    // The stack allows 60 s; the kind's create allows 300 ms. The wait ends
    // at the kind's bound, and the error says which bound it was.
    let kinds: Arc<Kinds<FakeCloud>> = Arc::new(Kinds::new(vec![Arc::new(NeverReady)]));
    let specs = vec![Spec::new("n", "never-ready", json!({}))];
    let changes = plan(&kinds, &specs, &Records::new()).unwrap();
    let started = Instant::now();
    let (rec, errs) = apply(
        env(Arc::new(FakeCloud::default())),
        kinds,
        &specs,
        Records::new(),
        &changes,
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "ended by the kind's bound, not the stack's"
    );
    assert!(rec.is_empty());
    assert_eq!(errs.len(), 1, "{errs:?}");
    let msg = &errs[0].message;
    assert!(
        msg.contains("timeout while waiting for never-ready n-1 to be ready")
            && msg.contains("the create timeout of a never-ready"),
        "{msg}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_longer_stack_timeout_scales_the_kinds_bound() {
    let (_tx, rx) = watch::channel(false);
    let mut env = Env::new(
        Arc::new(FakeCloud::default()),
        "s".into(),
        BTreeMap::new(),
        Instant::now() + Duration::from_secs(3600),
        rx,
        1,
    );
    env.timeout_scale = 3.0;
    let op = env.for_operation("thing", "create", Duration::from_secs(60));
    let left = op.deadline.saturating_duration_since(Instant::now());
    assert!(
        left > Duration::from_secs(170) && left <= Duration::from_secs(180),
        "{left:?}"
    );
    assert!(
        op.timeout_advice()
            .contains("the create timeout of a thing (3m)"),
        "{}",
        op.timeout_advice()
    );
    // A stack deadline that comes first stays the bound.
    let op = env.for_operation("thing", "create", Duration::from_secs(7200));
    assert_eq!(op.deadline, env.deadline);
    assert!(op.timeout_advice().contains("`timeouts` of the stack"));
}

#[tokio::test(start_paused = true)]
async fn a_waiter_fails_on_a_state_it_does_not_expect() {
    const AVAILABLE: Waiter = Waiter::new("to be available", &["pending"], &["available"]);
    let env = env(Arc::new(FakeCloud::default()));
    let looks = AtomicUsize::new(0);
    let r: Result<Option<()>, OpError> = env
        .wait(&AVAILABLE, "NAT gateway nat-1", || {
            let n = looks.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(Some((
                    if n == 0 { "pending" } else { "failed" }.to_string(),
                    (),
                )))
            }
        })
        .await;
    let msg = r.unwrap_err().message;
    assert!(
        msg.contains("NAT gateway nat-1 is failed") && msg.contains("expected available"),
        "{msg}"
    );
    assert_eq!(
        looks.load(Ordering::SeqCst),
        2,
        "one look while pending, then the failure at once"
    );
    // A delete's waiter ends when the object is gone.
    const DELETED: Waiter = Waiter::new("to be deleted", &["deleting"], &[GONE]);
    let r: Option<()> = env
        .wait(&DELETED, "NAT gateway nat-1", || async { Ok(None) })
        .await
        .unwrap();
    assert!(r.is_none());
}

#[tokio::test(start_paused = true)]
async fn the_longest_chain_starts_first() {
    // a → b → c is the critical path; x, y, z are independent leaves that
    // sort before it by name but must not delay it.
    let mut waits: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, w) in [
        ("a", vec![]),
        ("b", vec!["a"]),
        ("c", vec!["b"]),
        ("0x", vec![]),
        ("0y", vec![]),
        ("0z", vec![]),
    ] {
        waits.insert(k.to_string(), w.into_iter().map(str::to_string).collect());
    }
    let h = graph::heights(&waits);
    assert_eq!((h["a"], h["b"], h["c"], h["0x"]), (3, 2, 1, 1));
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    let errs: Vec<ApplyError> = graph::run(waits, 1, watch::channel(false).1, move |k: String| {
        let o = o.clone();
        async move {
            o.lock().unwrap().push(k);
            Ok(())
        }
    })
    .await;
    assert!(errs.is_empty());
    assert_eq!(order.lock().unwrap()[0], "a", "{:?}", order.lock().unwrap());
}

#[tokio::test(start_paused = true)]
async fn an_adopted_object_is_read_before_its_update() {
    // A create reached AWS but its record was lost (the provider was
    // killed); the object is not what the spec wants (its follow-up call
    // never ran). The next apply adopts it, and the update sees the object
    // as it is, not as the spec says, so it can repair it.
    let cloud = Arc::new(FakeCloud::default());
    cloud.findable.store(true, Ordering::SeqCst);
    cloud
        .objects
        .lock()
        .unwrap()
        .insert("c-7".into(), json!({"public": false}));
    cloud.tags.lock().unwrap().insert(
        "c-7".into(),
        ownership::component_tags(&Tags::new(), "s", "c"),
    );
    let specs = vec![Spec::new("c", "thing", json!({"public": true}))];
    let rec = converge(&cloud, &specs, Records::new()).await;
    assert_eq!(rec["c"].id, "c-7", "adopted, not created again");
    assert_eq!(
        *cloud.updated_from.lock().unwrap(),
        vec![json!({"public": false})]
    );
    assert_eq!(
        cloud.objects.lock().unwrap()["c-7"],
        json!({"public": true})
    );
    assert!(!cloud
        .calls
        .lock()
        .unwrap()
        .iter()
        .any(|c| c.starts_with("create")));
}

/// A stack whose create failed is tainted, and Terraform replaces it
/// without its private state: the create half starts from no record. When
/// it fails before reaching everything the stack already has, what it did
/// not reach is still recorded (and so destroyed later), never orphaned;
/// a namesake that is not the stack's is not.
#[tokio::test(start_paused = true)]
async fn a_failed_apply_records_what_exists_of_the_stack_beyond_what_it_reached() {
    let cloud = Arc::new(FakeCloud::default());
    let specs = graph("10.0.0.0/24", 1);
    let first = converge(&cloud, &specs, Records::new()).await;
    cloud.findable.store(true, Ordering::SeqCst);
    // Another owner's object holding the name of a component of the new graph.
    cloud
        .objects
        .lock()
        .unwrap()
        .insert("theirs-9".into(), json!({}));
    cloud
        .tags
        .lock()
        .unwrap()
        .insert("theirs-9".into(), t(&[("Team", "x")]));
    // One at a time, critical path first: vpc, subnet, a, then the new
    // component "0new" (height 1, first by key) fails before b, c, d and
    // "theirs" start.
    *cloud.fail_create.lock().unwrap() = Some("0new".into());
    let mut desired = graph("10.0.0.0/24", 1);
    desired.push(Spec::new("0new", "thing", json!({})));
    desired.push(Spec::new("theirs", "thing", json!({})));
    let env = env_with(cloud.clone(), 1);
    env.tag_specs(&mut desired);
    let changes = plan(&kinds(), &desired, &Records::new()).unwrap();
    let (rec, errs) = apply(env, kinds(), &desired, Records::new(), &changes).await;
    assert_eq!(
        errs.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
        vec!["0new"]
    );
    let calls = cloud.calls.lock().unwrap().clone();
    assert!(
        !calls.iter().any(|c| c == "update b" || c == "update c"),
        "b and c were not reached: {calls:?}"
    );
    for k in ["vpc", "subnet", "a", "b", "c", "d"] {
        assert_eq!(rec[k].id, first[k].id, "{k} recorded as the object it is");
        assert_eq!(rec[k].deps, first[k].deps, "{k}");
    }
    assert!(
        rec.contains_key("0new"),
        "created, then failed: recorded by its partial"
    );
    assert!(
        !rec.contains_key("theirs"),
        "another owner's namesake is never recorded"
    );
    let recorded: BTreeSet<&str> = rec.values().map(|r| r.id.as_str()).collect();
    let exists: BTreeSet<String> = cloud
        .objects
        .lock()
        .unwrap()
        .keys()
        .filter(|k| !k.starts_with("theirs"))
        .cloned()
        .collect();
    assert_eq!(
        exists.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        recorded,
        "every object of the stack is recorded once"
    );
}

fn t(v: &[(&str, &str)]) -> Tags {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_tag_change_is_an_in_place_tag_update_that_leaves_foreign_keys() {
    let cloud = Arc::new(FakeCloud::default());
    let specs = vec![Spec::new("c", "thing", json!({"x": 1}))];
    let rec = converge_tagged(
        &cloud,
        &specs,
        Records::new(),
        t(&[("Team", "a"), ("Old", "o")]),
    )
    .await;
    let id = rec["c"].id.clone();
    // Someone adds a cost-allocation tag: not the stack's business.
    cloud
        .tags
        .lock()
        .unwrap()
        .get_mut(&id)
        .unwrap()
        .insert("CostCenter".into(), "42".into());
    let env = env_tagged(cloud.clone(), t(&[("Team", "b")]));
    let (rec, drift) = refresh(env.clone(), kinds(), rec).await.unwrap();
    assert!(
        drift.is_empty(),
        "a tag added by others is no drift: {drift:?}"
    );
    let mut desired = specs.clone();
    env.tag_specs(&mut desired);
    let ch = plan(&kinds(), &desired, &rec).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(
        (ch[0].action, ch[0].reason.as_str()),
        (Action::UpdateTags, "Old, Team")
    );
    assert_eq!(ch[0].describe(), "update tags c (thing): Old, Team");
    let (rec, errs) = apply(env.clone(), kinds(), &desired, rec, &ch).await;
    assert!(errs.is_empty(), "{errs:?}");
    let now = cloud.tags.lock().unwrap()[&id].clone();
    assert_eq!(now.get("Team").map(String::as_str), Some("b"));
    assert!(
        !now.contains_key("Old"),
        "a tag the stack set and no longer wants is removed"
    );
    assert_eq!(
        now.get("CostCenter").map(String::as_str),
        Some("42"),
        "a foreign tag key is left alone"
    );
    assert!(
        plan(&kinds(), &desired, &rec).unwrap().is_empty(),
        "converged"
    );
    // A managed tag removed out of band is drift, and the plan repairs it.
    cloud
        .tags
        .lock()
        .unwrap()
        .get_mut(&id)
        .unwrap()
        .remove("Team");
    let (rec, drift) = refresh(env.clone(), kinds(), rec).await.unwrap();
    assert_eq!(
        drift,
        vec!["c (thing) changed outside Terraform: tag Team".to_string()]
    );
    let ch = plan(&kinds(), &desired, &rec).unwrap();
    assert_eq!(
        (ch[0].action, ch[0].reason.as_str()),
        (Action::UpdateTags, "Team")
    );
}

#[tokio::test(start_paused = true)]
async fn a_foreign_object_holding_the_name_is_never_adopted() {
    let cloud = Arc::new(FakeCloud::default());
    cloud.findable.store(true, Ordering::SeqCst);
    // Same name, made by someone else (no stack id), then by another stack.
    for owner in [None, Some("other-stack")] {
        cloud
            .objects
            .lock()
            .unwrap()
            .insert("c-7".into(), json!({"x": "theirs"}));
        let mut theirs = t(&[("Team", "x")]);
        if let Some(o) = owner {
            theirs.insert(TAG_STACK_ID.into(), o.into());
        }
        cloud
            .tags
            .lock()
            .unwrap()
            .insert("c-7".into(), theirs.clone());
        let env = env_tagged(cloud.clone(), Tags::new());
        let mut specs = vec![Spec::new("c", "thing", json!({"x": 1})).named_by("bucket_name")];
        env.tag_specs(&mut specs);
        let ch = plan(&kinds(), &specs, &Records::new()).unwrap();
        let (rec, errs) = apply(env, kinds(), &specs, Records::new(), &ch).await;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].attribute.as_deref(), Some("bucket_name"));
        assert!(
            errs[0].message.contains("was not created by this stack")
                && errs[0].message.contains("`bucket_name`"),
            "{}",
            errs[0].message
        );
        if let Some(o) = owner {
            assert!(errs[0].message.contains(o), "{}", errs[0].message);
        }
        assert!(rec.is_empty(), "nothing recorded");
        assert_eq!(cloud.objects.lock().unwrap().len(), 1, "nothing created");
        assert_eq!(
            cloud.objects.lock().unwrap()["c-7"],
            json!({"x": "theirs"}),
            "not modified"
        );
        assert_eq!(cloud.tags.lock().unwrap()["c-7"], theirs, "not tagged");
    }
}

#[tokio::test(start_paused = true)]
async fn a_component_lives_in_its_region_and_moves_by_replacement() {
    let cloud = Arc::new(FakeCloud::default());
    let env = env(cloud.clone());
    let mut specs = vec![
        Spec::new("x", "thing", json!({"a": 1})).in_region("r2"),
        Spec::new("y", "thing", json!({})),
    ];
    env.tag_specs(&mut specs);
    let rec = converge(&cloud, &specs, Records::new()).await;
    let r2 = cloud.clone().in_region("r2");
    assert_eq!(rec["x"].region.as_deref(), Some("r2"));
    assert!(
        r2.objects.lock().unwrap().contains_key(&rec["x"].id),
        "created in r2"
    );
    assert!(
        !cloud.objects.lock().unwrap().contains_key(&rec["x"].id),
        "not in the stack's region"
    );
    assert!(cloud.objects.lock().unwrap().contains_key(&rec["y"].id));
    // Read where it is: no drift.
    let (rec, drift) = refresh(env.clone(), kinds(), rec).await.unwrap();
    assert!(drift.is_empty() && rec.contains_key("x"), "{drift:?}");
    assert!(plan(&kinds(), &specs, &rec).unwrap().is_empty());
    // Back to the stack's region: a replacement, deleted where it was.
    specs[0].region = None;
    let ch = plan(&kinds(), &specs, &rec).unwrap();
    assert_eq!(
        (ch[0].key.as_str(), ch[0].action, ch[0].reason.as_str()),
        (
            "x",
            Action::Replace,
            "region changed from r2 to the stack's"
        )
    );
    let rec = converge(&cloud, &specs, rec).await;
    assert!(r2.objects.lock().unwrap().is_empty(), "deleted in r2");
    assert!(cloud.objects.lock().unwrap().contains_key(&rec["x"].id) && rec["x"].region.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_scoped_component_sees_its_scopes_dependencies_by_their_short_names() {
    assert_eq!(dep_name("primary/subnet.a", "primary/vpc"), "vpc");
    assert_eq!(
        dep_name("primary/subnet.a", "secondary/vpc"),
        "secondary/vpc"
    );
    assert_eq!(dep_name("global", "primary/vpc"), "primary/vpc");
    assert_eq!(dep_name("subnet", "vpc"), "vpc");
    let cloud = Arc::new(FakeCloud::default());
    // Built as a stack builds its regions: one scoped builder per side.
    let mut g = Desired::new();
    let mut subnets = vec![];
    for (side, block) in [("p", 0), ("s", 1)] {
        let mut scoped = Desired::within(side, None);
        let vpc = scoped.add(Spec::new(
            "vpc",
            "net",
            json!({"cidr": format!("10.{block}.0.0/16")}),
        ));
        subnets.push(
            scoped.add(
                Spec::new(
                    "subnet",
                    "net",
                    json!({"cidr": format!("10.{block}.1.0/24")}),
                )
                .after(&vpc),
            ),
        );
        g.append(scoped);
    }
    g.add(Spec::new("both", "thing", json!({})).after_each(&subnets, OnDepChange::Replace));
    let specs = g.into_specs();
    assert_eq!(
        specs.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
        ["p/vpc", "p/subnet", "s/vpc", "s/subnet", "both"]
    );
    // The fake kind asserts that each dependency reaches it by its name.
    let rec = converge(&cloud, &graph_tags(specs.clone()), Records::new()).await;
    assert_eq!(rec.len(), 5);
    assert!(plan(&kinds(), &graph_tags(specs), &rec).unwrap().is_empty());
}

fn graph_tags(mut g: Vec<Spec>) -> Vec<Spec> {
    for s in &mut g {
        s.tags = ownership::component_tags(&Tags::new(), "s", &s.key);
    }
    g
}

#[tokio::test(start_paused = true)]
async fn create_before_destroy_creates_the_successor_first_and_survives_a_failure_between() {
    let cloud = Arc::new(FakeCloud::default());
    let specs = |size: i64| {
        let mut g = Desired::new();
        let cluster = g.add(Spec::new("cluster", "thing", json!({})));
        g.add(Spec::new("pool", "pool", json!({"size": size})).after(&cluster));
        graph_tags(g.into_specs())
    };
    let rec = converge(&cloud, &specs(1), Records::new()).await;
    cloud.calls.lock().unwrap().clear();
    let ch = plan(&kinds(), &specs(2), &rec).unwrap();
    assert_eq!(ch.len(), 1);
    assert_eq!(ch[0].action, Action::Replace);
    let rec2 = converge(&cloud, &specs(2), rec.clone()).await;
    assert_eq!(
        *cloud.calls.lock().unwrap(),
        vec!["create pool", "delete pool"],
        "new before old"
    );
    assert_ne!(rec2["pool"].id, rec["pool"].id);
    assert_eq!(rec2.len(), 2, "nothing deposed left: {rec2:?}");

    // The successor's create fails after it exists: both are recorded, the
    // old one deposed, and the next apply deletes it after the new exists.
    cloud.calls.lock().unwrap().clear();
    *cloud.fail_create.lock().unwrap() = Some("pool".into());
    let env = env(cloud.clone());
    let s3 = specs(3);
    let ch = plan(&kinds(), &s3, &rec2).unwrap();
    let (rec3, errs) = apply(env.clone(), kinds(), &s3, rec2.clone(), &ch).await;
    assert_eq!(errs.len(), 1);
    assert!(
        rec3.contains_key("pool") && rec3.contains_key("pool#deposed"),
        "{rec3:?}"
    );
    assert_eq!(rec3["pool#deposed"].id, rec2["pool"].id);
    *cloud.fail_create.lock().unwrap() = None;
    let ch = plan(&kinds(), &s3, &rec3).unwrap();
    assert!(
        ch.iter().any(|c| c.key == "pool#deposed"
            && c.action == Action::Delete
            && c.reason.contains("successor")),
        "{ch:?}"
    );
    let rec4 = converge(&cloud, &s3, rec3).await;
    assert_eq!(rec4.len(), 2);
    assert!(
        !cloud.objects.lock().unwrap().contains_key(&rec2["pool"].id),
        "old pool deleted"
    );
    assert!(plan(&kinds(), &s3, &rec4).unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn create_before_destroy_yields_when_its_dependency_is_replaced() {
    let cloud = Arc::new(FakeCloud::default());
    let specs = |cidr: &str, size: i64| {
        let mut g = Desired::new();
        let cluster = g.add(Spec::new("cluster", "net", json!({"cidr": cidr})));
        g.add(Spec::new("pool", "pool", json!({"size": size})).after(&cluster));
        graph_tags(g.into_specs())
    };
    let rec = converge(&cloud, &specs("a", 1), Records::new()).await;
    cloud.calls.lock().unwrap().clear();
    let _ = converge(&cloud, &specs("b", 2), rec).await;
    let calls = cloud.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        vec![
            "delete pool",
            "delete cluster",
            "create cluster",
            "create pool"
        ],
        "the old pool goes before its cluster"
    );
}

// Adoption: hand-built objects named explicitly become components.

/// A hand-built object in the fake cloud (no stack tag unless `tags`).
fn hand_built(cloud: &FakeCloud, id: &str, inputs: Json, tags: &[(&str, &str)]) {
    cloud.objects.lock().unwrap().insert(id.into(), inputs);
    cloud.tags.lock().unwrap().insert(
        id.into(),
        tags.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
}

fn adoption(key: &str, id: &str) -> Adoption {
    Adoption {
        key: key.into(),
        id: id.into(),
        from: vec![format!("aws_thing.{key}")],
    }
}

/// Observes, keeps names, merges and plans, as the stack layer does.
async fn plan_adoption(
    cloud: &Arc<FakeCloud>,
    specs: &mut Vec<Spec>,
    recorded: &Records,
    adoptions: &[Adoption],
) -> (Observation, Records, Vec<Change>, Vec<Refusal>) {
    let env = env(cloud.clone());
    env.tag_specs(specs);
    let seen = observe_all(&env, &kinds(), specs, recorded, adoptions)
        .await
        .unwrap();
    keep(specs, &kinds(), &seen.kept);
    let mut merged = recorded.clone();
    merged.extend(seen.records.clone());
    let changes = plan(&kinds(), specs, &merged).unwrap();
    let adopted = seen.records.keys().cloned().collect();
    let refused = refusals(&kinds(), specs, &merged, &adopted, &changes);
    (seen, merged, changes, refused)
}

#[tokio::test(start_paused = true)]
async fn an_adopted_object_is_updated_in_place_and_never_created() {
    let cloud = Arc::new(FakeCloud::default());
    hand_built(
        &cloud,
        "vpc-hand",
        json!({"cidr": "10.0.0.0/24"}),
        &[("Team", "x")],
    );
    let mut g = Desired::new();
    let vpc = g.add(Spec::new("vpc", "net", json!({"cidr": "10.0.0.0/24"})));
    g.add(Spec::new("c", "thing", json!({"x": 1})).after(&vpc));
    let mut specs = g.into_specs();
    let (seen, merged, changes, refused) = plan_adoption(
        &cloud,
        &mut specs,
        &Records::new(),
        &[adoption("vpc", "vpc-hand")],
    )
    .await;
    assert!(
        refused.is_empty() && seen.refusals.is_empty(),
        "{refused:?}"
    );
    let by: BTreeMap<&str, Action> = changes.iter().map(|c| (c.key.as_str(), c.action)).collect();
    assert_eq!(
        by["vpc"],
        Action::UpdateTags,
        "the stack's tags are added in place"
    );
    assert_eq!(by["c"], Action::Create);
    let env = env(cloud.clone());
    let (after, errs) = apply(env, kinds(), &specs, merged, &changes).await;
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(after["vpc"].id, "vpc-hand");
    let calls = cloud.calls.lock().unwrap().clone();
    assert!(!calls.contains(&"create vpc".to_string()), "{calls:?}");
    let tags = cloud.tags.lock().unwrap()["vpc-hand"].clone();
    assert_eq!(tags[TAG_STACK_ID], "s");
    assert_eq!(tags["Team"], "x", "tags others set stay");
    // Once recorded, the entry names what the stack already has: nothing to do.
    let (seen, _, changes, _) = plan_adoption(
        &cloud,
        &mut specs.clone(),
        &after,
        &[adoption("vpc", "vpc-hand")],
    )
    .await;
    assert!(seen.records.is_empty() && seen.refusals.is_empty());
    assert!(changes.is_empty(), "{changes:?}");
}

#[tokio::test(start_paused = true)]
async fn a_replace_only_difference_is_refused_on_the_attribute_that_decides_it() {
    let cloud = Arc::new(FakeCloud::default());
    hand_built(&cloud, "vpc-hand", json!({"cidr": "10.9.0.0/16"}), &[]);
    let mut specs = vec![
        Spec::new("vpc", "net", json!({"cidr": "10.0.0.0/16"})).field_from("cidr", "vpc_cidr")
    ];
    let (_, _, changes, refused) = plan_adoption(
        &cloud,
        &mut specs,
        &Records::new(),
        &[adoption("vpc", "vpc-hand")],
    )
    .await;
    assert_eq!(changes[0].action, Action::Replace);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].attribute, Some("vpc_cidr"));
    assert!(
        refused[0].message.contains("vpc-hand"),
        "{}",
        refused[0].message
    );
    assert!(
        refused[0].message.contains("\"10.9.0.0/16\""),
        "the value to write: {}",
        refused[0].message
    );
}

#[tokio::test(start_paused = true)]
async fn an_adopted_object_keeps_its_name_and_its_dependents_follow() {
    let cloud = Arc::new(FakeCloud::default());
    hand_built(&cloud, "grp-hand", json!({"name": "hand-made"}), &[]);
    let mut g = Desired::new();
    let named = g.add(Spec::new("grp", "named", json!({"name": "s-grp"})));
    g.add(
        Spec::new("user", "thing", json!({"group": "s-grp", "label": "s-grp"}))
            .after(&named)
            .naming("group", &named),
    );
    let mut specs = g.into_specs();
    let fresh = specs.clone();
    let (seen, merged, changes, refused) = plan_adoption(
        &cloud,
        &mut specs,
        &Records::new(),
        &[adoption("grp", "grp-hand")],
    )
    .await;
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(seen.kept["grp"]["name"], "hand-made");
    assert_eq!(specs[0].inputs["name"], "hand-made");
    assert_eq!(
        specs[1].inputs["group"], "hand-made",
        "a dependent naming it follows"
    );
    assert_eq!(
        specs[1].inputs["label"], "s-grp",
        "an input that only spells the same does not"
    );
    assert!(
        changes.iter().all(|c| c.action != Action::Replace),
        "{changes:?}"
    );
    let (after, errs) = apply(env(cloud.clone()), kinds(), &specs, merged, &changes).await;
    assert!(errs.is_empty(), "{errs:?}");
    // The next plan rebuilds the graph and applies the kept names again: empty.
    let mut again = fresh;
    env(cloud.clone()).tag_specs(&mut again);
    keep(&mut again, &kinds(), &seen.kept);
    assert!(plan(&kinds(), &again, &after).unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn another_stack_s_object_an_unknown_key_and_an_untakeable_kind_are_refused() {
    let cloud = Arc::new(FakeCloud::default());
    hand_built(
        &cloud,
        "vpc-other",
        json!({"cidr": "10.0.0.0/24"}),
        &[(TAG_STACK_ID, "other")],
    );
    hand_built(&cloud, "pool-hand", json!({"size": 1}), &[]);
    let mut g = Desired::new();
    g.add(Spec::new("vpc", "net", json!({"cidr": "10.0.0.0/24"})));
    g.add(Spec::new("pool", "pool", json!({"size": 1})));
    g.add(Spec::new("c", "net", json!({"cidr": "10.0.0.0/24"})));
    let mut specs = g.into_specs();
    let (seen, _, changes, _) = plan_adoption(
        &cloud,
        &mut specs,
        &Records::new(),
        &[
            adoption("vpc", "vpc-other"),
            adoption("pool", "pool-hand"),
            adoption("nope", "x-1"),
            adoption("c", "vpc-other"),
        ],
    )
    .await;
    assert!(seen.records.is_empty());
    let msg = |k: &str| {
        seen.refusals
            .iter()
            .find(|r| r.key == k)
            .map(|r| r.message.clone())
            .unwrap_or_default()
    };
    assert!(msg("vpc").contains("\"other\""), "{:?}", seen.refusals);
    assert!(
        msg("pool").contains("does not manage"),
        "{:?}",
        seen.refusals
    );
    assert!(msg("nope").contains("c, pool, vpc"), "{}", msg("nope"));
    assert!(msg("c").contains("already named"), "{}", msg("c"));
    assert!(changes.iter().all(|c| c.action == Action::Create));
}

#[tokio::test(start_paused = true)]
async fn adopting_a_dependent_of_a_component_to_create_is_refused() {
    let cloud = Arc::new(FakeCloud::default());
    hand_built(&cloud, "sub-hand", json!({"cidr": "10.0.0.0/24"}), &[]);
    let mut g = Desired::new();
    let vpc = g.add(Spec::new("vpc", "net", json!({"cidr": "10.0.0.0/16"})));
    g.add(Spec::new("subnet", "net", json!({"cidr": "10.0.0.0/24"})).after(&vpc));
    let mut specs = g.into_specs();
    let (_, _, _, refused) = plan_adoption(
        &cloud,
        &mut specs,
        &Records::new(),
        &[adoption("subnet", "sub-hand")],
    )
    .await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].message.contains("vpc is created"),
        "{}",
        refused[0].message
    );
}
