//! The configuration of `awsstack_docker_host`, typed: read once from the
//! cty value (`Stack::config`); the schema (`schema.rs`) and this struct
//! are checked against each other by `config_agrees_with_schema`.

use crate::schema::config::{FromBlock, Reader, Setting};
use crate::value::Type;
use std::collections::BTreeMap;

type Texts = Setting<Vec<Setting<String>>>;
type TextMap = Setting<BTreeMap<String, Setting<String>>>;

pub struct Config {
    pub project_name: Setting<String>,
    pub environment: Setting<String>,
    pub network: Network,
    pub host: Host,
    pub access: Access,
    pub data: Data,
    pub secrets: Secrets,
    pub watch: Watch,
    pub scheduler: Scheduler,
}

/// The stack's own network, or an existing one (`vpc_id`, `subnet_id`).
pub struct Network {
    pub vpc_cidr: Setting<String>,
    pub public_subnet_cidr: Setting<String>,
    pub availability_zone: Setting<String>,
    pub vpc_id: Setting<String>,
    pub subnet_id: Setting<String>,
}

pub struct Host {
    pub instance_type: Setting<String>,
    pub ami_id: Setting<String>,
    pub use_spot_instance: Setting<bool>,
    pub root_volume_size: Setting<i64>,
    pub compose_file: Setting<String>,
}

/// Who reaches the host, on which ports.
pub struct Access {
    pub ssh_key_name: Setting<String>,
    pub ssh_ingress_cidrs: Texts,
    pub http_ingress_cidrs: Texts,
    pub allow_public_database_ports: Setting<bool>,
    pub ports: Setting<Vec<Port>>,
}

/// An extra inbound port (`port` block).
pub struct Port {
    pub port: Setting<f64>,
    pub cidr_blocks: Texts,
    pub protocol: Setting<String>,
    pub description: Setting<String>,
}

/// The data volume, its snapshots and the bucket.
pub struct Data {
    pub data_volume_size: Setting<i64>,
    pub data_directories: Texts,
    pub skip_final_snapshot: Setting<bool>,
    pub backup: Backup,
    pub bucket_name: Setting<String>,
    pub force_destroy: Setting<bool>,
    pub glacier_transition_days: Setting<i64>,
    pub backup_prefix: Setting<String>,
}

/// Scheduled snapshots of the data volume (`backup` block).
pub struct Backup {
    pub enabled: Setting<bool>,
    pub time: Setting<String>,
    pub retain_days: Setting<i64>,
}

/// SSM parameters for the compose `.env`.
pub struct Secrets {
    pub ssm_parameters: TextMap,
    pub ssm_parameters_wo: TextMap,
    pub ssm_parameters_wo_version: Setting<f64>,
    /// Computed: the parameters the state lists (write-only ones are named
    /// in the configuration only).
    pub ssm_parameter_arns: TextMap,
}

/// Budgets, alarms and their notifications.
pub struct Watch {
    pub budget_notification_emails: Texts,
    pub enable_budgets: Setting<bool>,
    pub budgets: Setting<Vec<Budget>>,
    pub cpu_alarm_threshold: Setting<f64>,
    pub enable_alarms: Setting<bool>,
}

/// A monthly cost budget (`budget` block).
pub struct Budget {
    pub name: Setting<String>,
    pub monthly_limit_usd: Setting<f64>,
    pub filter_by_project: Setting<bool>,
}

pub struct Scheduler {
    pub enabled: Setting<bool>,
    pub start_expression: Setting<String>,
    pub stop_expression: Setting<String>,
    pub timezone: Setting<String>,
}

impl FromBlock for Port {
    fn read(r: &Reader) -> Self {
        Port {
            port: r.number("port"),
            cidr_blocks: r.texts("cidr_blocks"),
            protocol: r.text("protocol"),
            description: r.text("description"),
        }
    }
}

impl FromBlock for Backup {
    fn read(r: &Reader) -> Self {
        Backup {
            enabled: r.flag("enabled"),
            time: r.text("time"),
            retain_days: r.whole("retain_days"),
        }
    }
}

impl FromBlock for Budget {
    fn read(r: &Reader) -> Self {
        Budget {
            name: r.text("name"),
            monthly_limit_usd: r.number("monthly_limit_usd"),
            filter_by_project: r.flag("filter_by_project"),
        }
    }
}

impl FromBlock for Config {
    fn read(r: &Reader) -> Self {
        let parameter = Type::object([("value", Type::String)]);
        Config {
            project_name: r.text("project_name"),
            environment: r.text("environment"),
            network: Network {
                vpc_cidr: r.text("vpc_cidr"),
                public_subnet_cidr: r.text("public_subnet_cidr"),
                availability_zone: r.text("availability_zone"),
                vpc_id: r.text("vpc_id"),
                subnet_id: r.text("subnet_id"),
            },
            host: Host {
                instance_type: r.text("instance_type"),
                ami_id: r.text("ami_id"),
                use_spot_instance: r.flag("use_spot_instance"),
                root_volume_size: r.whole("root_volume_size"),
                compose_file: r.text("compose_file"),
            },
            access: Access {
                ssh_key_name: r.text("ssh_key_name"),
                ssh_ingress_cidrs: r.texts("ssh_ingress_cidrs"),
                http_ingress_cidrs: r.texts("http_ingress_cidrs"),
                allow_public_database_ports: r.flag("allow_public_database_ports"),
                ports: r.blocks("port"),
            },
            data: Data {
                data_volume_size: r.whole("data_volume_size"),
                data_directories: r.texts("data_directories"),
                skip_final_snapshot: r.flag("skip_final_snapshot"),
                backup: r.single("backup"),
                bucket_name: r.text("bucket_name"),
                force_destroy: r.flag("force_destroy"),
                glacier_transition_days: r.whole("glacier_transition_days"),
                backup_prefix: r.text("backup_prefix"),
            },
            secrets: Secrets {
                // Each parameter is an object `{ value }`: read as its value.
                ssm_parameters: r
                    .object_map("ssm_parameters", &parameter, |o| o.text("value"))
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                let v = match v {
                                    Setting::Known(s) => s.clone(),
                                    Setting::Unknown => Setting::Unknown,
                                    Setting::Unset => Setting::Unset,
                                };
                                (k.clone(), v)
                            })
                            .collect()
                    }),
                ssm_parameters_wo: r.text_map("ssm_parameters_wo"),
                ssm_parameters_wo_version: r.number("ssm_parameters_wo_version"),
                ssm_parameter_arns: r.text_map("ssm_parameter_arns"),
            },
            watch: Watch {
                budget_notification_emails: r.texts("budget_notification_emails"),
                enable_budgets: r.flag("enable_budgets"),
                budgets: r.blocks("budget"),
                cpu_alarm_threshold: r.number("cpu_alarm_threshold"),
                enable_alarms: r.flag("enable_alarms"),
            },
            scheduler: Scheduler {
                enabled: r.flag("scheduler_enabled"),
                start_expression: r.text("scheduler_start_expression"),
                stop_expression: r.text("scheduler_stop_expression"),
                timezone: r.text("scheduler_timezone"),
            },
        }
    }
}

impl Config {
    /// `<project_name>-<environment>`: the `awsstack:stack-id` of every object.
    pub fn stack_id(&self) -> String {
        format!("{}-{}", self.project_name.text(), self.environment.text())
    }
    /// `(vpc_id, subnet_id)` of an existing network.
    pub fn existing_network(&self) -> Option<(&str, &str)> {
        match (
            self.network.vpc_id.as_str(),
            self.network.subnet_id.as_str(),
        ) {
            (Some(v), Some(s)) => Some((v, s)),
            _ => None,
        }
    }
}
