//! Validators for the values AWS would reject, so that bad input is caught
//! at validate/plan time with a message, before any AWS call.

use ipnet::Ipv4Net;
use std::str::FromStr;

pub fn cidr(s: &str) -> Result<Ipv4Net, String> {
    let net = Ipv4Net::from_str(s)
        .map_err(|_| format!("{s:?} is not a valid IPv4 CIDR block (expected a.b.c.d/n)"))?;
    if net.network() != net.addr() {
        return Err(format!(
            "{s:?} has host bits set; did you mean \"{}\"?",
            net.trunc()
        ));
    }
    Ok(net)
}

pub fn cidr_within(inner: &str, outer: &str) -> Result<(), String> {
    let i = cidr(inner)?;
    let o = cidr(outer)?;
    if !o.contains(&i) {
        return Err(format!("{inner} does not fit inside the VPC block {outer}"));
    }
    Ok(())
}

/// VPC blocks must be between /16 and /28.
pub fn vpc_cidr(s: &str) -> Result<Ipv4Net, String> {
    let n = cidr(s)?;
    if n.prefix_len() < 16 || n.prefix_len() > 28 {
        return Err(format!(
            "a VPC CIDR block must be between /16 and /28, got /{}",
            n.prefix_len()
        ));
    }
    Ok(n)
}

/// EC2 instance type: family, generation, optional attributes, then a size,
/// e.g. `t4g.large`, `m7i-flex.xlarge`, `c6gd.2xlarge`.
pub fn instance_type(s: &str) -> Result<(), String> {
    let ok = match s.split_once('.') {
        Some((fam, size)) => {
            let fam_ok = !fam.is_empty()
                && fam.chars().next().unwrap().is_ascii_lowercase()
                && fam.chars().any(|c| c.is_ascii_digit())
                && fam
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            let size_ok = !size.is_empty()
                && size
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            fam_ok && size_ok
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not an EC2 instance type (expected family.size, e.g. \"t4g.large\")"
        ))
    }
}

pub fn port(n: f64) -> Result<u16, String> {
    if n.fract() != 0.0 || !(1.0..=65535.0).contains(&n) {
        return Err(format!("{n} is not a TCP/UDP port (1-65535)"));
    }
    Ok(n as u16)
}

pub fn email(s: &str) -> Result<(), String> {
    let bad = || Err(format!("{s:?} is not an e-mail address"));
    let Some((local, domain)) = s.split_once('@') else {
        return bad();
    };
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || s.chars().any(|c| c.is_whitespace())
    {
        return bad();
    }
    Ok(())
}

/// A project name: it becomes part of bucket, role and parameter names, so
/// lowercase letters, digits and hyphens, starting with a letter, 1-24 chars.
pub fn project_name(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("the project name must not be empty".into());
    }
    if s.len() > 24 {
        return Err(format!("{s:?} is longer than 24 characters"));
    }
    if !s.chars().next().unwrap().is_ascii_lowercase()
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || s.ends_with('-')
    {
        return Err(format!("{s:?} must be lowercase letters, digits and hyphens, start with a letter and not end with a hyphen (it is used in S3 bucket and IAM names)"));
    }
    Ok(())
}

/// S3 bucket naming rules.
pub fn bucket_name(s: &str) -> Result<(), String> {
    let n = s.len();
    if !(3..=63).contains(&n) {
        return Err(format!("bucket name {s:?} must be 3-63 characters long"));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err(format!(
            "bucket name {s:?} may contain only lowercase letters, digits, '.' and '-'"
        ));
    }
    let first = s.chars().next().unwrap();
    let last = s.chars().last().unwrap();
    if !first.is_ascii_alphanumeric() || !last.is_ascii_alphanumeric() {
        return Err(format!(
            "bucket name {s:?} must begin and end with a letter or digit"
        ));
    }
    if s.contains("..")
        || s.parse::<std::net::Ipv4Addr>().is_ok()
        || s.starts_with("xn--")
        || s.ends_with("-s3alias")
    {
        return Err(format!("bucket name {s:?} breaks the S3 naming rules"));
    }
    Ok(())
}

/// An EventBridge Scheduler expression: `cron(min hour dom month dow year)`,
/// `rate(n unit)` or `at(yyyy-mm-ddThh:mm:ss)`.
pub fn schedule_expression(s: &str) -> Result<(), String> {
    if let Some(body) = s.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
        let f: Vec<&str> = body.split_whitespace().collect();
        if f.len() != 6 {
            return Err(format!("{s:?}: a cron expression has six fields (minutes hours day-of-month month day-of-week year), found {}", f.len()));
        }
        let checks: [(&str, u32, u32, &[&str]); 6] = [
            ("minutes", 0, 59, &[]),
            ("hours", 0, 23, &[]),
            ("day-of-month", 1, 31, &["?", "L", "W"]),
            (
                "month",
                1,
                12,
                &[
                    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
                    "DEC",
                ],
            ),
            (
                "day-of-week",
                1,
                7,
                &[
                    "?", "L", "#", "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT",
                ],
            ),
            ("year", 1970, 2199, &[]),
        ];
        for (field, (name, lo, hi, words)) in f.iter().zip(checks.iter()) {
            cron_field(field, *lo, *hi, words)
                .map_err(|e| format!("{s:?}: {name} field {field:?}: {e}"))?;
        }
        if (f[2] == "?") == (f[4] == "?") {
            return Err(format!(
                "{s:?}: exactly one of day-of-month and day-of-week must be '?'"
            ));
        }
        return Ok(());
    }
    if let Some(body) = s.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let parts: Vec<&str> = body.split_whitespace().collect();
        if parts.len() == 2
            && parts[0].parse::<u32>().map(|n| n > 0).unwrap_or(false)
            && ["minute", "minutes", "hour", "hours", "day", "days"].contains(&parts[1])
        {
            return Ok(());
        }
        return Err(format!(
            "{s:?}: a rate expression is rate(<positive number> <minutes|hours|days>)"
        ));
    }
    if let Some(body) = s.strip_prefix("at(").and_then(|r| r.strip_suffix(')')) {
        if chrono::NaiveDateTime::parse_from_str(body, "%Y-%m-%dT%H:%M:%S").is_ok() {
            return Ok(());
        }
        return Err(format!(
            "{s:?}: an at expression is at(yyyy-mm-ddThh:mm:ss)"
        ));
    }
    Err(format!(
        "{s:?} is not a schedule expression: use cron(...), rate(...) or at(...)"
    ))
}

fn cron_field(f: &str, lo: u32, hi: u32, words: &[&str]) -> Result<(), String> {
    if f == "*" || words.contains(&f) {
        return Ok(());
    }
    for part in f.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (part, None),
        };
        if let Some(s) = step {
            s.parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("bad step {s:?}"))?;
        }
        let one = |v: &str| -> Result<(), String> {
            let v = v.trim_end_matches('L').trim_end_matches('W');
            let v = v.split('#').next().unwrap_or(v);
            if words.iter().any(|w| w.eq_ignore_ascii_case(v)) {
                return Ok(());
            }
            match v.parse::<u32>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(()),
                _ => Err(format!("{v:?} is not in {lo}-{hi}")),
            }
        };
        if range == "*" {
            continue;
        }
        match range.split_once('-') {
            Some((a, b)) => {
                one(a)?;
                one(b)?
            }
            None => one(range)?,
        }
    }
    Ok(())
}

pub fn timezone(s: &str) -> Result<(), String> {
    s.parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| format!("{s:?} is not an IANA time zone (e.g. \"Europe/Paris\", \"UTC\")"))
}

/// SSM parameter name segment (after `/<project>/`).
pub fn ssm_parameter_name(s: &str) -> Result<(), String> {
    if s.is_empty()
        || s.len() > 900
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        || s.starts_with('/')
    {
        return Err(format!("{s:?} is not a valid SSM parameter name (letters, digits, '_', '.', '-', '/'; no leading '/')"));
    }
    if s.to_ascii_lowercase().starts_with("aws") || s.to_ascii_lowercase().starts_with("ssm") {
        return Err(format!(
            "{s:?}: parameter names cannot begin with 'aws' or 'ssm'"
        ));
    }
    Ok(())
}

/// The longest timeout accepted: a week is already far beyond any waiter.
const MAX_TIMEOUT_SECS: f64 = 7.0 * 24.0 * 3600.0;

/// A Terraform duration such as "30m", "1h30m", "90s".
pub fn duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("{s:?} is not a duration (e.g. \"30m\", \"1h\", \"90s\")");
    let mut total = 0f64;
    let mut num = String::new();
    let mut any = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            0.001
        } else {
            match c {
                'h' => 3600.0,
                'm' => 60.0,
                's' => 1.0,
                _ => return Err(bad()),
            }
        };
        let n: f64 = num.parse().map_err(|_| bad())?;
        total += n * unit;
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(bad());
    }
    if total <= 0.0 {
        return Err(format!("{s:?}: a timeout must be longer than zero"));
    }
    if !total.is_finite() || total > MAX_TIMEOUT_SECS {
        return Err(format!("{s:?}: a timeout may be at most 168h (7 days)"));
    }
    Ok(std::time::Duration::from_secs_f64(total))
}

/// Characters AWS accepts in tag keys and values.
fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// A user tag key: 1-128 characters AWS accepts, not the reserved `aws:`
/// prefix.
pub fn tag_key(k: &str) -> Result<(), String> {
    if k.is_empty() || k.chars().count() > 128 {
        return Err(format!("{k:?}: a tag key is 1-128 characters"));
    }
    if k.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!("{k:?}: the aws: prefix is reserved for AWS"));
    }
    if !tag_chars_ok(k) {
        return Err(format!(
            "{k:?}: use letters, digits, spaces and _ . : / = + - @"
        ));
    }
    Ok(())
}

/// A tag value: up to 256 characters AWS accepts.
pub fn tag_value(v: &str) -> Result<(), String> {
    if v.chars().count() > 256 {
        return Err("a tag value is at most 256 characters".into());
    }
    if !tag_chars_ok(v) {
        return Err(format!(
            "{v:?}: use letters, digits, spaces and _ . : / = + - @"
        ));
    }
    Ok(())
}

/// An availability zone name (e.g. `eu-west-3a`); returns its region.
/// An EC2 id of the given prefix (`vpc-0abc...`, `subnet-...`): the prefix,
/// a dash and 8 or 17 lower-case hexadecimal digits.
pub fn aws_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|h| {
            matches!(h.len(), 8 | 17)
                && h.chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
}

pub fn availability_zone(z: &str) -> Result<String, String> {
    let bad = || format!("{z:?} is not an availability zone name (e.g. eu-west-3a)");
    if !z.is_ascii() {
        return Err(bad());
    }
    let (region, letter) = z.split_at(z.len().saturating_sub(1));
    let parts: Vec<&str> = region.split('-').collect();
    let ok = letter.chars().all(|c| c.is_ascii_lowercase())
        && !letter.is_empty()
        && parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if ok {
        Ok(region.to_string())
    } else {
        Err(bad())
    }
}

/// A security group rule description: up to 255 characters of the set
/// EC2 accepts.
/// A time of day, `HH:MM` (24-hour).
pub fn time_of_day(s: &str) -> Result<(), String> {
    let ok = match s.split_once(':') {
        Some((h, m))
            if h.len() == 2
                && m.len() == 2
                && h.bytes().chain(m.bytes()).all(|c| c.is_ascii_digit()) =>
        {
            h.parse::<u8>().map(|h| h < 24).unwrap_or(false)
                && m.parse::<u8>().map(|m| m < 60).unwrap_or(false)
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a time of day: use HH:MM, 24-hour, in UTC (e.g. \"03:00\")"
        ))
    }
}

pub fn rule_description(s: &str) -> Result<(), String> {
    if s.len() > 255 {
        return Err("a rule description is at most 255 characters".into());
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c))
    {
        return Err(format!("{s:?}: use ASCII letters, digits, spaces and . _ - : / ( ) # , @ [ ] + = & ; {{ }} ! $ *"));
    }
    Ok(())
}

// ------------------------------------------------------------------
// Checks declared on attributes (`schema::Rule::Text` / `Rule::Number`),
// each with the message its diagnostic carries.

/// An environment name: the project name's rule.
pub fn environment(s: &str) -> Result<(), String> {
    project_name(s).map_err(|e| e.replace("project name", "environment"))
}

/// The `owner` tag's value: a tag value that is not empty.
pub fn owner(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("the owner tag cannot be empty".into());
    }
    tag_value(s)
}

pub fn cidr_block(s: &str) -> Result<(), String> {
    cidr(s).map(|_| ())
}

pub fn acm_certificate_arn(x: &str) -> Result<(), String> {
    let ok = x.starts_with("arn:aws")
        && x.split(':').nth(2) == Some("acm")
        && x.contains(":certificate/");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{x:?} is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"
        ))
    }
}

/// A container image reference: repository[:tag] or repository@digest.
pub fn image_reference(x: &str) -> Result<(), String> {
    if x.is_empty()
        || x.len() > 255
        || x.chars().any(|ch| ch.is_whitespace())
        || x.chars().any(|ch| ch.is_ascii_uppercase()) && !x.contains(':')
    {
        return Err(format!(
            "{x:?} is not an image reference (repository[:tag] or repository@digest)"
        ));
    }
    Ok(())
}

pub fn tcp_port(n: f64) -> Result<(), String> {
    port(n).map(|_| ())
}

/// The path of an HTTP health check.
pub fn http_path(x: &str) -> Result<(), String> {
    if !x.starts_with('/') || x.len() > 1024 || x.chars().any(|ch| ch.is_whitespace()) {
        return Err(format!(
            "{x:?}: the path must start with '/' and contain no spaces (e.g. \"/health\")"
        ));
    }
    Ok(())
}

/// A target group's matcher: HTTP codes 200-499, listed or as ranges.
pub fn http_matcher(x: &str) -> Result<(), String> {
    let ok = x.split(',').all(|part| {
        let mut it = part.split('-');
        let code = |s: Option<&str>| {
            s.and_then(|s| s.trim().parse::<u16>().ok())
                .map(|n| (200..=499).contains(&n))
                .unwrap_or(false)
        };
        match (it.next(), it.next(), it.next()) {
            (a, None, None) => code(a),
            (a, b, None) => code(a) && code(b),
            _ => false,
        }
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{x:?}: use HTTP codes between 200 and 499, e.g. \"200\", \"200,204\" or \"200-399\""
        ))
    }
}

/// The retentions CloudWatch Logs accepts, in days.
pub const LOG_RETENTION: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub fn log_retention(n: f64) -> Result<(), String> {
    if !LOG_RETENTION.contains(&(n as i64)) || n.fract() != 0.0 {
        return Err(format!(
            "CloudWatch Logs accepts {LOG_RETENTION:?} days, got {n}"
        ));
    }
    Ok(())
}

pub fn iam_policy_arn(x: &str) -> Result<(), String> {
    if x.starts_with("arn:aws") && x.contains(":iam::") && x.contains(":policy/") {
        Ok(())
    } else {
        Err(format!("{x:?} is not an IAM policy ARN"))
    }
}

/// An engine version: major.minor digits (one to three parts).
pub fn engine_version(x: &str) -> Result<(), String> {
    let parts: Vec<&str> = x.split('.').collect();
    let ok = (1..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{x:?}: use major.minor digits, e.g. \"15.4\" or \"7.0\""
        ))
    }
}

pub fn rds_instance_class(x: &str) -> Result<(), String> {
    match x.strip_prefix("db.") {
        Some(t) if instance_type(t).is_ok() => Ok(()),
        _ => Err(format!(
            "{x:?} is not an RDS instance class (e.g. db.t4g.micro)"
        )),
    }
}

pub fn cache_node_type(x: &str) -> Result<(), String> {
    match x.strip_prefix("cache.") {
        Some(t) if instance_type(t).is_ok() => Ok(()),
        _ => Err(format!(
            "{x:?} is not an ElastiCache node type (e.g. cache.t4g.micro)"
        )),
    }
}

/// Letters, digits or '_', starting with a letter, at most `max` long.
pub fn is_identifier(x: &str, max: usize) -> bool {
    !x.is_empty()
        && x.len() <= max
        && x.chars()
            .next()
            .map(|ch| ch.is_ascii_alphabetic())
            .unwrap_or(false)
        && x.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// A PostgreSQL database name.
pub fn database_name(x: &str) -> Result<(), String> {
    if is_identifier(x, 63) {
        Ok(())
    } else {
        Err(format!(
            "{x:?}: 1-63 letters, digits or '_', starting with a letter"
        ))
    }
}

/// An RDS PostgreSQL master user name.
pub fn database_user(x: &str) -> Result<(), String> {
    if !is_identifier(x, 16)
        || ["rdsadmin", "admin", "postgres"].contains(&x.to_ascii_lowercase().as_str())
    {
        return Err(format!("{x:?}: 1-16 letters, digits or '_', starting with a letter, and not a reserved name (rdsadmin, admin, postgres)"));
    }
    Ok(())
}

pub fn ami_id(x: &str) -> Result<(), String> {
    let ok = x
        .strip_prefix("ami-")
        .map(|h| (8..=17).contains(&h.len()) && h.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err(format!("{x:?} is not an AMI id (ami-xxxxxxxx)"))
    }
}

pub fn vpc_id(x: &str) -> Result<(), String> {
    prefixed_id(x, "vpc")
}

pub fn subnet_id(x: &str) -> Result<(), String> {
    prefixed_id(x, "subnet")
}

fn prefixed_id(x: &str, prefix: &str) -> Result<(), String> {
    if aws_id(x, prefix) {
        Ok(())
    } else {
        Err(format!("{x:?} is not a {prefix} id ({prefix}-...)"))
    }
}

pub fn key_pair_name(x: &str) -> Result<(), String> {
    if x.trim().is_empty() || x.len() > 255 {
        return Err("the key pair name must be 1-255 characters".into());
    }
    Ok(())
}

pub fn budget_name(n: &str) -> Result<(), String> {
    if n.is_empty() || n.len() > 80 || n.contains(':') || n.contains('\\') {
        return Err("a budget name is 1-80 characters without ':' or '\\'".into());
    }
    Ok(())
}

pub fn budget_limit(n: f64) -> Result<(), String> {
    if n <= 0.0 {
        return Err("the monthly limit must be greater than 0".into());
    }
    Ok(())
}

/// An S3 key prefix (no leading '/').
pub fn key_prefix(x: &str) -> Result<(), String> {
    if x.starts_with('/') || x.len() > 512 {
        return Err("the backup prefix must not start with '/'".into());
    }
    Ok(())
}

/// A directory relative to a data volume's mount point.
pub fn relative_directory(x: &str) -> Result<(), String> {
    if x.is_empty()
        || x.contains("..")
        || x.starts_with('/')
        || !x
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "-_./".contains(ch))
    {
        return Err(format!(
            "{x:?}: use a relative path of letters, digits, '-', '_', '.', '/'"
        ));
    }
    Ok(())
}

pub fn time_zone(x: &str) -> Result<(), String> {
    timezone(x)
}

/// A DNS name: labels of letters, digits and hyphens, 253 characters at most.
pub fn hostname(x: &str) -> Result<(), String> {
    let h = x.trim_end_matches('.');
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.contains('.')
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("{x:?} is not a DNS name (e.g. \"api.luneo.app\")"))
    }
}

/// A DNS name, or empty (not known yet: set after the ingress exists).
pub fn hostname_or_empty(x: &str) -> Result<(), String> {
    if x.is_empty() {
        Ok(())
    } else {
        hostname(x)
    }
}

/// An EKS node group name inside a stack.
pub fn node_group_name(n: &str) -> Result<(), String> {
    if n.is_empty()
        || n.len() > 20
        || !n
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
        || n.starts_with('-')
    {
        return Err(format!("{n:?}: 1-20 lowercase letters, digits or hyphens"));
    }
    Ok(())
}

pub fn label_key(k: &str) -> Result<(), String> {
    if k.is_empty() || k.len() > 63 && !k.contains('/') || k.chars().any(|ch| ch.is_whitespace()) {
        return Err(format!("{k:?} is not a Kubernetes label key"));
    }
    Ok(())
}

/// An Aurora PostgreSQL version: major.minor.
pub fn aurora_engine_version(x: &str) -> Result<(), String> {
    let parts: Vec<&str> = x.split('.').collect();
    if parts.len() == 2
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_digit()))
    {
        Ok(())
    } else {
        Err(format!("{x:?}: use major.minor, e.g. \"15.4\""))
    }
}

pub fn aurora_master_user(x: &str) -> Result<(), String> {
    let ok = !x.is_empty()
        && x.len() <= 63
        && x.starts_with(|ch: char| ch.is_ascii_alphabetic())
        && x.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    if !ok || ["rdsadmin", "postgres", "admin"].contains(&x.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "{x:?}: letters, digits and '_', starting with a letter, not a reserved name"
        ));
    }
    Ok(())
}

/// A master password; the message never echoes it.
pub fn master_password(x: &str) -> Result<(), String> {
    if x.len() < 8
        || x.len() > 128
        || x.chars()
            .any(|ch| !ch.is_ascii_graphic() || "/\"@".contains(ch))
    {
        return Err("8-128 printable ASCII characters, without '/', '\"', '@' or spaces".into());
    }
    Ok(())
}

pub fn hosted_zone_id(z: &str) -> Result<(), String> {
    let id = z.trim_start_matches("/hostedzone/");
    if id.is_empty()
        || id.len() > 32
        || !id
            .chars()
            .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit())
    {
        return Err(format!("{z:?} is not a Route53 hosted zone id (upper-case letters and digits, e.g. Z0123456789ABCDEFGHIJ)"));
    }
    Ok(())
}

/// A Route 53 health check's path (255 characters at most).
pub fn health_check_path(x: &str) -> Result<(), String> {
    if x.len() > 255 {
        return Err(format!(
            "{x:?}: Route53 accepts paths of at most 255 characters"
        ));
    }
    http_path(x)
}

pub fn failure_threshold(n: f64) -> Result<(), String> {
    if n.fract() != 0.0 || !(1.0..=10.0).contains(&n) {
        return Err(format!(
            "Route53 accepts 1 to 10 consecutive failures, got {n}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_zones_descriptions_timeouts() {
        assert!(tag_key("CostCenter").is_ok());
        assert!(tag_key("aws:team").is_err());
        assert!(tag_key("AWS:team").is_err());
        assert!(tag_key("").is_err());
        assert!(tag_key(&"k".repeat(129)).is_err());
        assert!(tag_value("").is_ok());
        assert!(tag_value("team-a@example.com").is_ok());
        assert!(tag_value("bob#1").is_err());
        assert_eq!(availability_zone("eu-west-3a").unwrap(), "eu-west-3");
        assert_eq!(
            availability_zone("us-gov-west-1b").unwrap(),
            "us-gov-west-1"
        );
        // "privest-\u{3dd}": found by the dynamic_value fuzz target (a
        // multi-byte last character used to panic).
        for z in [
            "eu-west-3",
            "mars",
            "eu-west-a",
            "EU-WEST-3A",
            "a",
            "",
            "privest-\u{3dd}",
            "eu-west-3\u{e9}",
        ] {
            assert!(availability_zone(z).is_err(), "{z}");
        }
        assert!(rule_description("HTTP from the office (Paris)").is_ok());
        assert!(rule_description("caf\u{e9} <admin>").is_err());
        assert!(duration("0s").is_err());
        assert!(duration("90s").is_ok());
    }

    #[test]
    fn cidrs() {
        assert!(cidr("10.0.0.0/24").is_ok());
        assert!(cidr("10.0.0.1/24").unwrap_err().contains("host bits"));
        assert!(cidr("10.0.0.0/33").is_err());
        assert!(cidr("banana").is_err());
        assert!(cidr_within("10.0.0.0/25", "10.0.0.0/24").is_ok());
        assert!(cidr_within("10.0.1.0/25", "10.0.0.0/24").is_err());
        assert!(vpc_cidr("10.0.0.0/8").is_err());
    }

    #[test]
    fn cron_and_rate() {
        assert!(schedule_expression("cron(0 7 ? * MON-FRI *)").is_ok());
        assert!(schedule_expression("cron(0 21 ? * MON-FRI *)").is_ok());
        assert!(schedule_expression("cron(0/15 * * * ? *)").is_ok());
        assert!(schedule_expression("rate(5 minutes)").is_ok());
        assert!(schedule_expression("cron(0 25 ? * MON-FRI *)").is_err());
        assert!(schedule_expression("cron(0 7 * * MON-FRI *)").is_err());
        assert!(schedule_expression("cron(0 7 ? *)").is_err());
        assert!(schedule_expression("0 7 * * 1-5").is_err());
        assert!(schedule_expression("rate(0 minutes)").is_err());
    }

    #[test]
    fn names() {
        assert!(timezone("Europe/Paris").is_ok());
        assert!(timezone("Europe/Pariss").is_err());
        assert!(email("ops@example.com").is_ok());
        assert!(email("ops@example").is_err());
        assert!(email("not an email").is_err());
        assert!(instance_type("t4g.large").is_ok());
        assert!(instance_type("m7i-flex.xlarge").is_ok());
        assert!(instance_type("large").is_err());
        assert!(instance_type("T4G.large").is_err());
        assert!(bucket_name("kauri-dev-data").is_ok());
        assert!(bucket_name("Kauri_Data").is_err());
        assert!(bucket_name("ab").is_err());
        assert!(project_name("").is_err());
        assert!(project_name("kauri").is_ok());
        assert!(port(0.0).is_err());
        assert!(port(70000.0).is_err());
        assert!(port(3000.0).is_ok());
        assert_eq!(duration("1h30m").unwrap().as_secs(), 5400);
        assert!(duration("soon").is_err());
        // Found by the fuzzer: an overflowing number was a panic in Duration::from_secs_f64.
        assert!(duration("45666666666666666666666m")
            .unwrap_err()
            .contains("at most 168h"));
        assert!(duration(&format!("{}h", "9".repeat(400))).is_err());
        assert!(duration("168h").is_ok());
        assert!(duration("168h1s").is_err());
    }
}
