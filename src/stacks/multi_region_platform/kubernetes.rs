//! What EKS accepts: Kubernetes versions with their support calendar, and
//! node AMI types.

use chrono::NaiveDate;

/// Per version: (minor, end of standard support, end of extended support),
/// as AWS publishes them (EKS Kubernetes release calendar, checked
/// 2026-12). A version newer than the table is accepted without a warning.
const CALENDAR: &[(u32, &str, &str)] = &[
    (23, "2023-10-11", "2024-10-11"),
    (24, "2024-01-31", "2025-01-31"),
    (25, "2024-05-01", "2025-05-01"),
    (26, "2024-06-11", "2025-06-11"),
    (27, "2024-07-24", "2025-07-24"),
    (28, "2024-11-26", "2025-11-26"),
    (29, "2025-03-23", "2026-03-23"),
    (30, "2025-07-23", "2026-07-23"),
    (31, "2025-11-26", "2026-11-26"),
    (32, "2026-03-23", "2027-03-23"),
    (33, "2026-07-29", "2027-07-29"),
    (34, "2026-12-02", "2027-12-02"),
];

/// EKS control plane, USD per cluster-hour: standard and extended support.
const STANDARD_PER_HOUR: f64 = 0.10;
const EXTENDED_PER_HOUR: f64 = 0.60;

pub const AMI_TYPES: &[&str] = &[
    "AL2023_x86_64_STANDARD",
    "AL2023_ARM_64_STANDARD",
    "AL2023_x86_64_NVIDIA",
    "AL2023_x86_64_NEURON",
    "AL2_x86_64",
    "AL2_x86_64_GPU",
    "AL2_ARM_64",
    "BOTTLEROCKET_x86_64",
    "BOTTLEROCKET_ARM_64",
    "BOTTLEROCKET_x86_64_NVIDIA",
    "BOTTLEROCKET_ARM_64_NVIDIA",
    "CUSTOM",
];

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("calendar dates are valid")
}

/// Ok(None): a supported version; Ok(Some(warning)): one past its end of
/// standard support on `today`; Err: not a version EKS creates.
pub fn check(version: &str, today: NaiveDate) -> Result<Option<String>, String> {
    let minor = match version.split_once('.') {
        Some(("1", m))
            if !m.is_empty() && m.chars().all(|ch| ch.is_ascii_digit()) && m.len() <= 3 =>
        {
            m.parse::<u32>().unwrap_or(0)
        }
        _ => {
            return Err(format!(
                "{version:?}: use a Kubernetes minor version such as \"1.31\""
            ))
        }
    };
    let Some((_, standard, extended)) = CALENDAR.iter().find(|(m, _, _)| *m == minor) else {
        return if minor < CALENDAR[0].0 {
            Err(format!(
                "EKS no longer creates Kubernetes {version} clusters (the oldest is 1.{})",
                CALENDAR[0].0
            ))
        } else {
            Ok(None)
        };
    };
    let (standard, extended) = (date(standard), date(extended));
    let extra_month = (EXTENDED_PER_HOUR - STANDARD_PER_HOUR) * 730.0;
    if today > extended {
        Ok(Some(format!(
            "Kubernetes {version} left extended support on {extended}: EKS upgrades such clusters on its own schedule. Until then each cluster is billed at the extended-support rate (${EXTENDED_PER_HOUR:.2}/h instead of ${STANDARD_PER_HOUR:.2}/h, about ${extra_month:.0} more a month per cluster, two clusters here). Upgrade one minor version at a time."
        )))
    } else if today > standard {
        Ok(Some(format!(
            "Kubernetes {version} left standard support on {standard}; extended support ends on {extended}. Each cluster is billed ${EXTENDED_PER_HOUR:.2}/h instead of ${STANDARD_PER_HOUR:.2}/h: about ${extra_month:.0} more a month per cluster, two clusters here."
        )))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked_against_the_calendar() {
        let day = date("2026-12-03");
        assert!(check("1.29", day)
            .unwrap()
            .unwrap()
            .contains("left extended support on 2026-03-23"));
        assert!(check("1.32", day)
            .unwrap()
            .unwrap()
            .contains("left standard support on 2026-03-23"));
        assert!(check("1.32", day)
            .unwrap()
            .unwrap()
            .contains("$365 more a month"));
        assert_eq!(check("1.34", date("2026-12-01")).unwrap(), None);
        assert_eq!(check("1.40", day).unwrap(), None, "newer than the table");
        assert!(check("1.20", day)
            .unwrap_err()
            .contains("no longer creates"));
        for bad in ["1", "2.29", "1.x", "v1.29", "1.29.1", ""] {
            assert!(check(bad, day).is_err(), "{bad}");
        }
    }
}
