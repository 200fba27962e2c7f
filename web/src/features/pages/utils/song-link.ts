import type { SongService } from "../types/page";

/**
 * Song links as the API takes them: one track, album or playlist on Spotify, YouTube,
 * Apple Music or SoundCloud, recognised by host and path shape (never fetched), the same
 * rules as the server's, so the form can say at once which service it sees.
 */

/** Longest song link the API takes, in characters. */
export const SONG_URL_MAX = 300;

/** The players a page may frame, one host per service. */
export const EMBED_HOSTS: Record<SongService, string> = {
  spotify: "open.spotify.com",
  youtube: "www.youtube-nocookie.com",
  apple_music: "embed.music.apple.com",
  soundcloud: "w.soundcloud.com",
};

export const SERVICE_NAMES: Record<SongService, string> = {
  spotify: "Spotify",
  youtube: "YouTube",
  apple_music: "Apple Music",
  soundcloud: "SoundCloud",
};

export type SongLink = { service: SongService; url: string; embedUrl: string };

/**
 * Every link the API takes, as the API's own pattern (its OpenAPI document states it for
 * `song_url`): a link of one of the services' shapes, with whatever query follows.
 */
export const SONG_URL_PATTERN =
  "^[ \\t\\r\\n]*(https?://(open\\.spotify\\.com/(intl-[a-z]{2}(-[A-Za-z]{2})?/)?(track|album|playlist|episode)/[A-Za-z0-9]{22}|((www|m|music)\\.)?youtube\\.com/watch\\?v=[A-Za-z0-9_-]{11}|((www|m)\\.)?youtube\\.com/(shorts|embed|live)/[A-Za-z0-9_-]{11}|youtu\\.be/[A-Za-z0-9_-]{11}|music\\.apple\\.com/[a-z]{2}/((album|song)/([A-Za-z0-9._~%-]{1,200}/)?[0-9]{1,20}|playlist/([A-Za-z0-9._~%-]{1,200}/)?pl\\.[A-Za-z0-9-]{1,57})|((www|m)\\.)?soundcloud\\.com/[A-Za-z0-9_-]{1,100}/(sets/)?[A-Za-z0-9_-]{1,100})([?&#][A-Za-z0-9_.~%=&+#?-]{0,200})?)?[ \\t\\r\\n]*$";

const SONG_URL = new RegExp(SONG_URL_PATTERN);

type Parts = { host: string; segments: string[]; query: string };

const ALNUM = /^[A-Za-z0-9]+$/;

function partsOf(link: string): Parts | null {
  const schemeEnd = link.indexOf("://");
  if (schemeEnd < 0) return null;
  const scheme = link.slice(0, schemeEnd).toLowerCase();
  if (scheme !== "https" && scheme !== "http") return null;
  let rest = link.slice(schemeEnd + 3);
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  const authorityEnd = rest.search(/[/?]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const tail = authorityEnd < 0 ? "" : rest.slice(authorityEnd);
  // A plain host name only: no user, no port, nothing odd.
  if (!/^[A-Za-z0-9.-]+$/.test(authority)) return null;
  const host = authority.replace(/\.+$/, "").toLowerCase();
  const q = tail.search(/[?&]/);
  const path = q < 0 ? tail : tail.slice(0, q);
  const query = q < 0 ? "" : tail.slice(q + 1);
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f\\]/.test(path)) return null;
  return { host, segments: path.split("/").filter((s) => s !== ""), query };
}

/** The first value of query parameter `name`, up to the next `&`, `?` or `#`. */
function param(parts: Parts, name: string): string | null {
  for (const pair of parts.query.split(/[&?]/)) {
    if (pair.startsWith(`${name}=`)) return pair.slice(name.length + 1).split(/[&?#]/)[0] ?? "";
  }
  return null;
}

function spotify(parts: Parts): SongLink | null {
  let segments = parts.segments;
  const first = segments[0];
  if (first !== undefined && first.startsWith("intl-") && first.length <= 10) segments = segments.slice(1);
  if (segments.length !== 2) return null;
  const [kind = "", id = ""] = segments;
  if (!["track", "album", "playlist", "episode"].includes(kind)) return null;
  if (id.length !== 22 || !ALNUM.test(id)) return null;
  return {
    service: "spotify",
    url: `https://open.spotify.com/${kind}/${id}`,
    embedUrl: `https://open.spotify.com/embed/${kind}/${id}`,
  };
}

function youtube(id: string | null | undefined): SongLink | null {
  if (!id || !/^[A-Za-z0-9_-]{11}$/.test(id)) return null;
  return {
    service: "youtube",
    url: `https://www.youtube.com/watch?v=${id}`,
    embedUrl: `https://www.youtube-nocookie.com/embed/${id}`,
  };
}

function youtubePath(parts: Parts): SongLink | null {
  const [first, second, ...more] = parts.segments;
  if (first === "watch" && second === undefined) return youtube(param(parts, "v"));
  if ((first === "shorts" || first === "embed" || first === "live") && second !== undefined && more.length === 0) {
    return youtube(second);
  }
  return null;
}

function appleMusic(parts: Parts): SongLink | null {
  const s = parts.segments;
  if (s.length !== 3 && s.length !== 4) return null;
  const country = s[0]!;
  const kind = s[1]!;
  const name = s.length === 4 ? s[2]! : null;
  const id = s[s.length - 1]!;
  if (!/^[a-z]{2}$/.test(country)) return null;
  const idOk =
    kind === "album" || kind === "song"
      ? /^\d{1,20}$/.test(id)
      : kind === "playlist" && /^pl\.[A-Za-z0-9-]+$/.test(id) && id.length <= 60;
  if (!idOk) return null;
  if (name !== null && (name.length > 200 || !/^[A-Za-z0-9._~%-]+$/.test(name))) return null;
  let track = "";
  const i = param(parts, "i");
  // An album link may name one of its songs; anything else in the query is left out.
  if (kind === "album" && i !== null && /^\d{1,20}$/.test(i)) track = `?i=${i}`;
  const path = name !== null ? `${country}/${kind}/${name}/${id}${track}` : `${country}/${kind}/${id}${track}`;
  return {
    service: "apple_music",
    url: `https://music.apple.com/${path}`,
    embedUrl: `https://embed.music.apple.com/${path}`,
  };
}

function soundcloud(parts: Parts): SongLink | null {
  const nameOk = (s: string | undefined): s is string => !!s && s.length <= 100 && /^[A-Za-z0-9_-]+$/.test(s);
  const [user, second, third, ...more] = parts.segments;
  let path: string;
  if (more.length > 0) return null;
  if (second === "sets" && nameOk(user) && nameOk(third)) path = `${user}/sets/${third}`;
  else if (third === undefined && nameOk(user) && nameOk(second)) path = `${user}/${second}`;
  else return null;
  path = path.toLowerCase();
  const url = `https://soundcloud.com/${path}`;
  return {
    service: "soundcloud",
    url,
    embedUrl: `https://w.soundcloud.com/player/?url=${url.replaceAll(":", "%3A").replaceAll("/", "%2F")}&visual=true`,
  };
}

/**
 * The song behind `input` (trimmed), or `null` when it is not a link to a song on one of
 * the four services.
 */
export function recogniseSong(input: string): SongLink | null {
  if ([...input].length > SONG_URL_MAX || !SONG_URL.test(input)) return null;
  const link = input.trim();
  if (link === "") return null;
  const parts = partsOf(link);
  if (!parts) return null;
  switch (parts.host) {
    case "open.spotify.com":
      return spotify(parts);
    case "youtube.com":
    case "www.youtube.com":
    case "m.youtube.com":
    case "music.youtube.com":
      return youtubePath(parts);
    case "youtu.be":
      return parts.segments.length === 1 ? youtube(parts.segments[0]) : null;
    case "music.apple.com":
      return appleMusic(parts);
    case "soundcloud.com":
    case "www.soundcloud.com":
    case "m.soundcloud.com":
      return soundcloud(parts);
    default:
      return null;
  }
}

/** Why `input` cannot be the page's song, or `null` when it can (blank is fine: no song). */
export function songLinkProblem(input: string): string | null {
  const link = input.trim();
  if (link === "") return null;
  const length = [...link].length;
  if (length > SONG_URL_MAX) return `A song link can be at most ${SONG_URL_MAX} characters (this is ${length})`;
  if (recogniseSong(link) === null) {
    return "Paste a link to one song, album or playlist on Spotify, YouTube, Apple Music or SoundCloud";
  }
  return null;
}

/**
 * Whether `url` is a player this app will frame: https, on the one embed host of its
 * service. The API only ever sends such addresses; this keeps a frame from anything else.
 */
export function isEmbeddable(service: SongService, url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" && parsed.host === EMBED_HOSTS[service] && parsed.username === "";
  } catch {
    return false;
  }
}
