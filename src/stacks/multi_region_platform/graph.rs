//! The platform's component graph: each region's network and EKS
//! cluster, then what spans the regions (the Aurora global database and
//! its writer, the replicated buckets, the alarms, the failover records).

use super::*;

/// What the rest of the platform depends on in one region: its network and
/// its cluster.
struct Region {
    net: NetworkHandles,
    cluster: Handle,
}

/// What spans the regions of the database: each region's key and member
/// cluster, and the writer (the switchover).
struct Database {
    kms: BTreeMap<&'static str, Handle>,
    members: BTreeMap<&'static str, Handle>,
    writer: Handle,
}

/// Every component of the platform but the manifest: the two regions'
/// networks and clusters, then what spans them.
pub(super) fn components(c: &Config) -> Desired {
    let mut g = Desired::new();
    let mut regions = BTreeMap::new();
    for side in SIDES {
        let mut r = Desired::within(side, Some(&region_of(c, side)));
        let (net, private_tables) = network(c, side, &mut r);
        let cluster = cluster(c, side, &net, &private_tables, &mut r);
        g.append(r);
        regions.insert(side, Region { net, cluster });
    }
    let db = database(c, &regions, &mut g);
    let replication = storage(c, &db, &mut g);
    observability(c, &db, &replication, &mut g);
    if routing_ready(c) {
        routing(c, &db, &mut g);
    }
    g
}

/// One region's network, in its scope: the team's (referenced), or the
/// stack's own over the region's zones; with its private route tables
/// (none in the team's network).
fn network(c: &Config, side: &str, g: &mut Desired) -> (NetworkHandles, Vec<Handle>) {
    if let Some((vpc, public, private)) = existing_network(c, side) {
        // Referenced, never owned: no gateway, table or endpoint of the
        // stack's is put in the team's network.
        let (vpc_attribute, public_attribute, private_attribute) = network_attributes(side);
        return (
            network::add_existing(
                g,
                vpc_attribute,
                vpc,
                &[
                    ("public", public_attribute, &public),
                    ("private", private_attribute, &private),
                ],
            ),
            vec![],
        );
    }
    let region = region_of(c, side);
    let cluster = cluster_name(c, side);
    let vpc_cidr = c.side(side).vpc_cidr.text();
    let (private_cidrs, public_cidrs) = subnet_cidrs(vpc_cidr);
    // The tags the Load Balancer Controller picks subnets by.
    let shared = (
        format!("kubernetes.io/cluster/{cluster}"),
        "shared".to_string(),
    );
    let own = network::OwnNetwork {
        vpc_cidr,
        zones: network::zone_blocks(&zones(c, side), &public_cidrs, &private_cidrs),
        // Validated at plan: `single` or `per_az`.
        nat: c
            .nat_gateways
            .known()
            .copied()
            .unwrap_or(network::NatGateways::Single),
        public_subnet_tags: vec![
            ("kubernetes.io/role/elb".into(), "1".into()),
            shared.clone(),
        ],
        private_subnet_tags: vec![
            ("kubernetes.io/role/internal-elb".into(), "1".into()),
            shared,
        ],
        // S3 traffic from the nodes stays off the NAT gateway.
        s3_endpoint: Some(&region),
    };
    network::add_own(g, &own)
}

fn role(key: &str, name: String, trust_service: &str, policies: &[&str]) -> Spec {
    Spec::of(key, &RoleInputs::for_service(name, trust_service, policies))
}

/// One region's EKS cluster, in its scope: roles, cluster, OIDC provider,
/// node groups and the Load Balancer Controller's role.
fn cluster(
    c: &Config,
    side: &str,
    net: &NetworkHandles,
    private_tables: &[Handle],
    g: &mut Desired,
) -> Handle {
    let id = c.stack_id();
    let name = cluster_name(c, side);
    let (public, private) = (net.subnets("public"), net.subnets("private"));

    let cluster_role = g.add(role(
        "role.cluster",
        format!("{id}-eks-cluster-{side}"),
        "eks.amazonaws.com",
        &["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"],
    ));
    let node_role = g.add(role(
        "role.node",
        format!("{id}-eks-node-{side}"),
        "ec2.amazonaws.com",
        &[
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
            "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
        ],
    ));
    // Exists before the cluster, deleted after it and before the network.
    let leftovers = g.add(
        Spec::of(
            "lb_controller.leftovers",
            &ControllerLeftoversInputs {
                cluster: name.clone(),
            },
        )
        .after(&net.vpc)
        .after_each(private.iter().chain(public), Replace),
    );
    let k = &c.kubernetes;
    let mut logs = k.cluster_log_types.strings();
    logs.sort();
    let inputs = ClusterInputs {
        name: name.clone(),
        version: k.version.value(),
        endpoint_public: k.endpoint_public_access.value(),
        endpoint_private: k.endpoint_private_access.value(),
        logs,
    };
    let cluster = g.add(
        Spec::of("cluster", &inputs)
            .filling("role", &cluster_role, Replace)
            .after(&leftovers)
            .filling_each("subnets", private.iter().chain(public), Replace),
    );
    let oidc = g.add(
        Spec::of(
            "oidc",
            &OidcProviderInputs {
                cluster: name.clone(),
                client_ids: vec!["sts.amazonaws.com".into()],
            },
        )
        .after(&cluster),
    );

    let writer = writer_side(c) == side;
    for ng in node_groups(c) {
        let mut labels = ng.labels.clone();
        labels.insert("awsstack/node-group".into(), ng.name.clone());
        let inputs = NodeGroupInputs {
            cluster: name.clone(),
            name: ng.aws_name(&id),
            capacity_type: ng.capacity_type.clone(),
            instance_types: ng.instance_types.clone(),
            ami_type: ng.ami_type.clone(),
            min_size: ng.min,
            max_size: ng.max,
            desired_size: if writer {
                ng.desired
            } else {
                ng.secondary_desired
            },
            labels,
        };
        g.add(
            Spec::of(format!("nodes.{}", ng.name), &inputs)
                .after(&cluster)
                .filling("role", &node_role, Replace)
                // Nodes reach the API and the registries through the NAT gateway.
                .after_each(private_tables, Replace)
                .filling_each("subnets", private, Replace),
        );
    }

    // IRSA: the Load Balancer Controller's service account, and nothing
    // else, may assume this role through the cluster's OIDC provider.
    let (arn, issuer) = (g.output(&oidc, "arn"), g.output(&oidc, "issuer_host"));
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {format!("{issuer}:sub"): LB_CONTROLLER_ACCOUNT, format!("{issuer}:aud"): "sts.amazonaws.com"}}
        }]
    });
    let policy: serde_json::Value =
        serde_json::from_str(LB_CONTROLLER_POLICY).expect("the controller policy is JSON");
    g.add(
        Spec::of(
            "role.lb_controller",
            &RoleInputs::trusting(format!("{id}-lb-controller-{side}"), &trust)
                .with_inline(&policy),
        )
        .after(&oidc),
    );
    cluster
}

/// The master password is the user's (else generated in a secret). Decided
/// without the write-only value, which the plan and the state never hold:
/// its version is set with it.
pub(super) fn user_password(c: &Config) -> bool {
    c.database.master_password.is_set() || c.database.master_password_wo_version.is_set()
}

fn database(c: &Config, regions: &BTreeMap<&'static str, Region>, g: &mut Desired) -> Database {
    let id = c.stack_id();
    let global = format!("{id}-aurora");
    let primary_region = region_of(c, "primary");
    let protect = c.deletion_protection();
    let db = &c.database;
    let global_db = g.add(
        Spec::of(
            "global/db",
            &GlobalClusterInputs {
                id: global.clone(),
                engine: ENGINE.into(),
                engine_version: db.engine_version.value(),
                deletion_protection: protect,
            },
        )
        .in_region(&primary_region),
    );
    let password = db
        .master_password
        .owned()
        .or_else(|| db.master_password_wo.owned());
    let password_wo = db.master_password_wo_version.is_set();
    let secret = (!user_password(c)).then(|| {
        g.add(
            Spec::of(
                "primary/secret.db",
                &SecretInputs {
                    name: format!("{id}-db-master"),
                    description: format!("{id} Aurora master credentials"),
                    recovery_days: if c.production() { 7 } else { 0 },
                    generate: Some(BTreeMap::from([
                        ("username".into(), db.master_username.value()),
                        ("engine".into(), "postgres".into()),
                    ])),
                    replica_regions: vec![region_of(c, "secondary")],
                    ..SecretInputs::default()
                },
            )
            .in_region(&primary_region),
        )
    });
    let mut writer = Spec::of(
        "global/db.writer",
        &WriterInputs {
            global_cluster: global.clone(),
            writer_region: writer_region(c),
            members: SIDES
                .iter()
                .map(|side| (region_of(c, side), member_id(c, side)))
                .collect(),
            allow_data_loss: c.allow_data_loss.value(),
        },
    )
    .after(&global_db)
    .naming("global_cluster", &global_db)
    .in_region(&primary_region);
    let (mut kms, mut members) = (BTreeMap::new(), BTreeMap::new());
    let mut primary_instances = vec![];
    for side in SIDES {
        let mut r = Desired::within(side, Some(&region_of(c, side)));
        let Region { net, cluster } = &regions[side];
        let key = KeyInputs {
            alias: format!("alias/{id}-{side}"),
            description: format!("awsstack {id} {side} data (Aurora, S3)"),
            rotation: true,
            deletion_window_days: None,
        };
        let key = r.add(Spec::of("kms", &key));
        // Only the cluster's nodes (and their pods) reach the database. In
        // the stack's own network they alone live in the private subnets,
        // whose blocks the rule names (and the database need not wait for
        // the cluster). An existing network's subnets are shared with
        // whatever else the team runs: the rule names the cluster's
        // security group, which every node and pod carries.
        let (rule, after_cluster) = match existing_network(c, side) {
            Some(_) => (
                IngressRule::tcp_from_group(
                    5432,
                    r.name(cluster),
                    "PostgreSQL from the EKS cluster",
                ),
                true,
            ),
            None => {
                let (private_cidrs, _) = subnet_cidrs(c.side(side).vpc_cidr.text());
                (
                    IngressRule::tcp_from_cidrs(
                        5432,
                        private_cidrs,
                        "PostgreSQL from the EKS nodes' subnets",
                    ),
                    false,
                )
            }
        };
        let sg = SecurityGroupInputs {
            name: format!("{id}-aurora-{side}"),
            description: format!("awsstack {id} Aurora ({side})"),
            rules: vec![rule],
        };
        let sg = Spec::of("sg.db", &sg).after(&net.vpc);
        let sg = r.add(if after_cluster {
            sg.after_update(cluster)
        } else {
            sg
        });
        let group = r.add(
            Spec::of(
                "db.subnets",
                &DbSubnetGroupInputs {
                    name: format!("{id}-aurora-{side}"),
                },
            )
            .filling_each("subnets", net.subnets("private"), Update),
        );
        let primary = side == "primary";
        let member = MemberClusterInputs {
            id: member_id(c, side),
            engine: ENGINE.into(),
            engine_version: db.engine_version.value(),
            global_cluster: global.clone(),
            role: if primary {
                MemberRole::Primary
            } else {
                MemberRole::Secondary
            },
            username: primary.then(|| db.master_username.value()),
            subnet_group: format!("{id}-aurora-{side}"),
            deletion_protection: protect,
            backup_retention_days: if c.production() { 7 } else { 1 },
            final_snapshot: !db.skip_final_snapshot.value(),
            // A write-only password leaves no trace in the records (not
            // even a hash): its version is what a plan compares.
            password_sha256: if primary && !password_wo {
                password.as_deref().map(sha256_hex)
            } else {
                None
            },
            password_version: if primary && password_wo {
                db.master_password_wo_version.known().copied()
            } else {
                None
            },
        };
        let mut member = Spec::of("db", &member)
            .after(&global_db)
            .naming("global_cluster", &global_db)
            .after(&key)
            .after(&group)
            .after_update(&sg);
        // A secondary joins the global database once the primary has a
        // writer instance; a destroy then removes it before them, so the
        // primary, still the writer if no switchover was recorded, leaves
        // last.
        for instance in &primary_instances {
            member = member.after_only(instance);
        }
        if side == "primary" {
            match (&password, &secret) {
                (Some(p), _) => member.secret = Some(p.clone()),
                (None, Some(secret)) => member = member.after(secret),
                (None, None) => {}
            }
        }
        let member = r.add(member);
        let class = c.side(side).db_instance_class.value();
        for i in 1..=c.side(side).db_instance_count.value() as i64 {
            let instance = r.add(
                Spec::of(
                    format!("db.instance.{i}"),
                    &ClusterInstanceInputs {
                        id: format!("{}-{i}", member_id(c, side)),
                        cluster: member_id(c, side),
                        engine: ENGINE.into(),
                        instance_class: class.clone(),
                    },
                )
                .after(&member),
            );
            writer = writer.after_update(&instance);
            if primary {
                primary_instances.push(instance);
            }
        }
        writer = writer.after_update(&member);
        g.append(r);
        kms.insert(side, key);
        members.insert(side, member);
    }
    let writer = g.add(writer);
    Database {
        kms,
        members,
        writer,
    }
}

/// The artifact buckets, one per region, and the replication of the
/// primary's to the secondary's (which the returned handle is).
fn storage(c: &Config, db: &Database, g: &mut Desired) -> Handle {
    let id = c.stack_id();
    let mut buckets = BTreeMap::new();
    for side in SIDES {
        let mut r = Desired::within(side, Some(&region_of(c, side)));
        let artifacts = BucketInputs {
            name: bucket_name(c, side),
            versioning: None,
            glacier_after_days: None,
            backup_prefix: None,
            kms: true,
            force_destroy: c.force_destroy.known() == Some(&true),
        };
        let bucket = r.add(
            Spec::of("bucket", &artifacts)
                .after(&db.kms[side])
                .named_by("artifact_bucket_suffix"),
        );
        g.append(r);
        buckets.insert(side, bucket);
    }
    let mut r = Desired::within("primary", Some(&region_of(c, "primary")));
    let (source, destination) = (&buckets["primary"], &buckets["secondary"]);
    let (source_key, replica_key) = (&db.kms["primary"], &db.kms["secondary"]);
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": r.output(source, "arn")},
            {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"], "Resource": format!("{}/*", r.output(source, "arn"))},
            {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"], "Resource": format!("{}/*", r.output(destination, "arn"))},
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": r.output(source_key, "arn")},
            {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": r.output(replica_key, "arn")}
        ]
    });
    let role = RoleInputs::for_service(format!("{id}-s3-replication"), "s3.amazonaws.com", &[])
        .with_inline(&policy);
    let role = r.add(
        Spec::of("role.replication", &role)
            .after_each([source, destination, source_key, replica_key], Update),
    );
    let replication = r.add(
        Spec::of(
            "replication",
            &ReplicationInputs {
                rule_id: "to-secondary".into(),
                source_bucket: bucket_name(c, "primary"),
            },
        )
        .filling("source", source, Replace)
        .filling("destination", destination, Replace)
        .filling("role", &role, Update)
        .filling("replica_kms", replica_key, Update),
    );
    g.append(r);
    replication
}

fn observability(c: &Config, db: &Database, replication: &Handle, g: &mut Desired) {
    let id = c.stack_id();
    let emails = c.alarms.emails.strings();
    let alarm = |key: &str,
                 name: String,
                 namespace: &str,
                 metric: &str,
                 dimensions: BTreeMap<String, Template>,
                 threshold: f64,
                 statistic: &str| {
        let alarm = AlarmInputs {
            name,
            namespace: namespace.into(),
            metric: metric.into(),
            statistic: statistic.into(),
            threshold,
            comparison: "GreaterThanThreshold".into(),
            period: 60,
            evaluation_periods: 5,
            dimensions: Some(dimensions),
        };
        Spec::of(key, &alarm)
    };
    let dimensions = |pairs: &[(&str, String)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Template(v.clone())))
            .collect::<BTreeMap<_, _>>()
    };
    let mut topics = BTreeMap::new();
    for side in SIDES {
        let mut r = Desired::within(side, Some(&region_of(c, side)));
        let topic = r.add(Spec::of(
            "topic",
            &TopicInputs {
                name: format!("{id}-alarms-{side}"),
                emails: emails.clone(),
            },
        ));
        // Each cluster's lag while it replicates; the writer's metric is
        // absent, so a switchover needs no change here.
        let dims = dimensions(&[("DBClusterIdentifier", member_id(c, side))]);
        let member = &db.members[side];
        r.add(
            alarm(
                "alarm.replication_lag",
                format!("{id}-aurora-replication-lag-{side}"),
                "AWS/RDS",
                "AuroraGlobalDBReplicationLag",
                dims.clone(),
                c.alarms.replication_lag_ms.value().trunc(),
                "Maximum",
            )
            .after(&topic)
            .after(member),
        );
        r.add(
            alarm(
                "alarm.rpo_lag",
                format!("{id}-aurora-rpo-lag-{side}"),
                "AWS/RDS",
                "AuroraGlobalDBRPOLag",
                dims,
                c.alarms.rpo_lag_ms.value().trunc(),
                "Maximum",
            )
            .after(&topic)
            .after(member),
        );
        g.append(r);
        topics.insert(side, topic);
    }
    // S3 replication metrics, under the rule's dimensions, in the
    // destination region.
    let mut r = Desired::within("secondary", Some(&region_of(c, "secondary")));
    let dims = dimensions(&[
        ("SourceBucket", bucket_name(c, "primary")),
        ("DestinationBucket", bucket_name(c, "secondary")),
        ("RuleId", "to-secondary".into()),
    ]);
    r.add(
        alarm(
            "alarm.s3_latency",
            format!("{id}-s3-replication-latency"),
            "AWS/S3",
            "ReplicationLatency",
            dims.clone(),
            900.0,
            "Maximum",
        )
        .after(&topics["secondary"])
        .after(replication),
    );
    r.add(
        alarm(
            "alarm.s3_backlog",
            format!("{id}-s3-replication-backlog"),
            "AWS/S3",
            "BytesPendingReplication",
            dims,
            c.alarms.replication_backlog_bytes.value().trunc(),
            "Maximum",
        )
        .after(&topics["secondary"])
        .after(replication),
    );
    g.append(r);
}

fn routing(c: &Config, db: &Database, g: &mut Desired) {
    let id = c.stack_id();
    let conf = &c.routing;
    let zone = conf.hosted_zone_id.text();
    let name = conf.record_name.text().trim_end_matches('.').to_string();
    let mut r = Desired::within("global", None);
    let mut checks = BTreeMap::new();
    for side in SIDES {
        checks.insert(
            side,
            r.add(Spec::of(
                format!("health.{side}"),
                &HealthCheckInputs {
                    fqdn: health_domain(c, side),
                    path: conf.health_check_path.value(),
                    port: 443,
                    failure_threshold: conf.health_check_failure_threshold.value(),
                    interval: 30,
                },
            )),
        );
    }
    let writer = writer_side(c);
    let reader = if writer == "primary" {
        "secondary"
    } else {
        "primary"
    };
    for (failover, side, other) in [("PRIMARY", writer, reader), ("SECONDARY", reader, writer)] {
        r.add(
            Spec::of(
                format!("dns.{}", failover.to_ascii_lowercase()),
                &FailoverRecordInputs {
                    zone_id: zone.into(),
                    name: name.clone(),
                    set_identifier: format!("{id}-{}", failover.to_ascii_lowercase()),
                    failover: failover.into(),
                    value: c.side(side).ingress_hostname.value(),
                    ttl: 60,
                },
            )
            // Its own side's health check decides whether it answers; the
            // other's is an ordering only.
            .filling("check", &checks[side], Update)
            .after_update(&checks[other])
            // The records move once the database has switched over.
            .after_update(&db.writer),
        );
    }
    g.append(r);
}
