//! Outgoing mail, as GoTrue's template mailer (`internal/mailer/templatemailer`) sends it: one
//! HTML message per action (confirmation, invite, recovery, magic link, email change,
//! reauthentication) with GoTrue's default subjects (or `MAILER_SUBJECTS_*`), a body from the
//! URL in `MAILER_TEMPLATES_*` (fetched and cached by [`template_cache`], the built-in body when
//! it cannot be had) rendered with the Go-template subset of [`template`], a
//! `{{ .ConfirmationURL }}` of the form
//! `{external}{MAILER_URLPATHS_*}?token=<token hash>&type=<type>&redirect_to=<url>`, the
//! one-time code `{{ .Token }}` and the user's metadata as `{{ .Data.key }}`. Values are
//! HTML-escaped in bodies (so links carry `&amp;`, as GoTrue's do) and not in subjects.
//! Delivery is a minimal SMTP client over a plain TCP connection (EHLO, AUTH PLAIN/LOGIN when a
//! user is configured, MAIL FROM, RCPT TO, DATA). Without `SMTP_HOST` a message goes to the
//! local mail catcher under `bucketbase start`, and nowhere under `serve` (GoTrue's no-op mail
//! client); its links and codes are never written to the log.

pub(crate) mod template;
mod template_cache;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::config::{MailerConfig, SmtpConfig};
use crate::error::{Error, Result};
use template::{Escape, Template, Vars};
use template_cache::TemplateCache;

/// What a mail is for (GoTrue's email action types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// Sign-up confirmation (`type=signup`).
    Confirmation,
    /// Invitation (`type=invite`).
    Invite,
    /// Password recovery (`type=recovery`).
    Recovery,
    /// Magic link (`type=magiclink`).
    MagicLink,
    /// Email change (`type=email_change`).
    EmailChange,
    /// Reauthentication nonce.
    Reauthentication,
}

impl MailKind {
    /// Every kind, in [`MailKind::index`] order.
    pub const ALL: [MailKind; 6] = [
        MailKind::Confirmation,
        MailKind::Invite,
        MailKind::Recovery,
        MailKind::MagicLink,
        MailKind::EmailChange,
        MailKind::Reauthentication,
    ];

    fn index(self) -> usize {
        match self {
            MailKind::Confirmation => 0,
            MailKind::Invite => 1,
            MailKind::Recovery => 2,
            MailKind::MagicLink => 3,
            MailKind::EmailChange => 4,
            MailKind::Reauthentication => 5,
        }
    }

    /// GoTrue's template type, the suffix of `MAILER_SUBJECTS_*` / `MAILER_TEMPLATES_*`.
    pub fn key(self) -> &'static str {
        match self {
            MailKind::Confirmation => "confirmation",
            MailKind::Invite => "invite",
            MailKind::Recovery => "recovery",
            MailKind::MagicLink => "magic_link",
            MailKind::EmailChange => "email_change",
            MailKind::Reauthentication => "reauthentication",
        }
    }

    /// The `type` of the verification link.
    pub fn link_type(self) -> &'static str {
        match self {
            MailKind::Confirmation => "signup",
            MailKind::Invite => "invite",
            MailKind::Recovery => "recovery",
            MailKind::MagicLink => "magiclink",
            MailKind::EmailChange => "email_change",
            MailKind::Reauthentication => "reauthentication",
        }
    }

    fn url_path_key(self) -> &'static str {
        match self {
            MailKind::Confirmation => "confirmation",
            MailKind::Invite => "invite",
            MailKind::Recovery | MailKind::MagicLink => "recovery",
            MailKind::EmailChange | MailKind::Reauthentication => "email_change",
        }
    }

    fn default_subject(self) -> &'static str {
        match self {
            MailKind::Confirmation => "Confirm your email address",
            MailKind::Invite => "You've been invited",
            MailKind::Recovery => "Reset your password",
            MailKind::MagicLink => "Your sign-in link",
            MailKind::EmailChange => "Confirm your new email address",
            MailKind::Reauthentication => "{{ .Token }} is your verification code",
        }
    }

    /// The built-in body, parsed (it always parses; plain text if it ever did not).
    fn default_template(self) -> Template {
        Template::parse(self.default_body()).unwrap_or_else(|_| Template::text(self.default_body()))
    }

    fn default_body(self) -> &'static str {
        match self {
            MailKind::Confirmation => {
                "<h2>Confirm your email address</h2>\n\n<p>Follow the link below to confirm this email address and finish signing up.</p>\n<p><a href=\"{{ .ConfirmationURL }}\">Confirm email address</a></p>\n<p>Alternatively, enter the code: {{ .Token }}</p>"
            }
            MailKind::Invite => {
                "<h2>You've been invited</h2>\n\n<p>You've been invited to create an account. Follow the link below to accept.</p>\n<p><a href=\"{{ .ConfirmationURL }}\">Accept invitation</a></p>\n<p>Alternatively, enter the code: {{ .Token }}</p>"
            }
            MailKind::Recovery => {
                "<h2>Reset your password</h2>\n\n<p>We received a request to reset your password. Follow the link below to choose a new one.</p>\n<p><a href=\"{{ .ConfirmationURL }}\">Reset password</a></p>\n<p>Alternatively, enter the code: {{ .Token }}</p>\n<p>If you didn't request this, you can safely ignore this email.</p>"
            }
            MailKind::MagicLink => {
                "<h2>Your sign-in link</h2>\n\n<p>Follow the link below to sign in. This link expires shortly and can only be used once.</p>\n<p><a href=\"{{ .ConfirmationURL }}\">Sign in</a></p>\n<p>Alternatively, enter the code: {{ .Token }}</p>"
            }
            MailKind::EmailChange => {
                "<h2>Confirm your new email address</h2>\n\n<p>Follow the link below to confirm {{ .NewEmail }} as your new email address.</p>\n<p><a href=\"{{ .ConfirmationURL }}\">Confirm new email address</a></p>\n<p>Alternatively, enter the code: {{ .Token }}</p>\n<p>If you didn't request this change, you can safely ignore this email.</p>"
            }
            MailKind::Reauthentication => {
                "<h2>Your verification code</h2>\n\n<p>Use the code below to verify your identity. It expires shortly.</p>\n<p>{{ .Token }}</p>"
            }
        }
    }
}

/// The data a template is filled with.
#[derive(Debug, Clone, Default)]
pub struct MailData {
    /// `{{ .Email }}`: the user's current address.
    pub email: String,
    /// `{{ .NewEmail }}`.
    pub new_email: String,
    /// `{{ .Token }}`: the one-time code.
    pub token: String,
    /// `{{ .TokenHash }}`: the hash in the link.
    pub token_hash: String,
    /// `{{ .RedirectTo }}`.
    pub redirect_to: String,
    /// `{{ .SiteURL }}`.
    pub site_url: String,
    /// The external base URL for the link.
    pub external_url: String,
    /// `{{ .Data }}`: the user's `user_metadata`.
    pub user_metadata: serde_json::Value,
}

/// A rendered message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Recipient.
    pub to: String,
    /// Subject line.
    pub subject: String,
    /// HTML body.
    pub html: String,
}

/// The verification link of a mail (GoTrue's `getPath` resolved against the external URL).
pub(crate) fn action_link(
    config: &MailerConfig,
    kind: MailKind,
    external_url: &str,
    token_hash: &str,
    link_type: &str,
    redirect_to: &str,
) -> String {
    let path = config
        .url_paths
        .get(kind.url_path_key())
        .map(String::as_str)
        .unwrap_or("/auth/v1/verify");
    let base = if path.starts_with("http://") || path.starts_with("https://") {
        path.to_string()
    } else {
        format!("{}{}", external_url.trim_end_matches('/'), path)
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("token", token_hash);
    query.append_pair("type", link_type);
    if !redirect_to.is_empty() {
        query.append_pair("redirect_to", redirect_to);
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", query.finish())
}

/// Renders the message of `kind` for `to` with `body` as the body template.
pub(crate) fn render_with(
    config: &MailerConfig,
    kind: MailKind,
    to: &str,
    data: &MailData,
    body: &Template,
) -> Message {
    let link = action_link(
        config,
        kind,
        &data.external_url,
        &data.token_hash,
        kind.link_type(),
        &data.redirect_to,
    );
    let fields = [
        ("ConfirmationURL", link.as_str()),
        ("Token", data.token.as_str()),
        ("TokenHash", data.token_hash.as_str()),
        ("SiteURL", data.site_url.as_str()),
        ("Email", data.email.as_str()),
        ("NewEmail", data.new_email.as_str()),
        ("RedirectTo", data.redirect_to.as_str()),
        ("SendingTo", to),
    ];
    let vars = Vars {
        fields: &fields,
        data: &data.user_metadata,
    };
    let default_subject = || {
        Template::parse(kind.default_subject())
            .unwrap_or_else(|_| Template::text(kind.default_subject()))
    };
    let subject = match config.subjects.get(kind.key()) {
        None => default_subject(),
        Some(custom) => Template::parse(custom).unwrap_or_else(|e| {
            tracing::warn!(mail = kind.key(), error = %e,
                "auth: MAILER_SUBJECTS_* does not parse, using the default subject");
            default_subject()
        }),
    };
    Message {
        to: to.to_string(),
        subject: subject.render(&vars, Escape::None),
        html: body.render(&vars, Escape::Html),
    }
}

/// Renders mail with the configured templates and sends it through SMTP (or logs it when no
/// host is configured).
#[derive(Debug, Clone)]
pub struct Mailer {
    smtp: SmtpConfig,
    templates: Arc<TemplateCache>,
}

fn smtp_err(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("smtp: {e}"))
}

impl Mailer {
    /// A mailer for `smtp`.
    pub fn new(smtp: SmtpConfig) -> Self {
        Self {
            smtp,
            templates: Arc::new(TemplateCache::new()),
        }
    }

    /// Renders the message of `kind` for `to`, with the body template of `MAILER_TEMPLATES_*`
    /// when one is configured and can be fetched.
    pub async fn render(
        &self,
        config: &MailerConfig,
        kind: MailKind,
        to: &str,
        data: &MailData,
    ) -> Message {
        let body = self
            .templates
            .body(kind, config.templates.get(kind.key()))
            .await;
        render_with(config, kind, to, data, &body)
    }

    /// Delivers `msg`.
    pub async fn send(&self, msg: &Message) -> Result<()> {
        let Some(host) = self.smtp.host.as_deref() else {
            if let Some(dir) = &self.smtp.catcher_dir {
                return self.catch(dir, msg).await;
            }
            // The body holds sign-in links and codes: it is never logged.
            tracing::debug!(subject = %msg.subject, "auth: SMTP_HOST is not set, mail not sent");
            return Ok(());
        };
        tokio::time::timeout(Duration::from_secs(15), self.deliver(host, msg))
            .await
            .map_err(|_| smtp_err("timed out"))?
    }

    async fn deliver(&self, host: &str, msg: &Message) -> Result<()> {
        let stream = TcpStream::connect((host, self.smtp.port))
            .await
            .map_err(smtp_err)?;
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        expect(&mut read, 220).await?;
        let ehlo = command(&mut read, &mut write, "EHLO bucketbase", 250).await?;
        if let (Some(user), Some(pass)) = (self.smtp.user.as_deref(), self.smtp.pass.as_deref()) {
            let b64 = base64::engine::general_purpose::STANDARD;
            if ehlo.to_ascii_uppercase().contains("PLAIN") || !ehlo.contains("LOGIN") {
                let token = b64.encode(format!("\0{user}\0{pass}"));
                command(&mut read, &mut write, &format!("AUTH PLAIN {token}"), 235).await?;
            } else {
                command(&mut read, &mut write, "AUTH LOGIN", 334).await?;
                command(&mut read, &mut write, &b64.encode(user), 334).await?;
                command(&mut read, &mut write, &b64.encode(pass), 235).await?;
            }
        }
        let from = &self.smtp.admin_email;
        command(&mut read, &mut write, &format!("MAIL FROM:<{from}>"), 250).await?;
        command(&mut read, &mut write, &format!("RCPT TO:<{}>", msg.to), 250).await?;
        command(&mut read, &mut write, "DATA", 354).await?;
        let data = self.message_text(msg, true);
        write.write_all(data.as_bytes()).await.map_err(smtp_err)?;
        command(&mut read, &mut write, ".", 250).await?;
        let _ = command(&mut read, &mut write, "QUIT", 221).await;
        Ok(())
    }

    /// Keeps `msg` in the local mail catcher: one `.eml` file per mail, readable by this OS
    /// user only, since it holds sign-in links.
    async fn catch(&self, dir: &std::path::Path, msg: &Message) -> Result<()> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let name = format!(
            "{}-{}.eml",
            chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            uuid::Uuid::new_v4().simple()
        );
        let path = dir.join(name);
        let text = self.message_text(msg, false);
        let written = {
            let path = path.clone();
            let dir = dir.to_path_buf();
            tokio::task::spawn_blocking(move || {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(&dir)?;
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)?;
                std::io::Write::write_all(&mut file, text.as_bytes())
            })
            .await
            .map_err(|e| Error::internal(format!("mail catcher: {e}")))?
        };
        written.map_err(|e| Error::internal(format!("mail catcher {}: {e}", dir.display())))?;
        tracing::info!(subject = %msg.subject, file = %path.display(),
            "auth: mail kept in the local mail catcher");
        Ok(())
    }

    /// The message as RFC 5322 text; `dot_stuffed` for the SMTP `DATA` phase.
    fn message_text(&self, msg: &Message, dot_stuffed: bool) -> String {
        let from = match &self.smtp.sender_name {
            Some(name) => format!("\"{}\" <{}>", name.replace('"', ""), self.smtp.admin_email),
            None => self.smtp.admin_email.clone(),
        };
        let date = chrono::Utc::now().to_rfc2822();
        let id = uuid::Uuid::new_v4();
        let domain = self
            .smtp
            .admin_email
            .rsplit_once('@')
            .map_or("localhost", |(_, d)| d);
        let subject = encode_header(&msg.subject);
        let mut text = format!(
            "From: {from}\r\nTo: {}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@{domain}>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            msg.to
        );
        for line in msg.html.lines() {
            // Dot-stuffing (RFC 5321 §4.5.2).
            if dot_stuffed && line.starts_with('.') {
                text.push('.');
            }
            text.push_str(line);
            text.push_str("\r\n");
        }
        text
    }
}

fn encode_header(value: &str) -> String {
    if value.is_ascii() {
        value.replace(['\r', '\n'], " ")
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(value)
        )
    }
}

/// Reads one (possibly multi-line) reply and checks its code; returns the reply text.
async fn expect(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>, code: u16) -> Result<String> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        let n = read.read_line(&mut line).await.map_err(smtp_err)?;
        if n == 0 {
            return Err(smtp_err("connection closed"));
        }
        text.push_str(&line);
        // "250-..." continues, "250 ..." ends.
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            break;
        }
    }
    let got: u16 = text.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
    if got != code {
        return Err(smtp_err(format!(
            "expected {code}, server said {}",
            text.trim()
        )));
    }
    Ok(text)
}

async fn command(
    read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: &mut tokio::net::tcp::OwnedWriteHalf,
    line: &str,
    code: u16,
) -> Result<String> {
    write
        .write_all(format!("{line}\r\n").as_bytes())
        .await
        .map_err(smtp_err)?;
    expect(read, code).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The message of `kind` with the built-in body.
    fn render(config: &MailerConfig, kind: MailKind, to: &str, data: &MailData) -> Message {
        render_with(config, kind, to, data, &kind.default_template())
    }
    use std::collections::HashMap;

    fn mailer_config() -> MailerConfig {
        MailerConfig {
            autoconfirm: false,
            secure_email_change: true,
            otp_exp: Duration::from_secs(3600),
            otp_length: 6,
            url_paths: HashMap::from([("confirmation", "/auth/v1/verify".to_string())]),
            subjects: HashMap::new(),
            templates: HashMap::new(),
        }
    }

    #[test]
    fn built_in_templates_parse() {
        for kind in MailKind::ALL {
            assert_eq!(MailKind::ALL[kind.index()], kind);
            assert!(Template::parse(kind.default_body()).is_ok(), "{kind:?}");
            assert!(Template::parse(kind.default_subject()).is_ok(), "{kind:?}");
        }
    }

    #[test]
    fn renders_confirmation_with_link_and_code() {
        let m = render(
            &mailer_config(),
            MailKind::Confirmation,
            "a@b.test",
            &MailData {
                token: "123456".into(),
                token_hash: "abc".into(),
                redirect_to: "http://localhost:3000/x".into(),
                external_url: "http://127.0.0.1:54321".into(),
                ..Default::default()
            },
        );
        assert_eq!(m.subject, "Confirm your email address");
        // Escaped as html/template escapes an href: `&` becomes `&amp;`.
        assert!(m.html.contains(
            "href=\"http://127.0.0.1:54321/auth/v1/verify?token=abc&amp;type=signup&amp;redirect_to=http%3A%2F%2Flocalhost%3A3000%2Fx\""
        ), "{}", m.html);
        assert!(m.html.contains("123456"));
    }

    #[test]
    fn renders_custom_bodies_and_subjects_with_metadata() {
        let mut config = mailer_config();
        config.subjects.insert(
            "email_change",
            "{{ .Data.name }}, confirm {{ .NewEmail }}".to_string(),
        );
        let data = MailData {
            email: "old@b.test".into(),
            new_email: "new@b.test".into(),
            token: "654321".into(),
            token_hash: "h".into(),
            external_url: "http://127.0.0.1:54321".into(),
            user_metadata: serde_json::json!({"name": "<script>x</script> O'Hara"}),
            ..Default::default()
        };
        let body = Template::parse(
            "<p>Hi {{ .Data.name }}</p>{{ if .NewEmail }}<p>to {{ .SendingTo }}</p>{{ end }}<a href=\"{{ .ConfirmationURL }}\">go</a>",
        )
        .expect("parses");
        let m = render_with(&config, MailKind::EmailChange, "new@b.test", &data, &body);
        // Subjects are plain text: nothing escaped.
        assert_eq!(m.subject, "<script>x</script> O'Hara, confirm new@b.test");
        assert_eq!(
            m.html,
            "<p>Hi &lt;script&gt;x&lt;/script&gt; O&#39;Hara</p><p>to new@b.test</p><a href=\"http://127.0.0.1:54321/auth/v1/verify?token=h&amp;type=email_change\">go</a>"
        );
    }

    #[test]
    fn a_broken_subject_falls_back_to_the_default() {
        let mut config = mailer_config();
        config
            .subjects
            .insert("reauthentication", "{{ if .Token }}oops".to_string());
        let m = render(
            &config,
            MailKind::Reauthentication,
            "a@b.test",
            &MailData {
                token: "111222".into(),
                ..Default::default()
            },
        );
        assert_eq!(m.subject, "111222 is your verification code");
    }
}
