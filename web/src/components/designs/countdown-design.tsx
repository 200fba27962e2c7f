import { useEffect, useRef, useState, type CSSProperties, type ReactNode } from "react";

import { launchConfetti } from "@/components/effects/confetti";
import { FloatingHearts } from "@/components/effects/floating-hearts";

import { HeartReply } from "./heart-reply";
import { DesignTitle, Keepsakes, FromLine, Message, ToLine } from "./parts";
import type { DesignProps } from "./types";

export const COUNTDOWN_SECONDS = 10;

/** Countdown Reveal: ten seconds of suspense (skippable), then the message and confetti. */
export function CountdownDesign({
  content,
  style,
  startRevealed,
  onReveal,
  reply,
  keepsakes,
  justOpened,
}: DesignProps) {
  const [remaining, setRemaining] = useState(startRevealed || justOpened ? 0 : COUNTDOWN_SECONDS);
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
          <Keepsakes>{keepsakes}</Keepsakes>
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
      <CountdownDial progress={progress} label={`${remaining} seconds left`}>
        {remaining}
      </CountdownDial>
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

type CountdownDialProps = {
  /** Share of the wait already over, 0 to 1: how much of the ring is drawn. */
  progress: number;
  /** What the timer says to screen readers. */
  label: string;
  /** The face: a number of seconds, or a clock. */
  children: ReactNode;
  /** Smaller type for a longer face such as "1d 04:05:06". */
  long?: boolean;
};

/** The ring that fills as the wait runs out, with the time left in its middle. */
export function CountdownDial({ progress, label, children, long = false }: CountdownDialProps) {
  return (
    <div className="countdown-dial" style={{ "--countdown-progress": progress } as CSSProperties}>
      <svg viewBox="0 0 120 120" aria-hidden="true" focusable="false">
        <circle className="countdown-track" cx="60" cy="60" r="52" />
        <circle className="countdown-ring" cx="60" cy="60" r="52" pathLength={1} />
      </svg>
      <span
        key={long ? undefined : String(children)}
        className={`countdown-number ${long ? "countdown-number--long" : ""}`}
        role="timer"
        aria-label={label}
        data-testid="countdown-number"
      >
        {children}
      </span>
    </div>
  );
}
