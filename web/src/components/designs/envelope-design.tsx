import { useState } from "react";

import { launchConfetti } from "@/components/effects/confetti";

import { HeartReply } from "./heart-reply";
import { DesignTitle, Keepsakes, FromLine, Message, ToLine } from "./parts";
import type { DesignProps } from "./types";

/** Love Letter: a sealed envelope that opens in 3D when clicked, and the letter rises out. */
export function EnvelopeDesign({ content, style, startRevealed, onReveal, reply, keepsakes }: DesignProps) {
  const [open, setOpen] = useState(startRevealed);

  const openLetter = () => {
    if (open) return;
    setOpen(true);
    launchConfetti({ colors: [style.primary, "#fda4af", "#fff1f2", "#fcd34d"], count: 90 });
    onReveal?.();
  };

  return (
    <div className={`envelope-scene ${open ? "is-open" : ""}`}>
      {!open && (
        <p className="envelope-prompt">
          {content.recipient_name ? (
            <>
              A letter for <span className="design-name">{content.recipient_name}</span>
            </>
          ) : (
            "You've got a love letter"
          )}
        </p>
      )}
      <button
        type="button"
        className="envelope"
        data-testid="envelope-open"
        aria-label={open ? "The letter is open" : "Open the letter"}
        aria-expanded={open}
        aria-controls="envelope-letter"
        disabled={open}
        onClick={openLetter}
      >
        <span className="envelope-back" aria-hidden="true" />
        <span className="envelope-paper" aria-hidden="true" />
        <span className="envelope-pocket" aria-hidden="true" />
        <span className="envelope-flap" aria-hidden="true" />
        <span className="envelope-seal" aria-hidden="true">
          ♥
        </span>
      </button>
      {!open && <p className="envelope-hint">Tap the envelope to open it</p>}
      <div id="envelope-letter" className="envelope-letter">
        {open && (
          <div className="design-card letter-card">
            <ToLine content={content} lead="My dear" />
            <DesignTitle>{content.title}</DesignTitle>
            <Message content={content} />
            <Keepsakes>{keepsakes}</Keepsakes>
            <FromLine content={content} lead="Yours always," />
            <HeartReply reply={reply} label="Seal a heart back" />
          </div>
        )}
      </div>
    </div>
  );
}
