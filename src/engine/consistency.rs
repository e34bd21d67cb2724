//! AWS's eventual consistency, declared beside each call.
//!
//! AWS is eventually consistent: an internet gateway just created can be
//! "not found" by the attach that follows, a role just created is not yet
//! usable by the instance profile or the service that names it, a subnet
//! answers `DependencyViolation` while the network interfaces a load
//! balancer left in it drain. terraform-provider-aws has learned, one bug
//! report at a time, which errors mean "not yet" rather than "no", and
//! retries them for a bounded propagation time
//! (`tfresource.RetryWhenAWSErrCodeEquals(ctx, propagationTimeout, ...)`).
//!
//! Here each kind declares every AWS call it makes as a [`Call`]: the IAM
//! action, the errors ([`NotYet`]: a code, and a message fragment where AWS
//! reuses the code for final errors) that mean "not yet", and how long they
//! may last. A call with no such error is declared too (`Call::settled`), so
//! that the catalog covers every call and says so. One loop,
//! [`Env::call`](super::Env::call), retries what is declared: backing off,
//! bounded by the declared time and the operation's deadline, ended at once
//! by StopProvider, logged at debug for each retry; its final failure says
//! how long it was retried. The same declarations generate the IAM actions
//! each stack's docs list, and the fault proxy's realistic-AWS mode plays
//! them against the emulator.

use std::time::Duration;

/// One error by which AWS says "not yet".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NotYet {
    /// The error code.
    pub code: &'static str,
    /// A fragment of the message, when AWS gives the same code for errors
    /// that will not pass (matched without regard to case).
    pub contains: Option<&'static str>,
    /// The message as AWS words it (what the fault proxy's realistic mode
    /// answers; it holds `contains`).
    pub says: &'static str,
}

impl NotYet {
    /// Any error with `code`.
    pub const fn code(code: &'static str, says: &'static str) -> NotYet {
        NotYet {
            code,
            contains: None,
            says,
        }
    }
    /// An error with `code` whose message holds `fragment`.
    pub const fn message(code: &'static str, fragment: &'static str, says: &'static str) -> NotYet {
        NotYet {
            code,
            contains: Some(fragment),
            says,
        }
    }
    /// True when an error of `code` with `message` is this one.
    pub fn matches(&self, code: Option<&str>, message: Option<&str>) -> bool {
        code == Some(self.code)
            && match self.contains {
                None => true,
                Some(f) => message
                    .map(|m| m.to_lowercase().contains(&f.to_lowercase()))
                    .unwrap_or(false),
            }
    }
}

/// Whether a call changes anything (what the coverage check and the IAM
/// list group by).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Reads,
    Mutates,
}

/// One AWS call a kind makes, with what AWS may answer while it catches up.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// The IAM action: `ec2:AttachInternetGateway`.
    pub action: &'static str,
    pub effect: Effect,
    /// The errors that mean "not yet"; empty: AWS gives none here.
    pub not_yet: &'static [NotYet],
    /// How long they may last (hashicorp/aws's propagation timeout for
    /// the same call, unless `why` says otherwise).
    pub lasts: Duration,
    /// Where the knowledge comes from, and why we retry more or less than
    /// hashicorp/aws when we do.
    pub why: &'static str,
}

/// How long AWS's own documents and hashicorp/aws give most propagation
/// (`propagationTimeout`, 2 minutes).
pub const PROPAGATION: Duration = Duration::from_secs(120);

impl Call {
    /// A call that changes something and on which AWS gives no
    /// propagation error: its failures are final.
    pub const fn settled(action: &'static str) -> Call {
        Call {
            action,
            effect: Effect::Mutates,
            not_yet: &[],
            lasts: Duration::ZERO,
            why: "",
        }
    }
    /// A read: its not-found is an answer, not a delay.
    pub const fn read(action: &'static str) -> Call {
        Call {
            action,
            effect: Effect::Reads,
            not_yet: &[],
            lasts: Duration::ZERO,
            why: "",
        }
    }
    /// A call that AWS may refuse with one of `not_yet` for up to `lasts`
    /// while it catches up.
    pub const fn retrying(
        action: &'static str,
        lasts: Duration,
        not_yet: &'static [NotYet],
    ) -> Call {
        Call {
            action,
            effect: Effect::Mutates,
            not_yet,
            lasts,
            why: "",
        }
    }
    /// The reason for the entry (a hashicorp/aws file, or why we differ).
    pub const fn why(mut self, why: &'static str) -> Call {
        self.why = why;
        self
    }
    /// The same errors on a read (a read that must see what was just made).
    pub const fn reading(mut self) -> Call {
        self.effect = Effect::Reads;
        self
    }
    /// The IAM service prefix (`ec2`).
    pub fn service(&self) -> &'static str {
        self.action
            .split_once(':')
            .map(|(s, _)| s)
            .unwrap_or(self.action)
    }
    /// The operation's name (`AttachInternetGateway`).
    pub fn operation(&self) -> &'static str {
        self.action
            .split_once(':')
            .map(|(_, o)| o)
            .unwrap_or(self.action)
    }
    /// True when the error is one the call declares as "not yet".
    pub fn not_yet<F: Fault + ?Sized>(&self, e: &F) -> bool {
        let (code, message) = (e.code(), e.message());
        self.not_yet.iter().any(|n| n.matches(code, message))
    }
}

/// What the engine reads of an AWS error: its code and message (the AWS
/// layer implements it for the SDK's errors).
pub trait Fault {
    fn code(&self) -> Option<&str>;
    fn message(&self) -> Option<&str>;
}

/// A call's final failure, with how long the declared errors were retried.
#[derive(Debug)]
pub struct Retried<Er> {
    pub error: Er,
    pub call: &'static Call,
    /// Attempts made (1: no retry).
    pub tries: u32,
    pub elapsed: Duration,
    /// Why the retries ended while the error was still "not yet".
    pub ended: Option<Ended>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// The declared propagation time passed.
    Propagation,
    /// The operation's (or the stack's) deadline came first.
    Deadline,
    /// StopProvider.
    Stopped,
}

impl<Er> Retried<Er> {
    /// The failure in words: `action: <error text>`, and, when the error
    /// was one AWS gives while catching up, how long it was retried.
    pub fn explain(&self, error_text: &str) -> String {
        let mut s = format!("{}: {error_text}", self.call.operation());
        let (tries, elapsed) = (self.tries, human_short(self.elapsed));
        match self.ended {
            None => {}
            // Said as every wait StopProvider ends says it: the apply was
            // cancelled, not failed.
            Some(Ended::Stopped) => s.push_str(&format!(
                " (cancelled while AWS was still catching up, after {tries} tries over {elapsed})"
            )),
            Some(ended) => {
                let why = match ended {
                    Ended::Propagation => format!(
                        "AWS takes up to {} to catch up here",
                        super::waiter::human(self.call.lasts)
                    ),
                    _ => "the operation's deadline came first".to_string(),
                };
                s.push_str(&format!(
                    " (still not ready after {tries} tries over {elapsed}: {why})"
                ));
            }
        }
        s
    }
}

fn human_short(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        super::waiter::human(Duration::from_secs(d.as_secs()))
    }
}

/// The checks every declaration must pass (run over every kind's by the
/// unit tests): an action `service:Operation`, a message that holds its
/// fragment, a time bound when something is retried, and a reason.
pub fn check(call: &Call) -> Result<(), String> {
    let ok_action = call
        .action
        .split_once(':')
        .map(|(s, o)| !s.is_empty() && o.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
        .unwrap_or(false);
    if !ok_action {
        return Err(format!(
            "{}: the action is not service:Operation",
            call.action
        ));
    }
    if !call.not_yet.is_empty() && (call.lasts.is_zero() || call.why.is_empty()) {
        return Err(format!(
            "{}: a retried call needs a bound and a reason",
            call.action
        ));
    }
    for n in call.not_yet {
        if let Some(f) = n.contains {
            if !n.says.to_lowercase().contains(&f.to_lowercase()) {
                return Err(format!(
                    "{}: the message {:?} does not hold {f:?}",
                    call.action, n.says
                ));
            }
        }
        if n.says.is_empty() {
            return Err(format!(
                "{}: {} has no message as AWS words it",
                call.action, n.code
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Env;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use tokio::sync::watch;
    use tokio::time::Instant;

    #[derive(Debug)]
    struct Err(&'static str, &'static str);

    impl Fault for Err {
        fn code(&self) -> Option<&str> {
            Some(self.0)
        }
        fn message(&self) -> Option<&str> {
            Some(self.1)
        }
    }

    static ATTACH: Call = Call::retrying(
        "ec2:AttachInternetGateway",
        Duration::from_secs(2),
        &[
            NotYet::code("InvalidInternetGatewayID.NotFound", "The internetGateway ID 'igw-1' does not exist"),
            NotYet::message("InvalidParameterValue", "iam instance profile", "Value (x) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"),
        ],
    )
    .why("test");

    fn env(within: Duration) -> (Env<()>, watch::Sender<bool>) {
        let (tx, rx) = watch::channel(false);
        (
            Env::new(
                Arc::new(()),
                "s".into(),
                BTreeMap::new(),
                Instant::now() + within,
                rx,
                1,
            ),
            tx,
        )
    }

    /// A call that fails `n` times with `e`, then succeeds.
    fn failing<'a>(
        n: u32,
        e: (&'static str, &'static str),
        count: &'a AtomicU32,
    ) -> impl FnMut() -> std::future::Ready<Result<u32, Err>> + 'a {
        move || {
            let i = count.fetch_add(1, Ordering::SeqCst) + 1;
            std::future::ready(if i <= n {
                Result::Err(Err(e.0, e.1))
            } else {
                Ok(i)
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_declared_not_yet_is_retried_until_it_passes() {
        let (env, _tx) = env(Duration::from_secs(60));
        let count = AtomicU32::new(0);
        let got = env
            .call(
                &ATTACH,
                failing(
                    2,
                    (
                        "InvalidInternetGatewayID.NotFound",
                        "The internetGateway ID 'igw-1' does not exist",
                    ),
                    &count,
                ),
            )
            .await;
        assert_eq!(got.unwrap(), 3);
        let count = AtomicU32::new(0);
        let msg = "Value (p) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name";
        assert_eq!(
            env.call(&ATTACH, failing(1, ("InvalidParameterValue", msg), &count))
                .await
                .unwrap(),
            2,
            "the fragment matches whatever the case"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_undeclared_error_or_a_reused_code_with_another_message_is_final() {
        let (env, _tx) = env(Duration::from_secs(60));
        for e in [
            ("InjectedFailure", "no"),
            (
                "InvalidParameterValue",
                "Value (t9.nano) for parameter instanceType is invalid",
            ),
        ] {
            let count = AtomicU32::new(0);
            let r = env.call(&ATTACH, failing(5, e, &count)).await.unwrap_err();
            assert_eq!(
                (r.tries, r.ended, count.load(Ordering::SeqCst)),
                (1, None, 1),
                "{e:?}"
            );
            assert_eq!(
                r.explain("X: y"),
                "AttachInternetGateway: X: y",
                "a final error says nothing of retries"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_end_at_the_declared_bound_and_say_how_long() {
        let (env, _tx) = env(Duration::from_secs(60));
        let count = AtomicU32::new(0);
        let started = std::time::Instant::now();
        let r = env
            .call(
                &ATTACH,
                failing(u32::MAX, ("InvalidInternetGatewayID.NotFound", "m"), &count),
            )
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded by the declared 2 s: {:?}",
            started.elapsed()
        );
        assert_eq!(r.ended, Some(Ended::Propagation));
        assert!(
            r.tries >= 3 && r.tries == count.load(Ordering::SeqCst),
            "{}",
            r.tries
        );
        let text = r.explain("InvalidInternetGatewayID.NotFound: m");
        assert!(text.starts_with("AttachInternetGateway: InvalidInternetGatewayID.NotFound: m (still not ready after "), "{text}");
        assert!(
            text.contains("AWS takes up to 2s to catch up here"),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_operation_deadline_comes_before_the_declared_bound() {
        let (env, _tx) = env(Duration::from_millis(700));
        let count = AtomicU32::new(0);
        let r = env
            .call(
                &ATTACH,
                failing(u32::MAX, ("InvalidInternetGatewayID.NotFound", "m"), &count),
            )
            .await
            .unwrap_err();
        assert_eq!(r.ended, Some(Ended::Deadline));
        assert!(r.explain("e").contains("deadline"));
    }

    #[tokio::test(start_paused = true)]
    async fn stop_provider_ends_the_retries_at_once() {
        static LONG: Call = Call::retrying(
            "ec2:DeleteSubnet",
            Duration::from_secs(300),
            &[NotYet::code("DependencyViolation", "has dependencies")],
        )
        .why("test");
        let (env, tx) = env(Duration::from_secs(600));
        let count = AtomicU32::new(0);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            tx.send(true).unwrap();
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let started = std::time::Instant::now();
        let r = env
            .call(
                &LONG,
                failing(u32::MAX, ("DependencyViolation", "m"), &count),
            )
            .await
            .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(r.ended, Some(Ended::Stopped));
        assert!(
            r.explain("DependencyViolation: m")
                .contains("(cancelled while AWS was still catching up, after "),
            "{}",
            r.explain("e")
        );
    }

    #[test]
    fn declarations_are_checked() {
        assert_eq!(check(&ATTACH), Ok(()));
        const NO_REASON: Call = Call::retrying("ec2:X", PROPAGATION, &[NotYet::code("A", "a")]);
        const NO_FRAGMENT: Call = Call::retrying(
            "ec2:X",
            PROPAGATION,
            &[NotYet::message("A", "frag", "other words")],
        )
        .why("w");
        assert!(check(&NO_REASON).is_err(), "no reason");
        assert!(check(&NO_FRAGMENT).is_err(), "message lacks its fragment");
        assert!(
            check(&Call::settled("AttachInternetGateway")).is_err(),
            "no service"
        );
        assert_eq!(
            (ATTACH.service(), ATTACH.operation()),
            ("ec2", "AttachInternetGateway")
        );
    }
}
