//! Admin tokens: who may use the console (`/admin`, `/api/admin/*`).
//!
//! An admin token is 256 random bits, like an edit token, and only its SHA-256 is configured:
//! `ADMIN_TOKEN_HASH` lists `name:hash` pairs, comma separated (a bare hash is named
//! `admin`). The name is who every admin action is recorded as. `valentine admin-token
//! --name <name>` prints a new token and the pair to add.

use std::fmt;

use valentine_domain::{EditToken, EditTokenHash};

/// The most characters of an admin's name.
const NAME_MAX: usize = 32;

/// The admins of this server, by the hashes of their tokens; empty turns the console off.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AdminTokens {
    admins: Vec<(String, EditTokenHash)>,
}

/// A new admin token and the `ADMIN_TOKEN_HASH` entry that admits it.
#[derive(Debug)]
pub struct IssuedAdminToken {
    /// The token, shown once.
    pub token: EditToken,
    /// `name:sha256hex`.
    pub entry: String,
}

impl AdminTokens {
    /// Parses `ADMIN_TOKEN_HASH`: `name:hash` pairs (or bare hashes), comma separated; blank
    /// is none.
    ///
    /// # Errors
    /// When an entry's hash is not 64 hex digits, a name is malformed, or a name repeats.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut admins: Vec<(String, EditTokenHash)> = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, hash) = entry.rsplit_once(':').unwrap_or(("admin", entry));
            let name = name.trim();
            if !valid_name(name) {
                return Err(format!("admin name {name:?} must be 1–{NAME_MAX} of a–z, 0–9, '.', '_' or '-'"));
            }
            let hash = EditTokenHash::from_hex(hash.trim())
                .map_err(|_| format!("the hash for {name:?} must be 64 hex digits (SHA-256)"))?;
            if admins.iter().any(|(known, _)| known == name) {
                return Err(format!("admin name {name:?} appears twice"));
            }
            admins.push((name.to_owned(), hash));
        }
        Ok(Self { admins })
    }

    /// Whether no admin is configured.
    pub fn is_empty(&self) -> bool {
        self.admins.is_empty()
    }

    /// The name of the admin whose token `presented` is, if any. Every hash is compared, in
    /// constant time each, so the answer takes as long whoever asks.
    pub fn admin(&self, presented: &str) -> Option<&str> {
        let token = EditToken::presented(presented);
        self.admins.iter().fold(None, |found, (name, hash)| {
            let matches = hash.matches(&token);
            found.or(matches.then_some(name.as_str()))
        })
    }

    /// A fresh token for `name` and its entry.
    ///
    /// # Errors
    /// When the name is malformed or the random source fails.
    pub fn issue(name: &str) -> Result<IssuedAdminToken, String> {
        if !valid_name(name) {
            return Err(format!("admin name {name:?} must be 1–{NAME_MAX} of a–z, 0–9, '.', '_' or '-'"));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
        let token = EditToken::from_random_bytes(bytes);
        let entry = format!("{name}:{}", token.hash().to_hex());
        Ok(IssuedAdminToken { token, entry })
    }
}

fn valid_name(name: &str) -> bool {
    (1..=NAME_MAX).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

impl fmt::Debug for AdminTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: hashes of tokens stay out of logs too.
        f.debug_list().entries(self.admins.iter().map(|(name, _)| name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_is_admitted_by_its_entry_under_its_name_only() {
        let ana = AdminTokens::issue("ana").expect("issued");
        let bo = AdminTokens::issue("bo").expect("issued");
        let tokens = AdminTokens::parse(&format!("{}, {}", ana.entry, bo.entry)).expect("parses");
        assert_eq!(tokens.admin(ana.token.expose()), Some("ana"));
        assert_eq!(tokens.admin(bo.token.expose()), Some("bo"));
        assert_eq!(tokens.admin("not-a-token"), None);
        assert_eq!(tokens.admin(""), None);
        assert!(!format!("{tokens:?}").contains(&ana.entry[4..]), "no hash in Debug: {tokens:?}");
    }

    #[test]
    fn a_bare_hash_is_named_admin_and_blank_is_none() {
        let issued = AdminTokens::issue("x").expect("issued");
        let bare = issued.entry.trim_start_matches("x:");
        let tokens = AdminTokens::parse(bare).expect("parses");
        assert_eq!(tokens.admin(issued.token.expose()), Some("admin"));
        assert!(AdminTokens::parse(" , ").expect("parses").is_empty());
    }

    #[test]
    fn malformed_entries_are_refused_with_a_reason() {
        assert!(AdminTokens::parse("ana:abc").expect_err("short").contains("64 hex digits"));
        let hash = "a".repeat(64);
        assert!(AdminTokens::parse(&format!("Ana:{hash}")).expect_err("caps").contains("admin name"));
        assert!(AdminTokens::parse(&format!("ana:{hash},ana:{hash}")).expect_err("twice").contains("twice"));
        assert!(AdminTokens::issue("").is_err());
    }
}
