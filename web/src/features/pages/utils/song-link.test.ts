import { describe, expect, it } from "vitest";

import { isEmbeddable, recogniseSong, songLinkProblem } from "./song-link";

describe("recogniseSong", () => {
  it("recognises Spotify tracks, albums and playlists, with or without a country prefix", () => {
    expect(recogniseSong(" https://open.spotify.com/intl-de/track/4uLU6hMCjMI75M1A2tKUQC?si=abc ")).toEqual({
      service: "spotify",
      url: "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
      embedUrl: "https://open.spotify.com/embed/track/4uLU6hMCjMI75M1A2tKUQC",
    });
    expect(recogniseSong("https://open.spotify.com/album/4uLU6hMCjMI75M1A2tKUQC")?.service).toBe("spotify");
    expect(recogniseSong("https://open.spotify.com/playlist/37i9dQZF1DX50QitC6Oqtn")?.service).toBe("spotify");
  });

  it.each([
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42",
    "https://youtu.be/dQw4w9WgXcQ?si=x",
    "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RD",
    "http://m.youtube.com/shorts/dQw4w9WgXcQ",
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ?t=1",
  ])("recognises the YouTube link %s", (link) => {
    expect(recogniseSong(link)).toEqual({
      service: "youtube",
      url: "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
      embedUrl: "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
    });
  });

  it("recognises Apple Music albums (with a track), songs and playlists", () => {
    expect(recogniseSong("https://music.apple.com/us/album/la-vie-en-rose/1440857781?i=1440858087&l=fr")).toEqual({
      service: "apple_music",
      url: "https://music.apple.com/us/album/la-vie-en-rose/1440857781?i=1440858087",
      embedUrl: "https://embed.music.apple.com/us/album/la-vie-en-rose/1440857781?i=1440858087",
    });
    expect(recogniseSong("https://music.apple.com/us/song/1440858087")?.service).toBe("apple_music");
    expect(recogniseSong("https://music.apple.com/gb/playlist/love-songs/pl.u-abc123")?.service).toBe("apple_music");
  });

  it("recognises SoundCloud tracks and sets", () => {
    expect(recogniseSong("https://m.soundcloud.com/Some-Artist/our_song#t=1")).toEqual({
      service: "soundcloud",
      url: "https://soundcloud.com/some-artist/our_song",
      embedUrl:
        "https://w.soundcloud.com/player/?url=https%3A%2F%2Fsoundcloud.com%2Fsome-artist%2Four_song&visual=true",
    });
    expect(recogniseSong("https://soundcloud.com/artist/sets/summer")?.url).toBe(
      "https://soundcloud.com/artist/sets/summer",
    );
  });

  it.each([
    "",
    "   ",
    "open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    "https://evil.example/track/4uLU6hMCjMI75M1A2tKUQC",
    "https://open.spotify.com.evil.example/track/4uLU6hMCjMI75M1A2tKUQC",
    "https://evil-open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    "https://user@open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    "https://open.spotify.com:8443/track/4uLU6hMCjMI75M1A2tKUQC",
    "https://open.spotify.com/track/short",
    "https://open.spotify.com/user/4uLU6hMCjMI75M1A2tKUQC",
    'https://www.youtube.com/watch?v=dQw4w9WgXc"',
    "https://www.youtube.com/watch?list=abc",
    "https://youtu.be/dQw4w9WgXcQ/extra",
    "https://www.youtube.com/watch/dQw4w9WgXcQ",
    "https://music.apple.com/USA/album/x/1",
    "https://music.apple.com/us/artist/someone/123",
    "https://YouTube.com/shorts/dQw4w9WgXcQ",
    "http://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
    "https://soundcloud.com/someone",
    "https://soundcloud.com/a/b/c",
    "https://soundcloud.com/a/<script>",
    "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC\u0000",
    "https://open.spotify.com/track/4uLU6hMC jMI75M1A2tKUQC",
    "https://open.spotify.com\\@evil.example/track/4uLU6hMCjMI75M1A2tKUQC",
    "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?" + "x".repeat(300),
  ])("refuses %j", (link) => {
    expect(recogniseSong(link)).toBeNull();
  });
});

describe("songLinkProblem", () => {
  it("is happy with a blank field and a song", () => {
    expect(songLinkProblem("")).toBeNull();
    expect(songLinkProblem("https://youtu.be/dQw4w9WgXcQ")).toBeNull();
  });

  it("says what it takes, and when the link is too long", () => {
    expect(songLinkProblem("https://example.com/song")).toMatch(/Spotify, YouTube, Apple Music or SoundCloud/);
    expect(songLinkProblem(`https://youtu.be/${"a".repeat(300)}`)).toMatch(/at most 300 characters/);
  });
});

describe("isEmbeddable", () => {
  it("frames only the service's own embed host, over https", () => {
    expect(isEmbeddable("spotify", "https://open.spotify.com/embed/track/4uLU6hMCjMI75M1A2tKUQC")).toBe(true);
    expect(isEmbeddable("youtube", "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")).toBe(true);
    expect(isEmbeddable("youtube", "https://www.youtube.com/embed/dQw4w9WgXcQ")).toBe(false);
    expect(isEmbeddable("spotify", "http://open.spotify.com/embed/track/x")).toBe(false);
    expect(isEmbeddable("soundcloud", "javascript:alert(1)")).toBe(false);
    expect(isEmbeddable("apple_music", "https://x@embed.music.apple.com/us/song/1")).toBe(false);
    expect(isEmbeddable("apple_music", "not a url")).toBe(false);
  });
});
