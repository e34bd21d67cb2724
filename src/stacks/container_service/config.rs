//! The configuration of `awsstack_container_service`, typed: read once
//! from the cty value (`Stack::config`); the schema (`schema.rs`) and this
//! struct are checked against each other by `config_agrees_with_schema`.

use crate::schema::config::{FromBlock, Reader, Setting};
use crate::stacks::network::NatGateways;
use std::collections::BTreeMap;

crate::schema::config::words! {
    /// What the stack keeps when it is destroyed, and how redundant it is.
    pub enum Profile {
        /// For apply/destroy cycles: no final snapshots, backups or
        /// deletion protection; single database and cache nodes.
        Ephemeral = "ephemeral",
        /// Final snapshots, backups, deletion protection, Multi-AZ.
        Production = "production",
    }
}

crate::schema::config::words! {
    pub enum CpuArchitecture {
        X86 = "X86_64",
        Arm = "ARM64",
    }
}

type Texts = Setting<Vec<Setting<String>>>;
type TextMap = Setting<BTreeMap<String, Setting<String>>>;

pub struct Config {
    pub project_name: Setting<String>,
    pub env: Setting<String>,
    pub owner: Setting<String>,
    pub profile: Setting<Profile>,
    pub network: Network,
    pub service: Service,
    pub database: Database,
    pub redis_engine_version: Setting<String>,
    pub redis_node_type: Setting<String>,
}

/// The stack's own network, or an existing one (`vpc_id`).
pub struct Network {
    pub vpc_cidr: Setting<String>,
    pub availability_zones: Texts,
    pub public_subnet_cidrs: Texts,
    pub private_subnet_cidrs: Texts,
    pub nat_gateways: Setting<NatGateways>,
    pub alb_ingress_cidrs: Texts,
    pub certificate_arn: Setting<String>,
    pub vpc_id: Setting<String>,
    pub public_subnet_ids: Texts,
    pub private_subnet_ids: Texts,
}

pub struct Service {
    pub container_image: Setting<String>,
    pub container_port: Setting<i64>,
    pub cpu: Setting<i64>,
    pub memory: Setting<i64>,
    pub cpu_architecture: Setting<CpuArchitecture>,
    pub desired_count: Setting<i64>,
    pub health_check_path: Setting<String>,
    pub health_check_matcher: Setting<String>,
    pub environment: TextMap,
    pub app_secrets: Texts,
    pub app_secret_values: TextMap,
    pub app_secret_values_wo: TextMap,
    pub app_secret_values_wo_version: Setting<f64>,
    pub log_retention_days: Setting<i64>,
    pub circuit_breaker: Setting<bool>,
    pub task_role_policy_arns: Texts,
}

pub struct Database {
    pub engine_version: Setting<String>,
    pub instance_class: Setting<String>,
    pub allocated_storage: Setting<i64>,
    pub max_allocated_storage: Setting<i64>,
    pub name: Setting<String>,
    pub username: Setting<String>,
    pub deletion_protection: Setting<bool>,
}

impl FromBlock for Config {
    fn read(r: &Reader) -> Self {
        Config {
            project_name: r.text("project_name"),
            env: r.text("env"),
            owner: r.text("owner"),
            profile: r.word("profile"),
            network: Network {
                vpc_cidr: r.text("vpc_cidr"),
                availability_zones: r.texts("availability_zones"),
                public_subnet_cidrs: r.texts("public_subnet_cidrs"),
                private_subnet_cidrs: r.texts("private_subnet_cidrs"),
                nat_gateways: r.word("nat_gateways"),
                alb_ingress_cidrs: r.texts("alb_ingress_cidrs"),
                certificate_arn: r.text("certificate_arn"),
                vpc_id: r.text("vpc_id"),
                public_subnet_ids: r.texts("public_subnet_ids"),
                private_subnet_ids: r.texts("private_subnet_ids"),
            },
            service: Service {
                container_image: r.text("container_image"),
                container_port: r.whole("container_port"),
                cpu: r.whole("cpu"),
                memory: r.whole("memory"),
                cpu_architecture: r.word("cpu_architecture"),
                desired_count: r.whole("desired_count"),
                health_check_path: r.text("health_check_path"),
                health_check_matcher: r.text("health_check_matcher"),
                environment: r.text_map("environment"),
                app_secrets: r.texts("app_secrets"),
                app_secret_values: r.text_map("app_secret_values"),
                app_secret_values_wo: r.text_map("app_secret_values_wo"),
                app_secret_values_wo_version: r.number("app_secret_values_wo_version"),
                log_retention_days: r.whole("log_retention_days"),
                circuit_breaker: r.flag("circuit_breaker"),
                task_role_policy_arns: r.texts("task_role_policy_arns"),
            },
            database: Database {
                engine_version: r.text("db_engine_version"),
                instance_class: r.text("db_instance_class"),
                allocated_storage: r.whole("db_allocated_storage"),
                max_allocated_storage: r.whole("db_max_allocated_storage"),
                name: r.text("db_name"),
                username: r.text("db_username"),
                deletion_protection: r.flag("deletion_protection"),
            },
            redis_engine_version: r.text("redis_engine_version"),
            redis_node_type: r.text("redis_node_type"),
        }
    }
}

impl Config {
    /// `<project_name>-<env>`: the `awsstack:stack-id` of every object.
    pub fn stack_id(&self) -> String {
        format!("{}-{}", self.project_name.text(), self.env.text())
    }
    pub fn production(&self) -> bool {
        self.profile.known() == Some(&Profile::Production)
    }
    pub fn deletion_protection(&self) -> bool {
        self.database
            .deletion_protection
            .known()
            .copied()
            .unwrap_or_else(|| self.production())
    }
    /// The database name: `db_name`, else `project_name` with `_` for `-`.
    pub fn db_name(&self) -> String {
        self.database
            .name
            .owned()
            .unwrap_or_else(|| self.project_name.text().replace('-', "_"))
    }
    /// The master user: `db_username`, else `<first word>_admin`.
    pub fn db_username(&self) -> String {
        self.database.username.owned().unwrap_or_else(|| {
            let first = self.project_name.text().split('-').next().unwrap_or("app");
            format!("{first}_admin")
        })
    }
    /// `(vpc_id, public_subnet_ids, private_subnet_ids)` when the stack is
    /// placed in an existing network (the configuration sets `vpc_id`).
    pub fn existing_network(&self) -> Option<(&str, Vec<String>, Vec<String>)> {
        let n = &self.network;
        n.vpc_id.as_str().map(|vpc| {
            (
                vpc,
                n.public_subnet_ids.strings(),
                n.private_subnet_ids.strings(),
            )
        })
    }
}
