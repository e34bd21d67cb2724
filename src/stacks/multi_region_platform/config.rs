//! The configuration of `awsstack_multi_region_platform`, typed: read once
//! from the cty value (`Stack::config`); the schema (`schema.rs`) and this
//! struct are checked against each other by `config_agrees_with_schema`.
//! What each region has of its own (`primary_*`, `secondary_*`) is one
//! `Side`.

use crate::schema::config::{FromBlock, Reader, Setting};
use crate::stacks::network::NatGateways;
use std::collections::BTreeMap;

pub use crate::stacks::container_service::config::Profile;

type Texts = Setting<Vec<Setting<String>>>;
type TextMap = Setting<BTreeMap<String, Setting<String>>>;

pub struct Config {
    pub project_name: Setting<String>,
    pub env: Setting<String>,
    pub owner: Setting<String>,
    pub profile: Setting<Profile>,
    pub primary: Side,
    pub secondary: Side,
    pub writer_region: Setting<String>,
    pub allow_data_loss: Setting<bool>,
    pub nat_gateways: Setting<NatGateways>,
    pub kubernetes: Kubernetes,
    pub database: Database,
    pub artifact_bucket_suffix: Setting<String>,
    pub force_destroy: Setting<bool>,
    pub routing: Routing,
    pub alarms: Alarms,
}

/// What one region has of its own: `<side>_<attribute>`.
pub struct Side {
    pub region: Setting<String>,
    pub vpc_cidr: Setting<String>,
    pub availability_zones: Texts,
    pub vpc_id: Setting<String>,
    pub public_subnet_ids: Texts,
    pub private_subnet_ids: Texts,
    pub ingress_hostname: Setting<String>,
    pub health_check_domain: Setting<String>,
    pub db_instance_class: Setting<String>,
    /// Checked whole and within 1-15 by `validate`, which names the side.
    pub db_instance_count: Setting<f64>,
}

pub struct Kubernetes {
    pub version: Setting<String>,
    pub endpoint_public_access: Setting<bool>,
    pub endpoint_private_access: Setting<bool>,
    pub cluster_log_types: Texts,
    pub node_groups: Setting<Vec<NodeGroup>>,
}

/// A `node_group` block.
pub struct NodeGroup {
    pub name: Setting<String>,
    pub capacity_type: Setting<String>,
    pub instance_types: Texts,
    pub ami_type: Setting<String>,
    /// Sizes are checked whole and within 0-450 by `validate`.
    pub min_size: Setting<f64>,
    pub max_size: Setting<f64>,
    pub desired_size: Setting<f64>,
    pub secondary_desired_size: Setting<f64>,
    pub labels: TextMap,
}

pub struct Database {
    pub engine_version: Setting<String>,
    pub master_username: Setting<String>,
    pub master_password: Setting<String>,
    pub master_password_wo: Setting<String>,
    pub master_password_wo_version: Setting<f64>,
    pub deletion_protection: Setting<bool>,
    pub skip_final_snapshot: Setting<bool>,
}

pub struct Routing {
    pub hosted_zone_id: Setting<String>,
    pub record_name: Setting<String>,
    pub health_check_path: Setting<String>,
    pub health_check_failure_threshold: Setting<i64>,
}

/// Alarm thresholds, checked positive and whole by `validate`.
pub struct Alarms {
    pub emails: Texts,
    pub replication_lag_ms: Setting<f64>,
    pub rpo_lag_ms: Setting<f64>,
    pub replication_backlog_bytes: Setting<f64>,
}

impl Side {
    fn read(r: &Reader, side: &str) -> Side {
        let a = |name: &str| format!("{side}_{name}");
        Side {
            region: r.text(&a("region")),
            vpc_cidr: r.text(&a("vpc_cidr")),
            availability_zones: r.texts(&a("availability_zones")),
            vpc_id: r.text(&a("vpc_id")),
            public_subnet_ids: r.texts(&a("public_subnet_ids")),
            private_subnet_ids: r.texts(&a("private_subnet_ids")),
            ingress_hostname: r.text(&a("ingress_hostname")),
            health_check_domain: r.text(&a("health_check_domain")),
            db_instance_class: r.text(&format!("db_{side}_instance_class")),
            db_instance_count: r.number(&format!("db_{side}_instance_count")),
        }
    }
}

impl FromBlock for NodeGroup {
    fn read(r: &Reader) -> Self {
        NodeGroup {
            name: r.text("name"),
            capacity_type: r.text("capacity_type"),
            instance_types: r.texts("instance_types"),
            ami_type: r.text("ami_type"),
            min_size: r.number("min_size"),
            max_size: r.number("max_size"),
            desired_size: r.number("desired_size"),
            secondary_desired_size: r.number("secondary_desired_size"),
            labels: r.text_map("labels"),
        }
    }
}

impl FromBlock for Config {
    fn read(r: &Reader) -> Self {
        Config {
            project_name: r.text("project_name"),
            env: r.text("env"),
            owner: r.text("owner"),
            profile: r.word("profile"),
            primary: Side::read(r, "primary"),
            secondary: Side::read(r, "secondary"),
            writer_region: r.text("writer_region"),
            allow_data_loss: r.flag("allow_data_loss"),
            nat_gateways: r.word("nat_gateways"),
            kubernetes: Kubernetes {
                version: r.text("kubernetes_version"),
                endpoint_public_access: r.flag("endpoint_public_access"),
                endpoint_private_access: r.flag("endpoint_private_access"),
                cluster_log_types: r.texts("cluster_log_types"),
                node_groups: r.blocks("node_group"),
            },
            database: Database {
                engine_version: r.text("db_engine_version"),
                master_username: r.text("db_master_username"),
                master_password: r.text("db_master_password"),
                master_password_wo: r.text("db_master_password_wo"),
                master_password_wo_version: r.number("db_master_password_wo_version"),
                deletion_protection: r.flag("deletion_protection"),
                skip_final_snapshot: r.flag("skip_final_snapshot"),
            },
            artifact_bucket_suffix: r.text("artifact_bucket_suffix"),
            force_destroy: r.flag("force_destroy"),
            routing: Routing {
                hosted_zone_id: r.text("hosted_zone_id"),
                record_name: r.text("record_name"),
                health_check_path: r.text("health_check_path"),
                health_check_failure_threshold: r.whole("health_check_failure_threshold"),
            },
            alarms: Alarms {
                emails: r.texts("alarm_emails"),
                replication_lag_ms: r.number("replication_lag_alarm_ms"),
                rpo_lag_ms: r.number("rpo_lag_alarm_ms"),
                replication_backlog_bytes: r.number("replication_backlog_alarm_bytes"),
            },
        }
    }
}

impl Config {
    /// `<project_name>-<env>`: the `awsstack:stack-id` of every object.
    pub fn stack_id(&self) -> String {
        format!("{}-{}", self.project_name.text(), self.env.text())
    }
    /// The platform's profile is production unless it says ephemeral.
    pub fn production(&self) -> bool {
        self.profile.known() != Some(&Profile::Ephemeral)
    }
    pub fn deletion_protection(&self) -> bool {
        self.database
            .deletion_protection
            .known()
            .copied()
            .unwrap_or_else(|| self.production())
    }
    /// `primary` or `secondary`.
    pub fn side(&self, side: &str) -> &Side {
        if side == "primary" {
            &self.primary
        } else {
            &self.secondary
        }
    }
}
