//! A song for the page: a link to one track, album or playlist on a service the page can
//! embed (Spotify, YouTube, Apple Music, SoundCloud). Links are checked against each
//! service's host and path shapes, never fetched, and stored in one canonical form; the
//! embed address is derived from it, so the page frames only the four embed hosts.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::content::{Field, Violation};

/// Longest song link, in characters.
pub const SONG_URL_MAX: usize = 300;

/// Every link a page takes, as a regular expression that reads the same in ECMAScript (the
/// API's JSON Schema states it) and in Rust: a blank one, or a link of one of the services'
/// shapes with whatever query or fragment follows. The services' finer rules (which query
/// parameter names the video) are read from the link once it matches.
pub const SONG_URL_PATTERN: &str = concat!(
    r"^[ \t\r\n]*(https?://(",
    r"open\.spotify\.com/(intl-[a-z]{2}(-[A-Za-z]{2})?/)?(track|album|playlist|episode)/[A-Za-z0-9]{22}",
    r"|((www|m|music)\.)?youtube\.com/watch\?v=[A-Za-z0-9_-]{11}",
    r"|((www|m)\.)?youtube\.com/(shorts|embed|live)/[A-Za-z0-9_-]{11}",
    r"|youtu\.be/[A-Za-z0-9_-]{11}",
    r"|music\.apple\.com/[a-z]{2}/((album|song)/([A-Za-z0-9._~%-]{1,200}/)?[0-9]{1,20}",
    r"|playlist/([A-Za-z0-9._~%-]{1,200}/)?pl\.[A-Za-z0-9-]{1,57})",
    r"|((www|m)\.)?soundcloud\.com/[A-Za-z0-9_-]{1,100}/(sets/)?[A-Za-z0-9_-]{1,100}",
    r")([?&#][A-Za-z0-9_.~%=&+#?-]{0,200})?)?[ \t\r\n]*$",
);

static SONG_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(SONG_URL_PATTERN).unwrap_or_else(|e| unreachable!("the pattern is valid: {e}"))
});

/// The hosts a page may frame for a song, one per service.
pub const EMBED_HOSTS: [&str; 4] =
    ["open.spotify.com", "www.youtube-nocookie.com", "embed.music.apple.com", "w.soundcloud.com"];

/// A service the page can play a song from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// open.spotify.com
    Spotify,
    /// youtube.com, youtu.be, music.youtube.com
    Youtube,
    /// music.apple.com
    AppleMusic,
    /// soundcloud.com
    Soundcloud,
}

impl Service {
    /// Its name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Spotify => "spotify",
            Self::Youtube => "youtube",
            Self::AppleMusic => "apple_music",
            Self::Soundcloud => "soundcloud",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A recognised song link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SongLink {
    /// The link in canonical form (https, the service's main host, only what names the song).
    pub url: String,
    /// Whose it is.
    pub service: Service,
    /// Where its player lives, on one of [`EMBED_HOSTS`].
    pub embed_url: String,
}

/// The song link in `raw` after trimming; `None` when blank (no song).
///
/// # Errors
/// [`Violation::TooLong`] past [`SONG_URL_MAX`] characters, [`Violation::BadSong`] for
/// anything that is not a link to a song on one of the four services.
pub fn song_url(raw: &str) -> Result<Option<SongLink>, Violation> {
    if raw.chars().nth(SONG_URL_MAX).is_some() {
        return Err(Violation::TooLong { field: Field::SongUrl, max: SONG_URL_MAX });
    }
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if !SONG_URL.is_match(raw) {
        return Err(Violation::BadSong);
    }
    recognise(value).map(Some).ok_or(Violation::BadSong)
}

/// The song of a stored canonical link (`None` if it is not one: stored links always are).
pub fn stored(url: &str) -> Option<SongLink> {
    recognise(url)
}

/// A link split into what the services' shapes are checked on.
struct Parts<'a> {
    host: String,
    segments: Vec<&'a str>,
    query: &'a str,
}

impl<'a> Parts<'a> {
    fn of(link: &'a str) -> Option<Self> {
        let scheme_end = link.find("://")?;
        if !matches!(link[..scheme_end].to_ascii_lowercase().as_str(), "https" | "http") {
            return None;
        }
        let rest = &link[scheme_end + 3..];
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        // No user, no port, no odd characters: only a plain host name.
        if authority.is_empty()
            || !authority.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return None;
        }
        let host = authority.trim_end_matches('.').to_ascii_lowercase();
        let (path, query) = match tail.find(['?', '&']) {
            Some(at) => (&tail[..at], &tail[at + 1..]),
            None => (tail, ""),
        };
        if path.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'\\') {
            return None;
        }
        let segments = path.split('/').filter(|s| !s.is_empty()).collect();
        Some(Self { host, segments, query })
    }

    /// The value of query parameter `name`, if it occurs once or more (the first), up to the
    /// next `&`, `?` or `#`.
    fn param(&self, name: &str) -> Option<&'a str> {
        self.query
            .split(['&', '?'])
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .map(|value| value.split(['&', '?', '#']).next().unwrap_or(value))
    }
}

fn recognise(link: &str) -> Option<SongLink> {
    let parts = Parts::of(link)?;
    match parts.host.as_str() {
        "open.spotify.com" => spotify(&parts),
        "youtube.com" | "www.youtube.com" | "m.youtube.com" | "music.youtube.com" => {
            let id = match parts.segments.as_slice() {
                ["watch"] => parts.param("v")?,
                ["shorts" | "embed" | "live", id] => id,
                _ => return None,
            };
            youtube(id)
        }
        "youtu.be" => match parts.segments.as_slice() {
            [id] => youtube(id),
            _ => None,
        },
        "music.apple.com" => apple_music(&parts),
        "soundcloud.com" | "www.soundcloud.com" | "m.soundcloud.com" => soundcloud(&parts),
        _ => None,
    }
}

fn all(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(ok)
}

fn spotify(parts: &Parts<'_>) -> Option<SongLink> {
    let segments = match parts.segments.as_slice() {
        [intl, rest @ ..] if intl.starts_with("intl-") && intl.len() <= 10 => rest,
        all_segments => all_segments,
    };
    let [kind @ ("track" | "album" | "playlist" | "episode"), id] = segments else { return None };
    if id.len() != 22 || !all(id, |b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some(SongLink {
        url: format!("https://open.spotify.com/{kind}/{id}"),
        service: Service::Spotify,
        embed_url: format!("https://open.spotify.com/embed/{kind}/{id}"),
    })
}

fn youtube(id: &str) -> Option<SongLink> {
    if id.len() != 11 || !all(id, |b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return None;
    }
    Some(SongLink {
        url: format!("https://www.youtube.com/watch?v={id}"),
        service: Service::Youtube,
        embed_url: format!("https://www.youtube-nocookie.com/embed/{id}"),
    })
}

fn apple_music(parts: &Parts<'_>) -> Option<SongLink> {
    let (country, kind, name, id) = match parts.segments.as_slice() {
        [country, kind, name, id] => (*country, *kind, Some(*name), *id),
        [country, kind, id] => (*country, *kind, None, *id),
        _ => return None,
    };
    if country.len() != 2 || !all(country, |b| b.is_ascii_lowercase()) {
        return None;
    }
    let id_ok = match kind {
        "album" | "song" => !id.is_empty() && id.len() <= 20 && all(id, |b| b.is_ascii_digit()),
        "playlist" => {
            id.strip_prefix("pl.")
                .is_some_and(|rest| !rest.is_empty() && all(rest, |b| b.is_ascii_alphanumeric() || b == b'-'))
                && id.len() <= 60
        }
        _ => false,
    };
    let name_ok = name.is_none_or(|n| {
        n.len() <= 200
            && all(n, |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'%'))
    });
    if !id_ok || !name_ok {
        return None;
    }
    // An album link may name one of its songs; anything else in the query is left out.
    let track = match parts.param("i") {
        Some(i) if kind == "album" && !i.is_empty() && i.len() <= 20 && all(i, |b| b.is_ascii_digit()) => {
            format!("?i={i}")
        }
        _ => String::new(),
    };
    let path = match name {
        Some(name) => format!("{country}/{kind}/{name}/{id}{track}"),
        None => format!("{country}/{kind}/{id}{track}"),
    };
    Some(SongLink {
        url: format!("https://music.apple.com/{path}"),
        service: Service::AppleMusic,
        embed_url: format!("https://embed.music.apple.com/{path}"),
    })
}

fn soundcloud(parts: &Parts<'_>) -> Option<SongLink> {
    let name_ok = |s: &str| {
        !s.is_empty() && s.len() <= 100 && all(s, |b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    let path = match parts.segments.as_slice() {
        [user, "sets", set] if name_ok(user) && name_ok(set) => format!("{user}/sets/{set}"),
        [user, track] if name_ok(user) && name_ok(track) => format!("{user}/{track}"),
        _ => return None,
    };
    let path = path.to_ascii_lowercase();
    let url = format!("https://soundcloud.com/{path}");
    let encoded = url.replace(':', "%3A").replace('/', "%2F");
    Some(SongLink {
        url,
        service: Service::Soundcloud,
        embed_url: format!("https://w.soundcloud.com/player/?url={encoded}&visual=true"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(raw: &str) -> Option<String> {
        song_url(raw).ok().flatten().map(|s| s.url)
    }

    #[test]
    fn each_service_is_recognised_and_made_canonical() {
        let spotify = song_url(" https://open.spotify.com/intl-de/track/4uLU6hMCjMI75M1A2tKUQC?si=abc ")
            .expect("valid")
            .expect("some");
        assert_eq!(spotify.url, "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC");
        assert_eq!(spotify.embed_url, "https://open.spotify.com/embed/track/4uLU6hMCjMI75M1A2tKUQC");
        assert_eq!(spotify.service, Service::Spotify);

        for link in [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42",
            "https://youtu.be/dQw4w9WgXcQ?si=x",
            "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RD",
            "http://m.youtube.com/shorts/dQw4w9WgXcQ",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ?t=1",
        ] {
            assert_eq!(
                canonical(link).as_deref(),
                Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
                "{link}"
            );
        }
        let yt = stored("https://www.youtube.com/watch?v=dQw4w9WgXcQ").expect("stored");
        assert_eq!(yt.embed_url, "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ");

        let apple = song_url("https://music.apple.com/us/album/la-vie-en-rose/1440857781?i=1440858087&l=fr")
            .expect("valid")
            .expect("some");
        assert_eq!(apple.url, "https://music.apple.com/us/album/la-vie-en-rose/1440857781?i=1440858087");
        assert_eq!(
            apple.embed_url,
            "https://embed.music.apple.com/us/album/la-vie-en-rose/1440857781?i=1440858087"
        );
        assert!(canonical("https://music.apple.com/gb/playlist/love-songs/pl.u-abc123").is_some());

        let sc =
            song_url(" https://m.soundcloud.com/Some-Artist/our_song#t=1\n").expect("valid").expect("some");
        assert_eq!(sc.url, "https://soundcloud.com/some-artist/our_song");
        assert_eq!(
            sc.embed_url,
            "https://w.soundcloud.com/player/?url=https%3A%2F%2Fsoundcloud.com%2Fsome-artist%2Four_song&visual=true"
        );
        assert!(canonical("https://soundcloud.com/artist/sets/summer").is_some());
    }

    #[test]
    fn canonical_links_read_back_as_themselves() {
        for link in [
            "https://open.spotify.com/album/4uLU6hMCjMI75M1A2tKUQC",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://music.apple.com/us/song/1440858087",
            "https://soundcloud.com/a/b",
        ] {
            assert_eq!(stored(link).map(|s| s.url).as_deref(), Some(link));
        }
    }

    /// The pattern without its anchors, to draw matching links from.
    fn unanchored() -> &'static str {
        SONG_URL_PATTERN.strip_prefix('^').and_then(|p| p.strip_suffix('$')).expect("anchored")
    }

    proptest::proptest! {
        /// Every link the pattern (and so the API's schema) takes is a song the page plays.
        #[test]
        fn every_link_the_pattern_takes_is_recognised(link in proptest::string::string_regex(unanchored()).expect("a pattern")) {
            if link.chars().count() <= SONG_URL_MAX {
                let song = song_url(&link);
                proptest::prop_assert!(song.is_ok(), "{link:?}: {song:?}");
                if let Ok(Some(song)) = song {
                    proptest::prop_assert_eq!(stored(&song.url).map(|s| s.url), Some(song.url));
                }
            }
        }
    }

    #[test]
    fn the_web_app_checks_links_with_the_same_pattern() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/src/features/pages/utils/song-link.ts");
        let web = std::fs::read_to_string(path).expect("the web app's song links");
        let escaped = SONG_URL_PATTERN.replace('\\', "\\\\");
        assert!(web.contains(&format!("\"{escaped}\";")), "the web app's pattern differs");
    }

    #[test]
    fn anything_else_is_refused() {
        for link in [
            "javascript:alert(1)",
            "https://evil.example/track/4uLU6hMCjMI75M1A2tKUQC",
            "https://open.spotify.com.evil.example/track/4uLU6hMCjMI75M1A2tKUQC",
            "https://user@open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
            "https://open.spotify.com:8443/track/4uLU6hMCjMI75M1A2tKUQC",
            "https://open.spotify.com/track/short",
            "https://open.spotify.com/user/4uLU6hMCjMI75M1A2tKUQC",
            "https://www.youtube.com/watch?v=dQw4w9WgXc\"",
            "https://www.youtube.com/watch?list=abc",
            "https://youtu.be/dQw4w9WgXcQ/extra",
            "https://music.apple.com/USA/album/x/1",
            "https://music.apple.com/us/album/x/1?i=<script>",
            "https://YouTube.com/shorts/dQw4w9WgXcQ",
            "https://soundcloud.com/only-a-user",
            "https://soundcloud.com/a/b/c",
            "ftp://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
            "open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
            "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQ\u{0}",
        ] {
            assert_eq!(song_url(link), Err(Violation::BadSong), "{link}");
        }
        assert_eq!(song_url("   "), Ok(None));
        let long = format!("https://youtu.be/{}", "a".repeat(SONG_URL_MAX));
        assert_eq!(song_url(&long), Err(Violation::TooLong { field: Field::SongUrl, max: SONG_URL_MAX }));
    }
}
