//! The cloud-init user data of the host: Docker and the compose plugin,
//! the data volume at /data, the SSM parameters in the compose `.env`, and
//! the compose file started. Contains no secret: they are read from SSM at
//! boot with the instance role.

use super::config::Config;

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r#"'"'"'"#))
}

/// The heredoc delimiter that ends the compose file in the user data.
pub const COMPOSE_EOF: &str = "AWSSTACK_COMPOSE_EOF";

pub fn render(c: &Config, region: &str) -> String {
    let project = c.project_name.as_str().unwrap_or("app");
    let app_dir = format!("/opt/{project}");
    let dirs: Vec<String> = c
        .data
        .data_directories
        .strings()
        .iter()
        .map(|d| format!("/data/{d}"))
        .collect();
    let mut out = String::new();
    out.push_str("#!/bin/bash\n");
    out.push_str("# Rendered by the awsstack provider (awsstack_docker_host).\n");
    out.push_str("set -euxo pipefail\nexport DEBIAN_FRONTEND=noninteractive\n\n");
    out.push_str("# Docker engine, the compose plugin and the AWS CLI\n");
    out.push_str("apt-get update -y\napt-get install -y ca-certificates curl unzip docker.io docker-compose-v2\n");
    out.push_str("systemctl enable --now docker\nusermod -aG docker ubuntu || true\n");
    out.push_str("command -v aws >/dev/null || snap install aws-cli --classic\n\n");
    out.push_str("# The data volume (second disk) at /data, formatted once\n");
    out.push_str(
        "DEV=\"\"\nfor i in $(seq 1 60); do\n  for d in /dev/nvme1n1 /dev/xvdf /dev/sdf; do\n    if [ -b \"$d\" ]; then DEV=\"$d\"; break 2; fi\n  done\n  sleep 5\ndone\n",
    );
    out.push_str("if [ -n \"$DEV\" ]; then\n  blkid \"$DEV\" || mkfs.ext4 -L awsstack-data \"$DEV\"\n  mkdir -p /data\n  grep -q 'LABEL=awsstack-data' /etc/fstab || echo 'LABEL=awsstack-data /data ext4 defaults,nofail 0 2' >> /etc/fstab\n  mount -a\nfi\n");
    if !dirs.is_empty() {
        out.push_str(&format!(
            "mkdir -p {}\n",
            dirs.iter()
                .map(|d| sh_quote(d))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    out.push('\n');
    out.push_str(&format!("# Secrets from SSM Parameter Store (/{project}/*) into the compose .env\nmkdir -p {app}\numask 077\n", app = sh_quote(&app_dir)));
    out.push_str(&format!(
        "aws ssm get-parameters-by-path --region {region} --path {path} --with-decryption --query 'Parameters[*].[Name,Value]' --output text \\\n  | while IFS=$'\\t' read -r name value; do printf '%s=%s\\n' \"${{name##*/}}\" \"$value\"; done > {env}\n",
        region = sh_quote(region),
        path = sh_quote(&format!("/{project}/")),
        env = sh_quote(&format!("{app_dir}/.env"))
    ));
    out.push_str("umask 022\n");
    if let Some(compose) = c.host.compose_file.as_str() {
        out.push_str("\n# The compose file, started now and at every boot\n");
        out.push_str(&format!(
            "cat > {} <<'{COMPOSE_EOF}'\n{}\n{COMPOSE_EOF}\n",
            sh_quote(&format!("{app_dir}/compose.yaml")),
            compose.trim_end()
        ));
        out.push_str(&format!(
            "cd {} && docker compose up -d\n",
            sh_quote(&app_dir)
        ));
    }
    out
}
