//! The component graph of a container service, section by section: its
//! network, security groups, registry, logs and secrets, database,
//! cache, load balancer, and the ECS service that ties them together.

use super::config::Config;
use super::{env_var_name, own_network, short_name};
use crate::aws::AwsContext;
use crate::components::ec2::{sort_rules, IngressRule, SecurityGroupInputs};
use crate::components::ecr::RepositoryInputs;
use crate::components::ecs::{ClusterInputs, ServiceInputs, TaskDefinitionInputs};
use crate::components::elasticache::{CacheSubnetGroupInputs, RedisInputs};
use crate::components::elb::{
    ListenerAction, ListenerInputs, LoadBalancerInputs, TargetGroupInputs,
};
use crate::components::iam::RoleInputs;
use crate::components::logs::LogGroupInputs;
use crate::components::rds::{DbInstanceInputs, DbSubnetGroupInputs};
use crate::components::secrets::{ConnectionFields, DbConnectionInputs, SecretInputs};
use crate::components::sha256_hex;
use crate::engine::{Desired, Handle, OnDepChange::Replace, OnDepChange::Update, Spec, Template};
use crate::schema::config::Setting;
use crate::stacks::network::{self, NetworkHandles};
use serde_json::json;
use std::collections::BTreeMap;

/// The components of `c` (its defaults filled).
pub(super) fn build(c: &Config, ctx: &AwsContext) -> Vec<Spec> {
    let mut b = Builder {
        c,
        id: c.stack_id(),
        prod: c.production(),
        g: Desired::new(),
    };
    let net = match c.existing_network() {
        Some((vpc, public, private)) => network::add_existing(
            &mut b.g,
            "vpc_id",
            vpc,
            &[
                ("public", "public_subnet_ids", &public),
                ("private", "private_subnet_ids", &private),
            ],
        ),
        None => own_network(c, ctx, &mut b.g),
    };
    let groups = b.security_groups(&net);
    let shared = b.registry_logs_and_secrets();
    let db_connection = b.database(&net, &groups, &shared);
    let cache = b.cache(&net, &groups);
    let lb = b.load_balancer(&net, &groups);
    b.service(&net, &groups, &shared, &db_connection, &cache, &lb);
    let mut specs = b.g.into_specs();
    // What a hand-built object taken with `adopt` must match (its
    // replace-only fields), and where the configuration says it.
    crate::stacks::adopt::fields_from(
        &mut specs,
        &[
            ("vpc", "cidr", "vpc_cidr"),
            ("subnet.public.", "cidr", "public_subnet_cidrs"),
            ("subnet.private.", "cidr", "private_subnet_cidrs"),
            ("subnet.", "availability_zone", "availability_zones"),
            ("db", "db_name", "db_name"),
            ("db", "username", "db_username"),
            ("db", "engine_version", "db_engine_version"),
            ("secret.db", "generate", "db_username"),
            ("tg", "port", "container_port"),
            ("cache", "engine_version", "redis_engine_version"),
        ],
    );
    specs
}

struct Builder<'a> {
    c: &'a Config,
    id: String,
    prod: bool,
    g: Desired,
}

/// Internet → load balancer → tasks → database and cache.
struct Groups {
    sg_alb: Handle,
    sg_ecs: Handle,
    sg_db: Handle,
    sg_redis: Handle,
}

/// What the network does not decide: the image registry, the log group
/// and the secrets (the database credentials first).
struct Shared {
    ecr: Handle,
    logs: Handle,
    log_group: String,
    secret_db: Handle,
    secret_handles: Vec<Handle>,
    app_secrets: BTreeMap<String, Handle>,
}

struct LoadBalancer {
    tg: Handle,
    listener_http: Handle,
    listener_https: Option<Handle>,
}

impl Builder<'_> {
    fn security_groups(&mut self, net: &NetworkHandles) -> Groups {
        let (c, id) = (self.c, self.id.as_str());
        let g = &mut self.g;
        let port = c.service.container_port.value();
        // Security groups: internet → ALB → tasks → database and cache.
        let mut alb_cidrs = c.network.alb_ingress_cidrs.strings();
        alb_cidrs.sort();
        let https = c.network.certificate_arn.as_str().is_some();
        let mut alb_rules = vec![];
        if !alb_cidrs.is_empty() {
            alb_rules.push(IngressRule::tcp_from_cidrs(80, alb_cidrs.clone(), "HTTP"));
            if https {
                alb_rules.push(IngressRule::tcp_from_cidrs(443, alb_cidrs, "HTTPS"));
            }
        }
        sort_rules(&mut alb_rules);
        let sg = |key: &str, name: &str, desc: &str, rules: Vec<IngressRule>| {
            Spec::of(
                key,
                &SecurityGroupInputs {
                    name: format!("{id}-{name}"),
                    description: format!("awsstack {id} {desc}"),
                    rules,
                },
            )
            .after(&net.vpc)
        };
        let sg_alb = g.add(sg("sg.alb", "alb", "load balancer", alb_rules));
        // A rule from another group names that group's component.
        let from =
            |source: String, p: i64, what: &str| vec![IngressRule::tcp_from_group(p, source, what)];
        let sg_ecs = g.add(
            sg(
                "sg.ecs",
                "ecs",
                "tasks",
                from(g.name(&sg_alb), port, "From the load balancer"),
            )
            .after_update(&sg_alb),
        );
        let sg_db = g.add(
            sg(
                "sg.db",
                "db",
                "database",
                from(g.name(&sg_ecs), 5432, "PostgreSQL from the tasks"),
            )
            .after_update(&sg_ecs),
        );
        let sg_redis = g.add(
            sg(
                "sg.redis",
                "redis",
                "cache",
                from(g.name(&sg_ecs), 6379, "Redis from the tasks"),
            )
            .after_update(&sg_ecs),
        );
        Groups {
            sg_alb,
            sg_ecs,
            sg_db,
            sg_redis,
        }
    }

    fn registry_logs_and_secrets(&mut self) -> Shared {
        let (c, id, prod) = (self.c, self.id.as_str(), self.prod);
        let g = &mut self.g;
        // Registry, logs, secrets: independent of the network.
        let ecr = g.add(Spec::of(
            "ecr",
            &RepositoryInputs {
                name: format!("{id}-app"),
                scan_on_push: true,
            },
        ));
        let log_group = format!("/ecs/{id}-app");
        let logs = g.add(Spec::of(
            "logs",
            &LogGroupInputs {
                name: log_group.clone(),
                retention_days: Some(c.service.log_retention_days.value() as i32),
            },
        ));
        let recovery = if prod { 7 } else { 0 };
        let credentials = SecretInputs {
            name: format!("{id}-db-credentials"),
            description: format!("{id} PostgreSQL credentials"),
            recovery_days: recovery,
            generate: Some(BTreeMap::from([
                ("username".into(), c.db_username()),
                ("engine".into(), "postgres".into()),
                ("dbname".into(), c.db_name()),
            ])),
            ..SecretInputs::default()
        };
        let secret_db = g.add(Spec::of("secret.db", &credentials));
        let values = |m: &Setting<BTreeMap<String, Setting<String>>>, name: &str| {
            m.known().and_then(|m| m.get(name)).and_then(|v| v.owned())
        };
        let wo_version = c.service.app_secret_values_wo_version.known().copied();
        let mut secret_handles = vec![secret_db.clone()];
        let mut app_secrets = BTreeMap::new();
        for name in c.service.app_secrets.strings() {
            let key = format!("secret.app.{name}");
            let mut inputs = SecretInputs {
                name: format!("{id}-{name}"),
                description: format!("{id} application secret {name}"),
                recovery_days: recovery,
                ..SecretInputs::default()
            };
            // A write-only value leaves no trace in the records (not even a
            // hash): its version is what a plan compares.
            let value = if let Some(v) = values(&c.service.app_secret_values_wo, &name) {
                inputs.value_version = wo_version;
                Some(v)
            } else {
                let v = values(&c.service.app_secret_values, &name);
                inputs.value_sha256 = v.as_deref().map(sha256_hex);
                v
            };
            let mut spec = Spec::of(&key, &inputs);
            spec.secret = value;
            let h = g.add(spec);
            secret_handles.push(h.clone());
            app_secrets.insert(name, h);
        }
        Shared {
            ecr,
            logs,
            log_group,
            secret_db,
            secret_handles,
            app_secrets,
        }
    }

    /// The database and its connection fields in the credentials secret.
    fn database(&mut self, net: &NetworkHandles, groups: &Groups, shared: &Shared) -> Handle {
        let (c, id, prod) = (self.c, self.id.as_str(), self.prod);
        let g = &mut self.g;
        let (private, sg_db, secret_db) =
            (net.subnets("private"), &groups.sg_db, &shared.secret_db);
        // Database.
        let db_subnets = g.add(
            Spec::of(
                "db.subnets",
                &DbSubnetGroupInputs {
                    name: format!("{id}-db"),
                },
            )
            .filling_each("subnets", private, Update),
        );
        let db = g.add(
            Spec::of(
                "db",
                &DbInstanceInputs {
                    identifier: format!("{id}-db"),
                    engine: "postgres".into(),
                    engine_version: c.database.engine_version.value(),
                    instance_class: c.database.instance_class.value(),
                    allocated_storage: c.database.allocated_storage.value(),
                    max_allocated_storage: c.database.max_allocated_storage.value(),
                    db_name: c.db_name(),
                    username: c.db_username(),
                    subnet_group: format!("{id}-db"),
                    backup_retention_days: if prod { 7 } else { 0 },
                    multi_az: prod,
                    deletion_protection: c.deletion_protection(),
                    publicly_accessible: false,
                    final_snapshot: prod,
                },
            )
            .after(&db_subnets)
            .naming("subnet_group", &db_subnets)
            .after_update(&sg_db)
            .after(&secret_db),
        );
        let db_connection = g.add(
            Spec::of(
                "db.connection",
                &DbConnectionInputs {
                    secret_name: format!("{id}-db-credentials"),
                    connection: ConnectionFields::Complete,
                },
            )
            .after_update(&secret_db)
            .naming("secret_name", &secret_db)
            .after_update(&db),
        );
        db_connection
    }

    fn cache(&mut self, net: &NetworkHandles, groups: &Groups) -> Handle {
        let (c, id, prod) = (self.c, self.id.as_str(), self.prod);
        let g = &mut self.g;
        let (private, sg_redis) = (net.subnets("private"), &groups.sg_redis);
        // Cache.
        let cache_subnets = g.add(
            Spec::of(
                "cache.subnets",
                &CacheSubnetGroupInputs {
                    name: format!("{id}-redis"),
                },
            )
            .filling_each("subnets", private, Update),
        );
        let cache = g.add(
            Spec::of(
                "cache",
                &RedisInputs {
                    id: short_name(&format!("{id}-redis"), 40),
                    engine_version: c.redis_engine_version.value(),
                    node_type: c.redis_node_type.value(),
                    nodes: if prod { 2 } else { 1 },
                    failover: prod,
                    at_rest_encryption: true,
                    subnet_group: format!("{id}-redis"),
                    snapshot_retention_days: if prod { 7 } else { 0 },
                    final_snapshot: prod,
                },
            )
            .after(&cache_subnets)
            .naming("subnet_group", &cache_subnets)
            .after_update(&sg_redis),
        );
        cache
    }

    fn load_balancer(&mut self, net: &NetworkHandles, groups: &Groups) -> LoadBalancer {
        let (c, id) = (self.c, self.id.as_str());
        let g = &mut self.g;
        let (public, sg_alb) = (net.subnets("public"), &groups.sg_alb);
        let port = c.service.container_port.value();
        let https = c.network.certificate_arn.as_str().is_some();
        // Load balancer.
        let alb_name = short_name(&format!("{id}-alb"), 32);
        // The ALB only routes once the internet gateway is attached (an
        // existing network's is the user's to have).
        let alb = Spec::of(
            "alb",
            &LoadBalancerInputs {
                name: alb_name.clone(),
            },
        )
        .after_update(&sg_alb)
        .filling_each("subnets", public, Update);
        let alb = g.add(match &net.igw {
            Some(igw) => alb.after(igw),
            None => alb,
        });
        let tg = g.add(
            Spec::of(
                "tg",
                &TargetGroupInputs {
                    name: short_name(&format!("{id}-app"), 32),
                    port: port as i32,
                    health_check_path: c.service.health_check_path.value(),
                    health_check_matcher: c.service.health_check_matcher.value(),
                    deregistration_delay: Some(30),
                },
            )
            .after(&net.vpc),
        );
        let listener_http = g.add(
            Spec::of(
                "listener.http",
                &ListenerInputs {
                    load_balancer: alb_name.clone(),
                    port: 80,
                    action: if https {
                        ListenerAction::RedirectHttps
                    } else {
                        ListenerAction::Forward
                    },
                    certificate_arn: None,
                    ssl_policy: None,
                },
            )
            .after(&alb)
            .naming("load_balancer", &alb)
            .after_update(&tg),
        );
        // The listener that forwards to the target group (HTTPS when there
        // is a certificate): ECS refuses a target group no listener of a
        // load balancer uses yet, so the service comes after it.
        let listener_https = c.network.certificate_arn.as_str().map(|cert| {
            g.add(
                Spec::of(
                    "listener.https",
                    &ListenerInputs {
                        load_balancer: alb_name.clone(),
                        port: 443,
                        action: ListenerAction::Forward,
                        certificate_arn: Some(cert.to_string()),
                        ssl_policy: Some("ELBSecurityPolicy-TLS13-1-2-2021-06".into()),
                    },
                )
                .after(&alb)
                .naming("load_balancer", &alb)
                .after_update(&tg),
            )
        });
        LoadBalancer {
            tg,
            listener_http,
            listener_https,
        }
    }

    /// IAM roles, the cluster, the task definition and the service.
    fn service(
        &mut self,
        net: &NetworkHandles,
        groups: &Groups,
        shared: &Shared,
        db_connection: &Handle,
        cache: &Handle,
        lb: &LoadBalancer,
    ) {
        let (c, id, prod) = (self.c, self.id.as_str(), self.prod);
        let g = &mut self.g;
        let port = c.service.container_port.value();
        let private = net.subnets("private");
        let Shared {
            ecr,
            logs,
            log_group,
            secret_db,
            secret_handles,
            app_secrets,
        } = shared;
        let LoadBalancer {
            tg,
            listener_http,
            listener_https,
        } = lb;
        let sg_ecs = &groups.sg_ecs;
        // IAM: the execution role pulls the image, writes logs and reads the
        // stack's secrets; the task role is the application's.
        let secret_arns: Vec<String> = secret_handles
            .iter()
            .map(|h| g.output(h, "arn").to_string())
            .collect();
        let exec = RoleInputs::for_service(format!("{id}-ecs-execution"), "ecs-tasks.amazonaws.com", &["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"])
            .with_inline(
                &json!({"Version": "2012-10-17", "Statement": [{"Sid": "StackSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arns}]}),
            );
        let exec = g.add(Spec::of("role.execution", &exec).after_each(secret_handles, Update));
        let mut task_policies = c.service.task_role_policy_arns.strings();
        task_policies.sort();
        let task_role = RoleInputs {
            managed_policies: task_policies,
            ..RoleInputs::for_service(format!("{id}-ecs-task"), "ecs-tasks.amazonaws.com", &[])
        };
        let task_role = g.add(Spec::of("role.task", &task_role));

        // ECS.
        let cluster = g.add(Spec::of(
            "cluster",
            &ClusterInputs {
                name: format!("{id}-cluster"),
                container_insights: prod,
            },
        ));
        let mut environment = BTreeMap::new();
        environment.insert("STATE_CACHE".to_string(), Template::from("redis"));
        environment.insert("TWILIO_IDEMPOTENCY_ENABLED".into(), Template::from("true"));
        for (k, val) in c.service.environment.entries() {
            environment.insert(k.clone(), Template::from(val.text()));
        }
        environment.insert(
            "REDIS_URL".into(),
            Template(format!(
                "redis://{}:{}/0",
                g.output(&cache, "address"),
                g.output(&cache, "port")
            )),
        );
        let mut secrets = BTreeMap::new();
        secrets.insert(
            "DATABASE_URL".to_string(),
            Template(format!("{}:url::", g.output(&secret_db, "arn"))),
        );
        for (name, h) in app_secrets {
            secrets.insert(env_var_name(name), g.output(h, "arn").into());
        }
        let image = c
            .service
            .container_image
            .owned()
            .unwrap_or_else(|| format!("{}:latest", g.output(&ecr, "url")));
        let task_definition = TaskDefinitionInputs {
            family: format!("{id}-app"),
            cpu: c.service.cpu.value(),
            memory: c.service.memory.value(),
            image: Template(image),
            port,
            environment,
            secrets,
            log_group: log_group.clone(),
            architecture: c
                .service
                .cpu_architecture
                .known()
                .map_or("X86_64", |a| a.as_str())
                .to_string(),
        };
        let mut task = Spec::of("task", &task_definition)
            .filling("execution_role", &exec, Replace)
            .filling("task_role", &task_role, Replace)
            .after(&logs)
            .naming("log_group", &logs)
            .after(&cache)
            .after_update(&db_connection);
        if c.service.container_image.is_unset() {
            task = task.after(&ecr);
        }
        let task = g.add(task.after_each(secret_handles, Replace));
        let service = ServiceInputs {
            name: format!("{id}-app"),
            cluster: format!("{id}-cluster"),
            desired_count: c.service.desired_count.value() as i32,
            circuit_breaker: c.service.circuit_breaker.value(),
            assign_public_ip: false,
            grace_period: 60,
            port: port as i32,
        };
        let mut service = Spec::of("service", &service)
            .after(&cluster)
            .naming("cluster", &cluster)
            .after_update(&task)
            .after(&tg)
            .after_update(&listener_http)
            .after_update(&sg_ecs)
            .after_each(private, Update);
        if let Some(https) = &listener_https {
            service = service.after_only(https);
        }
        g.add(service);
    }
}
