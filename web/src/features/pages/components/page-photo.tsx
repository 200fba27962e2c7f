import { useEffect, useState } from "react";

import { isAbortError } from "@/lib/sleep";

import { getPhoto } from "../api/get-photo";
import type { Photo } from "../types/page";

type PagePhotoProps = {
  photo: Photo;
  /** Said to people who cannot see it. */
  alt: string;
  pin?: string | null;
  editToken?: string | null;
};

/**
 * The page's photo, framed. It is fetched (with the page's PIN when it has one) and shown
 * from an object URL that is freed when the photo goes; its box keeps the photo's shape
 * from the start, so nothing jumps when it arrives.
 */
export function PagePhoto({ photo, alt, pin = null, editToken = null }: PagePhotoProps) {
  const [source, setSource] = useState<{ state: "loading" } | { state: "ready"; url: string } | { state: "failed" }>({
    state: "loading",
  });

  useEffect(() => {
    const controller = new AbortController();
    let objectUrl: string | null = null;
    setSource({ state: "loading" });
    getPhoto(photo.url, { signal: controller.signal, pin, editToken }).then(
      (blob) => {
        if (controller.signal.aborted) return;
        objectUrl = URL.createObjectURL(blob);
        setSource({ state: "ready", url: objectUrl });
      },
      (error: unknown) => {
        if (!controller.signal.aborted && !isAbortError(error)) setSource({ state: "failed" });
      },
    );
    return () => {
      controller.abort();
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [photo.url, pin, editToken]);

  return (
    <figure className="page-photo" data-testid="page-photo" data-state={source.state}>
      {source.state === "ready" ? (
        <img
          className="page-photo-image"
          src={source.url}
          width={photo.width}
          height={photo.height}
          alt={alt}
          decoding="async"
        />
      ) : (
        <div
          className="page-photo-placeholder"
          style={{ aspectRatio: `${photo.width} / ${photo.height}` }}
          role={source.state === "failed" ? "img" : undefined}
          aria-label={source.state === "failed" ? `${alt} (it couldn't be loaded)` : undefined}
        />
      )}
    </figure>
  );
}

/** "A photo of Alice and Bob", from whatever names the page gives. */
export function photoAlt(recipient: string | null, sender: string | null): string {
  if (recipient && sender) return `A photo for ${recipient} from ${sender}`;
  if (recipient) return `A photo for ${recipient}`;
  if (sender) return `A photo from ${sender}`;
  return "A photo that comes with this page";
}
