//! Configuration of `/auth/v1`, read with GoTrue's names (`internal/conf/configuration.go`,
//! prefix `GOTRUE_`) and, where Supabase's self-hosting `.env` uses a different name
//! (`ENABLE_EMAIL_AUTOCONFIRM`, `ADDITIONAL_REDIRECT_URLS`, `SMTP_HOST`, …), with that name too.
//! Defaults are GoTrue's.

use std::collections::HashMap;
use std::time::Duration;

use bucketbase_kit::{parse_duration, Env, EnvError};

/// One rate limit: `events` per `per` seconds, with at most `burst` at once (tollbooth's model).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Events allowed per period.
    pub events: f64,
    /// The period in seconds.
    pub per: f64,
    /// Bucket size.
    pub burst: f64,
}

impl Rate {
    fn new(events: f64, per: f64, burst: f64) -> Self {
        Self { events, per, burst }
    }
}

/// The rate limits GoTrue applies (`GOTRUE_RATE_LIMIT_*`).
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// `GOTRUE_RATE_LIMIT_HEADER`: header naming the client IP; the peer address otherwise.
    pub header: Option<String>,
    /// `GOTRUE_RATE_LIMIT_TOKEN_REFRESH` (150 per 5 min, burst 30): `/token`.
    pub token: Rate,
    /// `GOTRUE_RATE_LIMIT_VERIFY` (30 per 5 min, burst 30): `/verify`.
    pub verify: Rate,
    /// `GOTRUE_RATE_LIMIT_OTP` (30 per 5 min, burst 30): `/otp`, `/magiclink`, `/recover`,
    /// `/resend`, `/signup`, `PUT /user`.
    pub otp: Rate,
    /// `GOTRUE_RATE_LIMIT_ANONYMOUS_USERS` (30 per hour): anonymous sign-ins.
    pub anonymous: Rate,
    /// `GOTRUE_RATE_LIMIT_EMAIL_SENT` (30 per hour, for the whole instance): outgoing mail.
    pub email_sent: Rate,
}

/// SMTP settings (`SMTP_*`).
#[derive(Clone, Default)]
pub struct SmtpConfig {
    /// `SMTP_HOST`; without it mails go to [`catcher_dir`](Self::catcher_dir) or nowhere.
    pub host: Option<String>,
    /// `SMTP_PORT` (587).
    pub port: u16,
    /// `SMTP_USER`.
    pub user: Option<String>,
    /// `SMTP_PASS`.
    pub pass: Option<String>,
    /// `SMTP_ADMIN_EMAIL`: the From address.
    pub admin_email: String,
    /// `SMTP_SENDER_NAME`.
    pub sender_name: Option<String>,
    /// `SMTP_MAX_FREQUENCY` (60 s): minimum time between two mails of one kind to one user.
    pub max_frequency: Duration,
    /// Without `SMTP_HOST`: the local mail catcher's folder, where `bucketbase start` keeps
    /// every mail as an `.eml` file (as the Supabase CLI's Inbucket catches them). Without
    /// either, mail is not sent at all, as GoTrue's no-op mailer does.
    pub catcher_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// The URL of a mail body template (`MAILER_TEMPLATES_*`): http or https. Its `Debug` shows
/// no query string or credentials, which may carry a signature.
#[derive(Clone, PartialEq, Eq)]
pub struct TemplateUrl(url::Url);

impl TemplateUrl {
    /// Parses an absolute http(s) URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| e.to_string())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("scheme {:?} is not http or https", url.scheme()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("no host".into());
        }
        Ok(Self(url))
    }

    /// The URL.
    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// Scheme, host, port and path only, for logs.
    pub fn redacted(&self) -> String {
        let u = &self.0;
        let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "{}://{}{port}{}",
            u.scheme(),
            u.host_str().unwrap_or(""),
            u.path()
        )
    }
}

impl std::fmt::Debug for TemplateUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TemplateUrl")
            .field(&self.redacted())
            .finish()
    }
}

/// Mail subjects, body templates and link paths (`MAILER_SUBJECTS_*`, `MAILER_TEMPLATES_*`,
/// `MAILER_URLPATHS_*`).
#[derive(Debug, Clone)]
pub struct MailerConfig {
    /// `MAILER_AUTOCONFIRM` / `ENABLE_EMAIL_AUTOCONFIRM`.
    pub autoconfirm: bool,
    /// `MAILER_SECURE_EMAIL_CHANGE_ENABLED` (true): confirm on both addresses.
    pub secure_email_change: bool,
    /// `MAILER_OTP_EXP` (86400 s).
    pub otp_exp: Duration,
    /// `MAILER_OTP_LENGTH` (6).
    pub otp_length: usize,
    /// `MAILER_URLPATHS_CONFIRMATION`, `_INVITE`, `_RECOVERY`, `_EMAIL_CHANGE`.
    pub url_paths: HashMap<&'static str, String>,
    /// `MAILER_SUBJECTS_*`.
    pub subjects: HashMap<&'static str, String>,
    /// `MAILER_TEMPLATES_*`: where each kind's body template is fetched from (a value without a
    /// scheme is appended to `SITE_URL`, as GoTrue does).
    pub templates: HashMap<&'static str, TemplateUrl>,
}

/// Configuration of the `/auth/v1` service.
#[derive(Debug, Clone)]
pub struct Config {
    /// `SITE_URL`: the default redirect target.
    pub site_url: String,
    /// `API_EXTERNAL_URL`: the public base of links in mails (default: from the request's Host).
    pub api_external_url: Option<String>,
    /// `URI_ALLOW_LIST` / `ADDITIONAL_REDIRECT_URLS`: further allowed redirect patterns.
    pub uri_allow_list: Vec<String>,
    /// `JWT_EXP` / `JWT_EXPIRY` (3600 s).
    pub jwt_exp: i64,
    /// `JWT_ISSUER` (default `<external url>/auth/v1`).
    pub jwt_issuer: Option<String>,
    /// `JWT_AUD` (`authenticated`).
    pub jwt_aud: String,
    /// `JWT_DEFAULT_GROUP_NAME` (`authenticated`): the role of new users.
    pub jwt_default_group: String,
    /// `JWT_ADMIN_ROLES` (`service_role,supabase_admin`).
    pub jwt_admin_roles: Vec<String>,
    /// `DISABLE_SIGNUP`.
    pub disable_signup: bool,
    /// `EXTERNAL_EMAIL_ENABLED` / `ENABLE_EMAIL_SIGNUP` (true).
    pub email_enabled: bool,
    /// `EXTERNAL_PHONE_ENABLED` / `ENABLE_PHONE_SIGNUP` (false; no SMS provider here).
    pub phone_enabled: bool,
    /// `SMS_AUTOCONFIRM` / `ENABLE_PHONE_AUTOCONFIRM` (false): phone sign-ups are confirmed
    /// without an SMS, the only way phone sign-ups work here (no SMS provider is built in).
    pub sms_autoconfirm: bool,
    /// `EXTERNAL_ANONYMOUS_USERS_ENABLED` / `ENABLE_ANONYMOUS_USERS` (false).
    pub anonymous_enabled: bool,
    /// `PASSWORD_MIN_LENGTH` (6).
    pub password_min_length: usize,
    /// `PASSWORD_REQUIRED_CHARACTERS`: `:`-separated character sets.
    pub password_required_characters: Vec<String>,
    /// `SECURITY_REFRESH_TOKEN_ROTATION_ENABLED` (true).
    pub refresh_token_rotation: bool,
    /// `SECURITY_REFRESH_TOKEN_REUSE_INTERVAL` (10 s).
    pub refresh_token_reuse_interval: i64,
    /// `SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION` (false).
    pub update_password_require_reauthentication: bool,
    /// `SESSIONS_TIMEBOX`: sessions end this long after creation (none by default).
    pub sessions_timebox: Option<Duration>,
    /// `SESSIONS_INACTIVITY_TIMEOUT`: sessions end after this long without a refresh.
    pub sessions_inactivity_timeout: Option<Duration>,
    /// `SESSIONS_SINGLE_PER_USER` (false): only the user's most recently refreshed session may
    /// refresh; older ones answer `session_expired`.
    pub sessions_single_per_user: bool,
    /// `HOOK_CUSTOM_ACCESS_TOKEN_ENABLED` + `HOOK_CUSTOM_ACCESS_TOKEN_URI`: the function that
    /// rewrites every access token's claims.
    pub access_token_hook: Option<crate::hook::PgFunctionHook>,
    /// Mail settings.
    pub mailer: MailerConfig,
    /// SMTP settings.
    pub smtp: SmtpConfig,
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// `BUCKETBASE_AUTH_HASH_THREADS`: password hashes computed at once, on low-priority threads
    /// (default: CPU count).
    pub hash_threads: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self::from_env(
            &Env::new(HashMap::new()),
            "http://localhost:3000",
            None,
            3600,
        )
        .unwrap_or_else(|_| unreachable_default())
    }
}

// `from_env` on an empty map cannot fail; keep the type total without panicking.
fn unreachable_default() -> Config {
    Config {
        site_url: "http://localhost:3000".into(),
        api_external_url: None,
        uri_allow_list: Vec::new(),
        jwt_exp: 3600,
        jwt_issuer: None,
        jwt_aud: "authenticated".into(),
        jwt_default_group: "authenticated".into(),
        jwt_admin_roles: vec!["service_role".into(), "supabase_admin".into()],
        disable_signup: false,
        email_enabled: true,
        phone_enabled: false,
        sms_autoconfirm: false,
        anonymous_enabled: false,
        password_min_length: 6,
        password_required_characters: Vec::new(),
        refresh_token_rotation: true,
        refresh_token_reuse_interval: 10,
        update_password_require_reauthentication: false,
        sessions_timebox: None,
        sessions_inactivity_timeout: None,
        sessions_single_per_user: false,
        access_token_hook: None,
        mailer: MailerConfig {
            autoconfirm: false,
            secure_email_change: true,
            otp_exp: Duration::from_secs(86400),
            otp_length: 6,
            url_paths: HashMap::new(),
            subjects: HashMap::new(),
            templates: HashMap::new(),
        },
        smtp: SmtpConfig::default(),
        rate_limits: RateLimits {
            header: None,
            token: Rate::new(150.0, 300.0, 30.0),
            verify: Rate::new(30.0, 300.0, 30.0),
            otp: Rate::new(30.0, 300.0, 30.0),
            anonymous: Rate::new(30.0, 3600.0, 30.0),
            email_sent: Rate::new(30.0, 3600.0, 30.0),
        },
        hash_threads: 2,
    }
}

/// Why the auth configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable has the wrong shape.
    #[error(transparent)]
    Env(#[from] EnvError),
    /// A variable is well-formed but not acceptable.
    #[error("{name}: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why it is refused.
        reason: String,
    },
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        reason: reason.into(),
    }
}

/// GoTrue's `Rate` syntax: a number of events per `per` seconds, or `events/duration`.
fn rate(env: &Env, name: &str, per: f64, burst: f64) -> Result<Rate, EnvError> {
    let default_events = match name {
        "RATE_LIMIT_TOKEN_REFRESH" => 150.0,
        _ => 30.0,
    };
    let Some((found, v)) = env.raw(&[name]) else {
        return Ok(Rate::new(default_events, per, burst));
    };
    let bad = || EnvError {
        name: found.clone(),
        value: v.to_string(),
        expected: "a rate (events, or events/duration)".into(),
    };
    match v.split_once('/') {
        None => v
            .parse::<f64>()
            .ok()
            .filter(|e| e.is_finite() && *e >= 0.0)
            .map(|e| Rate::new(e, per, burst.max(e / per)))
            .ok_or_else(bad),
        Some((e, d)) => {
            let events = e
                .parse::<f64>()
                .ok()
                .filter(|e| e.is_finite() && *e >= 0.0)
                .ok_or_else(bad)?;
            let per = parse_duration(d).filter(|p| !p.is_zero()).ok_or_else(bad)?;
            Ok(Rate::new(events, per.as_secs_f64(), events.max(1.0)))
        }
    }
}

impl Config {
    /// Reads the configuration from `env` (the server's environment; GoTrue's names are read
    /// with or without `GOTRUE_`), with the values the server already parsed (`SITE_URL`,
    /// `API_EXTERNAL_URL`, `JWT_EXPIRY`).
    pub fn from_env(
        env: &Env,
        site_url: &str,
        api_external_url: Option<&str>,
        jwt_expiry: u64,
    ) -> Result<Self, ConfigError> {
        let env = &env.prefixed("GOTRUE_");
        let list = |names: &[&str]| env.list(names);
        let mut url_paths = HashMap::new();
        for (key, name) in [
            ("confirmation", "MAILER_URLPATHS_CONFIRMATION"),
            ("invite", "MAILER_URLPATHS_INVITE"),
            ("recovery", "MAILER_URLPATHS_RECOVERY"),
            ("email_change", "MAILER_URLPATHS_EMAIL_CHANGE"),
        ] {
            let path = env.get(&[name]).unwrap_or("/auth/v1/verify").to_string();
            url_paths.insert(key, path);
        }
        let mut subjects = HashMap::new();
        for (key, name) in [
            ("confirmation", "MAILER_SUBJECTS_CONFIRMATION"),
            ("invite", "MAILER_SUBJECTS_INVITE"),
            ("recovery", "MAILER_SUBJECTS_RECOVERY"),
            ("magic_link", "MAILER_SUBJECTS_MAGIC_LINK"),
            ("email_change", "MAILER_SUBJECTS_EMAIL_CHANGE"),
            ("reauthentication", "MAILER_SUBJECTS_REAUTHENTICATION"),
        ] {
            if let Some(s) = env.get(&[name]) {
                subjects.insert(key, s.to_string());
            }
        }
        let site_url = env
            .get(&["SITE_URL"])
            .unwrap_or(site_url)
            .trim_end_matches('/')
            .to_string();
        let mut templates = HashMap::new();
        for (key, name) in [
            ("confirmation", "MAILER_TEMPLATES_CONFIRMATION"),
            ("invite", "MAILER_TEMPLATES_INVITE"),
            ("recovery", "MAILER_TEMPLATES_RECOVERY"),
            ("magic_link", "MAILER_TEMPLATES_MAGIC_LINK"),
            ("email_change", "MAILER_TEMPLATES_EMAIL_CHANGE"),
            ("reauthentication", "MAILER_TEMPLATES_REAUTHENTICATION"),
        ] {
            if let Some(v) = env.get(&[name]) {
                // GoTrue's `loadEntryBody` puts the site URL before values that do not start
                // with "http"; here only before values without a scheme, so that `ftp://…` is
                // refused rather than glued to it.
                let full = match url::Url::parse(v) {
                    Err(url::ParseError::RelativeUrlWithoutBase) => format!("{site_url}{v}"),
                    _ => v.to_string(),
                };
                // The value itself stays out of the message: it may carry a signature.
                let url = TemplateUrl::parse(&full)
                    .map_err(|e| invalid(name, format!("is not an http(s) URL: {e}")))?;
                templates.insert(key, url);
            }
        }
        let admin_roles = list(&["JWT_ADMIN_ROLES"]);
        let otp_length: usize = env.number(&["MAILER_OTP_LENGTH"], 6)?;
        if !(6..=10).contains(&otp_length) {
            return Err(invalid(
                "GOTRUE_MAILER_OTP_LENGTH",
                "must be between 6 and 10",
            ));
        }
        // Read even when the hook is off, so the list of variables read is the same.
        let hook_uri = env.get(&["HOOK_CUSTOM_ACCESS_TOKEN_URI"]);
        let hash_threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Ok(Self {
            site_url,
            api_external_url: env
                .get(&["API_EXTERNAL_URL"])
                .or(api_external_url)
                .map(|u| u.trim_end_matches('/').to_string()),
            uri_allow_list: {
                let mut l = list(&["URI_ALLOW_LIST"]);
                l.extend(list(&["ADDITIONAL_REDIRECT_URLS"]));
                l
            },
            jwt_exp: env.number(&["JWT_EXP"], jwt_expiry as i64)?,
            jwt_issuer: env.get(&["JWT_ISSUER"]).map(str::to_string),
            jwt_aud: env.get(&["JWT_AUD"]).unwrap_or("authenticated").to_string(),
            jwt_default_group: env
                .get(&["JWT_DEFAULT_GROUP_NAME"])
                .unwrap_or("authenticated")
                .to_string(),
            jwt_admin_roles: if admin_roles.is_empty() {
                vec!["service_role".into(), "supabase_admin".into()]
            } else {
                admin_roles
            },
            disable_signup: env.flag(&["DISABLE_SIGNUP"])?.unwrap_or(false),
            email_enabled: env
                .flag(&["EXTERNAL_EMAIL_ENABLED", "ENABLE_EMAIL_SIGNUP"])?
                .unwrap_or(true),
            phone_enabled: env
                .flag(&["EXTERNAL_PHONE_ENABLED", "ENABLE_PHONE_SIGNUP"])?
                .unwrap_or(false),
            sms_autoconfirm: env
                .flag(&["SMS_AUTOCONFIRM", "ENABLE_PHONE_AUTOCONFIRM"])?
                .unwrap_or(false),
            anonymous_enabled: env
                .flag(&["EXTERNAL_ANONYMOUS_USERS_ENABLED", "ENABLE_ANONYMOUS_USERS"])?
                .unwrap_or(false),
            password_min_length: env.number::<usize>(&["PASSWORD_MIN_LENGTH"], 6)?.max(6),
            password_required_characters: env
                .get(&["PASSWORD_REQUIRED_CHARACTERS"])
                .map(|v| {
                    v.split(':')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            refresh_token_rotation: env
                .flag(&["SECURITY_REFRESH_TOKEN_ROTATION_ENABLED"])?
                .unwrap_or(true),
            refresh_token_reuse_interval: env
                .number(&["SECURITY_REFRESH_TOKEN_REUSE_INTERVAL"], 10)?,
            update_password_require_reauthentication: env
                .flag(&["SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION"])?
                .unwrap_or(false),
            sessions_timebox: env.duration(&["SESSIONS_TIMEBOX"])?,
            sessions_inactivity_timeout: env.duration(&["SESSIONS_INACTIVITY_TIMEOUT"])?,
            sessions_single_per_user: env.flag(&["SESSIONS_SINGLE_PER_USER"])?.unwrap_or(false),
            access_token_hook: if env
                .flag(&["HOOK_CUSTOM_ACCESS_TOKEN_ENABLED"])?
                .unwrap_or(false)
            {
                let name = "GOTRUE_HOOK_CUSTOM_ACCESS_TOKEN_URI";
                let uri = hook_uri
                    .ok_or_else(|| invalid(name, "is required when the hook is enabled"))?;
                Some(crate::hook::PgFunctionHook::parse(uri).map_err(|e| invalid(name, e))?)
            } else {
                None
            },
            mailer: MailerConfig {
                autoconfirm: env
                    .flag(&["MAILER_AUTOCONFIRM", "ENABLE_EMAIL_AUTOCONFIRM"])?
                    .unwrap_or(false),
                secure_email_change: env
                    .flag(&["MAILER_SECURE_EMAIL_CHANGE_ENABLED"])?
                    .unwrap_or(true),
                otp_exp: Duration::from_secs(env.number(&["MAILER_OTP_EXP"], 86400)?),
                otp_length,
                url_paths,
                subjects,
                templates,
            },
            smtp: SmtpConfig {
                host: env.get(&["SMTP_HOST"]).map(str::to_string),
                port: env.number(&["SMTP_PORT"], 587)?,
                user: env.get(&["SMTP_USER"]).map(str::to_string),
                pass: env.get(&["SMTP_PASS"]).map(str::to_string),
                admin_email: env
                    .get(&["SMTP_ADMIN_EMAIL"])
                    .unwrap_or("admin@localhost")
                    .to_string(),
                sender_name: env.get(&["SMTP_SENDER_NAME"]).map(str::to_string),
                max_frequency: env
                    .duration(&["SMTP_MAX_FREQUENCY"])?
                    .unwrap_or(Duration::from_secs(60)),
                catcher_dir: None,
            },
            rate_limits: RateLimits {
                header: env.get(&["RATE_LIMIT_HEADER"]).map(str::to_string),
                token: rate(env, "RATE_LIMIT_TOKEN_REFRESH", 300.0, 30.0)?,
                verify: rate(env, "RATE_LIMIT_VERIFY", 300.0, 30.0)?,
                otp: rate(env, "RATE_LIMIT_OTP", 300.0, 30.0)?,
                anonymous: {
                    let r = rate(env, "RATE_LIMIT_ANONYMOUS_USERS", 3600.0, 30.0)?;
                    Rate::new(r.events, r.per, r.events.max(1.0))
                },
                email_sent: {
                    let r = rate(env, "RATE_LIMIT_EMAIL_SENT", 3600.0, 30.0)?;
                    Rate::new(r.events, r.per, r.events)
                },
            },
            hash_threads: env
                .number(&["BUCKETBASE_AUTH_HASH_THREADS"], hash_threads)?
                .max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs)
    }

    #[test]
    fn rates_take_gotrues_syntax_and_refuse_the_rest() {
        let env = vars(&[
            ("GOTRUE_RATE_LIMIT_OTP", "5/1m"),
            ("RATE_LIMIT_VERIFY", "12"),
            ("RATE_LIMIT_EMAIL_SENT", "3/0s"),
        ]);
        let env = env.prefixed("GOTRUE_");
        let otp = rate(&env, "RATE_LIMIT_OTP", 300.0, 30.0).expect("events/duration");
        assert_eq!((otp.events, otp.per), (5.0, 60.0));
        let verify = rate(&env, "RATE_LIMIT_VERIFY", 300.0, 30.0).expect("events");
        assert_eq!((verify.events, verify.per), (12.0, 300.0));
        let e = rate(&env, "RATE_LIMIT_EMAIL_SENT", 3600.0, 30.0).expect_err("zero period");
        assert_eq!(e.name, "RATE_LIMIT_EMAIL_SENT");
    }

    #[test]
    fn reads_both_naming_schemes() {
        let c = Config::from_env(
            &vars(&[
                ("ENABLE_EMAIL_AUTOCONFIRM", "true"),
                ("GOTRUE_DISABLE_SIGNUP", "true"),
                ("ADDITIONAL_REDIRECT_URLS", "http://a.test/**, myapp://cb"),
                ("GOTRUE_RATE_LIMIT_TOKEN_REFRESH", "1000"),
            ]),
            "http://site.test/",
            None,
            3600,
        )
        .expect("config");
        assert!(c.mailer.autoconfirm);
        assert!(c.disable_signup);
        assert_eq!(c.site_url, "http://site.test");
        assert_eq!(c.uri_allow_list, vec!["http://a.test/**", "myapp://cb"]);
        assert_eq!(c.rate_limits.token.events, 1000.0);
        assert_eq!(c.password_min_length, 6);
    }

    #[test]
    fn reads_template_urls() {
        let c = Config::from_env(
            &vars(&[
                (
                    "GOTRUE_MAILER_TEMPLATES_CONFIRMATION",
                    "https://mail.test/confirm.html?sig=s3cret",
                ),
                ("MAILER_TEMPLATES_INVITE", "/templates/invite.html"),
            ]),
            "http://site.test/",
            None,
            3600,
        )
        .expect("config");
        let confirmation = &c.mailer.templates["confirmation"];
        assert_eq!(
            confirmation.url().as_str(),
            "https://mail.test/confirm.html?sig=s3cret"
        );
        assert_eq!(confirmation.redacted(), "https://mail.test/confirm.html");
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(
            c.mailer.templates["invite"].url().as_str(),
            "http://site.test/templates/invite.html"
        );
        assert!(!c.mailer.templates.contains_key("recovery"));
    }

    #[test]
    fn refuses_bad_template_urls() {
        for value in [
            "ftp://mail.test/t.html",
            "http://",
            "https://exa mple.test/x",
        ] {
            let e = Config::from_env(
                &vars(&[("MAILER_TEMPLATES_RECOVERY", value)]),
                "http://site.test",
                None,
                3600,
            )
            .expect_err(value);
            let e = e.to_string();
            assert!(
                e.starts_with("MAILER_TEMPLATES_RECOVERY: is not an http(s) URL"),
                "{e}"
            );
        }
        // Relative to a site URL that is no http(s) URL either.
        assert!(Config::from_env(
            &vars(&[("MAILER_TEMPLATES_RECOVERY", "t.html")]),
            "myapp:",
            None,
            3600,
        )
        .is_err());
    }

    #[test]
    fn defaults_are_gotrues() {
        let c = Config::default();
        assert_eq!(c.refresh_token_reuse_interval, 10);
        assert_eq!(c.rate_limits.token, Rate::new(150.0, 300.0, 30.0));
        assert_eq!(c.mailer.otp_length, 6);
        assert!(!c.anonymous_enabled);
    }
}
