//! Where NATS is and who connects: the settings every process that touches the event store
//! shares, including the TLS files when the server requires TLS.

use std::fmt;
use std::path::{Path, PathBuf};

use async_nats::ConnectErrorKind;
use secrecy::{ExposeSecret, SecretString};

/// A password for a server connection: never printed (`Debug` shows `<redacted>`).
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(SecretString::from(password.into()))
    }

    /// The password itself, for the connection that sends it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for Password {}

/// The files of a TLS connection to NATS. Only paths: the key itself is read by the
/// connection, never held here or printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NatsTls {
    /// `NATS_TLS_CA`: the PEM file of the certificate authority that signed the servers'
    /// certificates, trusted instead of the system's authorities.
    pub ca: Option<PathBuf>,
    /// `NATS_TLS_CERT`: this client's certificate (PEM), for a server that verifies clients
    /// (mutual TLS).
    pub cert: Option<PathBuf>,
    /// `NATS_TLS_KEY`: the private key of [`Self::cert`] (PEM).
    pub key: Option<PathBuf>,
}

impl NatsTls {
    /// Whether any TLS file is given: the connection then requires TLS.
    pub fn is_set(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }

    /// Why these files cannot be used, if they cannot: a certificate without its key or the
    /// other way round, or a file that cannot be read. Names the setting and the path only.
    ///
    /// # Errors
    /// As described.
    pub fn check(&self) -> Result<(), String> {
        match (&self.cert, &self.key) {
            (Some(_), None) => return Err("NATS_TLS_CERT is set without NATS_TLS_KEY".to_owned()),
            (None, Some(_)) => return Err("NATS_TLS_KEY is set without NATS_TLS_CERT".to_owned()),
            _ => {}
        }
        for (name, path) in
            [("NATS_TLS_CA", &self.ca), ("NATS_TLS_CERT", &self.cert), ("NATS_TLS_KEY", &self.key)]
        {
            if let Some(path) = path {
                readable(path).map_err(|e| format!("{name}: cannot read {}: {e}", path.display()))?;
            }
        }
        Ok(())
    }
}

/// Whether `path` is a file this process can open.
fn readable(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?
        .metadata()
        .and_then(|m| if m.is_file() { Ok(()) } else { Err(std::io::Error::other("not a file")) })
}

/// How to reach NATS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSettings {
    /// `NATS_URL`: one server URL, or several comma separated (the nodes of a cluster, so a
    /// process can start while one is down). Once connected, clients also learn the
    /// cluster's other nodes from the server and reconnect to any of them. Credentials never
    /// go here (see [`NatsSettings::check`]).
    pub url: String,
    /// `NATS_USER`: the user to connect as, if the server requires one.
    pub user: Option<String>,
    /// `NATS_PASSWORD`: that user's password.
    pub password: Option<Password>,
    /// The TLS files, if the connection uses TLS with a private authority or a client
    /// certificate. A `tls://` URL requires TLS too, trusting the system's authorities.
    pub tls: NatsTls,
}

/// Why a connection to NATS failed, with the settings to check: the client's own message
/// (it never includes a password), plus a hint naming the settings for the causes an operator
/// fixes in the configuration (TLS, credentials).
#[derive(Debug, thiserror::Error)]
#[error("{error}{hint}")]
pub struct NatsConnectError {
    // Not the error's source: its message is already in this one's.
    error: async_nats::ConnectError,
    hint: &'static str,
}

impl NatsConnectError {
    fn new(error: async_nats::ConnectError, settings: &NatsSettings) -> Self {
        let tls = &settings.tls;
        let hint = match error.kind() {
            _ if !is_tls(&error) => match error.kind() {
                ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => {
                    " (check NATS_USER and NATS_PASSWORD)"
                }
                _ => "",
            },
            _ if tls.ca.is_none() => {
                " (TLS: the server's certificate is not trusted; set NATS_TLS_CA to the file of \
                 the authority that signed it)"
            }
            _ if tls.cert.is_none() => {
                " (TLS: check NATS_TLS_CA and that the server offers TLS; a server that verifies \
                 clients also needs NATS_TLS_CERT and NATS_TLS_KEY)"
            }
            _ => " (TLS: check NATS_TLS_CA, NATS_TLS_CERT and NATS_TLS_KEY, and that the server offers TLS)",
        };
        Self { error, hint }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ConnectErrorKind {
        self.error.kind()
    }

    /// The client's error.
    pub fn error(&self) -> &async_nats::ConnectError {
        &self.error
    }
}

/// Whether `error` comes from TLS: its kind says so, or a handshake failed (the client reports
/// those as input/output errors carrying rustls's).
fn is_tls(error: &async_nats::ConnectError) -> bool {
    if error.kind() == ConnectErrorKind::Tls {
        return true;
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(e) = cause {
        if e.is::<async_nats::rustls::Error>()
            || e.downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .is_some_and(|inner| inner.is::<async_nats::rustls::Error>())
        {
            return true;
        }
        cause = e.source();
    }
    false
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self::at("nats://127.0.0.1:4222")
    }
}

impl NatsSettings {
    /// Settings for `url` without credentials.
    pub fn at(url: impl Into<String>) -> Self {
        Self { url: url.into(), user: None, password: None, tls: NatsTls::default() }
    }

    /// The same servers, connecting as `user` with `password`.
    #[must_use]
    pub fn with_user(self, user: impl Into<String>, password: Password) -> Self {
        Self { user: Some(user.into()), password: Some(password), ..self }
    }

    /// The server URLs in [`Self::url`], blanks dropped.
    pub fn servers(&self) -> Vec<&str> {
        self.url.split(',').map(str::trim).filter(|url| !url.is_empty()).collect()
    }

    /// Why these settings cannot be used, if they cannot. The reason never includes a
    /// password.
    ///
    /// # Errors
    /// When the URL names no server, or one that is not a NATS URL, or carries credentials
    /// (the client would ignore them, and a URL gets printed: they go in `NATS_USER` and
    /// `NATS_PASSWORD`); when a password is given without a user or a user without one; when
    /// the TLS files cannot be used ([`NatsTls::check`]).
    pub fn check(&self) -> Result<(), String> {
        let servers = self.servers();
        if servers.is_empty() {
            return Err("name at least one server, e.g. nats://127.0.0.1:4222".to_owned());
        }
        for server in servers {
            let address = server
                .parse::<async_nats::ServerAddr>()
                .map_err(|e| format!("{}: {e}", without_userinfo(server)))?;
            if address.has_user_pass() || address.password().is_some() {
                return Err(format!(
                    "{}: put credentials in NATS_USER and NATS_PASSWORD, not in the URL",
                    without_userinfo(server)
                ));
            }
        }
        match (&self.user, &self.password) {
            (Some(_), None) => return Err("NATS_USER is set without NATS_PASSWORD".to_owned()),
            (None, Some(_)) => return Err("NATS_PASSWORD is set without NATS_USER".to_owned()),
            _ => {}
        }
        self.tls.check()
    }

    /// Connects, naming the connection `name` (as the server's monitoring shows it).
    ///
    /// # Errors
    /// When no server answers, it refuses the credentials, or TLS fails; the error names the
    /// settings to check.
    pub async fn connect(&self, name: &str) -> Result<async_nats::Client, NatsConnectError> {
        self.options().name(name).connect(self.servers()).await.map_err(|e| NatsConnectError::new(e, self))
    }

    /// Connection options carrying the credentials and TLS files, if any. With a TLS file
    /// the connection requires TLS, so a server without it is refused rather than sent the
    /// credentials in the clear.
    pub fn options(&self) -> async_nats::ConnectOptions {
        let mut options = match (&self.user, &self.password) {
            (Some(user), Some(password)) => {
                async_nats::ConnectOptions::with_user_and_password(user.clone(), password.expose().to_owned())
            }
            _ => async_nats::ConnectOptions::new(),
        };
        if let Some(ca) = &self.tls.ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let (Some(cert), Some(key)) = (&self.tls.cert, &self.tls.key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        options.require_tls(self.tls.is_set())
    }
}

/// `server` with anything before an `@` in its authority replaced, for messages.
fn without_userinfo(server: &str) -> String {
    let (scheme, rest) = server.split_once("://").unwrap_or(("", server));
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://<credentials>@{}", &rest[at + 1..]),
        None => server.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_may_list_several_servers() {
        let settings = NatsSettings::at("nats://a:4222, nats://b:4222,,nats://c:4222");
        assert_eq!(settings.servers(), ["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
        assert_eq!(NatsSettings::default().servers(), ["nats://127.0.0.1:4222"]);
        assert!(settings.check().is_ok());
    }

    #[test]
    fn a_url_without_a_server_or_of_another_scheme_is_refused() {
        for url in [" , ", "", "nats://127.0.0.1:4222,http://127.0.0.1:4223"] {
            assert!(NatsSettings::at(url).check().is_err(), "{url:?}");
        }
    }

    #[test]
    fn credentials_in_the_url_are_refused_without_repeating_them() {
        for url in [
            "nats://api:hunter2@nats:4222",
            "nats://nats:4222,nats://hunter2@b:4222",
            "nats://:hunter2@nats:4222",
        ] {
            let why = NatsSettings::at(url).check().expect_err(url);
            assert!(why.contains("NATS_PASSWORD") && !why.contains("hunter2"), "{why}");
        }
    }

    #[test]
    fn a_user_needs_a_password_and_the_password_never_prints() {
        let settings = NatsSettings::at("nats://nats:4222").with_user("api", Password::new("hunter2"));
        assert!(settings.check().is_ok());
        assert!(!format!("{settings:?}").contains("hunter2"));
        let no_password = NatsSettings { user: Some("api".to_owned()), ..NatsSettings::default() };
        assert!(no_password.check().is_err());
        let no_user = NatsSettings { password: Some(Password::new("x")), ..NatsSettings::default() };
        assert!(no_user.check().is_err());
    }
}
