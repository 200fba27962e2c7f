import { FloatingHearts } from "@/components/effects/floating-hearts";
import { Sparkles } from "@/components/effects/sparkles";

import { HeartReply } from "./heart-reply";
import { DesignTitle, Keepsakes, FromLine, Message, Ornament, ToLine } from "./parts";
import type { DesignProps } from "./types";

/** Classic Love: a pink card with flowing script and a row of hearts. */
export function ClassicDesign({ content, reply, keepsakes }: DesignProps) {
  return (
    <div className="design-card classic-card">
      <Ornament>♥ ♥ ♥</Ornament>
      <ToLine content={content} lead="Dear" />
      <DesignTitle>{content.title}</DesignTitle>
      <Message content={content} />
      <Keepsakes>{keepsakes}</Keepsakes>
      <FromLine content={content} />
      <HeartReply reply={reply} label="Send a heart back" />
    </div>
  );
}

/** Modern Romance: soft violet gradients and clean, bold type. */
export function ModernDesign({ content, reply, keepsakes }: DesignProps) {
  return (
    <div className="design-card modern-card">
      <ToLine content={content} lead="for" />
      <DesignTitle>{content.title}</DesignTitle>
      <span className="modern-rule" aria-hidden="true" />
      <Message content={content} />
      <Keepsakes>{keepsakes}</Keepsakes>
      <FromLine content={content} lead="— from" />
      <HeartReply reply={reply} label="Send a heart back" />
    </div>
  );
}

/** Playful Hearts: handwriting, a tilted note and hearts bouncing everywhere. */
export function PlayfulDesign({ content, style, reply, keepsakes }: DesignProps) {
  return (
    <>
      <FloatingHearts count={18} color={style.primary} placement="contained" />
      <div className="design-card playful-card">
        <p className="playful-bounce" aria-hidden="true">
          <span>♥</span>
          <span>♥</span>
          <span>♥</span>
        </p>
        <ToLine content={content} lead="Hey" />
        <DesignTitle>
          <Sparkles>{content.title}</Sparkles>
        </DesignTitle>
        <Message content={content} />
        <Keepsakes>{keepsakes}</Keepsakes>
        <FromLine content={content} lead="xoxo," />
        <HeartReply reply={reply} label="Send a heart back" />
      </div>
    </>
  );
}

/** Elegant Script: a cream card with a double frame on deep burgundy. */
export function ElegantDesign({ content, reply, keepsakes }: DesignProps) {
  return (
    <div className="design-card elegant-card">
      <div className="elegant-frame">
        <ToLine content={content} lead="To my dearest" />
        <DesignTitle>{content.title}</DesignTitle>
        <Ornament>❦</Ornament>
        <Message content={content} />
        <Keepsakes>{keepsakes}</Keepsakes>
        <FromLine content={content} lead="Forever yours," />
        <HeartReply reply={reply} label="Send a heart back" />
      </div>
    </div>
  );
}
