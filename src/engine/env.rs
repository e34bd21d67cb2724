//! What every component operation can see: the cloud, the stack, the
//! deadline and cancellation, and the one loop of retries and waits.

use super::*;

/// What every component operation can see.
pub struct Env<C> {
    pub ctx: Arc<C>,
    pub stack_id: String,
    /// Tags for every component (stack id, project, environment, user and
    /// provider default tags).
    pub tags: BTreeMap<String, String>,
    pub deadline: Instant,
    pub cancel: watch::Receiver<bool>,
    /// How many component operations may run at once (1 = sequential).
    pub parallelism: usize,
    /// Warnings for the user that operations raise (a kept final snapshot),
    /// shared by the environments of every region.
    pub warnings: Arc<Mutex<Vec<String>>>,
    /// The factor the stack's `timeouts` apply to every kind's default
    /// timeouts (1 unless the stack's are longer than the default).
    pub timeout_scale: f64,
    /// Set when the deadline is one operation's (its kind's default
    /// timeout, tighter than the stack's): what a timeout error names.
    pub bound: Option<String>,
}

impl<C> Clone for Env<C> {
    fn clone(&self) -> Self {
        Env {
            ctx: self.ctx.clone(),
            stack_id: self.stack_id.clone(),
            tags: self.tags.clone(),
            deadline: self.deadline,
            cancel: self.cancel.clone(),
            parallelism: self.parallelism,
            warnings: self.warnings.clone(),
            timeout_scale: self.timeout_scale,
            bound: self.bound.clone(),
        }
    }
}

impl<C> Env<C> {
    pub fn new(
        ctx: Arc<C>,
        stack_id: String,
        tags: Tags,
        deadline: Instant,
        cancel: watch::Receiver<bool>,
        parallelism: usize,
    ) -> Env<C> {
        Env {
            ctx,
            stack_id,
            tags,
            deadline,
            cancel,
            parallelism,
            warnings: Arc::new(Mutex::new(Vec::new())),
            timeout_scale: 1.0,
            bound: None,
        }
    }

    /// The environment of one `verb` of a `kind` object that may take
    /// `limit` (the kind's default, scaled by the stack's `timeouts`): its
    /// deadline is that or the stack's, whichever comes first.
    pub fn for_operation(&self, kind: &str, verb: &str, limit: Duration) -> Env<C> {
        let limit = limit.mul_f64(self.timeout_scale);
        let mut env = self.clone();
        let own = Instant::now() + limit;
        if own < self.deadline {
            env.deadline = own;
            env.bound = Some(format!(
                "the {verb} timeout of a {kind} ({})",
                waiter::human(limit)
            ));
        }
        env
    }

    /// How a timeout error ends: what set the deadline, and how to move it.
    pub fn timeout_advice(&self) -> String {
        match &self.bound {
            Some(b) => format!("{b} passed; a longer `timeouts` on the stack raises every component's in proportion"),
            None => "raise the `timeouts` of the stack".to_string(),
        }
    }

    /// Runs the declared waiter `w` on `object`: `look` returns its state
    /// and what the wait yields (None: the object is gone, state `GONE`).
    /// Ends with the value when a target state is reached (None when the
    /// target was `GONE`), with an error naming the state when the object
    /// reaches one the waiter does not expect, at the deadline, or at
    /// StopProvider.
    pub async fn wait<T, F, Fut>(
        &self,
        w: &Waiter,
        object: &str,
        mut look: F,
    ) -> Result<Option<T>, OpError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<(String, T)>, OpError>>,
    {
        let what = format!("{object} {}", w.goal);
        self.poll(&what, w.poll, || {
            let seen = look();
            async {
                let (state, value) = match seen.await? {
                    Some((s, v)) => (s, Some(v)),
                    None => (GONE.to_string(), None),
                };
                match w.judge(&state) {
                    Some(true) => Ok(Some(value)),
                    Some(false) => Ok(None),
                    None => Err(OpError::new(format!(
                        "{object} is {state} (waiting for it {}: expected {})",
                        w.goal,
                        w.target.join(" or ")
                    ))),
                }
            }
        })
        .await
    }

    pub fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// The tags of the component `key`.
    pub fn tags_for(&self, key: &str) -> Tags {
        ownership::component_tags(&self.tags, &self.stack_id, key)
    }

    /// Fills every spec's tags: the component's, then any the stack gave
    /// the spec itself (`Spec::tag`).
    pub fn tag_specs(&self, specs: &mut [Spec]) {
        for s in specs {
            let own = std::mem::take(&mut s.tags);
            s.tags = self.tags_for(&s.key);
            s.tags.extend(own);
        }
    }

    pub fn warn(&self, w: impl Into<String>) {
        self.warnings.lock().unwrap().push(w.into());
    }

    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap())
    }

    /// Runs `f` again while it fails with an error that `retryable` accepts
    /// (eventual consistency: a just-created role not yet visible to EC2, a
    /// dependency still being detached), with capped exponential backoff,
    /// for at most `budget` and never past the deadline. StopProvider ends
    /// the wait at once, with the last error.
    pub async fn retry<T, Er, F, Fut>(
        &self,
        budget: Duration,
        mut retryable: impl FnMut(&Er) -> bool,
        mut f: F,
    ) -> Result<T, Er>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Er>>,
    {
        let until = (Instant::now() + budget).min(self.deadline);
        let mut delay = Duration::from_millis(250);
        let mut attempt = 0u32;
        loop {
            match f().await {
                Ok(v) => return Ok(v),
                Err(e) if retryable(&e) && !self.cancelled() && Instant::now() + delay < until => {
                    attempt += 1;
                    tracing::debug!(
                        attempt,
                        "retrying after a retryable error (eventual consistency)"
                    );
                    let mut cancel = self.cancel.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = cancel.changed() => return Err(e),
                    }
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Makes the declared `call` with `f`, again while it fails with an
    /// error the declaration calls "not yet" (AWS catching up: a role not
    /// yet visible to EC2, an interface still draining), backing off (250 ms
    /// doubling to 5 s), for at most the declared time and never past the
    /// operation's deadline; StopProvider ends it at once. The final error
    /// says how long the declared error was retried (`Retried::explain`).
    pub async fn call<T, Er, F, Fut>(&self, call: &'static Call, mut f: F) -> Result<T, Retried<Er>>
    where
        Er: Fault,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Er>>,
    {
        let started = Instant::now();
        let until = (started + call.lasts).min(self.deadline);
        let mut delay = Duration::from_millis(250);
        let mut tries = 0u32;
        loop {
            tries += 1;
            let e = match f().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let fail = |e, ended| {
                Err(Retried {
                    error: e,
                    call,
                    tries,
                    elapsed: started.elapsed(),
                    ended,
                })
            };
            if !call.not_yet(&e) {
                return fail(e, None);
            }
            if self.cancelled() {
                return fail(e, Some(consistency::Ended::Stopped));
            }
            if Instant::now() + delay >= until {
                let ended = if until < started + call.lasts {
                    consistency::Ended::Deadline
                } else {
                    consistency::Ended::Propagation
                };
                return fail(e, Some(ended));
            }
            tracing::debug!(
                action = call.action,
                code = e.code().unwrap_or_default(),
                attempt = tries,
                "retrying: AWS is still catching up (eventual consistency)"
            );
            let mut cancel = self.cancel.clone();
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.wait_for(|c| *c) => return fail(e, Some(consistency::Ended::Stopped)),
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Polls `check` until it returns `Some`, the deadline passes or the
    /// provider is stopped: a wait that is no state machine (an object's
    /// membership in another). Waits on an object's state are declared
    /// (`Env::wait`).
    pub async fn wait_until<T, F, Fut>(&self, what: &str, check: F) -> Result<T, OpError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, OpError>>,
    {
        self.poll(what, Duration::from_secs(10), check).await
    }

    async fn poll<T, F, Fut>(
        &self,
        what: &str,
        max_pause: Duration,
        mut check: F,
    ) -> Result<T, OpError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, OpError>>,
    {
        let mut delay = Duration::from_millis(200).min(max_pause);
        let started = Instant::now();
        loop {
            if let Some(v) = check().await? {
                return Ok(v);
            }
            if self.cancelled() {
                return Err(OpError::new(format!("cancelled while waiting for {what}")));
            }
            if Instant::now() + delay > self.deadline {
                return Err(OpError::new(format!(
                    "timeout while waiting for {what} (waited {:.0?}): {}",
                    started.elapsed(),
                    self.timeout_advice()
                )));
            }
            let mut cancel = self.cancel.clone();
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.changed() => {}
            }
            delay = (delay * 3 / 2).min(max_pause);
        }
    }
}
