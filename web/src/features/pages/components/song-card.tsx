import { useState } from "react";

import type { Song } from "../types/page";
import { isEmbeddable, SERVICE_NAMES } from "../utils/song-link";

/**
 * The page's song: a card that says where it plays, and only on a tap puts the service's
 * player in the page (nothing is loaded from the service before that), with a link to
 * open it in the service itself.
 */
export function SongCard({ song }: { song: Song }) {
  const [playing, setPlaying] = useState(false);
  const service = SERVICE_NAMES[song.service];
  const embeddable = isEmbeddable(song.service, song.embed_url);
  const linkOk = song.url.startsWith("https://");

  return (
    <section className={`song-card song-card--${song.service}`} data-testid="song-card" aria-label="Our song">
      {playing && embeddable ? (
        <iframe
          className="song-player"
          src={song.embed_url}
          title={`Our song, playing on ${service}`}
          allow="encrypted-media"
          sandbox="allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-presentation"
          referrerPolicy="strict-origin-when-cross-origin"
          loading="lazy"
          data-testid="song-player"
        />
      ) : (
        <button
          type="button"
          className="song-play"
          onClick={() => setPlaying(true)}
          disabled={!embeddable}
          data-testid="play-song"
        >
          <span className="song-play-icon" aria-hidden="true">
            ▶
          </span>
          <span className="song-play-text">
            <span className="song-play-title">Play our song</span>
            <span className="song-play-service">on {service}</span>
          </span>
        </button>
      )}
      {linkOk && (
        <a className="song-open" href={song.url} target="_blank" rel="noopener noreferrer" data-testid="open-song">
          Open in {service}
        </a>
      )}
    </section>
  );
}
