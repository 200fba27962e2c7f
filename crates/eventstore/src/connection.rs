//! Where NATS is: the one setting every process that touches the event store shares.

/// How to reach NATS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsSettings {
    /// `NATS_URL`: one server URL, or several comma separated (the nodes of a cluster, so a
    /// process can start while one is down). Once connected, clients also learn the
    /// cluster's other nodes from the server and reconnect to any of them.
    pub url: String,
}

impl Default for NatsSettings {
    fn default() -> Self {
        Self { url: "nats://127.0.0.1:4222".to_owned() }
    }
}

impl NatsSettings {
    /// The server URLs in [`Self::url`], blanks dropped.
    pub fn servers(&self) -> Vec<&str> {
        self.url.split(',').map(str::trim).filter(|url| !url.is_empty()).collect()
    }

    /// Why [`Self::url`] cannot be used, if it cannot.
    ///
    /// # Errors
    /// When it names no server, or one that is not a NATS URL.
    pub fn check(&self) -> Result<(), String> {
        let servers = self.servers();
        if servers.is_empty() {
            return Err("name at least one server, e.g. nats://127.0.0.1:4222".to_owned());
        }
        for server in servers {
            server.parse::<async_nats::ServerAddr>().map_err(|e| format!("{server}: {e}"))?;
        }
        Ok(())
    }

    /// Connects, naming the connection `name` (as the server's monitoring shows it).
    ///
    /// # Errors
    /// When no server answers.
    pub async fn connect(&self, name: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
        async_nats::ConnectOptions::new().name(name).connect(self.servers()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_may_list_several_servers() {
        let settings = NatsSettings { url: "nats://a:4222, nats://b:4222,,nats://c:4222".to_owned() };
        assert_eq!(settings.servers(), ["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
        assert_eq!(NatsSettings::default().servers(), ["nats://127.0.0.1:4222"]);
        assert!(settings.check().is_ok());
    }

    #[test]
    fn a_url_without_a_server_or_of_another_scheme_is_refused() {
        for url in [" , ", "", "nats://127.0.0.1:4222,http://127.0.0.1:4223"] {
            assert!(NatsSettings { url: url.to_owned() }.check().is_err(), "{url:?}");
        }
    }
}
