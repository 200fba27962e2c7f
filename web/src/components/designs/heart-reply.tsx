import { useEffect, useRef } from "react";

import type { Reply } from "./types";

type HeartReplyProps = {
  reply: Reply | undefined;
  /** What the button says, in the design's voice: "Send a heart back", "Seal a heart back". */
  label: string;
};

/**
 * The one reply of every design but the proposal: a heart sent back to the author. Shown
 * once the message is revealed; after sending, a small confirmation stays in its place.
 */
export function HeartReply({ reply, label }: HeartReplyProps) {
  const sentRef = useRef<HTMLParagraphElement>(null);
  const wasSending = useRef(false);
  const state = reply?.status.state;

  // The button goes away once the heart is sent: hand its focus to the confirmation.
  useEffect(() => {
    if (state === "sent" && wasSending.current) sentRef.current?.focus();
    wasSending.current = state === "sending";
  }, [state]);

  if (!reply) return null;
  const { status } = reply;
  const canSend =
    status.state === "ready" || status.state === "sending" || (status.state === "failed" && status.canRetry);

  return (
    <div className="heart-reply" data-testid="heart-reply" data-state={status.state}>
      <div className="heart-reply-status" aria-live="polite">
        {status.state === "sent" && (
          <p className="heart-reply-sent" ref={sentRef} tabIndex={-1} data-testid="heart-sent">
            {status.already ? "This page was already answered ♥" : "Heart sent ♥"}
          </p>
        )}
        {status.state === "failed" && (
          <p className="heart-reply-error" data-testid="reply-error">
            {status.message}
          </p>
        )}
      </div>
      {canSend && (
        <button
          type="button"
          className="heart-reply-button"
          data-testid="send-heart"
          aria-disabled={status.state === "sending" ? true : undefined}
          onClick={() => reply.send(0)}
        >
          <span className="heart-reply-icon" aria-hidden="true">
            ♥
          </span>{" "}
          {status.state === "sending" ? "Sending…" : status.state === "failed" ? "Try again" : label}
        </button>
      )}
      {status.state === "author" && (
        <>
          <span className="heart-reply-button heart-reply-button--sample" aria-hidden="true">
            <span className="heart-reply-icon">♥</span> {label}
          </span>
          <p className="heart-reply-note">This is your own page: visitors can send you a heart from here.</p>
        </>
      )}
    </div>
  );
}
