import type { CSSProperties, ReactElement, ReactNode } from "react";

import { designFor, FONT_STACKS, type DesignStyle, type TemplateId } from "@/config/designs";

import { CountdownDesign } from "./countdown-design";
import { EnvelopeDesign } from "./envelope-design";
import { HeadingLevelContext } from "./parts";
import { ProposalDesign } from "./proposal-design";
import { ScratchDesign } from "./scratch-design";
import { ClassicDesign, ElegantDesign, ModernDesign, PlayfulDesign } from "./static-designs";
import type { DesignContent, DesignProps, Reply } from "./types";

const RENDERERS: Record<TemplateId, (props: DesignProps) => ReactElement> = {
  classic: ClassicDesign,
  modern: ModernDesign,
  playful: PlayfulDesign,
  elegant: ElegantDesign,
  proposal: ProposalDesign,
  envelope: EnvelopeDesign,
  scratch: ScratchDesign,
  countdown: CountdownDesign,
};

export type PageDesignProps = {
  content: DesignContent;
  templateId: string;
  /** Colours from the API's template list, when known; the local copy otherwise. */
  colors?: { primary: string; secondary: string };
  /** `page` fills the window (the viewer); `preview` sits inside a form. */
  variant?: "page" | "preview";
  /** Show an interactive design already revealed. */
  startRevealed?: boolean;
  onReveal?: () => void;
  /** The visitor's reply (the viewer); previews leave it out and so never send one. */
  reply?: Reply;
  /** The page's photo and song, shown with the message once it shows. */
  keepsakes?: ReactNode;
  /** The page has just opened at its set time (after a countdown to it). */
  justOpened?: boolean;
};

/** A page's words in its template's design. */
export function PageDesign({
  content,
  templateId,
  colors,
  variant = "page",
  startRevealed = false,
  onReveal,
  reply,
  keepsakes,
  justOpened = false,
}: PageDesignProps) {
  const base = designFor(templateId);
  const style: DesignStyle = colors ? { ...base, primary: colors.primary, secondary: colors.secondary } : base;
  const Renderer = RENDERERS[style.id];
  // A visitor who replied on an earlier visit has read the message: show it at once.
  const answered = reply?.status.state === "sent";
  const cssVars = {
    "--primary": style.primary,
    "--secondary": style.secondary,
    "--design-font": FONT_STACKS[style.font],
  } as CSSProperties;
  return (
    <HeadingLevelContext.Provider value={variant === "page" ? 1 : 2}>
      <article
        className={`design design--${style.id} design--${variant}`}
        style={cssVars}
        data-testid="page-design"
        data-template={style.id}
      >
        <Renderer
          content={content}
          style={style}
          startRevealed={startRevealed || answered}
          onReveal={onReveal}
          reply={reply}
          keepsakes={keepsakes}
          justOpened={justOpened}
        />
      </article>
    </HeadingLevelContext.Provider>
  );
}
