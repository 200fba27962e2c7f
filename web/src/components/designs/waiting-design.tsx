import type { CSSProperties } from "react";

import { designFor, FONT_STACKS } from "@/config/designs";
import { clockFace, describeDuration } from "@/lib/duration";

import { CountdownDial } from "./countdown-design";
import { DesignTitle, FromLine, HeadingLevelContext, Ornament, ToLine } from "./parts";

type WaitingDesignProps = {
  templateId: string;
  recipientName: string | null;
  senderName: string | null;
  /** When it opens, in words for people ("Sunday, 14 February 2027 at 09:30"). */
  opensOn: string;
  /** Time left on the server's clock. */
  remainingMs: number;
  /** The whole wait, from the page's creation to its opening: how much of the ring to draw. */
  totalMs: number;
};

/**
 * A page before its time: who it is for and when it opens, counting down live, in its
 * design's colours. Nothing of what it says is here (the server has not sent it). The
 * countdown design counts down on its own dial; the others wait in a calm card.
 */
export function WaitingDesign({
  templateId,
  recipientName,
  senderName,
  opensOn,
  remainingMs,
  totalMs,
}: WaitingDesignProps) {
  const style = designFor(templateId);
  const names = { title: "", message: "", recipient_name: recipientName, sender_name: senderName };
  const progress = totalMs > 0 ? Math.min(1, Math.max(0, 1 - remainingMs / totalMs)) : 0;
  const cssVars = {
    "--primary": style.primary,
    "--secondary": style.secondary,
    "--design-font": FONT_STACKS[style.font],
  } as CSSProperties;
  const face = clockFace(remainingMs);
  const inWords = describeDuration(remainingMs);

  return (
    <HeadingLevelContext.Provider value={1}>
      <article
        className={`design design--${style.id} design--page design--waiting`}
        style={cssVars}
        data-testid="waiting-design"
        data-template={style.id}
      >
        {style.id === "countdown" ? (
          <div className="design-card countdown-card" data-testid="reveal-countdown">
            <p className="countdown-lead">
              {recipientName ? (
                <>
                  Something special for <span className="design-name">{recipientName}</span> in…
                </>
              ) : (
                "Something special is coming in…"
              )}
            </p>
            <CountdownDial progress={progress} label={`${inWords} left`} long={face.length > 5}>
              {face}
            </CountdownDial>
            <p className="waiting-when" data-testid="opens-on">
              Opens on {opensOn}
            </p>
          </div>
        ) : (
          <div className={`design-card ${style.id}-card waiting-card`} data-testid="reveal-countdown">
            <Ornament>♥</Ornament>
            <ToLine content={names} lead="For" />
            <DesignTitle>Something lovely is on its way</DesignTitle>
            <p className="waiting-when" data-testid="opens-on">
              Opens on {opensOn}
            </p>
            <p className="waiting-clock" role="timer" aria-label={`${inWords} left`} data-testid="countdown-number">
              {face}
            </p>
            <FromLine content={names} lead="From" />
          </div>
        )}
        <p className="waiting-note">Keep this page open: it opens by itself when the time comes.</p>
      </article>
    </HeadingLevelContext.Provider>
  );
}
