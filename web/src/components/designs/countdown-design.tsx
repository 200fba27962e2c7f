import { useEffect, useRef, useState, type CSSProperties } from "react";

import { launchConfetti } from "@/components/effects/confetti";
import { FloatingHearts } from "@/components/effects/floating-hearts";

import { HeartReply } from "./heart-reply";
import { DesignTitle, FromLine, Message, ToLine } from "./parts";
import type { DesignProps } from "./types";

export const COUNTDOWN_SECONDS = 10;

/** Countdown Reveal: ten seconds of suspense (skippable), then the message and confetti. */
export function CountdownDesign({ content, style, startRevealed, onReveal, reply }: DesignProps) {
  const [remaining, setRemaining] = useState(startRevealed ? 0 : COUNTDOWN_SECONDS);
  const revealedOnce = useRef(startRevealed);
  const revealed = remaining <= 0;

  useEffect(() => {
    if (revealed) return;
    const timer = window.setInterval(() => setRemaining((s) => Math.max(0, s - 1)), 1000);
    return () => window.clearInterval(timer);
  }, [revealed]);

  useEffect(() => {
    if (!revealed || revealedOnce.current) return;
    revealedOnce.current = true;
    launchConfetti({ colors: [style.primary, "#fda4af", "#fde68a", "#ffffff", "#f472b6"], count: 220 });
    onReveal?.();
  }, [revealed, style.primary, onReveal]);

  if (revealed) {
    return (
      <>
        <FloatingHearts count={16} color={style.primary} placement="contained" />
        <div className="design-card countdown-card countdown-card--revealed">
          <ToLine content={content} lead="For" />
          <DesignTitle>{content.title}</DesignTitle>
          <Message content={content} />
          <FromLine content={content} lead="With all my love," />
          <HeartReply reply={reply} label="Send a heart back" />
        </div>
      </>
    );
  }

  const progress = (COUNTDOWN_SECONDS - remaining) / COUNTDOWN_SECONDS;
  return (
    <div className="design-card countdown-card">
      <p className="countdown-lead">
        {content.recipient_name ? (
          <>
            Something special for <span className="design-name">{content.recipient_name}</span> in…
          </>
        ) : (
          "Something special is coming in…"
        )}
      </p>
      <div className="countdown-dial" style={{ "--countdown-progress": progress } as CSSProperties}>
        <svg viewBox="0 0 120 120" aria-hidden="true" focusable="false">
          <circle className="countdown-track" cx="60" cy="60" r="52" />
          <circle className="countdown-ring" cx="60" cy="60" r="52" pathLength={1} />
        </svg>
        <span
          key={remaining}
          className="countdown-number"
          role="timer"
          aria-label={`${remaining} seconds left`}
          data-testid="countdown-number"
        >
          {remaining}
        </span>
      </div>
      <button
        type="button"
        className="button button--ghost countdown-skip"
        data-testid="countdown-skip"
        onClick={() => setRemaining(0)}
      >
        Skip the wait
      </button>
    </div>
  );
}
