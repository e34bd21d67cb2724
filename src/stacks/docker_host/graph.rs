//! The component graph of a Docker host, section by section: its network,
//! the host (security group, role, instance, address), its data (volume,
//! snapshots, bucket), the SSM parameters, monitoring (topic, budgets,
//! alarms) and the start/stop schedules.

use super::config::Config;
use super::{bucket_name_of, budgets, security_rules, subnet_cidr, user_data};
use crate::aws::AwsContext;
use crate::components::budgets::BudgetInputs;
use crate::components::cloudwatch::{AlarmInputs, InstanceAlarmInputs, INSTANCE_NAMESPACE};
use crate::components::dlm::SnapshotPolicyInputs;
use crate::components::ec2::{
    DataVolumeInputs, ElasticIpInputs, InstanceInputs, InternetGatewayInputs,
    PublicRouteTableInputs, SecurityGroupInputs, SubnetInputs, VpcInputs,
};
use crate::components::iam::{InstanceProfileInputs, RoleInputs};
use crate::components::s3::BucketInputs;
use crate::components::scheduler::{PowerAction, ScheduleInputs};
use crate::components::sha256_hex;
use crate::components::sns::TopicInputs;
use crate::components::ssm::ParameterInputs;
use crate::engine::{Desired, Handle, Spec};
use serde_json::json;

/// The components of `c` (its defaults filled).
pub(super) fn build(c: &Config, ctx: &AwsContext) -> Vec<Spec> {
    let mut g = Desired::new();
    let (vpc, subnet) = network(c, &mut g);
    let instance = host(c, ctx, &mut g, &vpc, &subnet);
    data(c, ctx, &mut g, &instance);
    parameters(c, &mut g);
    monitoring(c, &mut g, &instance);
    schedules(c, &mut g, &instance);
    let mut specs = g.into_specs();
    // What a hand-built object taken with `adopt` must match (its
    // replace-only fields), and where the configuration says it.
    crate::stacks::adopt::fields_from(
        &mut specs,
        &[
            ("vpc", "cidr", "vpc_cidr"),
            ("subnet.public", "cidr", "public_subnet_cidr"),
            ("subnet.public", "availability_zone", "availability_zone"),
            ("instance", "ami", "ami_id"),
            ("instance", "spot", "use_spot_instance"),
            ("instance", "key_name", "ssh_key_name"),
            ("instance", "root_volume_size", "root_volume_size"),
            ("instance", "instance_type", "instance_type"),
            ("volume.data", "availability_zone", "availability_zone"),
            ("bucket", "name", "bucket_name"),
            ("param.", "name", "ssm_parameters"),
            ("param.", "secure", "ssm_parameters"),
        ],
    );
    specs
}

/// The stack's own VPC, subnet, gateway and route table, or the user's
/// VPC and subnet (referenced, never owned): (vpc, subnet).
fn network(c: &Config, g: &mut Desired) -> (Handle, Handle) {
    match c.existing_network() {
        // An existing network: referenced, never owned.
        Some((vpc_id, subnet)) => {
            let vpc = g.add(
                Spec::of(
                    "vpc",
                    &crate::components::ec2::ExistingVpcInputs {
                        id: vpc_id.to_string(),
                    },
                )
                .named_by("vpc_id"),
            );
            let subnet = crate::components::ec2::ExistingSubnetInputs {
                id: subnet.to_string(),
                vpc: vpc_id.to_string(),
            };
            let subnet = g.add(
                Spec::of("subnet.public", &subnet)
                    .named_by("subnet_id")
                    .after(&vpc),
            );
            (vpc, subnet)
        }
        None => {
            let vpc = g.add(Spec::of(
                "vpc",
                &VpcInputs {
                    cidr: c.network.vpc_cidr.value(),
                    dns_hostnames: true,
                },
            ));
            let igw = g.add(Spec::of("igw", &InternetGatewayInputs { attached: true }).after(&vpc));
            let subnet = SubnetInputs {
                cidr: subnet_cidr(c),
                availability_zone: c.network.availability_zone.owned(),
                public: true,
            };
            let subnet = g.add(Spec::of("subnet.public", &subnet).after(&vpc));
            g.add(
                Spec::of(
                    "rtb.public",
                    &PublicRouteTableInputs {
                        default_route: true,
                    },
                )
                .after(&vpc)
                .after(&igw)
                .after(&subnet),
            );
            (vpc, subnet)
        }
    }
}

/// The host: its security group, role and instance profile, the instance
/// and its Elastic IP.
fn host(c: &Config, ctx: &AwsContext, g: &mut Desired, vpc: &Handle, subnet: &Handle) -> Handle {
    let id = c.stack_id();
    let project = c.project_name.text();
    let bucket = bucket_name_of(c, ctx);
    let sg = g.add(
        Spec::of(
            "sg.host",
            &SecurityGroupInputs {
                name: format!("{id}-host"),
                description: format!("awsstack {id} Docker host"),
                rules: security_rules(c),
            },
        )
        .after(vpc),
    );
    let host_policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "StackBucket", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": format!("arn:aws:s3:::{bucket}")},
            {"Sid": "StackBucketObjects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": format!("arn:aws:s3:::{bucket}/*")},
            {"Sid": "StackParameters", "Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"], "Resource": format!("arn:aws:ssm:{}:{}:parameter/{project}/*", ctx.region, ctx.account_id)},
            {"Sid": "DecryptParameters", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": format!("ssm.{}.amazonaws.com", ctx.region)}}}
        ]
    });
    let role = g.add(Spec::of(
        "role.host",
        &RoleInputs::for_service(
            format!("{id}-host"),
            "ec2.amazonaws.com",
            &[
                "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
                "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy",
            ],
        )
        .with_inline(&host_policy),
    ));
    let profile = g.add(
        Spec::of(
            "instance_profile.host",
            &InstanceProfileInputs {
                name: format!("{id}-host"),
                has_role: true,
            },
        )
        .after(&role),
    );
    let ud = user_data::render(c, &ctx.region);
    let instance = g.add(
        Spec::of(
            "instance",
            &InstanceInputs {
                ami: c.host.ami_id.owned(),
                instance_type: c.host.instance_type.value(),
                spot: c.host.use_spot_instance.value(),
                key_name: c.access.ssh_key_name.owned(),
                user_data_sha256: sha256_hex(&ud),
                user_data: ud,
                root_volume_size: c.host.root_volume_size.value() as i32,
            },
        )
        .after(subnet)
        .after(&sg)
        .after(&profile),
    );
    g.add(
        Spec::of(
            "eip",
            &ElasticIpInputs {
                associated: Some(true),
                purpose: None,
            },
        )
        .after_update(&instance),
    );
    instance
}

/// The data volume (with its daily snapshots unless `backup` is off) and
/// the stack's bucket.
fn data(c: &Config, ctx: &AwsContext, g: &mut Desired, instance: &Handle) {
    let id = c.stack_id();
    let bucket = bucket_name_of(c, ctx);
    let volume = DataVolumeInputs {
        size: c.data.data_volume_size.value() as i32,
        device: "/dev/sdf".into(),
        attached: true,
        final_snapshot: !c.data.skip_final_snapshot.value(),
    };
    let volume = Spec::of("volume.data", &volume).after_update(instance);
    let backup = &c.data.backup;
    if backup.enabled.value() {
        // Daily snapshots by Data Lifecycle Manager, which targets the
        // volume by a tag of its own.
        let volume = g.add(volume.tag(crate::components::dlm::TAG_BACKUP, id.clone()));
        let role = g.add(Spec::of(
            "role.backup",
            &RoleInputs::for_service(
                format!("{id}-backup"),
                "dlm.amazonaws.com",
                &["arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"],
            ),
        ));
        g.add(
            Spec::of(
                "backup",
                &SnapshotPolicyInputs {
                    time: backup.time.value(),
                    retain: backup.retain_days.value() as i32,
                    enabled: true,
                },
            )
            .after_update(&role)
            .after_update(&volume),
        );
    } else {
        g.add(volume);
    }
    let backups = BucketInputs {
        name: bucket,
        versioning: Some(true),
        glacier_after_days: Some(c.data.glacier_transition_days.value()),
        backup_prefix: Some(c.data.backup_prefix.value()),
        kms: false,
        force_destroy: c.data.force_destroy.known() == Some(&true),
    };
    g.add(
        Spec::of("bucket", &backups).named_by(if c.data.bucket_name.is_unset() {
            "project_name"
        } else {
            "bucket_name"
        }),
    );
}

/// The SSM parameters the host reads at boot (`/<project>/<name>`).
fn parameters(c: &Config, g: &mut Desired) {
    let project = c.project_name.text();
    for (k, val) in c.secrets.ssm_parameters.entries() {
        let value = val.value();
        let mut spec = Spec::of(
            format!("param.{k}"),
            &ParameterInputs::secure(format!("/{project}/{k}"), &value),
        )
        .named_by("ssm_parameters");
        spec.secret = Some(value);
        g.add(spec);
    }
    // Write-only values leave no trace in the records (not even a
    // hash): their version is what a plan compares.
    let version = c.secrets.ssm_parameters_wo_version.known().copied();
    for (k, val) in c.secrets.ssm_parameters_wo.entries() {
        let mut spec = Spec::of(
            format!("param.{k}"),
            &ParameterInputs::write_only(format!("/{project}/{k}"), version),
        )
        .named_by("ssm_parameters_wo");
        spec.secret = Some(val.value());
        g.add(spec);
    }
}

/// The alerts topic, the budgets and the instance's alarms.
fn monitoring(c: &Config, g: &mut Desired, instance: &Handle) {
    let id = c.stack_id();
    let project = c.project_name.text();
    let mut emails = c.watch.budget_notification_emails.strings();
    emails.sort();
    let topic = g.add(Spec::of(
        "topic",
        &TopicInputs {
            name: format!("{id}-alerts"),
            emails,
        },
    ));
    for (name, limit, by_project) in budgets(c) {
        let budget = BudgetInputs {
            name: format!("{id}-{name}"),
            limit_usd: limit,
            project_tag: by_project.then(|| project.to_string()),
            threshold_percent: 80.0,
        };
        g.add(Spec::of(format!("budget.{name}"), &budget).after_update(&topic));
    }
    if c.watch.enable_alarms.known() != Some(&false) {
        let alarm = |name: String,
                     metric: &str,
                     statistic: &str,
                     threshold: f64,
                     comparison: &str,
                     period: i32| {
            InstanceAlarmInputs(AlarmInputs {
                name,
                namespace: INSTANCE_NAMESPACE.into(),
                metric: metric.into(),
                statistic: statistic.into(),
                threshold,
                comparison: comparison.into(),
                period,
                evaluation_periods: 2,
                dimensions: None,
            })
        };
        let cpu = alarm(
            format!("{id}-cpu-high"),
            "CPUUtilization",
            "Average",
            c.watch.cpu_alarm_threshold.value(),
            "GreaterThanThreshold",
            300,
        );
        g.add(
            Spec::of("alarm.cpu", &cpu)
                .after_update(instance)
                .after_update(&topic),
        );
        let status = alarm(
            format!("{id}-status-check-failed"),
            "StatusCheckFailed",
            "Maximum",
            1.0,
            "GreaterThanOrEqualToThreshold",
            60,
        );
        g.add(
            Spec::of("alarm.status", &status)
                .after_update(instance)
                .after_update(&topic),
        );
    }
}

/// The schedules that start and stop the instance, with their role.
fn schedules(c: &Config, g: &mut Desired, instance: &Handle) {
    let id = c.stack_id();
    if c.scheduler.enabled.known() != Some(&false) {
        let role = g.add(Spec::of(
            "role.scheduler",
            &RoleInputs::for_service(format!("{id}-scheduler"), "scheduler.amazonaws.com", &[]).with_inline(&json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["ec2:StartInstances", "ec2:StopInstances"], "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/awsstack:stack-id": id}}}]
            })),
        ));
        for (action, expression) in [
            (PowerAction::Start, &c.scheduler.start_expression),
            (PowerAction::Stop, &c.scheduler.stop_expression),
        ] {
            let word = action.word();
            let schedule = ScheduleInputs {
                name: format!("{id}-{word}"),
                expression: expression.value(),
                timezone: c.scheduler.timezone.value(),
                action,
                enabled: true,
            };
            g.add(
                Spec::of(format!("schedule.{word}"), &schedule)
                    .after_update(instance)
                    .after_update(&role),
            );
        }
    }
}
