//! Outgoing mail, as GoTrue's template mailer (`internal/mailer/templatemailer`) sends it: one
//! HTML message per action (confirmation, invite, recovery, magic link, email change,
//! reauthentication) with GoTrue's default subjects, a `{{ .ConfirmationURL }}` of the form
//! `{external}{MAILER_URLPATHS_*}?token=<token hash>&type=<type>&redirect_to=<url>`, and the
//! one-time code `{{ .Token }}`. Delivery is a minimal SMTP client over a plain TCP connection
//! (EHLO, AUTH PLAIN/LOGIN when a user is configured, MAIL FROM, RCPT TO, DATA); without
//! `SMTP_HOST` the message is only logged.

use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::config::{MailerConfig, SmtpConfig};
use crate::error::{Error, Result};

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
    fn key(self) -> &'static str {
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

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim().trim_start_matches('.');
        match vars.iter().find(|(k, _)| *k == name) {
            Some((_, v)) => out.push_str(v),
            None => {
                out.push_str(&rest[start..start + 2 + end + 2]);
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// The verification link of a mail (GoTrue's `getPath` resolved against the external URL).
pub fn action_link(
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

/// Renders the message of `kind` for `to`.
pub fn render(config: &MailerConfig, kind: MailKind, to: &str, data: &MailData) -> Message {
    let link = action_link(
        config,
        kind,
        &data.external_url,
        &data.token_hash,
        kind.link_type(),
        &data.redirect_to,
    );
    let vars = [
        ("ConfirmationURL", link.as_str()),
        ("Token", data.token.as_str()),
        ("TokenHash", data.token_hash.as_str()),
        ("SiteURL", data.site_url.as_str()),
        ("Email", data.email.as_str()),
        ("NewEmail", data.new_email.as_str()),
        ("RedirectTo", data.redirect_to.as_str()),
        ("SendingTo", to),
    ];
    let subject = config
        .subjects
        .get(kind.key())
        .map(String::as_str)
        .unwrap_or(kind.default_subject());
    Message {
        to: to.to_string(),
        subject: fill(subject, &vars),
        html: fill(kind.default_body(), &vars),
    }
}

/// Sends mail through SMTP (or logs it when no host is configured).
#[derive(Debug, Clone)]
pub struct Mailer {
    smtp: SmtpConfig,
}

fn smtp_err(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("smtp: {e}"))
}

impl Mailer {
    /// A mailer for `smtp`.
    pub fn new(smtp: SmtpConfig) -> Self {
        Self { smtp }
    }

    /// Delivers `msg`.
    pub async fn send(&self, msg: &Message) -> Result<()> {
        let Some(host) = self.smtp.host.as_deref() else {
            tracing::info!(to = %msg.to, subject = %msg.subject, body = %msg.html,
                "auth: SMTP_HOST is not set, mail not sent");
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
        let data = self.message_text(msg);
        write.write_all(data.as_bytes()).await.map_err(smtp_err)?;
        command(&mut read, &mut write, ".", 250).await?;
        let _ = command(&mut read, &mut write, "QUIT", 221).await;
        Ok(())
    }

    fn message_text(&self, msg: &Message) -> String {
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
            if line.starts_with('.') {
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
    use std::collections::HashMap;

    fn mailer_config() -> MailerConfig {
        MailerConfig {
            autoconfirm: false,
            secure_email_change: true,
            otp_exp: Duration::from_secs(3600),
            otp_length: 6,
            url_paths: HashMap::from([("confirmation", "/auth/v1/verify".to_string())]),
            subjects: HashMap::new(),
        }
    }

    #[test]
    fn fills_templates() {
        assert_eq!(
            fill(
                "a {{ .Token }} b {{.Email}} {{ .Unknown }}",
                &[("Token", "1"), ("Email", "e")]
            ),
            "a 1 b e {{ .Unknown }}"
        );
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
        assert!(m.html.contains(
            "http://127.0.0.1:54321/auth/v1/verify?token=abc&type=signup&redirect_to=http%3A%2F%2Flocalhost%3A3000%2Fx"
        ));
        assert!(m.html.contains("123456"));
    }
}
