//! Redirect targets, as GoTrue's `utilities.IsRedirectURLValid` / `GetReferrer`: a `redirect_to`
//! is used when it points at `SITE_URL` (same scheme and host, same port unless loopback) or
//! matches a pattern of the allow list (`URI_ALLOW_LIST` / `ADDITIONAL_REDIRECT_URLS`, globs
//! with `.` and `/` as separators: `*` stays inside one segment, `**` crosses them, `?` is one
//! character); otherwise `SITE_URL` is used.

use url::Url;

/// Checks redirect URLs against the site URL and the allow list.
#[derive(Debug, Clone)]
pub struct RedirectPolicy {
    site_url: String,
    patterns: Vec<Vec<Token>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(char),
    /// `?`
    One,
    /// `*`: anything but a separator.
    Segment,
    /// `**`: anything.
    Any,
}

fn compile(pattern: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push(Token::Any);
            }
            '*' => out.push(Token::Segment),
            '?' => out.push(Token::One),
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(Token::Literal(n));
                }
            }
            c => out.push(Token::Literal(c)),
        }
    }
    out
}

fn is_separator(c: char) -> bool {
    c == '.' || c == '/'
}

fn matches(tokens: &[Token], text: &[char]) -> bool {
    // Iterative matching with memo on (token, position).
    let (n, m) = (tokens.len(), text.len());
    let mut reach = vec![vec![false; m + 1]; n + 1];
    reach[0][0] = true;
    for i in 0..n {
        for j in 0..=m {
            if !reach[i][j] {
                continue;
            }
            match &tokens[i] {
                Token::Literal(c) => {
                    if j < m && text[j] == *c {
                        reach[i + 1][j + 1] = true;
                    }
                }
                Token::One => {
                    if j < m && !is_separator(text[j]) {
                        reach[i + 1][j + 1] = true;
                    }
                }
                Token::Segment => {
                    reach[i + 1][j] = true;
                    let mut k = j;
                    while k < m && !is_separator(text[k]) {
                        k += 1;
                        reach[i + 1][k] = true;
                    }
                }
                Token::Any => {
                    for r in reach[i + 1].iter_mut().skip(j) {
                        *r = true;
                    }
                }
            }
        }
    }
    reach[n][m]
}

fn is_localhost(host: &str) -> bool {
    matches!(
        host.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "::1" | "[::1]" | "0.0.0.0" | "::"
    )
}

impl RedirectPolicy {
    /// A policy for `site_url` and the allow-list patterns.
    pub fn new(site_url: &str, allow_list: &[String]) -> Self {
        Self {
            site_url: site_url.to_string(),
            patterns: allow_list.iter().map(|p| compile(p)).collect(),
        }
    }

    /// The site URL (the fallback target).
    pub fn site_url(&self) -> &str {
        &self.site_url
    }

    /// True when `redirect` may be redirected to.
    pub fn is_valid(&self, redirect: &str) -> bool {
        if redirect.is_empty() {
            return false;
        }
        let (Ok(base), Ok(target)) = (Url::parse(&self.site_url), Url::parse(redirect)) else {
            return false;
        };
        let host = target.host_str().unwrap_or("");
        if base.host_str() == target.host_str()
            && base.scheme() == target.scheme()
            && (base.port_or_known_default() == target.port_or_known_default()
                || is_localhost(host))
        {
            return true;
        }
        let http = matches!(target.scheme(), "http" | "https");
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        // The URL parser normalizes `http://2130706433/` to 127.0.0.1; GoTrue refuses the raw
        // decimal form, so look at the host as written.
        let raw_host = redirect
            .split_once("://")
            .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(""))
            .map(|h| h.rsplit_once('@').map_or(h, |(_, h)| h))
            .map(|h| h.rsplit_once(':').map_or(h, |(h, _)| h))
            .unwrap_or("");
        if !raw_host.is_empty() && raw_host.chars().all(|c| c.is_ascii_digit()) {
            // An IP address in decimal form.
            return false;
        }
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            return ip.is_loopback();
        }
        if http
            && !(host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                && !host.starts_with(['.', '-'])
                && !host.ends_with(['.', '-']))
        {
            return false;
        }
        let without_fragment: Vec<char> = redirect
            .split_once('#')
            .map_or(redirect, |(a, _)| a)
            .chars()
            .collect();
        self.patterns.iter().any(|p| matches(p, &without_fragment))
    }

    /// `redirect` when valid, else the site URL (GoTrue's `GetReferrer`).
    pub fn resolve(&self, redirect: Option<&str>) -> String {
        match redirect {
            Some(r) if self.is_valid(r) => r.to_string(),
            _ => self.site_url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RedirectPolicy {
        RedirectPolicy::new(
            "https://app.example.com",
            &[
                "https://*.preview.example.com/**".into(),
                "myapp://callback".into(),
                "http://localhost:3000/*".into(),
            ],
        )
    }

    #[test]
    fn site_url_and_its_paths_are_allowed() {
        let p = policy();
        assert!(p.is_valid("https://app.example.com/welcome?x=1"));
        assert!(!p.is_valid("http://app.example.com/welcome"));
        assert!(!p.is_valid("https://app.example.com:8443/"));
    }

    #[test]
    fn globs_follow_gobwas_separators() {
        let p = policy();
        assert!(p.is_valid("https://pr-12.preview.example.com/a/b/c"));
        assert!(!p.is_valid("https://evil.com/.preview.example.com/a"));
        assert!(!p.is_valid("https://a.b.preview.example.com/x"));
        assert!(p.is_valid("myapp://callback"));
        assert!(p.is_valid("http://localhost:3000/cb#frag"));
        assert!(!p.is_valid("http://localhost:3000/a/b"));
    }

    #[test]
    fn foreign_hosts_fall_back_to_the_site() {
        let p = policy();
        assert!(!p.is_valid("https://evil.example.org/steal"));
        assert_eq!(
            p.resolve(Some("https://evil.example.org/")),
            "https://app.example.com"
        );
        assert!(!p.is_valid("http://2130706433/"));
        assert!(p.is_valid("http://127.0.0.1:9999/cb"));
    }
}
