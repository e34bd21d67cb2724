//! Declared waiters and per-kind timeouts.
//!
//! A kind declares, beside itself, each wait its operations make: the
//! states its object passes through on the way (`pending`), the states that
//! end the wait (`target`), and the longest pause between two looks. Any
//! other state is a failure, named in the error: a NAT gateway that became
//! `failed`, a database that became `incompatible-network`. One loop
//! (`Env::wait`) runs every waiter, bounded by the operation's deadline and
//! ended at once by StopProvider. (terraform-provider-aws's
//! `StateChangeConf`; the SDK's own generated waiters, where a service has
//! them, go through `components::sdk_wait` under the same bounds.)
//!
//! A kind also declares how long one create, update or delete of its object
//! may take (`Kind::timeouts`): an EKS cluster's 30 minutes and a security
//! group's 10 are not one number. The stack's `timeouts` bound the whole
//! apply; an operation ends at whichever comes first.

use std::time::Duration;

/// The state of an object that no longer exists (or does not yet show in
/// its service's reads): a target of deletes, pending for some creates.
pub const GONE: &str = "gone";

/// One declared wait.
#[derive(Clone, Copy, Debug)]
pub struct Waiter {
    /// What the wait is for, after the object's name: "to be available".
    pub goal: &'static str,
    /// States in which the wait goes on.
    pub pending: &'static [&'static str],
    /// States that end it.
    pub target: &'static [&'static str],
    /// The longest pause between two looks (the first is 200 ms; each next
    /// one half again as long, up to this).
    pub poll: Duration,
}

impl Waiter {
    pub const fn new(
        goal: &'static str,
        pending: &'static [&'static str],
        target: &'static [&'static str],
    ) -> Waiter {
        Waiter {
            goal,
            pending,
            target,
            poll: Duration::from_secs(10),
        }
    }
    pub const fn poll(mut self, poll: Duration) -> Waiter {
        self.poll = poll;
        self
    }
    /// What one look at `state` means: Some(true) done, Some(false) go on,
    /// None a failure.
    pub fn judge(&self, state: &str) -> Option<bool> {
        if self.target.contains(&state) {
            Some(true)
        } else if self.pending.contains(&state) {
            Some(false)
        } else {
            None
        }
    }
}

/// How long one operation on a kind's object may take by default.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

impl Timeouts {
    pub const fn minutes(create: u64, update: u64, delete: u64) -> Timeouts {
        Timeouts {
            create: Duration::from_secs(create * 60),
            update: Duration::from_secs(update * 60),
            delete: Duration::from_secs(delete * 60),
        }
    }
    /// Most kinds: a call and, at most, a short wait.
    pub const DEFAULT: Timeouts = Timeouts::minutes(10, 10, 10);
}

/// The stack timeout under which kinds get their declared defaults; a
/// longer stack timeout raises every kind's bound in proportion (the
/// user's way to give a slow account more time everywhere).
pub const STACK_DEFAULT: Duration = Duration::from_secs(30 * 60);

/// The factor a stack timeout of `stack` applies to every kind's defaults.
pub fn scale(stack: Duration) -> f64 {
    (stack.as_secs_f64() / STACK_DEFAULT.as_secs_f64()).max(1.0)
}

/// `d` as Terraform writes durations ("40m", "90s", "1h30m").
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s % 3600 / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (h, 0, 0) => format!("{h}h"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_outside_pending_and_target_fail() {
        const W: Waiter = Waiter::new("to be available", &["pending", GONE], &["available"]);
        assert_eq!(W.judge("available"), Some(true));
        assert_eq!(W.judge("pending"), Some(false));
        assert_eq!(W.judge(GONE), Some(false));
        assert_eq!(W.judge("failed"), None);
    }

    #[test]
    fn a_longer_stack_timeout_scales_every_kind() {
        assert_eq!(scale(Duration::from_secs(600)), 1.0);
        assert_eq!(scale(Duration::from_secs(3600)), 2.0);
        assert_eq!(human(Duration::from_secs(2400)), "40m");
        assert_eq!(human(Duration::from_secs(5400)), "1h30m");
        assert_eq!(human(Duration::from_secs(90)), "1m30s");
    }
}
